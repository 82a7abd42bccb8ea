// What shape inference knows about a tensor without running the model: its element type, its
// shape (each dimension a number, a symbol such as "batch", or unknown), and for small tensors
// its contents, so that shape arithmetic (Shape -> Gather -> Concat -> Reshape, as torch exports
// produce) resolves during inference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "onnx/model.h"

namespace qm::ops {

/// One dimension of an inferred shape, or one element of a tracked integer tensor: a known
/// number, a symbol (an input's dim_param, carried through Shape/Gather/Concat/Reshape), or
/// unknown (neither).
struct Dim {
  std::optional<int64_t> value;
  std::string symbol;  ///< non-empty only when value is unset

  Dim() = default;
  /// A known number (implicit so that `Dims{1, 3, 224, 224}` reads naturally).
  Dim(int64_t v) : value(v) {}  // NOLINT(google-explicit-constructor)
  Dim(int v) : value(v) {}      // NOLINT(google-explicit-constructor)
  static Dim sym(std::string s) {
    Dim d;
    d.symbol = std::move(s);
    return d;
  }
  static Dim unknown() { return Dim(); }

  bool known() const { return value.has_value(); }
  bool is_symbol() const { return !value && !symbol.empty(); }
  /// True if this is the number `v`.
  bool is(int64_t v) const { return value && *value == v; }
  /// Same number or same symbol. Two unknown dims are never the same.
  bool same(const Dim& o) const {
    if (value || o.value) return value && o.value && *value == *o.value;
    return !symbol.empty() && symbol == o.symbol;
  }
  /// "3", "batch" or "?".
  std::string to_string() const;
};
using Dims = std::vector<Dim>;

/// Integer tensors with at most this many elements have their contents tracked.
constexpr size_t kMaxFoldElements = 4096;
/// Ranks above this are treated as unknown (a guard against hostile models, not an ONNX limit).
constexpr size_t kMaxRank = 1024;
/// Dimensions above this make shape inference fail as out of range (2^48 elements is far beyond
/// any real tensor and keeps every product of two sizes inside int64).
constexpr int64_t kMaxDim = int64_t{1} << 48;

/// a * b and a + b, or nullopt on int64 overflow.
std::optional<int64_t> checked_mul(int64_t a, int64_t b);
std::optional<int64_t> checked_add(int64_t a, int64_t b);

/// Float tensors with at most this many elements have their contents tracked (scales, bounds).
constexpr size_t kMaxFloatFoldElements = 256;

/// Inferred facts about one tensor. Everything is optional: an unknown shape means the rank is
/// unknown; a known rank may still hold unknown or symbolic dimensions.
struct TensorInfo {
  DataType dtype = DataType::Undefined;
  std::optional<Dims> shape;
  /// Contents (row-major) of an integer or bool tensor with a known static shape of at most
  /// kMaxFoldElements elements; elements may be symbolic or unknown (e.g. the output of Shape).
  std::optional<Dims> ints;
  /// Contents of a small float tensor with a known static shape.
  std::optional<std::vector<double>> floats;

  TensorInfo() = default;
  TensorInfo(DataType t, std::optional<Dims> s) : dtype(t), shape(std::move(s)) {}

  bool has_rank() const { return shape.has_value(); }
  size_t rank() const { return shape ? shape->size() : 0; }
  /// True if the rank and every dimension are known numbers.
  bool is_static() const;
  /// The dims as numbers if is_static().
  std::optional<std::vector<int64_t>> static_shape() const;
  /// Product of the dims if is_static().
  std::optional<int64_t> num_elements() const;
  /// The tracked integer contents if every element is a known number.
  std::optional<std::vector<int64_t>> known_ints() const;
  /// "[1, 3, batch, ?]", or "?" when the rank is unknown.
  std::string shape_string() const;
};

/// Shape as text: "[1, 3, batch, ?]".
std::string dims_to_string(const Dims& dims);

/// A tensor of known shape without tracked contents.
TensorInfo make_info(DataType dtype, Dims shape);
/// A tensor whose rank is unknown.
TensorInfo unknown_info(DataType dtype);
/// A 1-D (or scalar, if `scalar`) integer tensor with tracked contents.
TensorInfo int_tensor_info(DataType dtype, Dims values, bool scalar = false);

/// The facts an initializer or Constant tensor gives: dtype, dims, and contents if small and not
/// external. Payload errors throw qm::Error(InvalidModel) naming the tensor.
TensorInfo info_from_tensor(const onnx::Tensor& t);

/// The facts a declared graph input/output gives (dim_value -> number, dim_param -> symbol).
TensorInfo info_from_type(const onnx::TypeProto* type);

/// Multidirectional (numpy) broadcasting of two shapes; nullopt if they cannot broadcast
/// (two different known dims, neither 1). A symbol against a known n > 1 gives n.
std::optional<Dims> broadcast_dims(const Dims& a, const Dims& b);

/// Normalises `axis` in [-rank, rank) to [0, rank); nullopt if out of range.
std::optional<int64_t> normalize_axis(int64_t axis, int64_t rank);

/// Product of dims when all are known numbers.
std::optional<int64_t> product(const Dims& dims);

/// For each element of a tensor of static shape `out`, the row-major index of the element of a
/// tensor of shape `in` that numpy broadcasting maps to it (`in` must broadcast to `out`).
std::vector<size_t> broadcast_indices(const std::vector<int64_t>& in, const std::vector<int64_t>& out);

/// True for types whose contents are tracked in TensorInfo::ints (integers and bool).
bool tracks_ints(DataType t);

}  // namespace qm::ops
