// Helpers shared by the run() steps of the op family files (internal to src/ops/): element-type
// dispatch, reading small integer inputs (shapes, axes), numpy broadcasting split into contiguous
// inner blocks for the kernels, and turning ONNX tensors into runtime Tensors.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "onnx/model.h"
#include "ops/registry.h"

namespace qm::ops::detail {

/// Calls f(T{}) with T the C++ element type of `t` (float, double, int64/32/16, uint16, int8,
/// uint8, bool); fails through ctx for other types.
template <class F>
void dispatch_all(DataType t, const RunContext& ctx, F&& f) {
  switch (t) {
    case DataType::Float: f(float{}); return;
    case DataType::Double: f(double{}); return;
    case DataType::Int64: f(int64_t{}); return;
    case DataType::Int32: f(int32_t{}); return;
    case DataType::Int16: f(int16_t{}); return;
    case DataType::Uint16: f(uint16_t{}); return;
    case DataType::Int8: f(int8_t{}); return;
    case DataType::Uint8: f(uint8_t{}); return;
    case DataType::Bool: f(bool{}); return;
    default: break;
  }
  ctx.unsupported(std::string("element type ") + std::string(dtype_name(t)) + " is not supported by the engine");
}

/// As dispatch_all without bool (arithmetic).
template <class F>
void dispatch_numeric(DataType t, const RunContext& ctx, F&& f) {
  switch (t) {
    case DataType::Float: f(float{}); return;
    case DataType::Double: f(double{}); return;
    case DataType::Int64: f(int64_t{}); return;
    case DataType::Int32: f(int32_t{}); return;
    case DataType::Int16: f(int16_t{}); return;
    case DataType::Uint16: f(uint16_t{}); return;
    case DataType::Int8: f(int8_t{}); return;
    case DataType::Uint8: f(uint8_t{}); return;
    case DataType::Bool: ctx.unsupported("arithmetic on bool tensors is not supported");
    default: break;
  }
  ctx.unsupported(std::string("element type ") + std::string(dtype_name(t)) + " is not supported by the engine");
}

/// Calls f(U{}) with U the unsigned integer type of the element size of `t`: ops that only move
/// elements (gather, scatter, transpose, ...) handle every dtype through these four.
template <class F>
void by_size(const RunContext& ctx, DataType t, F&& f) {
  switch (tensor_element_size(t)) {
    case 1: f(uint8_t{}); return;
    case 2: f(uint16_t{}); return;
    case 4: f(uint32_t{}); return;
    case 8: f(uint64_t{}); return;
    default: break;
  }
  ctx.unsupported(std::string("element type ") + std::string(dtype_name(t)) + " is not supported by the engine");
}

/// Requires a float32 tensor.
void require_float(const RunContext& ctx, const Tensor& t, const char* what);

/// Contents of an integer tensor (int64/int32/int16/int8/uint8/bool...) as int64.
std::vector<int64_t> ints_of(const RunContext& ctx, const Tensor& t, const char* what);
/// Contents of any numeric tensor as doubles.
std::vector<double> numbers_of(const RunContext& ctx, const Tensor& t, const char* what);
/// Element i of a numeric tensor as double.
double number_at(const Tensor& t, int64_t i);
/// Stores v (converted as a cast does) at element i.
void set_number(Tensor& t, int64_t i, double v);
/// v truncated toward zero; NaN and values outside int64 give INT64_MIN, what x86's cvttsd2si
/// and LLVM's WebAssembly lowering return (a plain cast of them is undefined behaviour).
inline int64_t trunc_to_int64(double v) {
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? static_cast<int64_t>(v) : INT64_MIN;
}

/// An integer operand converted so that + - * on it wrap (two's complement, what x86 and wasm
/// give; signed overflow is undefined): unsigned, at least int's width (int16 or uint16 operands
/// promote to int, whose products can overflow). Other types: unchanged.
template <class T>
auto wrap_t(T x) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::conditional_t<(sizeof(T) > sizeof(unsigned)), std::make_unsigned_t<T>, unsigned>;
    return static_cast<U>(x);
  } else {
    return x;
  }
}

/// A sampling coordinate computed from the op's inputs (Resize scales/roi, GridSample grids)
/// made safe to turn into an index: NaN becomes 0 and values are clamped to +-`limit` (default
/// 2^40, far beyond any dimension), so floor/ceil/round of it fit int64 (a plain cast of NaN or
/// 1e30 is undefined behaviour; UBSan found it with hostile inputs). Interpolation weights need a
/// limit below 2^23, where float still has unit steps.
inline float bounded_coord(float v, float limit = 1099511627776.0f) {
  return v != v ? 0.0f : (v < -limit ? -limit : (v > limit ? limit : v));
}

/// Numpy broadcast of several shapes; fails through ctx.
Shape broadcast_shapes(const RunContext& ctx, const std::vector<const Shape*>& shapes);

/// Row-major strides (in elements) of a shape.
std::vector<int64_t> strides_of(const Shape& s);

/// Broadcasting of several inputs to `out`, split into an outer loop and a contiguous inner
/// block: for each outer index o, input k's block starts at offset(k, o) and advances by step[k]
/// (1: contiguous, 0: one value repeated) over `inner` elements of the output.
class BroadcastIter {
 public:
  BroadcastIter(const Shape& out, const std::vector<const Shape*>& ins);
  int64_t outer() const { return outer_; }
  int64_t inner() const { return inner_; }
  int step(size_t k) const { return steps_[k]; }
  /// Fills offs[k] with each input's element offset at outer index o (output offset o*inner).
  void offsets(int64_t o, int64_t* offs) const;

 private:
  int64_t outer_ = 1, inner_ = 1;
  std::vector<int> steps_;
  Shape outer_shape_;
  std::vector<std::vector<int64_t>> outer_strides_;  ///< per input, over outer_shape_
};

/// Copies `n` elements of size `es` (byte-wise, any type).
inline void copy_elems(void* dst, const void* src, size_t n, size_t es) { std::memcpy(dst, src, n * es); }

/// A runtime Tensor with the contents of an ONNX tensor (float, double, integer and bool types;
/// int4/uint4 unpacked one per byte). Error(Unsupported) for float16/bfloat16/string/complex;
/// `what` names the tensor in messages.
Tensor tensor_from_onnx(const onnx::Tensor& t);

/// Normalises `axis` against `rank`, failing through ctx.
int64_t norm_axis(const RunContext& ctx, int64_t axis, int64_t rank, const char* what = "axis");

/// Splits [0, total) over the pool when total * cost_per_item is large enough to pay for it.
void parallel_items(RunContext& ctx, int64_t total, int64_t cost_per_item,
                    const std::function<void(int64_t, int64_t)>& fn);

}  // namespace qm::ops::detail
