// Learned rounding (issue 15 item 2, AdaRound-style): at <= 4 bits, whether each weight rounds
// down or up is chosen to minimise the layer's OUTPUT error on rows of its calibration inputs
// (output_aware.h), instead of rounding each weight to its nearest level on its own. The scales
// stay those range setting chose; only the integers change.
//
// Each weight w with scale s gets q = floor(w / s) + h, h in {0, 1}, relaxed during the
// optimisation to h = clamp(sigmoid(v) * (zeta - gamma) + gamma, 0, 1) (zeta 1.1, gamma -0.1,
// as AdaRound), v initialised so that h starts at frac(w / s). Loss, Adam on v for a fixed number
// of iterations:
//
//   sum over rows r, channels u of ( x[r, :] . (w[u, :] - s * q[u, :]) )^2 / E0
//     + lambda * mean over weights of (1 - |2h - 1|^beta)
//
// E0 is the error of round-to-nearest on the same rows (the loss starts near 1 on every layer,
// so one lambda fits all); beta anneals from 20 to 2 after a warm-up of 20 % of the iterations
// (the regulariser then drives h to 0 or 1). Weights clamped to the integer range keep their
// clamped level. At the end h >= 0.5 rounds up, and passes of greedy single flips (floor <->
// floor + 1 wherever that lowers the channel's output error, computed exactly) repair weights
// the relaxation left undecided. The same flips are also run from round-to-nearest, and each
// channel keeps whichever of the two has the lower output error.
//
// One row in four is held out: the learned integers are kept only if they also lower the output
// error on the held-out rows (a layer whose reduction K is large next to the rows can overfit
// them); otherwise the result is empty and the layer keeps round-to-nearest. Each iteration
// costs two GEMMs of rows x K x channels (kernels::f32_gemm).
#pragma once

#include <cstdint>
#include <vector>

#include "quant/output_aware.h"
#include "quant/quant_model.h"

namespace qm::quant {

struct LearnedRoundingOptions {
  /// Iterations per layer: as many as `work_macs` multiply-adds allow (each iteration is two
  /// GEMMs of rows x K x channels), within [min_iterations, iterations]. Small layers get the
  /// maximum; the largest convolutions of a ResNet-50 the minimum.
  int iterations = 500;
  int min_iterations = 50;
  double work_macs = 8e9;
  double learning_rate = 0.05;  ///< Adam, on the relaxed variable v
  double lambda = 10.0;         ///< weight of the rounding regulariser (loss normalised by E0)
};

/// What one layer's optimisation did (for tests and reports).
struct LearnedRoundingStats {
  double nearest_train = 0, learned_train = 0;      ///< output error on the training rows
  double nearest_heldout = 0, learned_heldout = 0;  ///< on the held-out rows (0 when none)
  int64_t flipped = 0;                              ///< weights whose integer differs from nearest
  bool kept = false;
};

/// The learned integers of weight `w` (float, laid out as `layout` says) at `bits` with
/// symmetric `scales` in the Encoding's order (per channel: block 0; else per block of `block`),
/// one per weight element in `w`'s order; empty when they do not beat round-to-nearest on the
/// held-out rows (or there is nothing to learn). Throws Error(InvalidArgument) if `rows` do not
/// match the weight.
std::vector<int8_t> learned_rounding(const float* w, const BlockLayout& layout, int block, int bits,
                                     const std::vector<float>& scales, const LayerRows& rows,
                                     const LearnedRoundingOptions& options = {}, LearnedRoundingStats* stats = nullptr);

}  // namespace qm::quant
