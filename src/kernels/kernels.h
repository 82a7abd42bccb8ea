// The compute kernels: everything ops/ calls to do arithmetic. Contiguous spans plus a params
// struct; no Tensor, broadcasting, strides or threading (those live in ops/, the XNNPACK split).
// Names are <dtype>_<op>[_<variant>]. Each SIMD kernel (qm::kernels, xsimd, compile-time arch)
// has a scalar reference with the same signature in qm::kernels::ref (kernels/ref/*.h) that
// defines its semantics and is what the tests compare against.
//
//   kernels/gemm.h  f32_gemm, f32_gemm_pack_a/_pack_b, f32_gemm_packed_a/_packed_b
//   kernels/conv.h  Conv2dShape, f32_im2col, f32_conv2d_packed (implicit im2col), f32_dwconv2d
//   kernels/elementwise.h  f32_unary (UnaryOp), f32_binary[_scalar_rhs/_scalar_lhs] (BinaryOp)
//   kernels/normalize.h  f32_[log_]softmax[_columns], f32_mean_var, f32_affine, f32_layer_norm,
//                        f32_instance_norm, f32_reduce[_columns] (ReduceOp)
//   kernels/pool.h  f32_max_pool2d, f32_avg_pool2d (AvgPoolParams), f32_global_avg/max_pool
//   kernels/fake_quant.h  f32_fake_quant_per_tensor, f32_fake_quant_per_channel
#pragma once

#include <cstddef>

#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/fake_quant.h"
#include "kernels/gemm.h"
#include "kernels/normalize.h"
#include "kernels/pool.h"

namespace qm::kernels {

/// Float lanes per SIMD vector in this build (4: SSE / wasm SIMD128, 8: AVX2, 16: AVX-512).
size_t f32_simd_lanes();
/// The xsimd architecture the kernels were compiled for, e.g. "fma3+avx2" or "sse4.2".
const char* simd_arch_name();

}  // namespace qm::kernels
