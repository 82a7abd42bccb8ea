// run() steps of Conv, ConvTranspose and the pools (wired in conv.cpp).
#pragma once

#include "ops/conv.h"

namespace qm::ops::detail {

/// Conv: im2col + packed GEMM (weights packed once when constant), direct loop for depthwise.
void run_conv(const ConvAttrs& a, RunContext& c);
/// ConvTranspose: GEMM + col2im; pads from output_shape/auto_pad as ONNX Runtime computes them.
void run_conv_transpose(const ConvAttrs& a, RunContext& c);
/// MaxPool (Y only) and AveragePool, N-d, ceil_mode, dilations, count_include_pad.
void run_pool(const PoolAttrs& a, RunContext& c);
/// GlobalAveragePool, or GlobalMaxPool if `is_max`.
void run_global_pool(RunContext& c, bool is_max);

}  // namespace qm::ops::detail
