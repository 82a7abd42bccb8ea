// Attributes of ops with a fused activation, created by graph preparation (graph/plan.cpp) when a
// Conv or Gemm output feeds only a Relu or a Clip with constant bounds: the GEMM kernel clamps
// its results (kernels::GemmParams clamp_min/clamp_max), saving a pass over the activation.
#pragma once

#include <limits>

#include "ops/conv.h"
#include "ops/gemm.h"

namespace qm::ops {

/// out = min(max(v, lo), hi): Relu is {0, +inf}, Clip(a, b) is {a, b}.
struct FusedClamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

struct ConvFusedAttrs : ConvAttrs {
  FusedClamp clamp;
};

struct GemmFusedAttrs : GemmAttrs {
  FusedClamp clamp;
};

}  // namespace qm::ops
