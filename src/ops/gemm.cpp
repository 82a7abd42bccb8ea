// Matrix products: Gemm (2-D, optional transposes, bias C broadcast to [M, N]) and MatMul (numpy
// semantics: 1-D operands promoted and their unit dimension removed, batch dims broadcast).
#include "ops/gemm.h"

#include "core/error.h"
#include "kernels/gemm.h"
#include "ops/fused.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

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

// ---------------------------------------------------------------------------------------------
// Execution. A constant B (weights) is packed once for the GEMM kernel and kept in the node's
// cache; rows (MatMul: all batch rows of A at once when B is a shared 2-D matrix) are computed
// over column ranges split across threads.

struct GemmCache : OpCache {
  bool covers_input(size_t k) const override { return k == 1; }  // B
  kernels::PackedB packed;
  std::vector<float> bias;  ///< beta * C as a per-column vector, when C is one
  bool bias_ready = false;
};

/// C[m, n] (row stride ldc) = act(A * packed B + bias), columns split over the pool.
void packed_gemm(RunContext& c, size_t m, const float* a, size_t lda, const kernels::PackedB& pb,
                 float* out, size_t ldc, const kernels::GemmParams& gp) {
  const size_t n = pb.cols();
  const size_t nr = kernels::f32_gemm_nr();
  const size_t threads = c.pool().size();
  if (threads == 1 || m * n * pb.depth() < 64 * 1024 || n < 2 * nr) {
    kernels::f32_gemm_packed_b(m, a, lda, pb, 0, n, out, ldc, gp);
    return;
  }
  c.pool().parallel_range(n, nr, pb.nr(), [&](size_t b, size_t e) {
    kernels::f32_gemm_packed_b(m, a, lda, pb, b, e, out, ldc, gp);
  });
}

/// C = A * op(B) without packing ahead: rows split over the pool.
void plain_gemm(RunContext& c, size_t m, size_t n, size_t k, const float* a, size_t lda, const float* b,
                size_t ldb, float* out, size_t ldc, const kernels::GemmParams& gp) {
  if (c.pool().size() == 1 || m * n * k < 64 * 1024 || m < 8) {
    kernels::f32_gemm(m, n, k, a, lda, b, ldb, out, ldc, gp);
    return;
  }
  c.pool().parallel_range(m, 4, 1, [&](size_t r0, size_t r1) {
    const float* ar = gp.trans_a ? a + r0 : a + r0 * lda;
    kernels::GemmParams p = gp;
    if (p.bias_kind == kernels::GemmBias::PerRow && p.bias) p.bias += r0;
    kernels::f32_gemm(r1 - r0, n, k, ar, lda, b, ldb, out + r0 * ldc, ldc, p);
  });
}

void run_gemm(const GemmAttrs& a, RunContext& c) {
  const Tensor &A = c.in(0), &B = c.in(1);
  const Tensor* C = c.input(2);
  detail::require_float(c, A, "input A");
  detail::require_float(c, B, "input B");
  if (A.rank() != 2 || B.rank() != 2) c.fail("inputs must be 2-D (got " + shape_to_string(A.shape()) + " and " + shape_to_string(B.shape()) + ")");
  const int64_t M = A.shape()[a.trans_a ? 1 : 0], K = A.shape()[a.trans_a ? 0 : 1];
  const int64_t N = B.shape()[a.trans_b ? 0 : 1], KB = B.shape()[a.trans_b ? 1 : 0];
  if (K != KB) c.fail("inner dimensions differ: A " + shape_to_string(A.shape()) + ", B " + shape_to_string(B.shape()));
  Tensor& Y = c.alloc(0, DataType::Float, {M, N});
  if (Y.numel() == 0) return;
  float* py = Y.data<float>();
  kernels::GemmParams gp;
  gp.alpha = a.alpha;
  gp.trans_a = a.trans_a;
  gp.trans_b = a.trans_b;
  if (const auto* f = dynamic_cast<const GemmFusedAttrs*>(&a)) {
    gp.clamp_min = f->clamp.lo;
    gp.clamp_max = f->clamp.hi;
  }
  std::vector<float> col_bias;
  if (C && C->numel() > 0 && a.beta != 0.0f) {
    detail::require_float(c, *C, "input C");
    const Shape cs = C->shape();
    const bool per_col = (C->numel() == N && cs.back() == N && (cs.size() == 1 || cs[0] == 1)) || C->numel() == 1;
    const bool per_row = !per_col && cs.size() == 2 && cs[0] == M && cs[1] == 1;
    const float* pc = C->data<float>();
    if (per_col) {
      col_bias.assign(static_cast<size_t>(N), 0.0f);
      for (int64_t j = 0; j < N; ++j) col_bias[static_cast<size_t>(j)] = a.beta * pc[C->numel() == 1 ? 0 : j];
      gp.bias_kind = kernels::GemmBias::PerColumn;
      gp.bias = col_bias.data();
    } else if (per_row) {
      col_bias.assign(static_cast<size_t>(M), 0.0f);
      for (int64_t i = 0; i < M; ++i) col_bias[static_cast<size_t>(i)] = a.beta * pc[i];
      gp.bias_kind = kernels::GemmBias::PerRow;
      gp.bias = col_bias.data();
    } else {
      // General broadcast: Y starts as beta * C.
      const Shape ys{M, N};
      const Shape out = detail::broadcast_shapes(c, {&ys, &cs});
      if (out != ys) c.fail("bias C shape " + shape_to_string(cs) + " does not broadcast to " + shape_to_string(ys));
      detail::BroadcastIter it(ys, {&cs});
      int64_t off = 0;
      for (int64_t o = 0; o < it.outer(); ++o) {
        it.offsets(o, &off);
        for (int64_t i = 0; i < it.inner(); ++i) py[o * it.inner() + i] = a.beta * pc[off + i * it.step(0)];
      }
      gp.beta = 1.0f;
    }
  }
  const float* pa = A.data<float>();
  const size_t lda = static_cast<size_t>(A.shape()[1]);
  if (c.is_constant(1) && c.cache() && gp.beta == 0.0f) {
    if (!*c.cache()) {
      auto cache = std::make_unique<GemmCache>();
      cache->packed = kernels::f32_gemm_pack_b(static_cast<size_t>(K), static_cast<size_t>(N), B.data<float>(),
                                               static_cast<size_t>(B.shape()[1]), a.trans_b);
      *c.cache() = std::move(cache);
    }
    const auto* cache = static_cast<const GemmCache*>(c.cache()->get());
    if (a.trans_a) {
      // The packed-B kernel reads A row-major: transpose A first (small: activations).
      std::vector<float> at(static_cast<size_t>(M * K));
      for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k) at[static_cast<size_t>(i * K + k)] = pa[k * M + i];
      kernels::GemmParams g2 = gp;
      g2.trans_a = false;
      packed_gemm(c, static_cast<size_t>(M), at.data(), static_cast<size_t>(K), cache->packed, py, static_cast<size_t>(N), g2);
    } else {
      packed_gemm(c, static_cast<size_t>(M), pa, lda, cache->packed, py, static_cast<size_t>(N), gp);
    }
    return;
  }
  plain_gemm(c, static_cast<size_t>(M), static_cast<size_t>(N), static_cast<size_t>(K), pa, lda, B.data<float>(),
             static_cast<size_t>(B.shape()[1]), py, static_cast<size_t>(N), gp);
}

void run_matmul(RunContext& c) {
  const Tensor &A = c.in(0), &B = c.in(1);
  detail::require_float(c, A, "input A");
  detail::require_float(c, B, "input B");
  if (A.rank() < 1 || B.rank() < 1) c.fail("MatMul operands must have rank >= 1");
  Shape as = A.shape(), bs = B.shape();
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), KB = bs[bs.size() - 2], N = bs.back();
  if (K != KB) c.fail("inner dimensions differ: " + shape_to_string(A.shape()) + " x " + shape_to_string(B.shape()));
  Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const Shape batch = detail::broadcast_shapes(c, {&ba, &bb});
  Shape ys = batch;
  if (!a1) ys.push_back(M);
  if (!b1) ys.push_back(N);
  Tensor& Y = c.alloc(0, DataType::Float, ys);
  if (Y.numel() == 0) return;
  const float* pa = A.data<float>();
  const float* pb = B.data<float>();
  float* py = Y.data<float>();
  kernels::GemmParams gp;
  const int64_t nbatch = shape_numel(batch);
  // B shared by every batch (2-D or broadcast batch of 1): one GEMM over all rows of A.
  const bool b_shared = shape_numel(bb) == 1;
  const bool a_full = shape_numel(ba) == nbatch;
  if (b_shared && a_full) {
    const size_t rows = static_cast<size_t>(nbatch * M);
    if (c.is_constant(1) && c.cache()) {
      if (!*c.cache()) {
        auto cache = std::make_unique<GemmCache>();
        cache->packed = kernels::f32_gemm_pack_b(static_cast<size_t>(K), static_cast<size_t>(N), pb, static_cast<size_t>(N), false);
        *c.cache() = std::move(cache);
      }
      packed_gemm(c, rows, pa, static_cast<size_t>(K), static_cast<const GemmCache*>(c.cache()->get())->packed, py,
                  static_cast<size_t>(N), gp);
    } else {
      plain_gemm(c, rows, static_cast<size_t>(N), static_cast<size_t>(K), pa, static_cast<size_t>(K), pb,
                 static_cast<size_t>(N), py, static_cast<size_t>(N), gp);
    }
    return;
  }
  detail::BroadcastIter it(batch, {&ba, &bb});
  // Offsets of each batch's A and B matrix (in matrices).
  std::vector<int64_t> oa(static_cast<size_t>(nbatch)), ob(static_cast<size_t>(nbatch));
  {
    // Walk the batch with the iterator: outer x inner with steps.
    int64_t offs[2];
    int64_t idx = 0;
    for (int64_t o = 0; o < it.outer(); ++o) {
      it.offsets(o, offs);
      for (int64_t i = 0; i < it.inner(); ++i, ++idx) {
        oa[static_cast<size_t>(idx)] = offs[0] + i * it.step(0);
        ob[static_cast<size_t>(idx)] = offs[1] + i * it.step(1);
      }
    }
  }
  if (batch.empty()) {
    oa.assign(1, 0);
    ob.assign(1, 0);
  }
  detail::parallel_items(c, nbatch, M * N * K, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; ++i)
      kernels::f32_gemm(static_cast<size_t>(M), static_cast<size_t>(N), static_cast<size_t>(K),
                        pa + oa[static_cast<size_t>(i)] * M * K, static_cast<size_t>(K),
                        pb + ob[static_cast<size_t>(i)] * K * N, static_cast<size_t>(N), py + i * M * N,
                        static_cast<size_t>(N), gp);
  });
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
    d.run = typed_run<GemmAttrs>(run_gemm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "MatMul";
    d.min_inputs = d.max_inputs = 2;
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_matmul(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_matmul(c); };
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
