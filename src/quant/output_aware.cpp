#include "quant/output_aware.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/conv.h"
#include "ops/gemm.h"

namespace qm::quant {
namespace {

constexpr int kCoarse = 10, kFine = 5;

const ops::ConvAttrs* conv_attrs(const graph::Plan& plan, const Layer& l) {
  return dynamic_cast<const ops::ConvAttrs*>(plan.steps()[static_cast<size_t>(l.step)].attrs.get());
}

int64_t at_or(const std::vector<int64_t>& v, size_t i, int64_t d) { return i < v.size() ? v[i] : d; }

}  // namespace

bool takes_rows(const graph::Plan& plan, const Layer& l) {
  if (l.op == "Conv") {
    const ops::ConvAttrs* a = conv_attrs(plan, l);
    return a && a->group == 1 && l.weight_shape.size() == 4;
  }
  if (l.op == "Gemm") return l.weight_shape.size() == 2;
  if (l.op == "MatMul") return l.weight_shape.size() == 2;
  return false;
}

void append_rows(const graph::Plan& plan, const Layer& l, const Tensor& x, size_t max_rows, LayerRows& rows) {
  if (x.dtype() != DataType::Float || max_rows == 0 || !takes_rows(plan, l)) return;
  const Shape& ws = l.weight_shape;
  const float* px = x.data<float>();
  if (l.op == "Conv") {
    const ops::ConvAttrs& a = *conv_attrs(plan, l);
    if (x.rank() != 4 || x.shape()[1] != ws[1]) return;
    const int64_t N = x.shape()[0], C = ws[1], H = x.shape()[2], W = x.shape()[3], kh = ws[2], kw = ws[3];
    const auto& wa = a.window;
    const int64_t sh = at_or(wa.strides, 0, 1), sw = at_or(wa.strides, 1, 1);
    const int64_t dh = at_or(wa.dilations, 0, 1), dw = at_or(wa.dilations, 1, 1);
    std::vector<int64_t> ph = {at_or(wa.pads, 0, 0), at_or(wa.pads, 2, 0)}, pw = {at_or(wa.pads, 1, 0), at_or(wa.pads, 3, 0)};
    if (wa.auto_pad == ops::AutoPad::SameUpper || wa.auto_pad == ops::AutoPad::SameLower) {
      ph = ops::same_pads(H, kh, sh, dh, wa.auto_pad);
      pw = ops::same_pads(W, kw, sw, dw, wa.auto_pad);
    } else if (wa.auto_pad == ops::AutoPad::Valid) {
      ph = {0, 0};
      pw = {0, 0};
    }
    const int64_t OH = (H + ph[0] + ph[1] - dh * (kh - 1) - 1) / sh + 1, OW = (W + pw[0] + pw[1] - dw * (kw - 1) - 1) / sw + 1;
    if (OH <= 0 || OW <= 0) return;
    const int64_t K = C * kh * kw, positions = N * OH * OW;
    if (rows.k != 0 && rows.k != K) return;
    rows.k = K;
    const int64_t take = std::min<int64_t>(static_cast<int64_t>(max_rows), positions);
    for (int64_t r = 0; r < take; ++r) {
      const int64_t p = r * positions / take + (positions / take) / 2;  // evenly spaced, centred
      const int64_t n = p / (OH * OW), oh = (p / OW) % OH, ow = p % OW;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t y = oh * sh - ph[0] + i * dh, xx = ow * sw - pw[0] + j * dw;
            rows.data.push_back(y < 0 || y >= H || xx < 0 || xx >= W ? 0.0f : px[((n * C + c) * H + y) * W + xx]);
          }
    }
    return;
  }
  // Gemm / MatMul: K from the weight (Gemm transB: [N, K]; otherwise [K, N]).
  bool trans_a = false;
  int64_t K = ws[0];
  if (l.op == "Gemm") {
    const auto* g = dynamic_cast<const ops::GemmAttrs*>(plan.steps()[static_cast<size_t>(l.step)].attrs.get());
    if (!g) return;
    trans_a = g->trans_a;
    K = g->trans_b ? ws[1] : ws[0];
  }
  if (x.rank() < 1 || (trans_a ? x.rank() != 2 || x.shape()[0] != K : x.shape().back() != K)) return;
  if (rows.k != 0 && rows.k != K) return;
  rows.k = K;
  const int64_t M = x.numel() / std::max<int64_t>(K, 1);
  const int64_t take = std::min<int64_t>(static_cast<int64_t>(max_rows), M);
  for (int64_t r = 0; r < take; ++r) {
    const int64_t m = r * M / take + (M / take) / 2;
    for (int64_t k = 0; k < K; ++k) rows.data.push_back(trans_a ? px[k * M + m] : px[m * K + k]);
  }
}

float output_aware_scale(const float* w, size_t stride, size_t n, const LayerRows& rows, size_t k0, int bits) {
  const int32_t qmax = (int32_t{1} << (bits - 1)) - 1, qmin = -qmax - 1;
  float amax = 0.0f;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(w[i * stride])) amax = std::max(amax, std::fabs(w[i * stride]));
  if (!(amax > 0.0f)) return 1.0f;
  const size_t R = rows.rows(), K = static_cast<size_t>(rows.k);
  if (k0 + n > K) throw Error(ErrorKind::InvalidArgument, "output-aware range: columns out of range of the layer's rows");
  std::vector<float> delta(n);
  auto err = [&](double f) {
    const float s = static_cast<float>(f * amax / qmax);
    for (size_t i = 0; i < n; ++i) {
      const float v = w[i * stride];
      float t = v / s;
      t = t > static_cast<float>(qmin) ? t : static_cast<float>(qmin);
      t = t < static_cast<float>(qmax) ? t : static_cast<float>(qmax);
      delta[i] = v - std::nearbyint(t) * s;
    }
    double e = 0;
    for (size_t r = 0; r < R; ++r) {
      const float* x = rows.data.data() + r * K + k0;
      float acc = 0;
      for (size_t i = 0; i < n; ++i) acc += x[i] * delta[i];
      e += static_cast<double>(acc) * acc;
    }
    return e;
  };
  double best = std::numeric_limits<double>::infinity(), best_f = 1.0;
  for (int k = kCoarse; k >= 1; --k) {  // larger fractions first: ties keep the less clipped range
    const double f = static_cast<double>(k) / kCoarse, e = err(f);
    if (e < best) best = e, best_f = f;
  }
  const double centre = best_f, step = 1.0 / kCoarse / kFine;
  for (int k = kFine; k >= -kFine; --k) {
    const double f = centre + k * step;
    if (f <= 0.0 || f > 1.0 || k == 0) continue;
    const double e = err(f);
    if (e < best) best = e, best_f = f;
  }
  const float s = static_cast<float>(best_f * amax / qmax);
  return s > 0.0f ? s : std::numeric_limits<float>::min();
}

}  // namespace qm::quant
