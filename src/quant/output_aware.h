// Output-aware weight ranges (issue 15 item 2, SeqMSE-style): at <= 4 bits, the clipping range of
// each output channel (or block) is the one that minimises the error of the layer's OUTPUT on
// calibration inputs, not the weight's own squared error. A weight element the inputs multiply by
// large values matters more than one they multiply by near-zero values; the weight's own error
// cannot see that.
//
//   err(c, s) = sum over rows r of ( sum over k of x[r, k] * (w[c, k] - fq(w[c, k], s)) )^2
//
// where x[r, :] are rows of the layer's input as its weight sees them (Gemm/MatMul: input rows of
// length K; Conv: im2col patches C_in x kh x kw), a fixed number per layer, spread evenly over the
// calibration samples and positions. A block's error counts only its own elements (the other
// blocks held exact), so blocks are chosen independently. The candidate scales are the weight
// MSE search's grid (fractions of max|w|), so only the choice among them changes; the
// simulation and the export use the chosen scale like any other (rounding is unchanged).
// Layers without rows (grouped/depthwise Conv, batched MatMul weights, ConvTranspose) keep the
// weight MSE search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "graph/plan.h"
#include "quant/quant_model.h"

namespace qm::quant {

/// Rows of a layer's input: rows() x k floats, row-major.
struct LayerRows {
  int64_t k = 0;
  std::vector<float> data;
  size_t rows() const { return k > 0 ? data.size() / static_cast<size_t>(k) : 0; }
};

/// Whether rows can be taken for `layer` (its step in `plan`): Conv with group 1 and a 2-D
/// kernel, Gemm, MatMul with a 2-D weight.
bool takes_rows(const graph::Plan& plan, const Layer& layer);

/// Appends up to `max_rows` rows of input `x` of `layer` (evenly spaced over its rows/positions).
/// `x` is the layer's data input as the FP forward produced it.
void append_rows(const graph::Plan& plan, const Layer& layer, const Tensor& x, size_t max_rows, LayerRows& rows);

/// The symmetric scale at `bits` that minimises the output error over `rows` of the weight
/// elements w[0], w[stride], ... (n of them), which multiply row columns k0 .. k0 + n - 1.
/// Candidates: fractions of max|w| as the weight MSE search (coarse 0.1 .. 1.0, then +-0.1 in
/// steps of 0.02 around the best). Ties: the less clipped range.
float output_aware_scale(const float* w, size_t stride, size_t n, const LayerRows& rows, size_t k0, int bits);

}  // namespace qm::quant
