#include "kernels/simd/simd.h"

#include "kernels/kernels.h"

namespace qm::kernels {

size_t f32_simd_lanes() { return simd::kLanes; }

const char* simd_arch_name() { return xsimd::default_arch::name(); }

}  // namespace qm::kernels
