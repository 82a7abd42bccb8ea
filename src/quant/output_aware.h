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
// calibration samples and positions. Per channel, the candidate scales are the weight MSE
// search's grid (fractions of max|w|). Blocked scales start from the channel's choice (every block
// at the channel's scale) and then, block by block, try
// fractions of the block's own max|w| against the whole channel's output error: blocks can cancel
// each other's rounding errors (with ReLU inputs the output error is dominated by the weights'
// summed error), which is where most of their gain comes from. The simulation and the export use
// the chosen scales like any other (rounding to nearest is unchanged).
// A grouped (or depthwise) Conv is one such layer per group: group j's output channels see the
// columns of its own input channels only. Layers without rows (batched MatMul weights,
// ConvTranspose) keep the weight MSE search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "graph/plan.h"
#include "quant/quant_model.h"

namespace qm::quant {

/// Rows of a layer's input: rows() x k floats, row-major.
struct LayerRows {
  int64_t k = 0;
  /// Grouped Conv: the rows hold every input channel's patches (k = groups x the weight's K),
  /// group j's output channels (the j-th outer/groups of them) see columns [j K, (j + 1) K).
  int64_t groups = 1;
  std::vector<float> data;
  /// The sum of EVERY row seen (k entries; not only the rows kept) and their number: the layer's
  /// mean input row, for bias correction (bias_shift).
  std::vector<double> row_sum;
  int64_t row_count = 0;
  size_t rows() const { return k > 0 ? data.size() / static_cast<size_t>(k) : 0; }
  /// Group j's columns as rows of their own (groups == 1: a copy of this).
  LayerRows group(int64_t j) const;
};

/// Runs `f(j, weights of group j, its layout, its rows)` for each group of a grouped Conv
/// (rows.groups > 1; the layout's outer = C_out, inner = 1), or once for the whole layer.
/// Throws Error(InvalidArgument) if the rows do not fit the weight.
void for_each_group(const float* w, const BlockLayout& layout, const LayerRows& rows,
                    const std::function<void(int64_t, const float*, const BlockLayout&, const LayerRows&)>& f);

/// Whether rows can be taken for `layer` (its step in `plan`): Conv with a 2-D kernel (any
/// group), Gemm, MatMul with a 2-D weight.
bool takes_rows(const graph::Plan& plan, const Layer& layer);

/// Appends up to `max_rows` rows of input `x` of `layer` (evenly spaced over its rows/positions).
/// `x` is the layer's data input as the FP forward produced it.
void append_rows(const graph::Plan& plan, const Layer& layer, const Tensor& x, size_t max_rows, LayerRows& rows);

/// Empirical bias correction (AIMET's bias correction, on the FP inputs): per output channel c
/// (the layer's output column: Conv C_out, Gemm/MatMul N), the mean over every input row seen
/// (rows.row_sum) of the output error sum_k x[k] (w[c, k] - wq[c, k]), where `wq` is `w` as the
/// quantizer dequantizes it. Adding it to the layer's bias makes the quantized layer's mean output
/// the float layer's. Empty if no row was seen. Throws Error(InvalidArgument) if the rows do not
/// fit the weight.
std::vector<float> bias_shift(const float* w, const float* wq, const BlockLayout& layout, const LayerRows& rows);

/// `bias` (float, one value per output channel) plus `shift`: the layer's corrected bias.
/// Throws Error(InvalidArgument) if the sizes differ.
Tensor corrected_bias(const Tensor& bias, const std::vector<float>& shift);

/// The symmetric scales at `bits` of weight `w` (float, laid out as `layout` says) that minimise
/// the output error over `rows`: one per output channel (`block` 0) or per block, in the
/// Encoding's order ([outer, blocks, inner]). Candidates per channel: fractions of its max|w| as
/// the weight MSE search (coarse 0.1 .. 1.0, then +-0.1 in steps of 0.02 around the best); per
/// block then 0.1 .. 1.0 of the block's max|w| (header). Ties keep the less clipped range. The
/// errors of all channels at one candidate are one GEMM (kernels::f32_gemm) of the rows with
/// the weight errors.
std::vector<float> output_aware_scales(const float* w, const BlockLayout& layout, int block, int bits, const LayerRows& rows);

}  // namespace qm::quant
