// Attributes of Conv, ConvTranspose and the pools, shared with the code that runs them (the FP32
// engine) and costs them (graph/macs).
#pragma once

#include <cstdint>
#include <vector>

#include "ops/registry.h"

namespace qm::ops {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

/// Sliding-window attributes as written in the node. Empty lists mean "default" (strides and
/// dilations 1, pads 0, kernel from the weight); resolve against the spatial rank before use.
struct WindowAttrs {
  AutoPad auto_pad = AutoPad::NotSet;
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;  ///< [x1_begin, x2_begin, ..., x1_end, x2_end, ...]
};

struct ConvAttrs : OpAttrs {
  WindowAttrs window;
  int64_t group = 1;
  std::vector<int64_t> output_padding;  ///< ConvTranspose
  std::vector<int64_t> output_shape;    ///< ConvTranspose
};

struct PoolAttrs : OpAttrs {
  WindowAttrs window;
  bool ceil_mode = false;
  bool count_include_pad = false;  ///< AveragePool
  int64_t storage_order = 0;       ///< MaxPool indices
  bool is_max = false;             ///< MaxPool (else AveragePool)
};

/// Output size of one spatial dimension of a convolution or pooling window. A symbolic input
/// size survives where the window cannot change it (1x1, stride 1, no padding; SAME, stride 1).
/// Fails through `c` if the kernel does not fit the padded input.
Dim window_output_dim(const InferContext& c, const Dim& in, int64_t kernel, int64_t stride,
                      int64_t dilation, int64_t pad_begin, int64_t pad_end, AutoPad auto_pad,
                      bool ceil_mode);

/// {begin, end} padding that auto_pad SAME_UPPER/SAME_LOWER implies for one dimension
/// (the odd extra padding goes at the end for SAME_UPPER, at the beginning for SAME_LOWER).
std::vector<int64_t> same_pads(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                               AutoPad auto_pad);

}  // namespace qm::ops
