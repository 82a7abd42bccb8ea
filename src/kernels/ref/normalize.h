// Scalar references for kernels/normalize.h: straightforward loops accumulating in double.
#pragma once

#include <cstddef>

#include "kernels/normalize.h"

namespace qm::kernels::ref {

void f32_softmax(const float* x, float* y, size_t n);
void f32_log_softmax(const float* x, float* y, size_t n);
void f32_softmax_columns(const float* x, float* y, size_t rows, size_t cols);
void f32_log_softmax_columns(const float* x, float* y, size_t rows, size_t cols);
void f32_mean_var(const float* x, size_t n, float* mean, float* var);
void f32_affine(const float* x, float* y, size_t n, float scale, float shift);
void f32_layer_norm(const float* x, float* y, size_t n, const LayerNormParams& params,
                    float* mean_out = nullptr, float* inv_std_out = nullptr);
void f32_instance_norm(const float* x, float* y, size_t n, float scale, float bias,
                       float epsilon);
float f32_reduce(ReduceOp op, const float* x, size_t n);
void f32_reduce_columns(ReduceOp op, const float* x, size_t rows, size_t cols, float* y);

}  // namespace qm::kernels::ref
