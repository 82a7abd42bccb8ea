// Row-wise normalisation kernels: softmax / log-softmax, layer and instance normalisation, the
// per-channel affine of an (inference) batch normalisation, and row statistics.
//
// "Row" = n contiguous floats. The *_columns variants normalise every column of a row-major
// [rows, cols] block over its rows (softmax over a non-innermost axis: rows = axis length,
// cols = inner size), vectorised along the columns. Sums use vector float accumulators per block
// of a few thousand values, combined in double, so long rows (an InstanceNorm over 224 x 224)
// stay accurate. All kernels allow y == x.
#pragma once

#include <cstddef>

namespace qm::kernels {

/// y = softmax(x) over n values: e^(x - max) / sum. n == 0 does nothing.
void f32_softmax(const float* x, float* y, size_t n);
/// y = log softmax(x) = x - max - log(sum e^(x - max)).
void f32_log_softmax(const float* x, float* y, size_t n);
/// Softmax of every column of a row-major [rows, cols] block, over its rows.
void f32_softmax_columns(const float* x, float* y, size_t rows, size_t cols);
/// Log-softmax of every column of a [rows, cols] block, over its rows.
void f32_log_softmax_columns(const float* x, float* y, size_t rows, size_t cols);

/// Mean and (population) variance of n values, two-pass. n == 0 gives 0 and 0.
void f32_mean_var(const float* x, size_t n, float* mean, float* var);

/// y[i] = x[i] * scale + shift (BatchNormalization folded to one affine per channel plane;
/// also the second half of InstanceNormalization).
void f32_affine(const float* x, float* y, size_t n, float scale, float shift);

/// Parameters of f32_layer_norm.
struct LayerNormParams {
  float epsilon = 1e-5f;
  const float* scale = nullptr;  ///< n values, or null for 1
  const float* bias = nullptr;   ///< n values, or null for 0
};

/// y = (x - mean) / sqrt(var + epsilon) * scale + bias over one row of n values. If given,
/// *mean_out and *inv_std_out receive the row's mean and 1 / sqrt(var + epsilon) (the optional
/// outputs of ONNX LayerNormalization).
void f32_layer_norm(const float* x, float* y, size_t n, const LayerNormParams& params,
                    float* mean_out = nullptr, float* inv_std_out = nullptr);

/// One InstanceNormalization plane: y = (x - mean) / sqrt(var + epsilon) * scale + bias.
void f32_instance_norm(const float* x, float* y, size_t n, float scale, float bias,
                       float epsilon);

/// Reductions of f32_reduce / f32_reduce_columns (ONNX Reduce* semantics; empty input gives the
/// identity: 0 for sums, -inf for Max, +inf for Min, 1 for Prod, -inf for LogSumExp, NaN for
/// Mean).
enum class ReduceOp : unsigned char {
  Sum,
  Mean,
  Max,
  Min,
  Prod,
  SumSquare,
  L1,         ///< sum |x|
  L2,         ///< sqrt(sum x^2)
  LogSum,     ///< log(sum x)
  LogSumExp,  ///< max + log(sum e^(x - max))
  kCount
};
static_assert(static_cast<int>(ReduceOp::kCount) == 10, "update reduce_op_name()");

/// "ReduceSum", "ReduceMean", ... (the ONNX operator name).
const char* reduce_op_name(ReduceOp op);

/// The reduction of n contiguous values.
float f32_reduce(ReduceOp op, const float* x, size_t n);
/// y[j] = reduction over k of x[k * cols + j] for every column j of a [rows, cols] block.
void f32_reduce_columns(ReduceOp op, const float* x, size_t rows, size_t cols, float* y);

}  // namespace qm::kernels
