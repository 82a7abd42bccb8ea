// Resizing: Resize (opset 10: scales; 11+: roi, scales, sizes; 18+: axes and
// keep_aspect_ratio_policy) and Upsample (opset 7-8: scales attribute; 9: scales input).
// Output sizes are floor(input * scale), or the given sizes.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

// The string attributes, resolved to enums when the node is loaded.
enum class ResizeMode { Nearest, Linear, Cubic };  ///< "bilinear" (Upsample) is Linear
enum class CoordMode {
  HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn, HalfPixelSymmetric, TfCropAndResize
};
enum class NearestMode { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };  ///< Simple: opset < 11
enum class AspectPolicy { Stretch, NotLarger, NotSmaller };

struct ResizeAttrs : OpAttrs {
  bool upsample = false;  ///< the node is an Upsample
  ResizeMode mode = ResizeMode::Nearest;
  CoordMode coordinate_transformation_mode = CoordMode::HalfPixel;
  NearestMode nearest_mode = NearestMode::RoundPreferFloor;
  AspectPolicy keep_aspect_ratio_policy = AspectPolicy::Stretch;
  std::vector<int64_t> axes;
  std::vector<float> scales;  ///< Upsample opset 7-8
  float cubic_coeff_a = -0.75f;
  bool exclude_outside = false;
  bool antialias = false;  ///< opset 18: widen linear/cubic filters when downsampling
  float extrapolation_value = 0.0f;
};

/// True if an optional input is given and not an empty tensor (exporters pass empty tensors
/// for "no roi"/"no scales").
bool given(const TensorInfo* t) {
  if (!t) return false;
  auto n = t->num_elements();
  return !n || *n > 0;
}

Dim scaled(const InferContext& c, const Dim& in, double scale) {
  if (scale == 1.0) return in;
  if (!in.known()) return Dim();
  const double v = std::floor(static_cast<double>(*in.value) * scale);
  if (!(v >= 0 && v <= static_cast<double>(kMaxDim))) c.fail("scaled size out of range");
  return static_cast<int64_t>(v);
}

std::vector<TensorInfo> infer_resize(const ResizeAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(unknown_info(x.dtype));
  const size_t r = x.rank();
  std::vector<int64_t> axes = a.axes;
  for (int64_t& ax : axes) ax = axis_or_fail(c, ax, static_cast<int64_t>(r));
  if (axes.empty())
    for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));
  const TensorInfo* scales_in = nullptr;
  const TensorInfo* sizes_in = nullptr;
  if (a.upsample) {
    if (c.opset() >= 9) scales_in = c.input(1);
  } else if (c.opset() == 10) {
    scales_in = c.input(1);
  } else {
    scales_in = given(c.input(2)) ? c.input(2) : nullptr;
    sizes_in = given(c.input(3)) ? c.input(3) : nullptr;
    if (scales_in && sizes_in) c.fail("only one of 'scales' and 'sizes' may be given");
  }
  Dims out = *x.shape;
  if (sizes_in) {
    auto sizes = known_ints(sizes_in);
    if (!sizes) return one(make_info(x.dtype, Dims(r)));
    if (sizes->size() != axes.size())
      c.fail("sizes " + ints_to_string(*sizes) + " has " + std::to_string(sizes->size()) + " values, expected " + std::to_string(axes.size()));
    for (int64_t s : *sizes)
      if (s < 0 || s > kMaxDim) c.fail("sizes " + ints_to_string(*sizes) + " out of range");
    if (a.keep_aspect_ratio_policy == AspectPolicy::Stretch) {
      for (size_t i = 0; i < axes.size(); ++i) out[static_cast<size_t>(axes[i])] = (*sizes)[i];
    } else {
      // One scale for all axes: the smallest (not_larger) or largest (not_smaller) ratio.
      std::optional<double> scale;
      for (size_t i = 0; i < axes.size(); ++i) {
        const Dim& d = (*x.shape)[static_cast<size_t>(axes[i])];
        if (!d.known()) return one(make_info(x.dtype, Dims(r)));
        if (*d.value == 0) return one(make_info(x.dtype, Dims(r)));
        const double s = static_cast<double>((*sizes)[i]) / static_cast<double>(*d.value);
        if (!scale) scale = s;
        else scale = a.keep_aspect_ratio_policy == AspectPolicy::NotLarger ? std::min(*scale, s) : std::max(*scale, s);
      }
      for (int64_t ax : axes) {
        const Dim& d = (*x.shape)[static_cast<size_t>(ax)];
        const double v = std::floor(static_cast<double>(*d.value) * *scale + 0.5);
        if (!(v >= 0 && v <= static_cast<double>(kMaxDim))) c.fail("scaled size out of range");
        out[static_cast<size_t>(ax)] = static_cast<int64_t>(v);
      }
    }
    return one(make_info(x.dtype, std::move(out)));
  }
  std::optional<std::vector<double>> scales;
  if (a.upsample && c.opset() < 9) scales = std::vector<double>(a.scales.begin(), a.scales.end());
  else if (scales_in) scales = known_numbers(scales_in);
  else c.fail("neither 'scales' nor 'sizes' is given");
  if (!scales) return one(make_info(x.dtype, Dims(r)));
  if (scales->size() != axes.size())
    c.fail("scales has " + std::to_string(scales->size()) + " values, expected " + std::to_string(axes.size()));
  for (size_t i = 0; i < axes.size(); ++i) {
    if (!((*scales)[i] > 0)) c.fail("scales must be positive");
    Dim& d = out[static_cast<size_t>(axes[i])];
    d = scaled(c, d, (*scales)[i]);
  }
  return one(make_info(x.dtype, std::move(out)));
}

ResizeAttrs parse_resize(const ParseContext& p, bool upsample) {
  ResizeAttrs a;
  a.upsample = upsample;
  const std::string mode = p.get_string("mode", "nearest");
  if (mode == "nearest") a.mode = ResizeMode::Nearest;
  else if (mode == "linear" || mode == "bilinear") a.mode = ResizeMode::Linear;
  else if (mode == "cubic") a.mode = ResizeMode::Cubic;
  else p.fail_attr("mode", "expected nearest, linear or cubic, got '" + mode + "'");
  // Spellings other than these have always run as asymmetric (coordinate) and
  // round_prefer_floor (nearest); they stay accepted.
  const std::string ctm = p.get_string("coordinate_transformation_mode", "half_pixel");
  CoordMode& cm = a.coordinate_transformation_mode;
  if (ctm == "half_pixel") cm = CoordMode::HalfPixel;
  else if (ctm == "pytorch_half_pixel") cm = CoordMode::PytorchHalfPixel;
  else if (ctm == "align_corners") cm = CoordMode::AlignCorners;
  else if (ctm == "tf_half_pixel_for_nn") cm = CoordMode::TfHalfPixelForNn;
  else if (ctm == "half_pixel_symmetric") cm = CoordMode::HalfPixelSymmetric;
  else if (ctm == "tf_crop_and_resize") cm = CoordMode::TfCropAndResize;
  else cm = CoordMode::Asymmetric;
  const std::string nm = p.get_string("nearest_mode", "round_prefer_floor");
  NearestMode& n = a.nearest_mode;
  if (nm == "round_prefer_ceil") n = NearestMode::RoundPreferCeil;
  else if (nm == "floor") n = NearestMode::Floor;
  else if (nm == "ceil") n = NearestMode::Ceil;
  else if (nm == "simple") n = NearestMode::Simple;
  else n = NearestMode::RoundPreferFloor;
  const std::string policy = p.get_string("keep_aspect_ratio_policy", "stretch");
  if (policy == "stretch") a.keep_aspect_ratio_policy = AspectPolicy::Stretch;
  else if (policy == "not_larger") a.keep_aspect_ratio_policy = AspectPolicy::NotLarger;
  else if (policy == "not_smaller") a.keep_aspect_ratio_policy = AspectPolicy::NotSmaller;
  else p.fail_attr("keep_aspect_ratio_policy", "expected stretch, not_larger or not_smaller, got '" + policy + "'");
  a.axes = p.get_ints("axes");
  a.cubic_coeff_a = p.get_float("cubic_coeff_a", -0.75f);
  a.exclude_outside = p.get_int("exclude_outside", 0) != 0;
  a.antialias = p.get_int("antialias", 0) != 0;
  a.extrapolation_value = p.get_float("extrapolation_value", 0.0f);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Execution: each resized axis maps output index -> source coordinate (coordinate
// transformation mode), then nearest picks one index per output position and linear/cubic
// interpolate; linear and cubic are applied one axis at a time (separable), nearest in one
// gather. Float coordinates are computed in float32 as ONNX Runtime does.

float source_coord(CoordMode ctm, int64_t x, float scale, int64_t in, int64_t out) {
  const float fx = static_cast<float>(x);
  switch (ctm) {
    case CoordMode::HalfPixel: return (fx + 0.5f) / scale - 0.5f;
    case CoordMode::PytorchHalfPixel: return out > 1 ? (fx + 0.5f) / scale - 0.5f : 0.0f;
    case CoordMode::AlignCorners: return out == 1 ? 0.0f : fx * static_cast<float>(in - 1) / static_cast<float>(out - 1);
    case CoordMode::TfHalfPixelForNn: return (fx + 0.5f) / scale;
    case CoordMode::HalfPixelSymmetric: {
      const float adj = static_cast<float>(out) / (scale * static_cast<float>(in));
      const float center = static_cast<float>(in) / 2.0f;
      return center * (1.0f - adj) + (fx + 0.5f) / scale - 0.5f;
    }
    default: return fx / scale;  // asymmetric (tf_crop_and_resize is refused before)
  }
}

int64_t nearest_index(NearestMode mode, float v, bool downsample) {
  switch (mode) {
    case NearestMode::Simple: return downsample ? static_cast<int64_t>(std::ceil(v)) : static_cast<int64_t>(v);
    case NearestMode::Floor: return static_cast<int64_t>(std::floor(v));
    case NearestMode::Ceil: return static_cast<int64_t>(std::ceil(v));
    case NearestMode::RoundPreferCeil: return static_cast<int64_t>(std::round(v));
    case NearestMode::RoundPreferFloor: break;
  }
  if (v == std::floor(v) + 0.5f) return static_cast<int64_t>(std::floor(v));
  return static_cast<int64_t>(std::round(v));
}

void cubic_weights(float t, float A, float w[4]) {
  auto f = [A](float s) {
    s = std::fabs(s);
    if (s <= 1) return ((A + 2) * s - (A + 3)) * s * s + 1;
    if (s < 2) return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
    return 0.0f;
  };
  w[0] = f(t + 1);
  w[1] = f(t);
  w[2] = f(1 - t);
  w[3] = f(2 - t);
}

void run_resize(const ResizeAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  detail::require_float(c, x, "input X");
  const int64_t r = x.rank();
  std::vector<int64_t> axes;
  for (int64_t ax : a.axes) axes.push_back(detail::norm_axis(c, ax, r));
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  const bool legacy = a.upsample || c.opset() < 11;
  std::vector<float> scales(static_cast<size_t>(r), 1.0f);
  Shape os = x.shape();
  auto given = [](const Tensor* t) { return t && t->numel() > 0; };
  const Tensor* scales_in = nullptr;
  const Tensor* sizes_in = nullptr;
  std::vector<float> attr_scales;
  if (a.upsample && c.opset() < 9) attr_scales = a.scales;
  else if (legacy) scales_in = c.input(1);
  else {
    scales_in = given(c.input(2)) ? c.input(2) : nullptr;
    sizes_in = given(c.input(3)) ? c.input(3) : nullptr;
  }
  if (a.coordinate_transformation_mode == CoordMode::TfCropAndResize && !legacy)
    c.unsupported("coordinate_transformation_mode tf_crop_and_resize is not supported");
  if (sizes_in) {
    const std::vector<int64_t> sizes = detail::ints_of(c, *sizes_in, "sizes");
    if (sizes.size() != axes.size()) c.fail("sizes has " + std::to_string(sizes.size()) + " values, expected " + std::to_string(axes.size()));
    if (a.keep_aspect_ratio_policy == AspectPolicy::Stretch) {
      for (size_t i = 0; i < axes.size(); ++i) {
        const size_t ax = static_cast<size_t>(axes[i]);
        os[ax] = sizes[i];
        scales[ax] = static_cast<float>(sizes[i]) / static_cast<float>(x.shape()[ax]);
      }
    } else {
      const bool not_larger = a.keep_aspect_ratio_policy == AspectPolicy::NotLarger;
      float s = not_larger ? std::numeric_limits<float>::max() : 0.0f;
      for (size_t i = 0; i < axes.size(); ++i) {
        const float q = static_cast<float>(sizes[i]) / static_cast<float>(x.shape()[static_cast<size_t>(axes[i])]);
        s = not_larger ? std::min(s, q) : std::max(s, q);
      }
      for (int64_t ax : axes) {
        const float o = std::round(s * static_cast<float>(x.shape()[static_cast<size_t>(ax)]));
        if (!(o >= 0.0f && o < 0x1p62f)) c.fail("sizes give an output dimension of " + std::to_string(o) + ", out of range");
        os[static_cast<size_t>(ax)] = static_cast<int64_t>(o);
        scales[static_cast<size_t>(ax)] = s;
      }
    }
  } else {
    std::vector<double> sv;
    if (!attr_scales.empty()) sv.assign(attr_scales.begin(), attr_scales.end());
    else if (scales_in) sv = detail::numbers_of(c, *scales_in, "scales");
    else c.fail("neither 'scales' nor 'sizes' is given");
    if (sv.size() != axes.size()) c.fail("scales has " + std::to_string(sv.size()) + " values, expected " + std::to_string(axes.size()));
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t ax = static_cast<size_t>(axes[i]);
      if (!(sv[i] > 0)) c.fail("scales must be positive");
      scales[ax] = static_cast<float>(sv[i]);
      const float o = std::floor(static_cast<float>(x.shape()[ax]) * scales[ax]);
      if (!(o < 0x1p62f)) c.fail("scales give an output dimension of " + std::to_string(o) + ", out of range");
      os[ax] = static_cast<int64_t>(o);
    }
  }
  for (int64_t d = 0; d < r; ++d)
    if (x.shape()[static_cast<size_t>(d)] == 0 && os[static_cast<size_t>(d)] > 0)
      c.fail("cannot resize an empty dimension " + std::to_string(d) + " to " + std::to_string(os[static_cast<size_t>(d)]));
  const ResizeMode mode = a.mode;
  const CoordMode ctm = legacy ? CoordMode::Asymmetric : a.coordinate_transformation_mode;
  const NearestMode nmode = legacy ? NearestMode::Simple : a.nearest_mode;

  if (mode == ResizeMode::Nearest) {
    // The output first: its size is checked there, and an empty one (a zero dim) needs no index
    // tables, which for another dim of 2^31 took 16 GB and minutes (fuzz_model_run).
    Tensor& y = c.alloc(0, DataType::Float, os);
    if (y.numel() == 0) return;
    // One gather: per axis, the source index of each output index.
    std::vector<std::vector<int64_t>> idx(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      const size_t u = static_cast<size_t>(d);
      const int64_t in = x.shape()[u];
      for (int64_t j = 0; j < os[u]; ++j) {
        if (os[u] == in && scales[u] == 1.0f) {
          idx[u].push_back(j);
          continue;
        }
        const float v = detail::bounded_coord(source_coord(ctm, j, scales[u], in, os[u]));
        idx[u].push_back(std::min(std::max<int64_t>(nearest_index(nmode, v, scales[u] < 1.0f), 0), in - 1));
      }
    }
    const std::vector<int64_t> st = detail::strides_of(x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    if (r == 0) {
      py[0] = px[0];
      return;
    }
    // Row by row along the last axis: the outer axes give the row's source offset once (a large
    // output went element by element over every axis: 20 s under the fuzzer's sanitizers).
    const size_t last = static_cast<size_t>(r - 1);
    const int64_t width = os[last];
    const std::vector<int64_t>& src = idx[last];
    std::vector<int64_t> coord(last, 0);
    for (int64_t row = 0; row < y.numel() / width; ++row) {
      int64_t base = 0;
      for (size_t d = 0; d < last; ++d) base += idx[d][static_cast<size_t>(coord[d])] * st[d];
      float* out = py + row * width;
      for (int64_t j = 0; j < width; ++j) out[j] = px[base + src[static_cast<size_t>(j)] * st[last]];
      for (int64_t d = static_cast<int64_t>(last) - 1; d >= 0; --d) {
        if (++coord[static_cast<size_t>(d)] < os[static_cast<size_t>(d)]) break;
        coord[static_cast<size_t>(d)] = 0;
      }
    }
    return;
  }
  Tensor cur = x;
  for (int64_t d = 0; d < r; ++d) {
    const size_t u = static_cast<size_t>(d);
    const int64_t in = cur.shape()[u], out = os[u];
    if (in == out && scales[u] == 1.0f && ctm != CoordMode::TfHalfPixelForNn) continue;
    Shape ns = cur.shape();
    ns[u] = out;
    Tensor next(DataType::Float, ns);
    if (next.numel() == 0) {  // no taps needed (nor a table of `out` of them)
      cur = next;
      continue;
    }
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < d; ++k) outer *= ns[static_cast<size_t>(k)];
    for (int64_t k = d + 1; k < r; ++k) inner *= ns[static_cast<size_t>(k)];
    // Per output index: the source indices and weights along this axis.
    std::vector<std::vector<std::pair<int64_t, float>>> taps(static_cast<size_t>(out));
    const bool aa = a.antialias;
    for (int64_t j = 0; j < out; ++j) {
      float v = detail::bounded_coord(source_coord(ctm, j, scales[u], in, out));
      auto& tj = taps[static_cast<size_t>(j)];
      if (aa) {
        // Antialiased resize (Pillow's scheme, as ONNX Runtime): when downsampling the filter is
        // stretched by 1/scale; taps outside the input fold onto the edge (or, with
        // exclude_outside, drop); weights are renormalised.
        const float rscale = scales[u], fscale = 1.0f / rscale;
        const float half = mode == ResizeMode::Linear ? 1.0f : 2.0f;
        const float support = fscale >= 1.0f ? half * fscale : half;
        const float inv = fscale >= 1.0f ? 1.0f / fscale : 1.0f;
        const int64_t window = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
        const float center = 0.5f + (fscale == 1.0f ? static_cast<float>(j) : v);
        const int64_t lo = static_cast<int64_t>(std::floor(center - support + 0.5f));
        int64_t hi = static_cast<int64_t>(std::floor(center + support + 0.5f));
        hi = lo + std::min(std::max<int64_t>(hi - lo, 0), window);
        const float A = a.cubic_coeff_a;
        float total = 0;
        for (int64_t p = lo; p < hi; ++p) {
          if (a.exclude_outside && (p < 0 || p >= in)) continue;
          const float t = std::fabs((static_cast<float>(p) - center + 0.5f) * inv);
          float w;
          if (mode == ResizeMode::Linear) w = t < 1.0f ? 1.0f - t : 0.0f;
          else w = t < 1.0f ? ((A + 2) * t - (A + 3)) * t * t + 1 : (t < 2.0f ? (((t - 5) * t + 8) * t - 4) * A : 0.0f);
          tj.emplace_back(std::min(std::max<int64_t>(p, 0), in - 1), w);
          total += w;
        }
        const float tinv = total == 0.0f ? 1.0f : 1.0f / total;
        for (auto& pw : tj) pw.second *= tinv;
      } else if (mode == ResizeMode::Linear) {
        v = std::max(0.0f, std::min(v, static_cast<float>(in - 1)));
        const int64_t i0 = std::min(static_cast<int64_t>(v), in - 1);
        const int64_t i1 = std::min(i0 + 1, in - 1);
        const float w1 = v - static_cast<float>(i0);
        tj.emplace_back(i0, 1.0f - w1);
        tj.emplace_back(i1, w1);
      } else {
        const float fl = std::floor(v);
        const int64_t base = static_cast<int64_t>(fl);
        float ww[4];
        cubic_weights(v - fl, a.cubic_coeff_a, ww);
        float sum = 0;
        for (int t = 0; t < 4; ++t) {
          const int64_t p = base - 1 + t;
          if (a.exclude_outside && (p < 0 || p >= in)) ww[t] = 0;
          sum += ww[t];
        }
        for (int t = 0; t < 4; ++t)
          tj.emplace_back(std::min(std::max<int64_t>(base - 1 + t, 0), in - 1), a.exclude_outside && sum != 0 ? ww[t] / sum : ww[t]);
      }
    }
    const float* pc = cur.data<float>();
    float* pn = next.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < out; ++j) {
        float* dst = pn + (o * out + j) * inner;
        bool first = true;
        for (const auto& pw : taps[static_cast<size_t>(j)]) {
          const float w = pw.second;
          const float* src = pc + (o * in + pw.first) * inner;
          if (first) for (int64_t k = 0; k < inner; ++k) dst[k] = w * src[k];
          else for (int64_t k = 0; k < inner; ++k) dst[k] += w * src[k];
          first = false;
        }
      }
    cur = std::move(next);
  }
  if (cur.raw() == x.raw()) cur = x.clone();
  c.set(0, std::move(cur));
}

}  // namespace

void register_resize(OpRegistry& reg) {
  {
    OpDef d;
    d.op_type = "Resize";
    d.since = 10;
    d.until = 10;
    d.min_inputs = d.max_inputs = 2;
    d.parse = typed_parse<ResizeAttrs>([](const ParseContext& p) { return parse_resize(p, false); });
    d.infer = typed_infer<ResizeAttrs>(infer_resize);
    d.run = typed_run<ResizeAttrs>(run_resize);
    reg.add(d);
    d.since = 11;
    d.until = kLatestOpset;
    d.min_inputs = 1;
    d.max_inputs = 4;
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Upsample";
    d.since = 7;
    d.until = 8;
    d.parse = typed_parse<ResizeAttrs>([](const ParseContext& p) {
      ResizeAttrs a = parse_resize(p, true);
      const onnx::Attribute* s = p.find("scales");
      if (!s) p.fail_attr("scales", "missing required attribute (expected FLOATS)");
      a.scales = p.get_floats("scales");
      return a;
    });
    d.infer = typed_infer<ResizeAttrs>(infer_resize);
    d.run = typed_run<ResizeAttrs>(run_resize);
    reg.add(d);
    d.since = 9;
    d.until = 9;
    d.min_inputs = d.max_inputs = 2;
    d.parse = typed_parse<ResizeAttrs>([](const ParseContext& p) { return parse_resize(p, true); });
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
