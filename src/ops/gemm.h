// Attributes of Gemm, shared with the code that runs it (the FP32 engine) and costs it
// (graph/macs).
#pragma once

#include "ops/registry.h"

namespace qm::ops {

struct GemmAttrs : OpAttrs {
  float alpha = 1.0f;
  float beta = 1.0f;
  bool trans_a = false;
  bool trans_b = false;
};

}  // namespace qm::ops
