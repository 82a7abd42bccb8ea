// Shared helpers for the kernel tests (tests/test_kernels_*.cpp): a portable seeded generator
// (identical data natively and in wasm, unlike std::uniform_real_distribution) and error metrics.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace qm::kernels::test {

/// Edge sizes for a vectorised kernel: 1, lanes-1, lanes, lanes+1, 2*lanes, and a large odd one.
inline std::vector<size_t> edge_sizes() {
  const size_t l = f32_simd_lanes();
  std::vector<size_t> sizes = {1, l - 1, l, l + 1, 2 * l, 2 * l + 3, 1021};
  if (sizes[1] == 0) sizes.erase(sizes.begin() + 1);
  return sizes;
}

/// splitmix64: tiny, well mixed, reproducible everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>((next() >> 40) * (1.0 / 16777216.0));
  }
  std::vector<float> vector(size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(lo, hi);
    return v;
  }

 private:
  uint64_t state_;
};

/// Normalised mean squared error sum((y - ref)^2) / sum(ref^2) (ggml's NMSE); 0 if both are 0.
inline double nmse(const float* y, const double* ref, size_t n) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; ++i) {
    num += (y[i] - ref[i]) * (y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den == 0.0 ? num : num / den;
}

/// |a - b| <= abs_tol or |a - b| <= rel_tol * max(|a|, |b|) (ncnn's NearlyEqual); NaN == NaN.
inline bool nearly_equal(double a, double b, double abs_tol, double rel_tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  const double d = std::fabs(a - b);
  return d <= abs_tol || d <= rel_tol * std::fmax(std::fabs(a), std::fabs(b));
}

}  // namespace qm::kernels::test
