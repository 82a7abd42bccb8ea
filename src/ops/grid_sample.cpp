// GridSample (4-D; bilinear/nearest/bicubic, zeros/border/reflection padding, align_corners; the
// opset-20 mode names).
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct GridSampleAttrs : OpAttrs {
  int mode = 0;              ///< 0 bilinear, 1 nearest, 2 bicubic
  int padding = 0;           ///< 0 zeros, 1 border, 2 reflection
  bool align_corners = false;
};

// ---------------------------------------------------------------------------------------------
// GridSample (4-D): Y[n, c, i, j] samples X[n, c] at grid[n, i, j] = (x, y) in [-1, 1].

/// Folds v into [lo, hi] by reflecting at the borders (repeatedly for far-away values).
float reflect_into(float v, float lo, float hi) {
  const float range = hi - lo;
  if (range <= 0) return lo;
  if (v < lo) {
    const float d = lo - v;
    const int64_t k = static_cast<int64_t>(d / range);  // v is a bounded_coord: fits
    const float rem = d - static_cast<float>(k) * range;
    return k % 2 == 0 ? lo + rem : hi - rem;
  }
  if (v > hi) {
    const float d = v - hi;
    const int64_t k = static_cast<int64_t>(d / range);
    const float rem = d - static_cast<float>(k) * range;
    return k % 2 == 0 ? hi - rem : lo + rem;
  }
  return v;
}

/// Keys cubic convolution weights (A = -0.75) of the 4 taps around a fractional offset t.
void cubic_weights(float t, float w[4]) {
  const float A = -0.75f;
  t = std::fabs(t);
  const float t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  w[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  w[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
  w[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

void run_grid_sample(const GridSampleAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &grid = c.in(1);
  require_float(c, x, "X");
  require_float(c, grid, "grid");
  if (x.rank() != 4) c.unsupported("GridSample on rank " + std::to_string(x.rank()) + " input (4-D only)");
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  if (grid.rank() != 4 || grid.shape()[0] != N || grid.shape()[3] != 2)
    c.fail("grid has shape " + shape_to_string(grid.shape()) + ", expected [" + std::to_string(N) + ", H_out, W_out, 2]");
  const int64_t Ho = grid.shape()[1], Wo = grid.shape()[2];
  Tensor& y = c.alloc(0, DataType::Float, {N, C, Ho, Wo});
  if (y.numel() == 0) return;
  // An empty image has no pixel to sample: zeros padding reads only zeros (the output as
  // allocated); border and reflection would clamp into it and read before its start.
  if (H == 0 || W == 0) {
    if (a.padding == 0) return;
    c.fail("cannot sample an empty image (" + shape_to_string(x.shape()) + ") with border or reflection padding");
  }
  // Pixel-space bounds of the image: centres 0..W-1 with align_corners, edges -0.5..W-0.5 without.
  const float x_lo = a.align_corners ? 0.0f : -0.5f, y_lo = x_lo;
  const float x_hi = a.align_corners ? static_cast<float>(W - 1) : static_cast<float>(W) - 0.5f;
  const float y_hi = a.align_corners ? static_cast<float>(H - 1) : static_cast<float>(H) - 0.5f;
  const float* px = x.data<float>();
  const float* pg = grid.data<float>();
  float* py = y.data<float>();
  auto pixel = [&](const float* img, int64_t r, int64_t col) -> float {
    if (a.padding == 0) return r >= 0 && r < H && col >= 0 && col < W ? img[r * W + col] : 0.0f;
    if (a.padding == 1) {
      r = std::min(std::max<int64_t>(r, 0), H - 1);
      col = std::min(std::max<int64_t>(col, 0), W - 1);
    } else {
      col = static_cast<int64_t>(reflect_into(static_cast<float>(col), x_lo, x_hi));
      r = static_cast<int64_t>(reflect_into(static_cast<float>(r), y_lo, y_hi));
    }
    return img[r * W + col];
  };
  parallel_items(c, N * Ho * Wo, C * 16, [&](int64_t b, int64_t e) {
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t n = idx / (Ho * Wo), o = idx % (Ho * Wo);
      const float gx = pg[idx * 2], gy = pg[idx * 2 + 1];
      // Beyond 2^22 pixels float has no fractional steps left: bilinear weights would vanish.
      constexpr float kLimit = 4194304.0f;
      float fx = detail::bounded_coord(a.align_corners ? (gx + 1) / 2 * static_cast<float>(W - 1) : ((gx + 1) * static_cast<float>(W) - 1) / 2, kLimit);
      float fy = detail::bounded_coord(a.align_corners ? (gy + 1) / 2 * static_cast<float>(H - 1) : ((gy + 1) * static_cast<float>(H) - 1) / 2, kLimit);
      if (a.mode == 1) {
        fx = std::nearbyint(fx);
        fy = std::nearbyint(fy);
      }
      // Padding applies to each tap read (pixel()), not to the sampling point, as ONNX Runtime does.
      for (int64_t ch = 0; ch < C; ++ch) {
        const float* img = px + (n * C + ch) * H * W;
        float v;
        if (a.mode == 1) {
          v = pixel(img, static_cast<int64_t>(fy), static_cast<int64_t>(fx));
        } else if (a.mode == 0) {
          const int64_t x1 = static_cast<int64_t>(std::floor(fx)), y1 = static_cast<int64_t>(std::floor(fy));
          const float dx1 = fx - static_cast<float>(x1), dx2 = static_cast<float>(x1 + 1) - fx;
          const float dy1 = fy - static_cast<float>(y1), dy2 = static_cast<float>(y1 + 1) - fy;
          v = dy2 * (dx2 * pixel(img, y1, x1) + dx1 * pixel(img, y1, x1 + 1)) +
              dy1 * (dx2 * pixel(img, y1 + 1, x1) + dx1 * pixel(img, y1 + 1, x1 + 1));
        } else {
          const int64_t x0 = static_cast<int64_t>(std::floor(fx)) - 1, y0 = static_cast<int64_t>(std::floor(fy)) - 1;
          float wx[4], wy[4], rows[4];
          cubic_weights(fx - static_cast<float>(x0 + 1), wx);
          cubic_weights(fy - static_cast<float>(y0 + 1), wy);
          for (int64_t i = 0; i < 4; ++i) {
            rows[i] = 0;
            for (int64_t j = 0; j < 4; ++j) rows[i] += wx[j] * pixel(img, y0 + i, x0 + j);
          }
          v = wy[0] * rows[0] + wy[1] * rows[1] + wy[2] * rows[2] + wy[3] * rows[3];
        }
        py[(n * C + ch) * Ho * Wo + o] = v;
      }
    }
  });
}

}  // namespace

void register_grid_sample(OpRegistry& reg) {
  {
    // Opset 16: modes bilinear/nearest/bicubic; opset 20 renames them linear/nearest/cubic and
    // allows N-D inputs (only 4-D runs here).
    OpDef d;
    d.op_type = "GridSample";
    d.since = 16;
    d.min_inputs = d.max_inputs = 2;
    d.parse = typed_parse<GridSampleAttrs>([](const ParseContext& p) {
      GridSampleAttrs a;
      const bool v20 = p.opset() >= 20;
      const std::string mode = p.get_string("mode", v20 ? "linear" : "bilinear");
      if (mode == (v20 ? "linear" : "bilinear")) a.mode = 0;
      else if (mode == "nearest") a.mode = 1;
      else if (mode == (v20 ? "cubic" : "bicubic")) a.mode = 2;
      else p.fail_attr("mode", std::string("expected ") + (v20 ? "linear, nearest or cubic" : "bilinear, nearest or bicubic") + ", got '" + mode + "'");
      const std::string pad = p.get_string("padding_mode", "zeros");
      if (pad == "zeros") a.padding = 0;
      else if (pad == "border") a.padding = 1;
      else if (pad == "reflection") a.padding = 2;
      else p.fail_attr("padding_mode", "expected zeros, border or reflection, got '" + pad + "'");
      a.align_corners = p.get_int("align_corners", 0) != 0;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) {
      const TensorInfo &x = c.in(0), &g = c.in(1);
      if (!x.has_rank() || !g.has_rank() || x.rank() != 4 || g.rank() != 4) return one(unknown_info(x.dtype));
      return one(make_info(x.dtype, {(*x.shape)[0], (*x.shape)[1], (*g.shape)[1], (*g.shape)[2]}));
    };
    d.run = typed_run<GridSampleAttrs>(run_grid_sample);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
