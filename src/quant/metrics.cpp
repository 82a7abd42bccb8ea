#include "quant/metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace qm::quant {
namespace {

// [N, C] with C >= 2, or [N, C, 1, ...]: rows of C scores.
bool classifier_shape(const Shape& s, int64_t* rows, int64_t* classes) {
  if (s.size() < 2 || s[1] < 2) return false;
  for (size_t i = 2; i < s.size(); ++i)
    if (s[i] != 1) return false;
  *rows = s[0];
  *classes = s[1];
  return true;
}

}  // namespace

void SqnrAccumulator::add(const std::vector<Tensor>& fp, const std::vector<Tensor>& q) {
  if (fp.size() != q.size())
    throw Error(ErrorKind::InvalidArgument, "SQNR: expected " + std::to_string(fp.size()) + " quantized outputs, got " +
                                                std::to_string(q.size()));
  if (signal_.empty()) {
    signal_.assign(fp.size(), 0.0);
    noise_.assign(fp.size(), 0.0);
  } else if (signal_.size() != fp.size()) {
    throw Error(ErrorKind::InvalidArgument, "SQNR: expected " + std::to_string(signal_.size()) + " outputs, got " +
                                                std::to_string(fp.size()));
  }
  bool first_classifier = true;
  for (size_t o = 0; o < fp.size(); ++o) {
    if (fp[o].dtype() != DataType::Float) continue;
    if (q[o].dtype() != DataType::Float || q[o].shape() != fp[o].shape())
      throw Error(ErrorKind::InvalidArgument, "SQNR: output " + std::to_string(o) + ": expected float " +
                                                  shape_to_string(fp[o].shape()) + ", got " + shape_to_string(q[o].shape()));
    const float* a = fp[o].data<float>();
    const float* b = q[o].data<float>();
    double s = 0.0, n = 0.0;
    for (int64_t i = 0; i < fp[o].numel(); ++i) {
      const double x = a[i], d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      s += x * x;
      n += d * d;
    }
    signal_[o] += s;
    noise_[o] += n;
    int64_t rows = 0, classes = 0;
    if (first_classifier && classifier_shape(fp[o].shape(), &rows, &classes)) {
      first_classifier = false;
      for (int64_t r = 0; r < rows; ++r) {
        int64_t ia = 0, ib = 0;
        for (int64_t c = 1; c < classes; ++c) {
          if (a[r * classes + c] > a[r * classes + ia]) ia = c;
          if (b[r * classes + c] > b[r * classes + ib]) ib = c;
        }
        ++rows_;
        agree_ += ia == ib;
      }
    }
  }
}

double SqnrAccumulator::noise_to_signal() const {
  double sum = 0.0;
  size_t n = 0;
  for (size_t o = 0; o < signal_.size(); ++o) {
    if (signal_[o] > 0.0) {
      sum += noise_[o] / signal_[o];
      ++n;
    } else if (noise_[o] > 0.0) {
      return std::numeric_limits<double>::infinity();
    }
  }
  return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

void SqnrAccumulator::merge(const SqnrAccumulator& other) {
  if (signal_.size() < other.signal_.size()) {
    signal_.resize(other.signal_.size(), 0.0);
    noise_.resize(other.noise_.size(), 0.0);
  }
  for (size_t i = 0; i < other.signal_.size(); ++i) {
    signal_[i] += other.signal_[i];
    noise_[i] += other.noise_[i];
  }
  rows_ += other.rows_;
  agree_ += other.agree_;
}

double SqnrAccumulator::sqnr_db() const { return nsr_to_db(noise_to_signal()); }

double SqnrAccumulator::top1_agreement() const {
  return rows_ ? static_cast<double>(agree_) / static_cast<double>(rows_) : std::numeric_limits<double>::quiet_NaN();
}

void SqnrAccumulator::reset() {
  signal_.clear();
  noise_.clear();
  rows_ = agree_ = 0;
}

double sqnr_db(const std::vector<std::vector<Tensor>>& fp, const std::vector<std::vector<Tensor>>& q) {
  if (fp.size() != q.size())
    throw Error(ErrorKind::InvalidArgument, "SQNR: expected " + std::to_string(fp.size()) + " quantized samples, got " +
                                                std::to_string(q.size()));
  SqnrAccumulator acc;
  for (size_t i = 0; i < fp.size(); ++i) acc.add(fp[i], q[i]);
  return acc.sqnr_db();
}

double nsr_to_db(double nsr) {
  if (std::isnan(nsr)) return nsr;
  if (nsr <= 0.0) return std::numeric_limits<double>::infinity();
  return -10.0 * std::log10(nsr);
}

double db_to_nsr(double db) { return std::pow(10.0, -db / 10.0); }

}  // namespace qm::quant
