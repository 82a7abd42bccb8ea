// Quantisation ops: QuantizeLinear and DequantizeLinear (ONNX from opset 10; per-axis from 13;
// blocked and output_dtype from 21), and ONNX Runtime's com.microsoft versions, which quantmix
// exports for 16-bit activations in models older than opset 21.
#include "core/error.h"
#include <algorithm>
#include <cmath>

#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct QuantAttrs : OpAttrs {
  int64_t axis = 1;
  int64_t block_size = 0;
  bool saturate = true;
  DataType output_dtype = DataType::Undefined;  ///< QuantizeLinear opset 21
};

void check_scale(const InferContext& c, const QuantAttrs& a) {
  const TensorInfo &x = c.in(0), &scale = c.in(1);
  if (!x.has_rank() || !scale.has_rank() || scale.rank() == 0 || a.block_size != 0) return;
  if (scale.rank() == 1 && (*scale.shape)[0].is(1)) return;
  if (scale.rank() != 1) c.fail("scale must be a scalar or 1-D (got shape " + scale.shape_string() + ")");
  if (x.rank() == 0) c.fail("per-axis scale needs an input of rank >= 1");
  const int64_t axis = axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
  const Dim& d = (*x.shape)[static_cast<size_t>(axis)];
  const Dim& s = (*scale.shape)[0];
  if (d.known() && s.known() && *d.value != *s.value)
    c.fail("scale has " + std::to_string(*s.value) + " values but axis " + std::to_string(a.axis) +
           " of input " + x.shape_string() + " has " + std::to_string(*d.value));
}

std::vector<TensorInfo> infer_quantize(const QuantAttrs& a, const InferContext& c) {
  check_scale(c, a);
  DataType t = DataType::Uint8;
  if (c.input(2) && c.input(2)->dtype != DataType::Undefined) t = c.input(2)->dtype;
  else if (a.output_dtype != DataType::Undefined) t = a.output_dtype;
  return one(TensorInfo(t, c.in(0).shape));
}

std::vector<TensorInfo> infer_dequantize(const QuantAttrs& a, const InferContext& c) {
  check_scale(c, a);
  // The output has the scale's type (float before opset 19 allowed other scale types).
  DataType t = c.in(1).dtype != DataType::Undefined ? c.in(1).dtype : DataType::Float;
  return one(TensorInfo(t, c.in(0).shape));
}

QuantAttrs parse_quant(const ParseContext& p) {
  QuantAttrs a;
  a.axis = p.get_int("axis", 1);
  a.block_size = p.get_int("block_size", 0);
  if (a.block_size < 0) p.fail_attr("block_size", "expected a value >= 0, got " + std::to_string(a.block_size));
  a.saturate = p.get_int("saturate", 1) != 0;
  if (p.has("output_dtype")) {
    const int64_t t = p.get_int("output_dtype", 0);
    if (t != 0 && !dtype_is_known(static_cast<int32_t>(t)))
      p.fail_attr("output_dtype", "unknown data type " + std::to_string(t));
    a.output_dtype = static_cast<DataType>(t);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Execution. Per-tensor, per-axis (1-D scale along `axis`) and blocked (scale with the input's
// rank, `block_size` elements per scale along `axis`). Quantisation rounds half to even and
// saturates, in float32 as ONNX Runtime does: nearbyint(x / scale) + zero_point.

struct QuantLayout {
  int64_t outer = 1, dim = 1, inner = 1, block = 0;
  bool per_tensor = true;
};

QuantLayout quant_layout(RunContext& c, const QuantAttrs& a, const Tensor& x, const Tensor& scale) {
  QuantLayout q;
  if (scale.numel() == 1 && a.block_size == 0) return q;
  q.per_tensor = false;
  const int64_t axis = detail::norm_axis(c, a.axis, x.rank());
  for (int64_t i = 0; i < x.rank(); ++i) {
    const int64_t d = x.shape()[static_cast<size_t>(i)];
    if (i < axis) q.outer *= d;
    else if (i == axis) q.dim = d;
    else q.inner *= d;
  }
  if (a.block_size > 0) {
    q.block = a.block_size;
    const int64_t nb = (q.dim + q.block - 1) / q.block;
    if (scale.rank() != x.rank() || scale.numel() != q.outer * nb * q.inner)
      c.fail("blocked scale shape " + shape_to_string(scale.shape()) + " does not match input " + shape_to_string(x.shape()) +
             " with block_size " + std::to_string(q.block));
  } else if (scale.rank() != 1 || scale.numel() != q.dim) {
    c.fail("scale has " + std::to_string(scale.numel()) + " values but axis " + std::to_string(a.axis) + " of input " +
           shape_to_string(x.shape()) + " has " + std::to_string(q.dim));
  }
  return q;
}

/// Index into scale/zero point of element i.
inline int64_t param_index(const QuantLayout& q, int64_t i) {
  if (q.per_tensor) return 0;
  const int64_t in = i % q.inner, k = (i / q.inner) % q.dim;
  if (!q.block) return k;
  const int64_t o = i / (q.inner * q.dim);
  const int64_t nb = (q.dim + q.block - 1) / q.block;
  return (o * nb + k / q.block) * q.inner + in;
}

bool quant_range(DataType t, double& lo, double& hi) {
  switch (t) {
    case DataType::Uint8: lo = 0; hi = 255; return true;
    case DataType::Int8: lo = -128; hi = 127; return true;
    case DataType::Uint16: lo = 0; hi = 65535; return true;
    case DataType::Int16: lo = -32768; hi = 32767; return true;
    case DataType::Uint4: lo = 0; hi = 15; return true;
    case DataType::Int4: lo = -8; hi = 7; return true;
    case DataType::Int32: lo = -2147483648.0; hi = 2147483647.0; return true;
    default: return false;
  }
}

void run_quantize(const QuantAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &scale = c.in(1);
  const Tensor* zp = c.input(2);
  detail::require_float(c, x, "input x");
  detail::require_float(c, scale, "y_scale");
  DataType t = DataType::Uint8;
  if (zp) t = zp->dtype();
  else if (a.output_dtype != DataType::Undefined) t = a.output_dtype;
  double lo, hi;
  if (!quant_range(t, lo, hi)) c.unsupported("quantizing to " + std::string(dtype_name(t)) + " is not supported");
  const QuantLayout q = quant_layout(c, a, x, scale);
  if (zp && zp->numel() != scale.numel()) c.fail("y_zero_point and y_scale have different sizes");
  Tensor& y = c.alloc(0, t, x.shape());
  const float* px = x.data<float>();
  const float* ps = scale.data<float>();
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  std::vector<float> zpv(static_cast<size_t>(scale.numel()), 0.0f);
  if (zp)
    for (int64_t i = 0; i < zp->numel(); ++i) zpv[static_cast<size_t>(i)] = static_cast<float>(detail::number_at(*zp, i));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t p = param_index(q, i);
    float v = std::nearbyint(px[i] / ps[p]) + zpv[static_cast<size_t>(p)];
    v = std::isnan(v) ? 0.0f : std::min(std::max(v, flo), fhi);
    detail::set_number(y, i, static_cast<double>(v));
  }
}

void run_dequantize(const QuantAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &scale = c.in(1);
  const Tensor* zp = c.input(2);
  detail::require_float(c, scale, "x_scale");
  double lo, hi;
  if (!quant_range(x.dtype(), lo, hi)) c.unsupported("dequantizing " + std::string(dtype_name(x.dtype())) + " is not supported");
  const QuantLayout q = quant_layout(c, a, x, scale);
  if (zp && zp->numel() != scale.numel()) c.fail("x_zero_point and x_scale have different sizes");
  Tensor& y = c.alloc(0, DataType::Float, x.shape());
  float* py = y.data<float>();
  const float* ps = scale.data<float>();
  std::vector<int32_t> zpv(static_cast<size_t>(scale.numel()), 0);
  if (zp)
    // A zero point of another type (a float 1e30) is not cast unchecked: trunc_to_int64, then
    // int32's low bits.
    for (int64_t i = 0; i < zp->numel(); ++i)
      zpv[static_cast<size_t>(i)] = static_cast<int32_t>(detail::trunc_to_int64(detail::number_at(*zp, i)));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t p = param_index(q, i);
    const int32_t v = static_cast<int32_t>(detail::number_at(x, i));
    // int32 x - zero point wraps (as in ONNX Runtime on x86) instead of overflowing.
    const auto d = static_cast<int32_t>(static_cast<uint32_t>(v) - static_cast<uint32_t>(zpv[static_cast<size_t>(p)]));
    py[i] = static_cast<float>(d) * ps[p];
  }
}

}  // namespace

void register_quant(OpRegistry& reg) {
  for (const char* domain : {"", "com.microsoft"}) {
    OpDef q;
    q.domain = domain;
    q.op_type = "QuantizeLinear";
    q.since = *domain ? 1 : 10;
    q.min_inputs = 2;
    q.max_inputs = 3;
    q.parse = typed_parse<QuantAttrs>(parse_quant);
    q.infer = typed_infer<QuantAttrs>(infer_quantize);
    q.run = typed_run<QuantAttrs>(run_quantize);
    reg.add(q);
    OpDef d = q;
    d.op_type = "DequantizeLinear";
    d.infer = typed_infer<QuantAttrs>(infer_dequantize);
    d.run = typed_run<QuantAttrs>(run_dequantize);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
