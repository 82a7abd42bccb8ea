// Resizing: Resize (opset 10: scales; 11+: roi, scales, sizes; 18+: axes and
// keep_aspect_ratio_policy) and Upsample (opset 7-8: scales attribute; 9: scales input).
// Output sizes are floor(input * scale), or the given sizes.
#include <cmath>

#include "core/error.h"
#include "ops/op_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct ResizeAttrs : OpAttrs {
  std::string mode = "nearest";
  std::string coordinate_transformation_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";
  std::string keep_aspect_ratio_policy = "stretch";
  std::vector<int64_t> axes;
  std::vector<float> scales;  ///< Upsample opset 7-8
  float cubic_coeff_a = -0.75f;
  bool exclude_outside = false;
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
  if (c.op_type() == "Upsample") {
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
    if (a.keep_aspect_ratio_policy == "stretch") {
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
        else scale = a.keep_aspect_ratio_policy == "not_larger" ? std::min(*scale, s) : std::max(*scale, s);
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
  if (c.op_type() == "Upsample" && c.opset() < 9) scales = std::vector<double>(a.scales.begin(), a.scales.end());
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

ResizeAttrs parse_resize(const ParseContext& p) {
  ResizeAttrs a;
  a.mode = p.get_string("mode", "nearest");
  if (a.mode != "nearest" && a.mode != "linear" && a.mode != "cubic" && a.mode != "bilinear")
    p.fail_attr("mode", "expected nearest, linear or cubic, got '" + a.mode + "'");
  a.coordinate_transformation_mode = p.get_string("coordinate_transformation_mode", "half_pixel");
  a.nearest_mode = p.get_string("nearest_mode", "round_prefer_floor");
  a.keep_aspect_ratio_policy = p.get_string("keep_aspect_ratio_policy", "stretch");
  if (a.keep_aspect_ratio_policy != "stretch" && a.keep_aspect_ratio_policy != "not_larger" &&
      a.keep_aspect_ratio_policy != "not_smaller")
    p.fail_attr("keep_aspect_ratio_policy", "expected stretch, not_larger or not_smaller, got '" +
                                                a.keep_aspect_ratio_policy + "'");
  a.axes = p.get_ints("axes");
  a.cubic_coeff_a = p.get_float("cubic_coeff_a", -0.75f);
  a.exclude_outside = p.get_int("exclude_outside", 0) != 0;
  a.extrapolation_value = p.get_float("extrapolation_value", 0.0f);
  return a;
}

}  // namespace

void register_resize(OpRegistry& reg) {
  {
    OpDef d;
    d.op_type = "Resize";
    d.since = 10;
    d.until = 10;
    d.min_inputs = d.max_inputs = 2;
    d.parse = typed_parse<ResizeAttrs>(parse_resize);
    d.infer = typed_infer<ResizeAttrs>(infer_resize);
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
      ResizeAttrs a = parse_resize(p);
      const onnx::Attribute* s = p.find("scales");
      if (!s) p.fail_attr("scales", "missing required attribute (expected FLOATS)");
      a.scales = p.get_floats("scales");
      return a;
    });
    d.infer = typed_infer<ResizeAttrs>(infer_resize);
    reg.add(d);
    d.since = 9;
    d.until = 9;
    d.min_inputs = d.max_inputs = 2;
    d.parse = typed_parse<ResizeAttrs>(parse_resize);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
