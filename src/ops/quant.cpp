// Quantisation ops: QuantizeLinear and DequantizeLinear (ONNX from opset 10; per-axis from 13;
// blocked and output_dtype from 21), and ONNX Runtime's com.microsoft versions, which quantmix
// exports for 16-bit activations in models older than opset 21.
#include "core/error.h"
#include "ops/op_util.h"

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
    reg.add(q);
    OpDef d = q;
    d.op_type = "DequantizeLinear";
    d.infer = typed_infer<QuantAttrs>(infer_dequantize);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
