#include "quant/calibration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "graph/macs.h"
#include "kernels/fake_quant.h"
#include "quant/simulator.h"

namespace qm::quant {
namespace {

// A range this narrow (an all-zero tensor or channel) gets scale 1: any scale represents it.
constexpr double kMinRange = 1e-30;
// Weight clipping search: coarse fractions of max|w|, then a finer grid around the best
// (20 passes over the channel in all).
constexpr int kCoarseSteps = 10;   // 0.1, 0.2, ..., 1.0
constexpr int kFineSteps = 5;      // +-0.1 around the best in steps of 0.02
// From this bit-width on, clipping cannot pay off measurably (the rounding noise is ~2^-2b of the
// range), so `mse` takes max|w| without searching.
constexpr int kNoClipBits = 12;
// Activation mse search: candidate range ends per side.
constexpr int kRangeCandidates = 128;

void check_bits(int bits, const std::string& where) {
  if (bits < 2 || bits > 16)
    throw Error(ErrorKind::InvalidArgument, where + ": bit-width must be 2..16, got " + std::to_string(bits));
}

int64_t floor_div_shift(int64_t k, int d) {
  if (d <= 0) return k;
  if (d >= 63) return k < 0 ? -1 : 0;
  return k >> d;  // arithmetic shift: floor division by 2^d
}

float round_half_even(float x) { return std::nearbyint(x); }

// Squared error of per-tensor symmetric fake quantization of x[0..n) with `scale`.
double fq_error(const float* x, size_t n, float scale, int32_t qmin, int32_t qmax, std::vector<float>& tmp) {
  tmp.resize(n);
  kernels::f32_fake_quant_per_tensor(x, tmp.data(), n, scale, 0, qmin, qmax);
  double e = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(tmp[i]) - static_cast<double>(x[i]);
    e += d * d;
  }
  return e;
}

}  // namespace

size_t CalibrationOptions::rows_per_layer() const {
  if (output_rows == 0) return 0;
  if (weight_rounding == WeightRounding::Learned) return std::max(output_rows, kLearnedRoundingRows);
  return weight_range == WeightRange::Mse ? output_rows : 0;
}

// ---------------------------------------------------------------------------------------------
// StreamingHistogram

StreamingHistogram::StreamingHistogram(size_t max_bins) : max_bins_(std::max<size_t>(max_bins, 16)) {}

void StreamingHistogram::cover(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (counts_.empty()) {
    // Power-of-two width so that later doublings stay exact; room for the span plus 2 bins.
    const double span = std::max(hi - lo, kMinRange);
    int e = static_cast<int>(std::ceil(std::log2(span / static_cast<double>(max_bins_ - 2))));
    width_ = std::ldexp(1.0, e);
    first_ = static_cast<int64_t>(std::floor(lo / width_));
    const int64_t last = static_cast<int64_t>(std::floor(hi / width_));
    counts_.assign(static_cast<size_t>(last - first_ + 1), 0.0);
    counts_.reserve(max_bins_);
    return;
  }
  const double cur_lo = static_cast<double>(first_) * width_;
  const double cur_hi = static_cast<double>(first_ + static_cast<int64_t>(counts_.size())) * width_;
  if (lo >= cur_lo && hi < cur_hi) return;
  lo = std::min(lo, cur_lo);
  hi = std::max(hi, cur_hi - width_);
  // Smallest doubling d so that [lo, hi] fits in max_bins bins of width * 2^d.
  int d = 0;
  double w = width_;
  int64_t nf = 0, nl = 0;
  for (;; ++d, w *= 2.0) {
    // In double first: after an all-zero start the width is tiny (kMinRange) and lo / w may not
    // fit an int64.
    const double f = std::floor(lo / w), l = std::floor(hi / w);
    if (l - f + 1 > static_cast<double>(max_bins_)) continue;
    nf = static_cast<int64_t>(f);
    nl = static_cast<int64_t>(l);
    break;
  }
  std::vector<double> nc(static_cast<size_t>(nl - nf + 1), 0.0);
  nc.reserve(max_bins_);
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0.0) continue;
    const int64_t k = floor_div_shift(first_ + static_cast<int64_t>(i), d);
    nc[static_cast<size_t>(std::clamp<int64_t>(k - nf, 0, nl - nf))] += counts_[i];
  }
  counts_ = std::move(nc);
  width_ = w;
  first_ = nf;
}

void StreamingHistogram::add(const float* x, size_t n) {
  constexpr float kBig = std::numeric_limits<float>::max();
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  size_t valid = 0;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (std::isnan(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++valid;
  }
  if (!valid) return;
  lo = std::max(lo, -kBig);
  hi = std::min(hi, kBig);
  if (count_ == 0) {
    min_ = lo;
    max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
  count_ += valid;
  cover(lo, hi);
  const double inv = 1.0 / width_;
  const int64_t last = static_cast<int64_t>(counts_.size()) - 1;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (std::isnan(v)) continue;
    const double c = std::clamp(static_cast<double>(v), -static_cast<double>(kBig), static_cast<double>(kBig));
    const int64_t k = static_cast<int64_t>(std::floor(c * inv)) - first_;
    counts_[static_cast<size_t>(std::clamp<int64_t>(k, 0, last))] += 1.0;
  }
}

// ---------------------------------------------------------------------------------------------
// Encodings from ranges

Encoding activation_encoding_from_range(double lo, double hi, int bits) {
  check_bits(bits, "activation encoding");
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  Encoding e;
  e.bits = bits;
  e.symmetric = false;
  e.axis = -1;
  const int32_t qmax = e.qmax();
  float scale = static_cast<float>((hi - lo) / qmax);
  if (!(hi - lo > kMinRange) || !(scale > 0.0f) || !std::isfinite(scale)) scale = hi - lo > kMinRange ? std::numeric_limits<float>::min() : 1.0f;
  if (!std::isfinite(scale)) scale = std::numeric_limits<float>::max();
  const float zf = round_half_even(static_cast<float>(-lo / static_cast<double>(scale)));
  const int32_t zp = static_cast<int32_t>(std::clamp(zf, 0.0f, static_cast<float>(qmax)));
  e.scale = {scale};
  e.zero_point = {zp};
  e.min = {static_cast<float>(-zp) * scale};
  e.max = {static_cast<float>(qmax - zp) * scale};
  return e;
}

Encoding activation_encoding(const StreamingHistogram& h, int bits, const ActRange& range) {
  check_bits(bits, "activation encoding");
  if (h.count() == 0 || range.kind == ActRange::MinMax) return activation_encoding_from_range(h.min(), h.max(), bits);
  const std::vector<double>& c = h.counts();
  const size_t nb = c.size();
  const double w = h.width();
  const double total = static_cast<double>(h.count());
  // Bin centres clamped to the exact observed range (the outer bins' mass sits at most there).
  std::vector<double> centre(nb);
  for (size_t i = 0; i < nb; ++i)
    centre[i] = std::clamp((static_cast<double>(h.first_bin() + static_cast<int64_t>(i)) + 0.5) * w,
                           static_cast<double>(h.min()), static_cast<double>(h.max()));
  if (range.kind == ActRange::Percentile) {
    // Value below which a fraction f of the mass lies (linear inside a bin).
    auto quantile = [&](double f) {
      const double target = f * total;
      double acc = 0.0;
      for (size_t i = 0; i < nb; ++i) {
        if (acc + c[i] >= target && c[i] > 0.0) {
          const double lo_edge = static_cast<double>(h.first_bin() + static_cast<int64_t>(i)) * w;
          const double v = lo_edge + w * (target - acc) / c[i];
          return std::clamp(v, static_cast<double>(h.min()), static_cast<double>(h.max()));
        }
        acc += c[i];
      }
      return static_cast<double>(h.max());
    };
    const double p = range.percentile / 100.0;
    const double hi = h.max() > 0.0f ? quantile(p) : 0.0;
    const double lo = h.min() < 0.0f ? quantile(1.0 - p) : 0.0;
    return activation_encoding_from_range(lo, hi, bits);
  }
  // mse: expected squared error of [a, b] = clipping error of the mass outside + scale^2/12 per
  // element inside, evaluated in O(1) per candidate from prefix sums of n, n*c, n*c^2.
  std::vector<double> s0(nb + 1, 0.0), s1(nb + 1, 0.0), s2(nb + 1, 0.0);
  for (size_t i = 0; i < nb; ++i) {
    s0[i + 1] = s0[i] + c[i];
    s1[i + 1] = s1[i] + c[i] * centre[i];
    s2[i + 1] = s2[i] + c[i] * centre[i] * centre[i];
  }
  // First bin index whose centre is > v (centres are non-decreasing).
  auto upper = [&](double v) { return static_cast<size_t>(std::upper_bound(centre.begin(), centre.end(), v) - centre.begin()); };
  auto lower = [&](double v) { return static_cast<size_t>(std::lower_bound(centre.begin(), centre.end(), v) - centre.begin()); };
  const double qmax = std::ldexp(1.0, bits) - 1.0;
  std::vector<double> his, los;
  const double mx = std::max(0.0, static_cast<double>(h.max())), mn = std::min(0.0, static_cast<double>(h.min()));
  for (int k = 1; k <= kRangeCandidates; ++k) {
    if (mx > 0.0) his.push_back(mx * k / kRangeCandidates);
    if (mn < 0.0) los.push_back(mn * k / kRangeCandidates);
  }
  if (his.empty()) his.push_back(0.0);
  if (los.empty()) los.push_back(0.0);
  double best = std::numeric_limits<double>::infinity(), best_a = mn, best_b = mx;
  for (double b : his) {
    const size_t ub = upper(b);  // bins [ub, nb) lie above b
    const double above = (s2[nb] - s2[ub]) - 2.0 * b * (s1[nb] - s1[ub]) + b * b * (s0[nb] - s0[ub]);
    for (double a : los) {
      const size_t la = lower(a);  // bins [0, la) lie below a
      const double below = s2[la] - 2.0 * a * s1[la] + a * a * s0[la];
      const double scale = (b - a) / qmax;
      const double inside = s0[ub] - s0[la];
      const double err = above + below + inside * scale * scale / 12.0;
      if (err < best) {
        best = err;
        best_a = a;
        best_b = b;
      }
    }
  }
  return activation_encoding_from_range(best_a, best_b, bits);
}

namespace {

/// The symmetric scale of one channel or block of weights `x` at `bits` (spec section 2).
float weight_scale(const std::vector<float>& x, int32_t qmin, int32_t qmax, int bits, WeightRange range, std::vector<float>& tmp) {
  float amax = 0.0f;
  for (float v : x)
    if (std::isfinite(v)) amax = std::max(amax, std::fabs(v));
  if (!(amax > 0.0f)) return 1.0f;
  float scale = amax / static_cast<float>(qmax);
  if (range != WeightRange::MinMax && bits < kNoClipBits) {
    auto eval = [&](double f) { return fq_error(x.data(), x.size(), static_cast<float>(f * amax / qmax), qmin, qmax, tmp); };
    double best = std::numeric_limits<double>::infinity(), best_f = 1.0;
    // Larger fractions first: on ties the less clipped range wins.
    for (int k = kCoarseSteps; k >= 1; --k) {
      const double f = static_cast<double>(k) / kCoarseSteps;
      const double err = eval(f);
      if (err < best) {
        best = err;
        best_f = f;
      }
    }
    const double step = 1.0 / kCoarseSteps / kFineSteps;
    const double centre = best_f;
    for (int k = kFineSteps; k >= -kFineSteps; --k) {
      const double f = centre + k * step;
      if (f <= 0.0 || f > 1.0 || k == 0) continue;
      const double err = eval(f);
      if (err < best) {
        best = err;
        best_f = f;
      }
    }
    scale = static_cast<float>(best_f * amax / qmax);
  }
  if (!(scale > 0.0f)) scale = std::numeric_limits<float>::min();
  return scale;
}

void push_scale(Encoding& e, float scale) {
  e.scale.push_back(scale);
  e.zero_point.push_back(0);
  e.min.push_back(static_cast<float>(e.qmin()) * scale);
  e.max.push_back(static_cast<float>(e.qmax()) * scale);
}

}  // namespace

Encoding weight_encoding(const Tensor& w, int axis, int bits, WeightRange range) {
  check_bits(bits, "weight encoding");
  if (w.dtype() != DataType::Float || axis < 0 || axis >= w.rank())
    throw Error(ErrorKind::InvalidArgument, "weight encoding: expected a float tensor with axis " + std::to_string(axis) +
                                                ", got " + std::string(dtype_name(w.dtype())) + " " + shape_to_string(w.shape()));
  const Shape& s = w.shape();
  size_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= static_cast<size_t>(s[static_cast<size_t>(i)]);
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) inner *= static_cast<size_t>(s[i]);
  const size_t C = static_cast<size_t>(s[static_cast<size_t>(axis)]);
  Encoding e;
  e.bits = bits;
  e.symmetric = true;
  e.axis = axis;
  const float* x = w.data<float>();
  std::vector<float> ch(outer * inner), tmp;
  for (size_t c = 0; c < C; ++c) {
    for (size_t o = 0; o < outer; ++o)
      std::copy(x + (o * C + c) * inner, x + (o * C + c + 1) * inner, ch.begin() + static_cast<std::ptrdiff_t>(o * inner));
    push_scale(e, weight_scale(ch, e.qmin(), e.qmax(), bits, range, tmp));
  }
  return e;
}

Encoding blocked_weight_encoding(const Tensor& w, const BlockLayout& layout, int block, int bits, WeightRange range) {
  check_bits(bits, "weight encoding");
  if (w.dtype() != DataType::Float || !layout.ok() || !valid_weight_block(block) ||
      layout.outer * layout.k * layout.inner != w.numel())
    throw Error(ErrorKind::InvalidArgument, "blocked weight encoding: expected a float tensor with a blocked form and a block size of " +
                                                std::to_string(kMinWeightBlock) + ".." + std::to_string(kMaxWeightBlock) +
                                                " (power of two), got " + std::string(dtype_name(w.dtype())) + " " + shape_to_string(w.shape()) +
                                                " and block " + std::to_string(block));
  Encoding e;
  e.bits = bits;
  e.symmetric = true;
  e.axis = layout.axis;
  e.block = block;
  e.block_k_dims = layout.k_dims;
  const float* x = w.data<float>();
  const size_t K = static_cast<size_t>(layout.k), inner = static_cast<size_t>(layout.inner), B = static_cast<size_t>(block);
  std::vector<float> part, tmp;
  for (size_t o = 0; o < static_cast<size_t>(layout.outer); ++o)
    for (size_t b0 = 0; b0 < K; b0 += B)
      for (size_t i = 0; i < inner; ++i) {
        part.clear();
        for (size_t k = b0; k < std::min(K, b0 + B); ++k) part.push_back(x[(o * K + k) * inner + i]);
        push_scale(e, weight_scale(part, e.qmin(), e.qmax(), bits, range, tmp));
      }
  return e;
}

Encoding output_aware_weight_encoding(const Tensor& w, const BlockLayout& layout, int axis, int block, int bits,
                                     const LayerRows& rows) {
  check_bits(bits, "weight encoding");
  if (w.dtype() != DataType::Float || !layout.ok() || layout.k_dims + layout.axis > w.rank() ||
      layout.outer * layout.k * layout.inner != w.numel() || rows.k != layout.k * rows.groups || (layout.outer > 1 && layout.inner > 1))
    throw Error(ErrorKind::InvalidArgument, "output-aware weight encoding: the layer's rows do not fit its weight " + shape_to_string(w.shape()));
  Encoding e;
  e.bits = bits;
  e.symmetric = true;
  e.axis = block > 0 ? layout.axis : axis;
  e.block = block;
  e.block_k_dims = block > 0 ? layout.k_dims : 1;
  for (float scale : output_aware_scales(w.data<float>(), layout, block, bits, rows)) push_scale(e, scale);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Encodings table

Encodings::Encodings(const QuantModel& model, CalibrationOptions options) : model_(&model), options_(options) {
  hist_.resize(model.quantizers().size());
}
Encodings::Encodings(Encodings&&) noexcept = default;
Encodings& Encodings::operator=(Encodings&&) noexcept = default;
Encodings::~Encodings() = default;

const Encoding& Encodings::get(int q, int bits, int block) {
  auto it = table_.find({q, bits, block});
  if (it != table_.end()) return it->second;
  const Quantizer& qq = model_->quantizer(q);
  const std::string where = std::string(qq.kind == QuantizerKind::Weight ? "weight" : "activation") + " '" + qq.tensor + "'";
  check_bits(bits, "encoding of " + where);
  Encoding e;
  const LayerRows* r = qq.kind == QuantizerKind::Weight ? rows(q) : nullptr;
  if (r && r->rows() > 0 && bits <= 4 && options_.weight_range == WeightRange::Mse) {
    const BlockLayout& layout = model_->layers()[static_cast<size_t>(qq.layer)].blocks;
    e = output_aware_weight_encoding(model_->weight(q), layout, qq.axis, block, bits, *r);
  } else if (qq.kind == QuantizerKind::Weight && block > 0) {
    const BlockLayout& layout = model_->layers()[static_cast<size_t>(qq.layer)].blocks;
    if (!layout.ok())
      throw Error(ErrorKind::InvalidArgument, "encoding of " + where + ": its layer (" + model_->layers()[static_cast<size_t>(qq.layer)].op +
                                                  ") has no blocked form");
    e = blocked_weight_encoding(model_->weight(q), layout, block, bits, options_.weight_range);
  } else if (qq.kind == QuantizerKind::Weight) {
    e = weight_encoding(model_->weight(q), qq.axis, bits, options_.weight_range);
  } else {
    const StreamingHistogram* h = histogram(q);
    if ((!h || h->count() == 0) && !qq.scope.empty()) {
      // Inside a branch or loop body no calibration sample ran: no range to give it, so it stays
      // float (an encoding without scales), in the simulation and the export alike.
      e.bits = bits;
      return table_.emplace(Key{q, bits, block}, std::move(e)).first->second;
    }
    if (!h || h->count() == 0)
      throw Error(ErrorKind::InvalidArgument, "encoding of " + where + " at " + std::to_string(bits) +
                                                  " bits: no calibration data reached it");
    e = activation_encoding(*h, bits, options_.act_range);
  }
  if (r && r->rows() > 0 && bits <= 4 && options_.weight_rounding == WeightRounding::Learned) {
    const BlockLayout& layout = model_->layers()[static_cast<size_t>(qq.layer)].blocks;
    e.levels = learned_rounding(model_->weight(q).data<float>(), layout, block, bits, e.scale, *r, options_.learned_rounding);
  }
  if (r && r->rows() > 0 && bits <= 4 && options_.bias_correction && model_->layers()[static_cast<size_t>(qq.layer)].bias != graph::kNoValue) {
    const Tensor& w = model_->weight(q);
    const Tensor wq = fake_quantize(w, e);
    e.bias_shift = bias_shift(w.data<float>(), wq.data<float>(), model_->layers()[static_cast<size_t>(qq.layer)].blocks, *r);
  }
  return table_.emplace(Key{q, bits, block}, std::move(e)).first->second;
}

bool Encodings::has(int q, int bits, int block) const { return table_.count({q, bits, block}) != 0; }

void Encodings::set(int q, Encoding e) {
  const Key key{q, e.bits, e.block};
  table_[key] = std::move(e);
}

void Encodings::set_histogram(int q, std::shared_ptr<const StreamingHistogram> h) {
  hist_[static_cast<size_t>(q)] = std::move(h);
}

void Encodings::set_rows(int q, std::shared_ptr<const LayerRows> rows) {
  if (rows_.size() < hist_.size()) rows_.resize(hist_.size());
  rows_[static_cast<size_t>(q)] = std::move(rows);
}

const LayerRows* Encodings::rows(int q) const {
  if (q < 0 || static_cast<size_t>(q) >= rows_.size()) return nullptr;
  return rows_[static_cast<size_t>(q)].get();
}

const StreamingHistogram* Encodings::histogram(int q) const {
  if (q < 0 || static_cast<size_t>(q) >= hist_.size()) return nullptr;
  return hist_[static_cast<size_t>(q)].get();
}

void Encodings::clear_computed() { table_.clear(); }

// ---------------------------------------------------------------------------------------------
// Calibrator

Calibrator::Calibrator(const QuantModel& model, graph::Executor& executor, CalibrationOptions options)
    : model_(&model), executor_(&executor), options_(options) {
  hist_.resize(model.quantizers().size());
  for (const Quantizer& q : model.quantizers())
    if (q.kind == QuantizerKind::Activation)
      hist_[static_cast<size_t>(q.id)] = std::make_shared<StreamingHistogram>(options.histogram_bins);
  macs_pending_.resize(model.layers().size());
  // (Layers inside subgraphs keep what inference found: their step is the control-flow node's.)
  for (size_t l = 0; l < model.layers().size(); ++l) macs_pending_[l] = model.layers()[l].macs <= 0 && model.layers()[l].scope.empty();
  // Output-aware weight ranges: rows of each eligible layer's data input.
  if (options.rows_per_layer() > 0) {
    const graph::Plan& plan = model.plan();
    rows_.resize(model.layers().size());
    rows_of_value_.resize(plan.num_values());
    for (size_t l = 0; l < model.layers().size(); ++l) {
      const Layer& L = model.layers()[l];
      if (!L.scope.empty()) continue;  // inside a subgraph: plain weight ranges
      const graph::ValueId x = plan.steps()[static_cast<size_t>(L.step)].inputs[0];
      if (L.weight_quantizer < 0 || x == graph::kNoValue || !takes_rows(plan, L)) continue;
      rows_[l] = std::make_shared<LayerRows>();
      rows_of_value_[static_cast<size_t>(x)].push_back(static_cast<int>(l));
    }
    rows_quota_ = options.rows_per_layer();
  }
}

Calibrator::~Calibrator() = default;

void Calibrator::add_sample(const std::vector<Tensor>& inputs, Simulator* sim, const QuantConfig* config) {
  const auto t0 = std::chrono::steady_clock::now();
  const graph::Plan& plan = model_->plan();
  const bool want_shapes = std::find(macs_pending_.begin(), macs_pending_.end(), true) != macs_pending_.end();
  std::map<graph::ValueId, Shape> shapes;  // only layer inputs/outputs whose MACs are unknown
  std::vector<bool> shape_wanted;
  if (want_shapes) {
    shape_wanted.assign(plan.num_values(), false);
    for (size_t l = 0; l < macs_pending_.size(); ++l) {
      if (!macs_pending_[l]) continue;
      const graph::Step& s = plan.steps()[static_cast<size_t>(model_->layers()[l].step)];
      if (s.inputs[0] != graph::kNoValue) shape_wanted[static_cast<size_t>(s.inputs[0])] = true;
      if (s.outputs[0] != graph::kNoValue) shape_wanted[static_cast<size_t>(s.outputs[0])] = true;
    }
  }
  graph::ValueHook observe = [&](graph::ValueId v, const Tensor& t) -> std::optional<Tensor> {
    if (want_shapes && static_cast<size_t>(v) < shape_wanted.size() && shape_wanted[static_cast<size_t>(v)]) shapes[v] = t.shape();
    if (static_cast<size_t>(v) < rows_of_value_.size())
      for (int l : rows_of_value_[static_cast<size_t>(v)])
        append_rows(plan, model_->layers()[static_cast<size_t>(l)], t, rows_quota_, *rows_[static_cast<size_t>(l)]);
    const int q = model_->quantizer_on(v);
    if (q >= 0 && t.dtype() == DataType::Float && hist_[static_cast<size_t>(q)])
      hist_[static_cast<size_t>(q)]->add(t.data<float>(), static_cast<size_t>(t.numel()));
    return std::nullopt;
  };
  if (sim && config) {
    sim->run(*config, inputs, observe);
  } else {
    const SubgraphView view(*model_, *executor_, observe);  // the values inside subgraphs too
    executor_->run(inputs, observe);
  }
  stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, executor_->stats().peak_live_bytes);
  ++stats_.samples;
  // Rows stay within 2 x rows_per_layer() per layer: past it, every other row goes and later
  // samples give half as many, so the rows kept spread over all the samples seen.
  bool thin = false;
  for (const auto& r : rows_) thin |= r && r->rows() > 2 * options_.rows_per_layer();
  if (thin) {
    for (const auto& r : rows_) {
      if (!r || r->rows() == 0) continue;
      const size_t K = static_cast<size_t>(r->k), n = r->rows();
      size_t out = 0;
      for (size_t i = 0; i < n; i += 2, ++out)
        std::copy(r->data.begin() + static_cast<std::ptrdiff_t>(i * K), r->data.begin() + static_cast<std::ptrdiff_t>((i + 1) * K),
                  r->data.begin() + static_cast<std::ptrdiff_t>(out * K));
      r->data.resize(out * K);
      r->data.shrink_to_fit();
    }
    rows_quota_ = std::max<size_t>(1, rows_quota_ / 2);
  }

  if (want_shapes && !inputs.empty() && inputs[0].rank() >= 1) {
    const int64_t batch = std::max<int64_t>(1, inputs[0].shape()[0]);
    for (size_t l = 0; l < macs_pending_.size(); ++l) {
      if (!macs_pending_[l]) continue;
      const Layer& L = model_->layers()[l];
      const graph::Step& s = plan.steps()[static_cast<size_t>(L.step)];
      auto xi = shapes.find(s.inputs[0]);
      auto yi = shapes.find(s.outputs[0]);
      if (xi == shapes.end() || yi == shapes.end()) continue;
      // The shapes seen, counted by graph::layer_macs (the one MACs formula).
      auto info = [](const Shape& shape) { return ops::TensorInfo(DataType::Float, ops::Dims(shape.begin(), shape.end())); };
      const ops::TensorInfo x = info(xi->second), w = info(L.weight_shape), y = info(yi->second);
      if (auto m = graph::layer_macs(L.op, s.attrs.get(), &x, &w, &y)) model_->set_layer_macs(static_cast<int>(l), *m / batch);
      macs_pending_[l] = false;
    }
  }
  size_t hb = 0;
  for (const auto& h : hist_)
    if (h) hb += h->bytes();
  stats_.histogram_bytes = hb;
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Encodings Calibrator::finish() const {
  Encodings enc(*model_, options_);
  for (size_t q = 0; q < hist_.size(); ++q)
    if (hist_[q]) enc.set_histogram(static_cast<int>(q), std::make_shared<const StreamingHistogram>(*hist_[q]));
  for (size_t l = 0; l < rows_.size(); ++l)
    if (rows_[l] && rows_[l]->rows() > 0)
      enc.set_rows(model_->layers()[l].weight_quantizer, std::make_shared<const LayerRows>(*rows_[l]));
  return enc;
}

Encodings calibrate(const QuantModel& model, graph::Executor& executor, const std::vector<std::vector<Tensor>>& samples,
                    const CalibrationOptions& options, const std::function<bool(size_t, size_t)>& progress,
                    CalibrationStats* stats) {
  if (samples.empty()) throw Error(ErrorKind::InvalidArgument, "calibration: no samples (expected at least 1)");
  Calibrator cal(model, executor, options);
  for (size_t i = 0; i < samples.size(); ++i) {
    cal.add_sample(samples[i]);
    if (progress && !progress(i + 1, samples.size()))
      throw Error(ErrorKind::InvalidArgument, "cancelled during calibration");
  }
  if (stats) *stats = cal.stats();
  return cal.finish();
}

}  // namespace qm::quant
