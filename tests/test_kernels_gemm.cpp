// f32_gemm (packed SIMD), its pre-packed variants and the scalar reference, against a naive
// triple loop in double precision.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/ref/gemm.h"
#include "test_kernels_util.h"

namespace qm::kernels {
namespace {

using test::Rng;

// Normalised MSE allowed between a float GEMM and the double oracle (float rounding over K
// terms gives ~1e-13; a wrong element gives >1e-4 even in a 1000-element result).
constexpr double kGemmNmse = 1e-10;
// Element-wise bound: |y - exact| <= kGemmUlpFactor * (K + 2) * eps * magnitude, where
// magnitude = |alpha| sum_k |a_ik b_kj| + |beta c_ij| + |bias| (standard dot-product bound).
constexpr double kGemmUlpFactor = 1.0;

struct Case {
  size_t m, n, k;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  GemmBias bias = GemmBias::None;
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  size_t pad = 0;  // extra elements per row of A, B and C (leading dimension > width)
};

std::string describe(const Case& c) {
  return "m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) +
         " ta=" + std::to_string(c.trans_a) + " tb=" + std::to_string(c.trans_b) +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta) +
         " bias=" + std::to_string(static_cast<int>(c.bias)) + " pad=" + std::to_string(c.pad) +
         " clamp=[" + std::to_string(c.lo) + "," + std::to_string(c.hi) + "]";
}

// Operands of one case plus the exact (double) expected result and its error magnitude.
struct Problem {
  Case cs;
  size_t lda, ldb, ldc;
  std::vector<float> a, b, c0, bias;
  std::vector<double> expected, magnitude;
  GemmParams params;

  explicit Problem(const Case& c, uint64_t seed) : cs(c) {
    Rng rng(seed);
    const size_t a_rows = c.trans_a ? c.k : c.m, a_cols = c.trans_a ? c.m : c.k;
    const size_t b_rows = c.trans_b ? c.n : c.k, b_cols = c.trans_b ? c.k : c.n;
    lda = a_cols + c.pad;
    ldb = b_cols + c.pad;
    ldc = c.n + c.pad;
    a = rng.vector(std::max<size_t>(a_rows * lda, 1));
    b = rng.vector(std::max<size_t>(b_rows * ldb, 1));
    // beta == 0: C must not be read, so it starts as NaN.
    c0 = c.beta == 0.0f ? std::vector<float>(c.m * ldc, std::nanf(""))
                        : rng.vector(c.m * ldc);
    bias = rng.vector(c.bias == GemmBias::PerRow ? c.m : c.n);
    params.trans_a = c.trans_a;
    params.trans_b = c.trans_b;
    params.alpha = c.alpha;
    params.beta = c.beta;
    params.bias_kind = c.bias;
    params.bias = bias.data();
    params.clamp_min = c.lo;
    params.clamp_max = c.hi;
    expected.assign(c.m * c.n, 0.0);
    magnitude.assign(c.m * c.n, 0.0);
    for (size_t i = 0; i < c.m; ++i) {
      for (size_t j = 0; j < c.n; ++j) {
        double acc = 0.0, mag = 0.0;
        for (size_t p = 0; p < c.k; ++p) {
          const double av = c.trans_a ? a[p * lda + i] : a[i * lda + p];
          const double bv = c.trans_b ? b[j * ldb + p] : b[p * ldb + j];
          acc += av * bv;
          mag += std::fabs(av * bv);
        }
        double y = c.alpha * acc;
        mag *= std::fabs(c.alpha);
        if (c.beta != 0.0f) {
          y += c.beta * static_cast<double>(c0[i * ldc + j]);
          mag += std::fabs(c.beta * c0[i * ldc + j]);
        }
        if (c.bias != GemmBias::None) {
          const double bv = bias[c.bias == GemmBias::PerRow ? i : j];
          y += bv;
          mag += std::fabs(bv);
        }
        expected[i * c.n + j] = std::min(std::max(y, double(c.lo)), double(c.hi));
        magnitude[i * c.n + j] = mag;
      }
    }
  }

  // Checks C (ldc layout) against the oracle and that padding columns were not touched.
  void check(const std::vector<float>& c, const char* what) const {
    INFO(what << ": " << describe(cs));
    std::vector<float> dense(cs.m * cs.n);
    const double eps = std::numeric_limits<float>::epsilon();
    size_t bad = 0;
    for (size_t i = 0; i < cs.m; ++i) {
      for (size_t j = 0; j < cs.n; ++j) {
        const float y = c[i * ldc + j];
        dense[i * cs.n + j] = y;
        const double tol = kGemmUlpFactor * (cs.k + 2) * eps * magnitude[i * cs.n + j] + 1e-30;
        if (!(std::fabs(y - expected[i * cs.n + j]) <= tol)) {
          if (bad++ == 0) {
            INFO("first bad element (" << i << "," << j << "): got " << y << ", expected "
                                       << expected[i * cs.n + j]);
            CHECK(false);
          }
        }
      }
      for (size_t j = cs.n; j < ldc; ++j) {
        const float before = c0[i * ldc + j];
        const float after = c[i * ldc + j];
        CHECK((after == before || (std::isnan(after) && std::isnan(before))));
      }
    }
    CHECK(bad == 0);
    CHECK(test::nmse(dense.data(), expected.data(), dense.size()) <= kGemmNmse);
  }
};

void run_all_variants(const Case& cs, uint64_t seed) {
  const Problem pr(cs, seed);
  {
    std::vector<float> c = pr.c0;
    f32_gemm(cs.m, cs.n, cs.k, pr.a.data(), pr.lda, pr.b.data(), pr.ldb, c.data(), pr.ldc,
             pr.params);
    pr.check(c, "f32_gemm");
  }
  {
    std::vector<float> c = pr.c0;
    ref::f32_gemm(cs.m, cs.n, cs.k, pr.a.data(), pr.lda, pr.b.data(), pr.ldb, c.data(), pr.ldc,
                  pr.params);
    pr.check(c, "ref::f32_gemm");
  }
  {
    // Pre-packed B, computed as two column ranges split at a strip boundary (how the op layer
    // will split work across threads).
    const PackedB pb = f32_gemm_pack_b(cs.k, cs.n, pr.b.data(), pr.ldb, cs.trans_b);
    std::vector<float> c = pr.c0;
    const size_t nr = pb.nr();
    const size_t split = std::min(cs.n, (cs.n / 2 + nr - 1) / nr * nr);
    f32_gemm_packed_b(cs.m, pr.a.data(), pr.lda, pb, 0, split, c.data(), pr.ldc, pr.params);
    f32_gemm_packed_b(cs.m, pr.a.data(), pr.lda, pb, split, cs.n, c.data(), pr.ldc, pr.params);
    pr.check(c, "f32_gemm_packed_b");
  }
  {
    const PackedA pa = f32_gemm_pack_a(cs.m, cs.k, pr.a.data(), pr.lda, cs.trans_a);
    std::vector<float> c = pr.c0;
    const size_t mr = pa.mr();
    const size_t split = std::min(cs.m, (cs.m / 2 + mr - 1) / mr * mr);
    f32_gemm_packed_a(pa, 0, split, cs.n, pr.b.data(), pr.ldb, c.data(), pr.ldc, pr.params);
    f32_gemm_packed_a(pa, split, cs.m, cs.n, pr.b.data(), pr.ldb, c.data(), pr.ldc, pr.params);
    pr.check(c, "f32_gemm_packed_a");
  }
}

TEST_CASE("kernels/gemm: grid of small shapes, transposes, alpha/beta, bias, clamp, leading dims") {
  const size_t lanes = f32_simd_lanes();
  const size_t mr = f32_gemm_mr(), nr = f32_gemm_nr();
  std::vector<size_t> ms = {1, 2, 3, mr - 1, mr, mr + 1, 2 * mr + 1, 17};
  std::vector<size_t> ns = {1, 2, lanes - 1, lanes, lanes + 1, nr - 1, nr, nr + 1, 2 * nr + 3};
  std::vector<size_t> ks = {1, 2, 5, 16, 33};
  for (auto* v : {&ms, &ns}) {
    v->erase(std::remove(v->begin(), v->end(), size_t{0}), v->end());
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  uint64_t seed = 1;
  for (size_t m : ms) {
    for (size_t n : ns) {
      for (size_t k : ks) {
        for (int t = 0; t < 4; ++t, ++seed) {
          Case cs{m, n, k, (t & 1) != 0, (t & 2) != 0};
          // Vary the epilogue deterministically across the grid.
          cs.alpha = seed % 3 == 0 ? 1.5f : 1.0f;
          cs.beta = seed % 4 == 1 ? 0.5f : (seed % 4 == 2 ? 1.0f : 0.0f);
          cs.bias = static_cast<GemmBias>(seed % 3);
          if (seed % 5 == 0) cs.lo = 0.0f;
          if (seed % 7 == 0) { cs.lo = -0.25f; cs.hi = 0.25f; }
          cs.pad = seed % 2 ? 3 : 0;
          run_all_variants(cs, seed);
        }
      }
    }
  }
}

TEST_CASE("kernels/gemm: shapes spanning several K, M and N cache blocks") {
  const Case cases[] = {
      {130, 70, 600, false, false, 1.0f, 0.0f, GemmBias::PerRow},
      {257, 33, 513, true, false, 0.75f, 1.0f, GemmBias::PerColumn, 0.0f},
      {20, 2100, 40, false, true, 1.0f, 0.5f, GemmBias::None, -1.0f, 1.0f, 5},
      {64, 196, 300, true, true, 2.0f, 0.0f, GemmBias::PerRow},
      {1, 1000, 1280, false, true, 1.0f, 0.0f, GemmBias::PerColumn},
      {1000, 1, 1280, false, false, 1.0f, 0.0f, GemmBias::PerRow},
      {300, 1, 257, true, false, 1.0f, 1.0f, GemmBias::PerRow, 0.0f, 6.0f, 1},
      {1, 777, 300, true, false, 1.0f, 0.0f, GemmBias::None, -std::numeric_limits<float>::infinity(),
       std::numeric_limits<float>::infinity(), 2},
  };
  uint64_t seed = 1000;
  for (const Case& cs : cases) run_all_variants(cs, seed++);
}

TEST_CASE("kernels/gemm: full tiles sum each output in K order with unfused multiply and add, bias after") {
  // What ONNX Runtime's wasm SGEMM computes for a convolution or MatMul within one K block:
  // sum_k round(round(a_ik * b_kj)), then + bias. With fused multiply-adds (explicit, or GCC
  // contracting a * b + c) a product skips its rounding and some sums differ in the last bit
  // (issue 13 item 2: enough to flip quantized activations and disagree with ORT on an 8-bit
  // MobileNet export). Full register tiles, one K block: the order is fixed, the bits must match.
  const size_t m = f32_gemm_mr(), n = 2 * f32_gemm_nr(), k = 37;
  Rng rng(4242);
  std::vector<float> a(m * k), b(k * n), bias(m), c(m * n, 0.0f);
  for (float& v : a) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : b) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : bias) v = rng.uniform(-1.0f, 1.0f);
  GemmParams p;
  p.bias_kind = GemmBias::PerRow;
  p.bias = bias.data();
  f32_gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, p);
  size_t differ = 0;
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (size_t q = 0; q < k; ++q) {
        volatile float product = a[i * k + q] * b[q * n + j];  // rounded: never fused with the add
        acc = acc + product;
      }
      volatile float sum = acc;
      differ += c[i * n + j] != sum + bias[i] ? 1 : 0;
    }
  }
  CHECK_MESSAGE(differ == 0, differ << " of " << m * n << " outputs differ from the unfused K-order sum");
}

TEST_CASE("kernels/gemm: K == 0 gives act(beta * C + bias); empty M or N touch nothing") {
  Case cs{5, 7, 0, false, false, 1.0f, 0.5f, GemmBias::PerColumn, 0.0f};
  run_all_variants(cs, 7);
  std::vector<float> c(4, 3.0f);
  f32_gemm(0, 2, 3, nullptr, 3, nullptr, 2, c.data(), 2, GemmParams{});
  f32_gemm(2, 0, 3, nullptr, 3, nullptr, 0, c.data(), 2, GemmParams{});
  CHECK(c == std::vector<float>(4, 3.0f));
}

TEST_CASE("kernels/gemm: packed operands are reusable and pack sizes are reported") {
  Rng rng(99);
  const size_t m = 9, n = 21, k = 13;
  std::vector<float> a = rng.vector(m * k), b = rng.vector(k * n);
  const PackedB pb = f32_gemm_pack_b(k, n, b.data(), n, false);
  CHECK(pb.depth() == k);
  CHECK(pb.cols() == n);
  CHECK(pb.nr() == f32_gemm_nr());
  const PackedA pa = f32_gemm_pack_a(m, k, a.data(), k, false);
  CHECK(pa.rows() == m);
  CHECK(pa.depth() == k);
  CHECK(pa.mr() == f32_gemm_mr());
  std::vector<float> c1(m * n), c2(m * n), c3(m * n);
  f32_gemm(m, n, k, a.data(), k, b.data(), n, c1.data(), n, GemmParams{});
  for (int rep = 0; rep < 3; ++rep) {
    f32_gemm_packed_b(m, a.data(), k, pb, 0, n, c2.data(), n, GemmParams{});
    f32_gemm_packed_a(pa, 0, m, n, b.data(), n, c3.data(), n, GemmParams{});
    // Same packing and the same micro-kernel: bitwise identical to the unpacked call.
    CHECK(c2 == c1);
    CHECK(c3 == c1);
  }
}

}  // namespace
}  // namespace qm::kernels
