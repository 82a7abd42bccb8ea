// Kernel micro-benchmarks (opt-in target, not built by default):
//   cmake --build build/native --target bench_kernels && build/native/bench_kernels [filter]
//   cmake --build build/wasm --target bench_kernels &&
//     node --no-experimental-fetch --no-liftoff build/wasm/bench_kernels.js [filter]
// Prints GFLOP/s (GEMM, conv), ns per element or us per call, best of 15 runs of >= 50 ms of CPU
// time (--wall: wall time, e.g. to compare with onnxruntime-web timed with performance.now()).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <time.h>
#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
#endif

#include <xsimd/xsimd.hpp>

#include "kernels/kernels.h"

namespace {

using namespace qm::kernels;
using Clock = std::chrono::steady_clock;

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  return v;
}

// CPU time, so that other processes on a shared machine do not count: natively the thread's
// CPU clock, under node the process's (V8's compiler threads are idle once tiered up).
#if defined(__EMSCRIPTEN__)
EM_JS(double, qm_process_cpu_seconds, (), {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e-6;
});
#endif
bool g_wall_clock = false;  // --wall: wall time everywhere (to compare with a wall-clock tool)

double now_seconds() {
  if (g_wall_clock) {
    return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  }
#if defined(__EMSCRIPTEN__)
  return qm_process_cpu_seconds();
#else
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
}

// Seconds per call: repeats `fn` for at least `min_seconds` per trial, best of `trials` trials.
double time_call(const std::function<void()>& fn, double min_seconds = 0.05, int trials = 15) {
  fn();  // warm-up (and wasm tier-up trigger)
  double best = 1e30;
  for (int t = 0; t < trials; ++t) {
    size_t reps = 0;
    const double start = now_seconds();
    double elapsed = 0.0;
    do {
      fn();
      ++reps;
      elapsed = now_seconds() - start;
    } while (elapsed < min_seconds);
    best = std::min(best, elapsed / reps);
  }
  return best;
}

bool wanted(const char* filter, const std::string& name) {
  return !filter || name.find(filter) != std::string::npos;
}

// Register-only multiply-add loop with 12 independent accumulators: the machine's practical
// f32 peak for this build (FMA natively; mul + add in wasm, which has no FMA).
double peak_gflops() {
  using B = xsimd::batch<float>;
  constexpr int kAcc = 12;
  const long iters = 2000000;
  volatile float seed = 0.999f;
  const B a(seed), b(seed * 1e-4f);
  double best = 0.0;
  for (int t = 0; t < 3; ++t) {
    B acc[kAcc];
    for (int i = 0; i < kAcc; ++i) acc[i] = B(i * 1e-3f);
    const double start = now_seconds();
    for (long it = 0; it < iters; ++it) {
      for (int i = 0; i < kAcc; ++i) acc[i] = xsimd::fma(acc[i], a, b);
    }
    const double s = now_seconds() - start;
    B sum(0.0f);
    for (int i = 0; i < kAcc; ++i) sum += acc[i];
    volatile float sink = xsimd::hadd(sum);
    (void)sink;
    best = std::max(best, 2.0 * kAcc * B::size * iters / s * 1e-9);
  }
  return best;
}

void bench_gemm(const char* filter) {
  struct Shape {
    size_t m, n, k;
    const char* what;
  };
  const Shape shapes[] = {
      {64, 3136, 576, "conv 3x3 64->64 @56x56"},
      {256, 196, 2304, "conv 3x3 256->256 @14x14"},
      {1000, 1, 1280, "classifier as GEMV"},
      {512, 512, 512, "square"},
      {1, 1000, 1280, "FC batch 1 (B^T weights)"},
      {128, 784, 128, "conv 1x1 128->128 @28x28"},
  };
  for (const Shape& s : shapes) {
    const std::string name = "gemm " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                             std::to_string(s.k);
    if (!wanted(filter, name)) continue;
    const bool fc = s.m == 1;  // FC: B is the [N, K] weight matrix, transposed
    std::vector<float> a = random_vector(s.m * s.k, 1), b = random_vector(s.k * s.n, 2);
    std::vector<float> c(s.m * s.n);
    GemmParams p;
    p.trans_b = fc;
    const size_t ldb = fc ? s.k : s.n;
    const double flops = 2.0 * s.m * s.n * s.k;
    const double t_plain = time_call([&] {
      f32_gemm(s.m, s.n, s.k, a.data(), s.k, b.data(), ldb, c.data(), s.n, p);
    });
    const PackedA pa = f32_gemm_pack_a(s.m, s.k, a.data(), s.k, false);
    const double t_pa = time_call([&] {
      f32_gemm_packed_a(pa, 0, s.m, s.n, b.data(), ldb, c.data(), s.n, p);
    });
    const PackedB pb = f32_gemm_pack_b(s.k, s.n, b.data(), ldb, fc);
    const double t_pb = time_call([&] {
      f32_gemm_packed_b(s.m, a.data(), s.k, pb, 0, s.n, c.data(), s.n, p);
    });
    std::printf("%-20s %-28s f32_gemm %6.1f  packed_a %6.1f  packed_b %6.1f GFLOP/s\n",
                name.c_str(), s.what, flops / t_plain * 1e-9, flops / t_pa * 1e-9,
                flops / t_pb * 1e-9);
  }
}

void bench_conv(const char* filter) {
  struct Case {
    size_t c, h, w, m, k, stride, pad;
    const char* what;
  };
  const Case cases[] = {
      {64, 56, 56, 64, 3, 1, 1, "ResNet 3x3 64->64 @56"},
      {128, 56, 56, 128, 3, 2, 1, "ResNet 3x3 s2 128->128 @56"},
      {256, 14, 14, 256, 3, 1, 1, "ResNet 3x3 256->256 @14"},
      {3, 224, 224, 64, 7, 2, 3, "ResNet stem 7x7 s2"},
      {64, 56, 56, 256, 1, 1, 0, "pointwise 64->256 @56"},
  };
  for (const Case& cs : cases) {
    const std::string name = "conv " + std::to_string(cs.c) + "->" + std::to_string(cs.m) + " k" +
                             std::to_string(cs.k) + "s" + std::to_string(cs.stride) + " @" +
                             std::to_string(cs.h);
    if (!wanted(filter, name)) continue;
    Conv2dShape s;
    s.in_channels = cs.c;
    s.in_h = cs.h;
    s.in_w = cs.w;
    s.kernel_h = s.kernel_w = cs.k;
    s.stride_h = s.stride_w = cs.stride;
    s.pad_top = s.pad_left = cs.pad;
    s.out_h = (cs.h + 2 * cs.pad - cs.k) / cs.stride + 1;
    s.out_w = (cs.w + 2 * cs.pad - cs.k) / cs.stride + 1;
    const size_t K = s.col_rows(), P = s.col_cols();
    std::vector<float> x = random_vector(cs.c * cs.h * cs.w, 3), wt = random_vector(cs.m * K, 4);
    std::vector<float> y(cs.m * P), col(K * P);
    const PackedA pa = f32_gemm_pack_a(cs.m, K, wt.data(), K, false);
    const double flops = 2.0 * cs.m * K * P;
    const double t_implicit = time_call([&] {
      f32_conv2d_packed(s, x.data(), pa, 0, P, y.data(), P, GemmParams{});
    });
    const double t_im2col = time_call([&] {
      f32_im2col(s, x.data(), 0, P, col.data(), P);
      f32_gemm_packed_a(pa, 0, cs.m, P, col.data(), P, y.data(), P, GemmParams{});
    });
    std::printf("%-24s %-28s implicit %6.1f  im2col+gemm %6.1f GFLOP/s\n", name.c_str(), cs.what,
                flops / t_implicit * 1e-9, flops / t_im2col * 1e-9);
  }
}

void bench_dwconv(const char* filter) {
  struct Case {
    size_t c, h, k, stride;
    const char* what;
  };
  const Case cases[] = {
      {32, 112, 3, 1, "MobileNetV2 dw 3x3 @112"},
      {96, 112, 3, 2, "MobileNetV2 dw 3x3 s2 @112"},
      {144, 56, 3, 1, "MobileNetV2 dw 3x3 @56"},
      {960, 7, 3, 1, "MobileNetV2 dw 3x3 @7"},
      {240, 14, 5, 1, "EfficientNet dw 5x5 @14"},
  };
  for (const Case& cs : cases) {
    const std::string name = "dwconv " + std::to_string(cs.c) + " k" + std::to_string(cs.k) +
                             "s" + std::to_string(cs.stride) + " @" + std::to_string(cs.h);
    if (!wanted(filter, name)) continue;
    Conv2dShape s;
    s.in_channels = cs.c;
    s.in_h = s.in_w = cs.h;
    s.kernel_h = s.kernel_w = cs.k;
    s.stride_h = s.stride_w = cs.stride;
    s.pad_top = s.pad_left = cs.k / 2;
    s.out_h = s.out_w = (cs.h + 2 * (cs.k / 2) - cs.k) / cs.stride + 1;
    std::vector<float> x = random_vector(cs.c * cs.h * cs.h, 5), wt = random_vector(cs.c * cs.k * cs.k, 6);
    std::vector<float> y(cs.c * s.out_h * s.out_w);
    const double flops = 2.0 * cs.c * s.out_h * s.out_w * cs.k * cs.k;
    const double t = time_call([&] { f32_dwconv2d(s, x.data(), wt.data(), y.data(), DepthwiseParams{}); });
    std::printf("%-24s %-28s %6.1f GFLOP/s  %7.1f us\n", name.c_str(), cs.what, flops / t * 1e-9,
                t * 1e6);
  }
}

void bench_elementwise(const char* filter) {
  const size_t n = 1 << 16;  // 256 KB: in L2, so the arithmetic rather than DRAM is measured
  std::vector<float> x = random_vector(n, 7), y(n);
  for (float& v : x) v *= 4.0f;
  for (int o = 0; o < static_cast<int>(UnaryOp::kCount); ++o) {
    const UnaryOp op = static_cast<UnaryOp>(o);
    const std::string name = std::string("unary ") + unary_op_name(op);
    if (!wanted(filter, name)) continue;
    std::vector<float> in = x;
    if (op == UnaryOp::Log || op == UnaryOp::Sqrt) {
      for (float& v : in) v = std::fabs(v) + 0.01f;
    }
    const double t = time_call([&] { f32_unary(op, in.data(), y.data(), n, {0.1f, 0.5f}); });
    std::printf("%-24s %6.3f ns/element\n", name.c_str(), t / n * 1e9);
  }
  if (wanted(filter, "binary Add")) {
    std::vector<float> b = random_vector(n, 8);
    const double t = time_call([&] { f32_binary(BinaryOp::Add, x.data(), b.data(), y.data(), n); });
    std::printf("%-24s %6.3f ns/element\n", "binary Add", t / n * 1e9);
  }
  if (wanted(filter, "softmax 64x1000")) {
    const double t = time_call([&] {
      for (size_t r = 0; r < 64; ++r) f32_softmax(x.data() + r * 1000, y.data() + r * 1000, 1000);
    });
    std::printf("%-24s %8.1f us\n", "softmax 64x1000", t * 1e6);
  }
  if (wanted(filter, "layer_norm 128x768")) {
    const double t = time_call([&] {
      for (size_t r = 0; r < 128; ++r) {
        f32_layer_norm(x.data() + r * 512, y.data() + r * 512, 512, LayerNormParams{});
      }
    });
    std::printf("%-24s %8.1f us\n", "layer_norm 128x512", t * 1e6);
  }
  if (wanted(filter, "fake_quant")) {
    const double t = time_call([&] {
      f32_fake_quant_per_tensor(x.data(), y.data(), n, 0.03f, 3, -128, 127);
    });
    std::printf("%-24s %6.3f ns/element\n", "fake_quant per-tensor", t / n * 1e9);
  }
  if (wanted(filter, "max_pool")) {
    Conv2dShape s;
    s.in_channels = 64;
    s.in_h = s.in_w = 112;
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = 2;
    s.pad_top = s.pad_left = 1;
    s.out_h = s.out_w = 56;
    std::vector<float> in = random_vector(64 * 112 * 112, 9), out(64 * 56 * 56);
    const double t = time_call([&] { f32_max_pool2d(s, in.data(), out.data()); });
    std::printf("%-24s %8.1f us\n", "max_pool 3x3s2 64@112", t * 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* filter = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--wall") == 0) {
      g_wall_clock = true;
    } else {
      filter = argv[i];
    }
  }
  std::printf("arch %s, %zu lanes, gemm tile %zux%zu\n", simd_arch_name(), f32_simd_lanes(),
              f32_gemm_mr(), f32_gemm_nr());
  std::printf("peak multiply-add loop: %.1f GFLOP/s\n", peak_gflops());
  bench_gemm(filter);
  bench_conv(filter);
  bench_dwconv(filter);
  bench_elementwise(filter);
  return 0;
}
