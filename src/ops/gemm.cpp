// Matrix products: Gemm (2-D, optional transposes, bias C broadcast to [M, N]) and MatMul (numpy
// semantics: 1-D operands promoted and their unit dimension removed, batch dims broadcast).
#include "ops/gemm.h"

#include "core/error.h"
#include "ops/op_util.h"

namespace qm::ops {
namespace {
using namespace detail;

std::vector<TensorInfo> infer_gemm(const GemmAttrs& a, const InferContext& c) {
  const TensorInfo &x = c.in(0), &w = c.in(1);
  const DataType dtype = x.dtype != DataType::Undefined ? x.dtype : w.dtype;
  check_rank(c, x, 2, "input A");
  check_rank(c, w, 2, "input B");
  Dim m, n, ka, kb;
  if (x.has_rank()) {
    m = (*x.shape)[a.trans_a ? 1 : 0];
    ka = (*x.shape)[a.trans_a ? 0 : 1];
  }
  if (w.has_rank()) {
    n = (*w.shape)[a.trans_b ? 0 : 1];
    kb = (*w.shape)[a.trans_b ? 1 : 0];
  }
  if (ka.known() && kb.known() && *ka.value != *kb.value)
    c.fail("inner dimensions differ: A " + x.shape_string() + (a.trans_a ? " (transposed)" : "") +
           " and B " + w.shape_string() + (a.trans_b ? " (transposed)" : "") + " (K " +
           ka.to_string() + " vs " + kb.to_string() + ")");
  Dims out{m, n};
  if (const TensorInfo* bias = c.input(2)) {
    if (bias->shape && c.opset() >= 7 && !broadcast_dims(out, *bias->shape))
      c.fail("bias C shape " + bias->shape_string() + " does not broadcast to " + dims_to_string(out));
  }
  return one(make_info(dtype, std::move(out)));
}

std::vector<TensorInfo> infer_matmul(const InferContext& c) {
  const TensorInfo &x = c.in(0), &w = c.in(1);
  const DataType dtype = x.dtype != DataType::Undefined ? x.dtype : w.dtype;
  if (!x.has_rank() || !w.has_rank()) return one(unknown_info(dtype));
  Dims a = *x.shape, b = *w.shape;
  if (a.empty() || b.empty()) c.fail("MatMul operands must have rank >= 1 (got " + x.shape_string() + " and " + w.shape_string() + ")");
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), Dim(1));
  if (b1) b.push_back(Dim(1));
  const Dim& ka = a[a.size() - 1];
  const Dim& kb = b[b.size() - 2];
  if (ka.known() && kb.known() && *ka.value != *kb.value)
    c.fail("inner dimensions differ: " + x.shape_string() + " x " + w.shape_string() + " (K " +
           ka.to_string() + " vs " + kb.to_string() + ")");
  Dims ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  auto batch = broadcast_dims(ba, bb);
  if (!batch)
    c.fail("batch dimensions of " + x.shape_string() + " and " + w.shape_string() + " cannot be broadcast");
  Dims out = *batch;
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b[b.size() - 1]);
  return one(make_info(dtype, std::move(out)));
}

}  // namespace

void register_gemm(OpRegistry& reg) {
  {
    OpDef d;
    d.op_type = "Gemm";
    d.min_inputs = 2;
    d.max_inputs = 3;
    d.parse = typed_parse<GemmAttrs>([](const ParseContext& p) {
      GemmAttrs a;
      a.alpha = p.get_float("alpha", 1.0f);
      a.beta = p.get_float("beta", 1.0f);
      a.trans_a = p.get_int("transA", 0) != 0;
      a.trans_b = p.get_int("transB", 0) != 0;
      return a;
    });
    d.infer = typed_infer<GemmAttrs>(infer_gemm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "MatMul";
    d.min_inputs = d.max_inputs = 2;
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_matmul(c); };
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
