// Helpers shared by the op family files (internal to src/ops/).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/registry.h"

namespace qm::ops::detail {

/// A single output.
inline std::vector<TensorInfo> one(TensorInfo t) {
  std::vector<TensorInfo> v;
  v.push_back(std::move(t));
  return v;
}

/// A registry entry for the default domain with its opset range and input count filled in.
inline OpDef op_def(const char* name, int since, int until, int min_inputs, int max_inputs) {
  OpDef d;
  d.op_type = name;
  d.since = since;
  d.until = until;
  d.min_inputs = min_inputs;
  d.max_inputs = max_inputs;
  return d;
}

/// A single output with input i's dtype and shape (no contents).
inline std::vector<TensorInfo> same_as_input(const InferContext& c, size_t i = 0) {
  const TensorInfo& x = c.in(i);
  return one(TensorInfo(x.dtype, x.shape));
}

/// The contents of an integer input, every element a known number; nullopt otherwise.
inline std::optional<std::vector<int64_t>> known_ints(const TensorInfo* t) {
  if (!t) return std::nullopt;
  return t->known_ints();
}

/// A scalar or 1-element integer input's value, if known.
inline std::optional<int64_t> known_scalar_int(const TensorInfo* t) {
  auto v = known_ints(t);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

/// The contents of a float or integer input as doubles, if every element is known.
std::optional<std::vector<double>> known_numbers(const TensorInfo* t);

/// Formats a list: "[1, 2, 3]".
std::string ints_to_string(const std::vector<int64_t>& v);

/// Fails unless `t` has a known rank equal to `rank` (does nothing if the rank is unknown).
void check_rank(const InferContext& c, const TensorInfo& t, size_t rank, const char* what);

/// Normalises an axis against a rank, failing with "axis 5 out of range for rank 4".
int64_t axis_or_fail(const InferContext& c, int64_t axis, int64_t rank, const char* what = "axis");

/// Keeps tracked contents only if the shape is static and small enough; fills `ints`/`floats`
/// of `out` from a computed list.
void set_ints(TensorInfo& out, Dims values);
void set_floats(TensorInfo& out, std::vector<double> values);

/// Clamp used by Slice/Gather index arithmetic.
inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// Product of dims: a number if all are known; a symbol if it is the only non-1 factor; else
/// unknown.
Dim dim_product(const Dims& dims, size_t begin, size_t end);

/// Wraps an integer to the range of an integer DataType (as a cast does).
int64_t wrap_to_dtype(int64_t v, DataType t);

}  // namespace qm::ops::detail
