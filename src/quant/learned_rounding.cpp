#include "quant/learned_rounding.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/gemm.h"

namespace qm::quant {
namespace {

constexpr double kZeta = 1.1, kGamma = -0.1;
constexpr double kBetaStart = 20.0, kBetaEnd = 2.0, kWarmup = 0.2;
constexpr double kAdamB1 = 0.9, kAdamB2 = 0.999, kAdamEps = 1e-8;
constexpr int kRefinePasses = 2;

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double relaxed(double v) { return std::clamp(sigmoid(v) * (kZeta - kGamma) + kGamma, 0.0, 1.0); }

// Sum of squares of E = X * D^T (X: r x K rows, D: units x K) written to `e` (r x units).
double output_error(const float* x, size_t r, size_t K, const std::vector<float>& d, size_t units, std::vector<float>& e) {
  if (r == 0) return 0;
  kernels::GemmParams gp;
  gp.trans_b = true;
  e.resize(r * units);
  kernels::f32_gemm(r, units, K, x, K, d.data(), K, e.data(), units, gp);
  double s = 0;
  for (float v : e) s += static_cast<double>(v) * v;
  return s;
}

// One layer (or one group of a grouped Conv): the learned integers, or empty when not kept.
std::vector<int8_t> learn_layer(const float* w, const BlockLayout& layout, int block, int bits,
                                const std::vector<float>& scales, const LayerRows& rows,
                                const LearnedRoundingOptions& options, LearnedRoundingStats* stats) {
  LearnedRoundingStats local;
  LearnedRoundingStats& st = stats ? *stats : local;
  st = {};
  const size_t K = static_cast<size_t>(layout.k), inner = static_cast<size_t>(layout.inner), outer = static_cast<size_t>(layout.outer);
  const size_t units = outer * inner, B = block > 0 ? static_cast<size_t>(block) : K, nb = (K + B - 1) / B;
  if (static_cast<size_t>(rows.k) != K || rows.rows() == 0)
    throw Error(ErrorKind::InvalidArgument, "learned rounding: the layer's rows do not match its weight");
  if (scales.size() != outer * nb * inner)
    throw Error(ErrorKind::InvalidArgument, "learned rounding: " + std::to_string(scales.size()) + " scales, expected " +
                                                std::to_string(outer * nb * inner));
  if (bits < 2 || bits > 8) throw Error(ErrorKind::InvalidArgument, "learned rounding: " + std::to_string(bits) + " bits (2..8)");
  const double qmax = static_cast<double>((1 << (bits - 1)) - 1), qmin = -qmax - 1;

  // Training rows and held-out rows (every 4th, when there are at least 8).
  const size_t R = rows.rows();
  std::vector<float> xt, xv;
  for (size_t r = 0; r < R; ++r) {
    std::vector<float>& dst = R >= 8 && r % 4 == 3 ? xv : xt;
    dst.insert(dst.end(), rows.data.begin() + static_cast<std::ptrdiff_t>(r * K), rows.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * K));
  }
  const size_t rt = xt.size() / K, rv = xv.size() / K;

  // Per weight (unit-major [units, K]): its scale, floor level, fixed level (or learnable).
  const size_t n = units * K;
  std::vector<float> wv(n), sv(n), fl(n), v(n, 0.0f);
  std::vector<uint8_t> learn(n, 0);
  std::vector<int8_t> nearest(n);
  size_t learnable = 0;
  for (size_t u = 0; u < units; ++u)
    for (size_t k = 0; k < K; ++k) {
      const size_t i = u * K + k;
      const float x = w[((u / inner) * K + k) * inner + u % inner];
      const float s = scales[((u / inner) * nb + k / B) * inner + u % inner];
      if (!std::isfinite(x) || !(s > 0.0f) || !std::isfinite(s)) return {};
      wv[i] = x;
      sv[i] = s;
      // Exactly the simulator's QuantizeLinear: divide, clamp, round half to even.
      float t = x / s;
      t = std::min(std::max(t, static_cast<float>(qmin)), static_cast<float>(qmax));
      nearest[i] = static_cast<int8_t>(std::nearbyint(t));
      const double f = std::floor(static_cast<double>(t));
      if (t > static_cast<float>(qmin) && t < static_cast<float>(qmax) && t != static_cast<float>(f)) {
        learn[i] = 1;
        ++learnable;
        fl[i] = static_cast<float>(f);
        const double p = std::clamp((static_cast<double>(t) - f - kGamma) / (kZeta - kGamma), 1e-4, 1.0 - 1e-4);
        v[i] = static_cast<float>(std::log(p / (1.0 - p)));
      } else {
        fl[i] = nearest[i];
      }
    }
  std::vector<float> d(n), e;
  auto set_d = [&](const std::vector<int8_t>* levels) {
    for (size_t i = 0; i < n; ++i) {
      const double q = levels ? (*levels)[i] : learn[i] ? fl[i] + relaxed(v[i]) : fl[i];
      d[i] = static_cast<float>(wv[i] - sv[i] * q);
    }
  };
  set_d(&nearest);
  st.nearest_train = output_error(xt.data(), rt, K, d, units, e);
  st.nearest_heldout = output_error(xv.data(), rv, K, d, units, e);
  if (learnable == 0 || !(st.nearest_train > 0) || options.iterations <= 0) return {};

  // The hard finish: weights the relaxation left undecided round by the 0.5 threshold, which can
  // cost more than it gained. Passes of greedy flips (floor <-> floor + 1 where that lowers the
  // channel's output error on the training rows, exactly: the error is quadratic) repair that.
  std::vector<float> xtt(K * rt);  // training rows transposed: column k contiguous
  std::vector<double> colnorm(K, 0.0);
  for (size_t r = 0; r < rt; ++r)
    for (size_t k = 0; k < K; ++k) {
      const float x = xt[r * K + k];
      xtt[k * rt + r] = x;
      colnorm[k] += static_cast<double>(x) * x;
    }
  auto refine = [&](std::vector<int8_t>& lv) {
    set_d(&lv);
    output_error(xt.data(), rt, K, d, units, e);
    std::vector<float> eu(rt);
    for (size_t u = 0; u < units; ++u) {
      for (size_t r = 0; r < rt; ++r) eu[r] = e[r * units + u];
      for (int pass = 0; pass < kRefinePasses; ++pass) {
        bool changed = false;
        for (size_t k = 0; k < K; ++k) {
          const size_t i = u * K + k;
          if (!learn[i]) continue;
          const int dq = lv[i] == static_cast<int8_t>(fl[i]) ? 1 : -1;
          const float* xk = xtt.data() + k * rt;
          double dot = 0;
          for (size_t r = 0; r < rt; ++r) dot += static_cast<double>(eu[r]) * xk[r];
          const double s = sv[i];
          // E[:, u] = X (w - s q): q += dq moves it by -s dq X[:, k].
          if (-2.0 * s * dq * dot + s * s * colnorm[k] < 0) {
            lv[i] = static_cast<int8_t>(lv[i] + dq);
            const float step = static_cast<float>(s * dq);
            for (size_t r = 0; r < rt; ++r) eu[r] -= step * xk[r];
            changed = true;
          }
        }
        if (!changed) break;
      }
    }
  };

  // Adam on v over the relaxed loss.
  const double per_iteration = 2.0 * static_cast<double>(rt) * static_cast<double>(K) * static_cast<double>(units);
  const int iterations = static_cast<int>(std::clamp(options.work_macs / per_iteration, static_cast<double>(std::min(options.min_iterations, options.iterations)),
                                                     static_cast<double>(options.iterations)));
  const double e0 = st.nearest_train, T = iterations, warm = kWarmup * T;
  std::vector<float> g(n), m1(n, 0.0f), m2(n, 0.0f);
  kernels::GemmParams ga;
  ga.trans_a = true;  // G [units, K] = E^T (E stored [rt, units]) * X [rt, K]
  for (int it = 0; it < iterations; ++it) {
    set_d(nullptr);
    output_error(xt.data(), rt, K, d, units, e);
    kernels::f32_gemm(units, K, rt, e.data(), units, xt.data(), K, g.data(), K, ga);
    const bool reg = it >= warm;
    const double beta = kBetaEnd + (kBetaStart - kBetaEnd) * std::max(0.0, 1.0 - (it - warm) / std::max(1.0, T - warm));
    const double lam = options.lambda / static_cast<double>(learnable);
    const double c1 = 1.0 - std::pow(kAdamB1, it + 1), c2 = 1.0 - std::pow(kAdamB2, it + 1);
    for (size_t i = 0; i < n; ++i) {
      if (!learn[i]) continue;
      const double sg = sigmoid(v[i]), hr = sg * (kZeta - kGamma) + kGamma;
      if (hr <= 0.0 || hr >= 1.0) {
        // Outside the rectified range the gradient is 0; keep Adam's moments decaying.
        m1[i] = static_cast<float>(kAdamB1 * m1[i]);
        m2[i] = static_cast<float>(kAdamB2 * m2[i]);
        continue;
      }
      double dh = -2.0 * sv[i] * g[i] / e0;  // d(rec)/dh: D = w - s (floor + h)
      if (reg) {
        const double a = 2.0 * hr - 1.0;
        dh += -lam * beta * std::pow(std::fabs(a), beta - 1.0) * (a > 0 ? 2.0 : a < 0 ? -2.0 : 0.0);
      }
      const double gv = dh * (kZeta - kGamma) * sg * (1.0 - sg);
      m1[i] = static_cast<float>(kAdamB1 * m1[i] + (1.0 - kAdamB1) * gv);
      m2[i] = static_cast<float>(kAdamB2 * m2[i] + (1.0 - kAdamB2) * gv * gv);
      v[i] -= static_cast<float>(options.learning_rate * (m1[i] / c1) / (std::sqrt(m2[i] / c2) + kAdamEps));
    }
  }

  std::vector<int8_t> levels(n);
  for (size_t i = 0; i < n; ++i) levels[i] = learn[i] ? static_cast<int8_t>(fl[i] + (relaxed(v[i]) >= 0.5 ? 1.0f : 0.0f)) : nearest[i];
  refine(levels);
  // The same flips from round-to-nearest: where the relaxation went astray this is better. Each
  // channel's output error is its own (a column of E), so each channel takes the better one.
  std::vector<int8_t> greedy = nearest;
  refine(greedy);
  auto channel_errors = [&](const std::vector<int8_t>& lv) {
    set_d(&lv);
    output_error(xt.data(), rt, K, d, units, e);
    std::vector<double> c(units, 0.0);
    for (size_t r = 0; r < rt; ++r)
      for (size_t u = 0; u < units; ++u) c[u] += static_cast<double>(e[r * units + u]) * e[r * units + u];
    return c;
  };
  const std::vector<double> err_soft = channel_errors(levels), err_greedy = channel_errors(greedy);
  for (size_t u = 0; u < units; ++u) {
    if (err_greedy[u] < err_soft[u]) std::copy(greedy.begin() + static_cast<std::ptrdiff_t>(u * K), greedy.begin() + static_cast<std::ptrdiff_t>((u + 1) * K),
                                               levels.begin() + static_cast<std::ptrdiff_t>(u * K));
    st.learned_train += std::min(err_soft[u], err_greedy[u]);
  }
  for (size_t i = 0; i < n; ++i) st.flipped += levels[i] != nearest[i];
  set_d(&levels);
  st.learned_heldout = output_error(xv.data(), rv, K, d, units, e);
  st.kept = st.flipped > 0 && st.learned_train < st.nearest_train && (rv == 0 || st.learned_heldout < st.nearest_heldout);
  if (!st.kept) return {};
  // Back to the weight's own element order.
  std::vector<int8_t> out(n);
  for (size_t u = 0; u < units; ++u)
    for (size_t k = 0; k < K; ++k) out[((u / inner) * K + k) * inner + u % inner] = levels[u * K + k];
  return out;
}

}  // namespace

std::vector<int8_t> learned_rounding(const float* w, const BlockLayout& layout, int block, int bits,
                                     const std::vector<float>& scales, const LayerRows& rows,
                                     const LearnedRoundingOptions& options, LearnedRoundingStats* stats) {
  if (rows.groups <= 1) return learn_layer(w, layout, block, bits, scales, rows, options, stats);
  // A grouped Conv: each group is a layer of its own; a group that keeps round-to-nearest
  // contributes its nearest integers.
  LearnedRoundingStats local;
  LearnedRoundingStats& st = stats ? *stats : local;
  st = {};
  std::vector<int8_t> all;
  all.reserve(static_cast<size_t>(layout.outer * layout.k));
  size_t first_scale = 0;
  const int32_t qmax = (int32_t{1} << (bits - 1)) - 1, qmin = -qmax - 1;
  for_each_group(w, layout, rows, [&](int64_t, const float* wg, const BlockLayout& lg, const LayerRows& rg) {
    const size_t K = static_cast<size_t>(lg.k), B = block > 0 ? static_cast<size_t>(block) : K, nb = (K + B - 1) / B;
    const size_t ns = static_cast<size_t>(lg.outer) * nb;
    if (first_scale + ns > scales.size())
      throw Error(ErrorKind::InvalidArgument, "learned rounding: " + std::to_string(scales.size()) + " scales for a grouped layer");
    const std::vector<float> sub(scales.begin() + static_cast<std::ptrdiff_t>(first_scale), scales.begin() + static_cast<std::ptrdiff_t>(first_scale + ns));
    LearnedRoundingStats gs;
    std::vector<int8_t> lv = learn_layer(wg, lg, block, bits, sub, rg, options, &gs);
    if (lv.empty()) {
      lv.resize(static_cast<size_t>(lg.outer) * K);
      for (size_t i = 0; i < lv.size(); ++i) {  // round to nearest, as the simulator's QuantizeLinear
        float t = wg[i] / sub[(i / K) * nb + (i % K) / B];
        t = std::isnan(t) ? 0.0f : std::min(std::max(t, static_cast<float>(qmin)), static_cast<float>(qmax));
        lv[i] = static_cast<int8_t>(std::nearbyint(t));
      }
    }
    all.insert(all.end(), lv.begin(), lv.end());
    first_scale += ns;
    st.nearest_train += gs.nearest_train;
    st.nearest_heldout += gs.nearest_heldout;
    st.learned_train += gs.kept ? gs.learned_train : gs.nearest_train;
    st.learned_heldout += gs.kept ? gs.learned_heldout : gs.nearest_heldout;
    st.flipped += gs.kept ? gs.flipped : 0;
    st.kept |= gs.kept;
  });
  if (!st.kept) return {};
  return all;
}

}  // namespace qm::quant
