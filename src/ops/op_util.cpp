#include "ops/op_util.h"

namespace qm::ops::detail {

std::optional<std::vector<double>> known_numbers(const TensorInfo* t) {
  if (!t) return std::nullopt;
  if (t->floats) return *t->floats;
  if (auto v = t->known_ints()) return std::vector<double>(v->begin(), v->end());
  return std::nullopt;
}

std::string ints_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

void check_rank(const InferContext& c, const TensorInfo& t, size_t rank, const char* what) {
  if (t.has_rank() && t.rank() != rank)
    c.fail(std::string(what) + " must have rank " + std::to_string(rank) + " (got shape " +
           t.shape_string() + ")");
}

int64_t axis_or_fail(const InferContext& c, int64_t axis, int64_t rank, const char* what) {
  auto a = normalize_axis(axis, rank);
  if (!a)
    c.fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
           std::to_string(rank) + " (expected " + std::to_string(-rank) + " to " +
           std::to_string(rank - 1) + ")");
  return *a;
}

void set_ints(TensorInfo& out, Dims values) {
  auto n = out.num_elements();
  if (!n || *n != static_cast<int64_t>(values.size()) || values.size() > kMaxFoldElements) return;
  out.ints = std::move(values);
}

void set_floats(TensorInfo& out, std::vector<double> values) {
  auto n = out.num_elements();
  if (!n || *n != static_cast<int64_t>(values.size()) || values.size() > kMaxFloatFoldElements)
    return;
  out.floats = std::move(values);
}

Dim dim_product(const Dims& dims, size_t begin, size_t end) {
  int64_t known = 1;
  const Dim* sym = nullptr;
  for (size_t i = begin; i < end; ++i) {
    const Dim& d = dims[i];
    if (d.known()) {
      auto k = checked_mul(known, *d.value);
      if (!k) return Dim();
      known = *k;
    } else if (d.is_symbol() && !sym) {
      sym = &d;
    } else {
      return Dim();
    }
  }
  if (!sym) return known;
  if (known == 1) return *sym;
  return known == 0 ? Dim(int64_t{0}) : Dim();
}

int64_t wrap_to_dtype(int64_t v, DataType t) {
  switch (t) {
    case DataType::Int8: return static_cast<int8_t>(v);
    case DataType::Uint8: return static_cast<uint8_t>(v);
    case DataType::Int16: return static_cast<int16_t>(v);
    case DataType::Uint16: return static_cast<uint16_t>(v);
    case DataType::Int32: return static_cast<int32_t>(v);
    case DataType::Uint32: return static_cast<uint32_t>(v);
    case DataType::Bool: return v != 0;
    default: return v;
  }
}

}  // namespace qm::ops::detail
