// Convolution and pooling: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool. Output sizes follow the ONNX operator spec (auto_pad NOTSET/SAME_UPPER/
// SAME_LOWER/VALID, dilations, ceil_mode where a window starting in the right padding is dropped).
#include "ops/conv.h"

#include "core/error.h"
#include "ops/conv_run.h"
#include "ops/op_util.h"

namespace qm::ops {
namespace {
using namespace detail;

AutoPad parse_auto_pad(const ParseContext& p) {
  const std::string s = p.get_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::NotSet;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  if (s == "VALID") return AutoPad::Valid;
  p.fail_attr("auto_pad", "expected NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + s + "'");
}

void check_positive(const ParseContext& p, const char* name, const std::vector<int64_t>& v,
                    int64_t min) {
  for (int64_t x : v)
    if (x < min)
      p.fail_attr(name, "values must be >= " + std::to_string(min) + " (got " + ints_to_string(v) + ")");
}

/// Reads the attributes shared by Conv, ConvTranspose and the pools, checking list lengths
/// against each other (the spatial rank is checked again against the input in infer).
WindowAttrs parse_window(const ParseContext& p, bool kernel_required) {
  WindowAttrs a;
  a.auto_pad = parse_auto_pad(p);
  a.kernel_shape = kernel_required ? p.require_ints("kernel_shape") : p.get_ints("kernel_shape");
  a.strides = p.get_ints("strides");
  a.dilations = p.get_ints("dilations");
  a.pads = p.get_ints("pads");
  check_positive(p, "kernel_shape", a.kernel_shape, 1);
  check_positive(p, "strides", a.strides, 1);
  check_positive(p, "dilations", a.dilations, 1);
  check_positive(p, "pads", a.pads, 0);
  if (kernel_required && a.kernel_shape.empty())
    p.fail_attr("kernel_shape", "expected at least 1 value, got 0");
  size_t k = a.kernel_shape.size();
  if (k == 0) k = !a.strides.empty() ? a.strides.size() : !a.dilations.empty() ? a.dilations.size() : a.pads.size() / 2;
  auto check_len = [&](const char* name, const std::vector<int64_t>& v, size_t want) {
    if (!v.empty() && v.size() != want)
      p.fail_attr(name, "expected " + std::to_string(want) + " values, got " + std::to_string(v.size()));
  };
  check_len("strides", a.strides, k);
  check_len("dilations", a.dilations, k);
  check_len("pads", a.pads, 2 * k);
  if (a.pads.size() % 2 != 0)
    p.fail_attr("pads", "expected an even number of values, got " + std::to_string(a.pads.size()));
  return a;
}

/// Fills defaults once the spatial rank `k` is known; fails if the attribute lengths disagree.
void resolve_window(const InferContext& c, WindowAttrs& a, size_t k) {
  auto fix = [&](const char* name, std::vector<int64_t>& v, size_t want, int64_t fill) {
    if (v.empty()) v.assign(want, fill);
    else if (v.size() != want)
      c.fail(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
             " values, expected " + std::to_string(want) + " for " + std::to_string(k) +
             " spatial dimensions");
  };
  fix("strides", a.strides, k, 1);
  fix("dilations", a.dilations, k, 1);
  fix("pads", a.pads, 2 * k, 0);
  if (!a.kernel_shape.empty()) fix("kernel_shape", a.kernel_shape, k, 1);
}

int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t div_ceil(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

}  // namespace

Dim window_output_dim(const InferContext& c, const Dim& in, int64_t kernel, int64_t stride,
                      int64_t dilation, int64_t pad_begin, int64_t pad_end, AutoPad auto_pad,
                      bool ceil_mode) {
  for (int64_t v : {kernel, stride, dilation, pad_begin, pad_end, in.value.value_or(0)})
    if (v > kMaxDim || v < 0)
      c.fail("window size, stride, dilation, padding or input size out of range (" + std::to_string(v) + ")");
  if (kernel > 1 && dilation > kMaxDim / (kernel - 1)) c.fail("dilated kernel extent out of range");
  const int64_t dk = (kernel - 1) * dilation + 1;
  if (auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
    if (stride == 1) return in;  // keeps symbols too
    if (!in.known()) return Dim();
    return div_ceil(*in.value, stride);
  }
  if (auto_pad == AutoPad::Valid) pad_begin = pad_end = 0;
  if (dk == 1 && stride == 1 && pad_begin == 0 && pad_end == 0) return in;
  if (!in.known()) return Dim();
  const int64_t span = *in.value + pad_begin + pad_end - dk;
  if (span < 0)
    c.fail("kernel extent " + std::to_string(dk) + " exceeds padded input size " +
           std::to_string(*in.value + pad_begin + pad_end));
  if (!ceil_mode) return div_floor(span, stride) + 1;
  int64_t out = div_ceil(span, stride) + 1;
  // A last window that would start in the right padding is dropped (ONNX spec, PyTorch).
  if ((out - 1) * stride >= *in.value + pad_begin) --out;
  return out;
}

std::vector<int64_t> same_pads(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                               AutoPad auto_pad) {
  const int64_t dk = (kernel - 1) * dilation + 1;
  const int64_t out = div_ceil(in, stride);
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + dk - in);
  const int64_t small = total / 2, big = total - small;
  if (auto_pad == AutoPad::SameUpper) return {small, big};
  return {big, small};
}

namespace {

std::vector<TensorInfo> infer_conv(const ConvAttrs& attrs, const InferContext& c) {
  const TensorInfo &x = c.in(0), &w = c.in(1);
  const DataType dtype = x.dtype != DataType::Undefined ? x.dtype : w.dtype;
  size_t k = 0;
  if (x.has_rank()) k = x.rank() < 2 ? 0 : x.rank() - 2;
  else if (w.has_rank()) k = w.rank() < 2 ? 0 : w.rank() - 2;
  else if (!attrs.window.kernel_shape.empty()) k = attrs.window.kernel_shape.size();
  else return one(unknown_info(dtype));
  if (x.has_rank() && x.rank() < 3) c.fail("input X must have rank >= 3 (got shape " + x.shape_string() + ")");
  if (w.has_rank() && w.rank() != k + 2)
    c.fail("weight W shape " + w.shape_string() + " does not match input shape " + x.shape_string());
  WindowAttrs a = attrs.window;
  resolve_window(c, a, k);

  Dim n = x.has_rank() ? (*x.shape)[0] : Dim();
  Dim cin = x.has_rank() ? (*x.shape)[1] : Dim();
  Dim m, wc;
  if (w.has_rank()) {
    m = (*w.shape)[0];
    wc = (*w.shape)[1];
  }
  const int64_t group = attrs.group;
  if (m.known() && *m.value % group != 0)
    c.fail("output channels " + std::to_string(*m.value) + " are not divisible by group " + std::to_string(group));
  if (cin.known() && wc.known() && *cin.value != *wc.value * group)
    c.fail("input has " + std::to_string(*cin.value) + " channels, weight expects " +
           std::to_string(*wc.value * group) + " (" + std::to_string(*wc.value) + " x group " +
           std::to_string(group) + ")");
  if (const TensorInfo* b = c.input(2)) {
    if (b->has_rank() && (b->rank() != 1 || (m.known() && (*b->shape)[0].known() && !(*b->shape)[0].is(*m.value))))
      c.fail("bias B shape " + b->shape_string() + " does not match " + m.to_string() + " output channels");
  }

  Dims out{n, m};
  for (size_t i = 0; i < k; ++i) {
    Dim kd = !a.kernel_shape.empty() ? Dim(a.kernel_shape[i]) : (w.has_rank() ? (*w.shape)[2 + i] : Dim());
    Dim in = x.has_rank() ? (*x.shape)[2 + i] : Dim();
    if (!kd.known()) {
      out.push_back(Dim());
      continue;
    }
    out.push_back(window_output_dim(c, in, *kd.value, a.strides[i], a.dilations[i], a.pads[i],
                                    a.pads[i + k], a.auto_pad, false));
  }
  return one(make_info(dtype, std::move(out)));
}

std::vector<TensorInfo> infer_conv_transpose(const ConvAttrs& attrs, const InferContext& c) {
  const TensorInfo &x = c.in(0), &w = c.in(1);
  const DataType dtype = x.dtype != DataType::Undefined ? x.dtype : w.dtype;
  size_t k = 0;
  if (x.has_rank()) k = x.rank() < 2 ? 0 : x.rank() - 2;
  else if (w.has_rank()) k = w.rank() < 2 ? 0 : w.rank() - 2;
  else return one(unknown_info(dtype));
  if (x.has_rank() && x.rank() < 3) c.fail("input X must have rank >= 3 (got shape " + x.shape_string() + ")");
  if (w.has_rank() && w.rank() != k + 2)
    c.fail("weight W shape " + w.shape_string() + " does not match input shape " + x.shape_string());
  WindowAttrs a = attrs.window;
  resolve_window(c, a, k);
  std::vector<int64_t> output_padding = attrs.output_padding;
  if (output_padding.empty()) output_padding.assign(k, 0);
  if (output_padding.size() != k)
    c.fail("attribute 'output_padding' has " + std::to_string(output_padding.size()) +
           " values, expected " + std::to_string(k));

  Dim n = x.has_rank() ? (*x.shape)[0] : Dim();
  Dim cin = x.has_rank() ? (*x.shape)[1] : Dim();
  Dim m;
  if (w.has_rank()) {
    if (cin.known() && (*w.shape)[0].known() && *cin.value != *(*w.shape)[0].value)
      c.fail("input has " + cin.to_string() + " channels, weight W expects " + (*w.shape)[0].to_string());
    if ((*w.shape)[1].known()) m = *(*w.shape)[1].value * attrs.group;
  }
  Dims out{n, m};
  if (!attrs.output_shape.empty()) {
    // output_shape lists the spatial sizes (some exporters include N and C: take the tail).
    if (attrs.output_shape.size() < k) c.fail("attribute 'output_shape' has fewer values than spatial dimensions");
    for (size_t i = attrs.output_shape.size() - k; i < attrs.output_shape.size(); ++i)
      out.push_back(attrs.output_shape[i]);
    return one(make_info(dtype, std::move(out)));
  }
  for (size_t i = 0; i < k; ++i) {
    Dim kd = !a.kernel_shape.empty() ? Dim(a.kernel_shape[i]) : (w.has_rank() ? (*w.shape)[2 + i] : Dim());
    Dim in = x.has_rank() ? (*x.shape)[2 + i] : Dim();
    if (!kd.known() || !in.known()) {
      out.push_back(Dim());
      continue;
    }
    const int64_t s = a.strides[i];
    for (int64_t v : {*kd.value, s, a.dilations[i], a.pads[i], a.pads[i + k], output_padding[i], *in.value})
      if (v > kMaxDim || v < 0) c.fail("kernel, stride, dilation, padding or input size out of range (" + std::to_string(v) + ")");
    if (a.auto_pad == AutoPad::SameUpper || a.auto_pad == AutoPad::SameLower) {
      out.push_back(*in.value * s);
      continue;
    }
    int64_t pb = a.pads[i], pe = a.pads[i + k];
    if (a.auto_pad == AutoPad::Valid) pb = pe = 0;
    const int64_t dk = (*kd.value - 1) * a.dilations[i] + 1;
    const int64_t o = s * (*in.value - 1) + output_padding[i] + dk - pb - pe;
    if (o <= 0) c.fail("output size " + std::to_string(o) + " is not positive");
    out.push_back(o);
  }
  return one(make_info(dtype, std::move(out)));
}

std::vector<TensorInfo> infer_pool(const PoolAttrs& attrs, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  const size_t k = attrs.window.kernel_shape.size();
  std::vector<TensorInfo> outs;
  if (!x.has_rank()) {
    outs.push_back(unknown_info(x.dtype));
  } else {
    if (x.rank() != k + 2)
      c.fail("input shape " + x.shape_string() + " does not match kernel_shape with " +
             std::to_string(k) + " spatial dimensions");
    WindowAttrs a = attrs.window;
    resolve_window(c, a, k);
    Dims out{(*x.shape)[0], (*x.shape)[1]};
    for (size_t i = 0; i < k; ++i)
      out.push_back(window_output_dim(c, (*x.shape)[2 + i], a.kernel_shape[i], a.strides[i],
                                      a.dilations[i], a.pads[i], a.pads[i + k], a.auto_pad,
                                      attrs.ceil_mode));
    outs.push_back(make_info(x.dtype, std::move(out)));
  }
  if (c.num_outputs() > 1) outs.emplace_back(DataType::Int64, outs[0].shape);  // MaxPool indices
  return outs;
}

std::vector<TensorInfo> infer_global_pool(const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(unknown_info(x.dtype));
  if (x.rank() < 2) c.fail("input must have rank >= 2 (got shape " + x.shape_string() + ")");
  Dims out{(*x.shape)[0], (*x.shape)[1]};
  for (size_t i = 2; i < x.rank(); ++i) out.push_back(1);
  return one(make_info(x.dtype, std::move(out)));
}

ConvAttrs parse_conv(const ParseContext& p, bool transpose) {
  ConvAttrs a;
  a.window = parse_window(p, false);
  a.group = p.get_int("group", 1);
  if (a.group < 1 || a.group > kMaxDim)
    p.fail_attr("group", "expected a value from 1 to 2^48, got " + std::to_string(a.group));
  if (transpose) {
    a.output_padding = p.get_ints("output_padding");
    a.output_shape = p.get_ints("output_shape");
    check_positive(p, "output_shape", a.output_shape, 1);
    check_positive(p, "output_padding", a.output_padding, 0);
  }
  return a;
}

PoolAttrs parse_pool(const ParseContext& p, bool max_pool) {
  PoolAttrs a;
  a.window = parse_window(p, true);
  a.ceil_mode = p.get_int("ceil_mode", 0) != 0;
  a.count_include_pad = p.get_int("count_include_pad", 0) != 0;
  a.storage_order = p.get_int("storage_order", 0);
  a.is_max = max_pool;
  return a;
}

}  // namespace

void register_conv(OpRegistry& reg) {
  using namespace detail;
  {
    OpDef d;
    d.op_type = "Conv";
    d.min_inputs = 2;
    d.max_inputs = 3;
    d.parse = typed_parse<ConvAttrs>([](const ParseContext& p) { return parse_conv(p, false); });
    d.infer = typed_infer<ConvAttrs>(infer_conv);
    d.run = typed_run<ConvAttrs>(run_conv);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "ConvTranspose";
    d.min_inputs = 2;
    d.max_inputs = 3;
    d.parse = typed_parse<ConvAttrs>([](const ParseContext& p) { return parse_conv(p, true); });
    d.infer = typed_infer<ConvAttrs>(infer_conv_transpose);
    d.run = typed_run<ConvAttrs>(run_conv_transpose);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "MaxPool";
    d.max_outputs = 2;
    d.parse = typed_parse<PoolAttrs>([](const ParseContext& p) { return parse_pool(p, true); });
    d.infer = typed_infer<PoolAttrs>(infer_pool);
    d.run = typed_run<PoolAttrs>(run_pool);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "AveragePool";
    d.parse = typed_parse<PoolAttrs>([](const ParseContext& p) { return parse_pool(p, false); });
    d.infer = typed_infer<PoolAttrs>(infer_pool);
    d.run = typed_run<PoolAttrs>(run_pool);
    reg.add(std::move(d));
  }
  for (bool is_max : {false, true}) {
    OpDef d;
    d.op_type = is_max ? "GlobalMaxPool" : "GlobalAveragePool";
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_global_pool(c); };
    d.run = [is_max](const OpAttrs*, RunContext& c) { run_global_pool(c, is_max); };
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
