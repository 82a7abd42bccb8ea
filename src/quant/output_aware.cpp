#include "quant/output_aware.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/error.h"
#include "ops/conv.h"
#include "kernels/gemm.h"
#include "ops/gemm.h"

namespace qm::quant {
namespace {

constexpr int kCoarse = 10, kFine = 5;

const ops::ConvAttrs* conv_attrs(const graph::Plan& plan, const Layer& l) {
  return dynamic_cast<const ops::ConvAttrs*>(plan.steps()[static_cast<size_t>(l.step)].attrs.get());
}

int64_t at_or(const std::vector<int64_t>& v, size_t i, int64_t d) { return i < v.size() ? v[i] : d; }

}  // namespace

bool takes_rows(const graph::Plan& plan, const Layer& l) {
  if (l.op == "Conv") {
    const ops::ConvAttrs* a = conv_attrs(plan, l);
    return a && a->group >= 1 && l.weight_shape.size() == 4 && l.weight_shape[0] % a->group == 0;
  }
  if (l.op == "Gemm") return l.weight_shape.size() == 2;
  if (l.op == "MatMul") return l.weight_shape.size() == 2;
  return false;
}

void append_rows(const graph::Plan& plan, const Layer& l, const Tensor& x, size_t max_rows, LayerRows& rows) {
  if (x.dtype() != DataType::Float || max_rows == 0 || !takes_rows(plan, l)) return;
  const Shape& ws = l.weight_shape;
  const float* px = x.data<float>();
  if (l.op == "Conv") {
    const ops::ConvAttrs& a = *conv_attrs(plan, l);
    const int64_t groups = a.group;
    if (x.rank() != 4 || x.shape()[1] != ws[1] * groups) return;
    const int64_t N = x.shape()[0], C = ws[1] * groups, H = x.shape()[2], W = x.shape()[3], kh = ws[2], kw = ws[3];
    const auto& wa = a.window;
    const int64_t sh = at_or(wa.strides, 0, 1), sw = at_or(wa.strides, 1, 1);
    const int64_t dh = at_or(wa.dilations, 0, 1), dw = at_or(wa.dilations, 1, 1);
    std::vector<int64_t> ph = {at_or(wa.pads, 0, 0), at_or(wa.pads, 2, 0)}, pw = {at_or(wa.pads, 1, 0), at_or(wa.pads, 3, 0)};
    if (wa.auto_pad == ops::AutoPad::SameUpper || wa.auto_pad == ops::AutoPad::SameLower) {
      ph = ops::same_pads(H, kh, sh, dh, wa.auto_pad);
      pw = ops::same_pads(W, kw, sw, dw, wa.auto_pad);
    } else if (wa.auto_pad == ops::AutoPad::Valid) {
      ph = {0, 0};
      pw = {0, 0};
    }
    const int64_t OH = (H + ph[0] + ph[1] - dh * (kh - 1) - 1) / sh + 1, OW = (W + pw[0] + pw[1] - dw * (kw - 1) - 1) / sw + 1;
    if (OH <= 0 || OW <= 0) return;
    const int64_t K = C * kh * kw, positions = N * OH * OW;
    if (rows.k != 0 && rows.k != K) return;
    rows.k = K;
    rows.groups = groups;
    // The mean row over every position: column (c, i, j) sums x over the input positions the
    // window's (i, j) tap reads (padding reads 0).
    rows.row_sum.resize(static_cast<size_t>(K), 0.0);
    rows.row_count += positions;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const float* plane = px + (n * C + c) * H * W;
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            double sum = 0;
            for (int64_t oh = 0; oh < OH; ++oh) {
              const int64_t y = oh * sh - ph[0] + i * dh;
              if (y < 0 || y >= H) continue;
              const float* line = plane + y * W;
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t xx = ow * sw - pw[0] + j * dw;
                if (xx >= 0 && xx < W) sum += line[xx];
              }
            }
            rows.row_sum[static_cast<size_t>((c * kh + i) * kw + j)] += sum;
          }
      }
    const int64_t take = std::min<int64_t>(static_cast<int64_t>(max_rows), positions);
    for (int64_t r = 0; r < take; ++r) {
      const int64_t p = r * positions / take + (positions / take) / 2;  // evenly spaced, centred
      const int64_t n = p / (OH * OW), oh = (p / OW) % OH, ow = p % OW;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t y = oh * sh - ph[0] + i * dh, xx = ow * sw - pw[0] + j * dw;
            rows.data.push_back(y < 0 || y >= H || xx < 0 || xx >= W ? 0.0f : px[((n * C + c) * H + y) * W + xx]);
          }
    }
    return;
  }
  // Gemm / MatMul: K from the weight (Gemm transB: [N, K]; otherwise [K, N]).
  bool trans_a = false;
  int64_t K = ws[0];
  if (l.op == "Gemm") {
    const auto* g = dynamic_cast<const ops::GemmAttrs*>(plan.steps()[static_cast<size_t>(l.step)].attrs.get());
    if (!g) return;
    trans_a = g->trans_a;
    K = g->trans_b ? ws[1] : ws[0];
  }
  if (x.rank() < 1 || (trans_a ? x.rank() != 2 || x.shape()[0] != K : x.shape().back() != K)) return;
  if (rows.k != 0 && rows.k != K) return;
  rows.k = K;
  const int64_t M = x.numel() / std::max<int64_t>(K, 1);
  rows.row_sum.resize(static_cast<size_t>(K), 0.0);
  rows.row_count += M;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) rows.row_sum[static_cast<size_t>(k)] += trans_a ? px[k * M + m] : px[m * K + k];
  const int64_t take = std::min<int64_t>(static_cast<int64_t>(max_rows), M);
  for (int64_t r = 0; r < take; ++r) {
    const int64_t m = r * M / take + (M / take) / 2;
    for (int64_t k = 0; k < K; ++k) rows.data.push_back(trans_a ? px[k * M + m] : px[m * K + k]);
  }
}

std::vector<float> bias_shift(const float* w, const float* wq, const BlockLayout& layout, const LayerRows& rows) {
  const int64_t g = std::max<int64_t>(1, rows.groups);
  if (rows.k != g * layout.k || static_cast<int64_t>(rows.row_sum.size()) != rows.k || (g > 1 && (layout.inner != 1 || layout.outer % g != 0)))
    throw Error(ErrorKind::InvalidArgument, "bias correction: the layer's rows do not match its weight");
  if (rows.row_count <= 0) return {};
  const int64_t K = layout.k, inner = layout.inner, per_group = layout.outer / g;
  std::vector<float> shift(static_cast<size_t>(layout.outer * inner));
  for (int64_t o = 0; o < layout.outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const double* mean = rows.row_sum.data() + (o / per_group) * K;  // this channel's group's columns
      double s = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t at = (o * K + k) * inner + i;
        s += mean[k] * (static_cast<double>(w[at]) - wq[at]);
      }
      shift[static_cast<size_t>(o * inner + i)] = static_cast<float>(s / static_cast<double>(rows.row_count));
    }
  return shift;
}

Tensor corrected_bias(const Tensor& bias, const std::vector<float>& shift) {
  if (bias.dtype() != DataType::Float || bias.numel() != static_cast<int64_t>(shift.size()))
    throw Error(ErrorKind::InvalidArgument, "bias correction: " + std::to_string(shift.size()) + " shifts for a bias of shape " +
                                                shape_to_string(bias.shape()));
  Tensor t = bias.clone();
  float* p = t.data<float>();
  for (size_t c = 0; c < shift.size(); ++c) p[c] += shift[c];
  return t;
}

LayerRows LayerRows::group(int64_t j) const {
  LayerRows g;
  g.k = k / groups;
  const size_t kg = static_cast<size_t>(g.k), n = rows();
  g.data.reserve(n * kg);
  for (size_t r = 0; r < n; ++r) {
    const auto first = data.begin() + static_cast<std::ptrdiff_t>(r * static_cast<size_t>(k) + static_cast<size_t>(j) * kg);
    g.data.insert(g.data.end(), first, first + static_cast<std::ptrdiff_t>(kg));
  }
  return g;
}

void for_each_group(const float* w, const BlockLayout& layout, const LayerRows& rows,
                    const std::function<void(int64_t, const float*, const BlockLayout&, const LayerRows&)>& f) {
  const int64_t g = std::max<int64_t>(1, rows.groups);
  if (rows.k != g * layout.k || (g > 1 && (layout.inner != 1 || layout.outer % g != 0)))
    throw Error(ErrorKind::InvalidArgument, "output-aware range: the layer's rows do not match its weight");
  if (g == 1) {
    f(0, w, layout, rows);
    return;
  }
  BlockLayout sub = layout;
  sub.outer = layout.outer / g;
  for (int64_t j = 0; j < g; ++j) f(j, w + j * sub.outer * layout.k, sub, rows.group(j));
}

std::vector<float> output_aware_scales(const float* w, const BlockLayout& layout, int block, int bits, const LayerRows& rows) {
  if (rows.groups > 1) {  // one layer per group; scales [outer, blocks] stay in order
    std::vector<float> all;
    for_each_group(w, layout, rows, [&](int64_t, const float* wg, const BlockLayout& lg, const LayerRows& rg) {
      const std::vector<float> s = output_aware_scales(wg, lg, block, bits, rg);
      all.insert(all.end(), s.begin(), s.end());
    });
    return all;
  }
  const int32_t qmax = (int32_t{1} << (bits - 1)) - 1, qmin = -qmax - 1;
  const size_t K = static_cast<size_t>(layout.k), inner = static_cast<size_t>(layout.inner), outer = static_cast<size_t>(layout.outer);
  const size_t R = rows.rows(), B = block > 0 ? static_cast<size_t>(block) : K, nb = (K + B - 1) / B, units = outer * inner;
  if (static_cast<size_t>(rows.k) != K || R == 0)
    throw Error(ErrorKind::InvalidArgument, "output-aware range: the layer's rows do not match its weight");
  // Unit u = output channel (o, i); its weight k at w[(o K + k) inner + i]; block b = k / B.
  auto at = [&](size_t u, size_t k) { return w[((u / inner) * K + k) * inner + u % inner]; };
  std::vector<float> amax(units * nb, 0.0f);  // per (unit, block)
  for (size_t u = 0; u < units; ++u)
    for (size_t k = 0; k < K; ++k)
      if (std::isfinite(at(u, k))) amax[u * nb + k / B] = std::max(amax[u * nb + k / B], std::fabs(at(u, k)));
  std::vector<float> cmax(units, 0.0f);  // per channel
  for (size_t u = 0; u < units; ++u)
    for (size_t b = 0; b < nb; ++b) cmax[u] = std::max(cmax[u], amax[u * nb + b]);
  std::vector<float> best_f(units, 1.0f), d(units * K), e(R * units);
  std::vector<double> best(units, std::numeric_limits<double>::infinity());
  kernels::GemmParams gp;
  gp.trans_b = true;  // E[R, units] = X (R x K) * D^T, D [units x K]
  // First every block at the channel's scale (fraction f of the channel's max|w|), so blocked
  // scales start from the per-channel choice and the descent below only improves on it.
  auto block_scale = [&](size_t u, size_t, double f) { return static_cast<float>(f * cmax[u] / qmax); };
  // err_u(f) of all channels at once: one GEMM per candidate fraction; the channel's output
  // error counts all its blocks together.
  auto try_fractions = [&](const std::function<double(size_t)>& frac) {
    for (size_t u = 0; u < units; ++u) {
      const double f = frac(u);
      const bool ok = f > 0.0 && f <= 1.0 && cmax[u] > 0.0f;
      for (size_t k = 0; k < K; ++k) {
        const float v = at(u, k), s = ok ? block_scale(u, k / B, f) : 0.0f;
        if (!(s > 0.0f)) {
          d[u * K + k] = ok ? v : 0.0f;  // an all-zero block: its weights are 0 (or it is not tried)
          continue;
        }
        float t = v / s;
        t = t > static_cast<float>(qmin) ? t : static_cast<float>(qmin);
        t = t < static_cast<float>(qmax) ? t : static_cast<float>(qmax);
        d[u * K + k] = v - std::nearbyint(t) * s;
      }
    }
    kernels::f32_gemm(R, units, K, rows.data.data(), K, d.data(), K, e.data(), units, gp);
    for (size_t u = 0; u < units; ++u) {
      const double f = frac(u);
      if (!(f > 0.0 && f <= 1.0)) continue;
      double err = 0;
      for (size_t r = 0; r < R; ++r) err += static_cast<double>(e[r * units + u]) * e[r * units + u];
      if (err < best[u]) best[u] = err, best_f[u] = static_cast<float>(f);
    }
  };
  for (int k = kCoarse; k >= 1; --k)  // larger fractions first: ties keep the less clipped range
    try_fractions([k](size_t) { return static_cast<double>(k) / kCoarse; });
  const std::vector<float> centre = best_f;
  for (int k = kFine; k >= -kFine; --k)
    if (k != 0) try_fractions([&, k](size_t u) { return centre[u] + k * (1.0 / kCoarse / kFine); });
  std::vector<float> scales(outer * nb * inner);
  auto scale_at = [&](size_t u, size_t b) -> float& { return scales[((u / inner) * nb + b) * inner + u % inner]; };
  for (size_t u = 0; u < units; ++u)
    for (size_t b = 0; b < nb; ++b) {
      float s = cmax[u] > 0.0f ? block_scale(u, b, best_f[u]) : 1.0f;
      if (!(s > 0.0f)) s = std::numeric_limits<float>::min();
      scale_at(u, b) = s;
    }
  if (block == 0 || nb < 2) return scales;

  // Blocks: one pass of coordinate descent. Each block in turn tries fractions 0.1 .. 1.0 of its
  // own max|w| with the other blocks as chosen, against the channel's output error (the
  // residual of the chosen scales, updated as blocks change): blocks can then cancel each
  // other's rounding errors, which a shared fraction cannot.
  auto fq_err = [&](float v, float sc) {
    float t = v / sc;
    t = t > static_cast<float>(qmin) ? t : static_cast<float>(qmin);
    t = t < static_cast<float>(qmax) ? t : static_cast<float>(qmax);
    return v - std::nearbyint(t) * sc;
  };
  for (size_t u = 0; u < units; ++u)
    for (size_t k = 0; k < K; ++k) d[u * K + k] = fq_err(at(u, k), scale_at(u, k / B));
  kernels::f32_gemm(R, units, K, rows.data.data(), K, d.data(), K, e.data(), units, gp);  // residuals
  std::vector<float> delta(units * B), g(R * units), best_g(R * units);
  std::vector<float> best_s(units);
  for (size_t b = 0; b < nb; ++b) {
    const size_t k0 = b * B, n = std::min(B, K - k0);
    for (size_t u = 0; u < units; ++u) {
      double err = 0;
      for (size_t r = 0; r < R; ++r) err += static_cast<double>(e[r * units + u]) * e[r * units + u];
      best[u] = err;
      best_s[u] = scale_at(u, b);
    }
    std::fill(best_g.begin(), best_g.end(), 0.0f);
    for (int k = kCoarse; k >= 1; --k) {
      for (size_t u = 0; u < units; ++u) {
        const float m = amax[u * nb + b], sc = static_cast<float>(static_cast<double>(k) / kCoarse * m / qmax);
        for (size_t j = 0; j < n; ++j)
          delta[u * n + j] = sc > 0.0f ? fq_err(at(u, k0 + j), sc) - d[u * K + k0 + j] : 0.0f;
      }
      kernels::f32_gemm(R, units, n, rows.data.data() + k0, K, delta.data(), n, g.data(), units, gp);
      for (size_t u = 0; u < units; ++u) {
        const float sc = static_cast<float>(static_cast<double>(k) / kCoarse * amax[u * nb + b] / qmax);
        if (!(sc > 0.0f)) continue;
        double err = 0;
        for (size_t r = 0; r < R; ++r) {
          const double v = static_cast<double>(e[r * units + u]) + g[r * units + u];
          err += v * v;
        }
        if (err < best[u]) {
          best[u] = err;
          best_s[u] = sc;
          for (size_t r = 0; r < R; ++r) best_g[r * units + u] = g[r * units + u];
        }
      }
    }
    for (size_t u = 0; u < units; ++u) {
      if (best_s[u] == scale_at(u, b)) continue;
      scale_at(u, b) = best_s[u];
      for (size_t j = 0; j < n; ++j) d[u * K + k0 + j] = fq_err(at(u, k0 + j), best_s[u]);
      for (size_t r = 0; r < R; ++r) e[r * units + u] += best_g[r * units + u];
    }
  }
  return scales;
}

}  // namespace qm::quant
