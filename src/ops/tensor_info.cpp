#include "ops/tensor_info.h"

#include <algorithm>
#include <cassert>
#include <climits>

#include "core/error.h"
#include "onnx/tensor_data.h"

namespace qm::ops {

std::string Dim::to_string() const {
  if (value) return std::to_string(*value);
  if (!symbol.empty()) return symbol;
  return "?";
}

bool TensorInfo::is_static() const {
  if (!shape) return false;
  for (const Dim& d : *shape)
    if (!d.known()) return false;
  return true;
}

std::optional<std::vector<int64_t>> TensorInfo::static_shape() const {
  if (!is_static()) return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(shape->size());
  for (const Dim& d : *shape) out.push_back(*d.value);
  return out;
}

std::optional<int64_t> TensorInfo::num_elements() const {
  if (!shape) return std::nullopt;
  return product(*shape);
}

std::optional<std::vector<int64_t>> TensorInfo::known_ints() const {
  if (!ints) return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(ints->size());
  for (const Dim& d : *ints) {
    if (!d.known()) return std::nullopt;
    out.push_back(*d.value);
  }
  return out;
}

std::string dims_to_string(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += dims[i].to_string();
  }
  return s + "]";
}

std::string TensorInfo::shape_string() const { return shape ? dims_to_string(*shape) : "?"; }

TensorInfo make_info(DataType dtype, Dims shape) { return TensorInfo(dtype, std::move(shape)); }

TensorInfo unknown_info(DataType dtype) { return TensorInfo(dtype, std::nullopt); }

TensorInfo int_tensor_info(DataType dtype, Dims values, bool scalar) {
  TensorInfo t(dtype, scalar ? Dims{} : Dims{static_cast<int64_t>(values.size())});
  assert(!scalar || values.size() == 1);
  t.ints = std::move(values);
  return t;
}

bool tracks_ints(DataType t) { return dtype_is_integer(t) || t == DataType::Bool; }

TensorInfo info_from_tensor(const onnx::Tensor& t) {
  const DataType dtype = static_cast<DataType>(t.data_type);
  Dims dims;
  for (int64_t d : t.dims) dims.push_back(d);
  TensorInfo info(dtype, dims);
  if (t.is_external()) return info;
  const int64_t n = onnx::tensor_num_elements(t);
  if (tracks_ints(dtype) && n <= static_cast<int64_t>(kMaxFoldElements) &&
      dtype != DataType::Uint64) {
    std::vector<int64_t> v = onnx::tensor_to_int64s(t);
    info.ints = Dims(v.begin(), v.end());
  } else if (dtype_is_float(dtype) && n <= static_cast<int64_t>(kMaxFloatFoldElements)) {
    std::vector<float> v = onnx::tensor_to_floats(t);
    info.floats = std::vector<double>(v.begin(), v.end());
  }
  return info;
}

TensorInfo info_from_type(const onnx::TypeProto* type) {
  if (!type || type->kind != onnx::TypeProto::Kind::Tensor) return TensorInfo();
  TensorInfo info(static_cast<DataType>(type->elem_type), std::nullopt);
  if (type->shape) {
    Dims dims;
    for (const onnx::Dimension& d : type->shape->dim) {
      // A negative dim_value is not a size; some exporters write -1 for "dynamic".
      if (d.value && *d.value >= 0) dims.push_back(*d.value);
      else if (d.param && !d.param->empty()) dims.push_back(Dim::sym(*d.param));
      else dims.push_back(Dim::unknown());
    }
    info.shape = std::move(dims);
  }
  return info;
}

std::optional<Dims> broadcast_dims(const Dims& a, const Dims& b) {
  const size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    const Dim* x = i + a.size() >= r ? &a[i + a.size() - r] : nullptr;
    const Dim* y = i + b.size() >= r ? &b[i + b.size() - r] : nullptr;
    if (!x) { out[i] = *y; continue; }
    if (!y) { out[i] = *x; continue; }
    if (x->is(1)) out[i] = *y;
    else if (y->is(1)) out[i] = *x;
    else if (x->known() && y->known()) {
      if (*x->value != *y->value) return std::nullopt;
      out[i] = *x;
    } else if (x->known()) out[i] = *x;  // the symbol must be 1 or equal: either way, x
    else if (y->known()) out[i] = *y;
    else if (x->same(*y)) out[i] = *x;
    else out[i] = Dim::unknown();
  }
  return out;
}

std::optional<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<int64_t> product(const Dims& dims) {
  int64_t p = 1;
  for (const Dim& d : dims) {
    if (!d.known() || *d.value < 0) return std::nullopt;
    auto q = checked_mul(p, *d.value);
    if (!q) return std::nullopt;  // overflow: unknown
    p = *q;
  }
  return p;
}

std::vector<size_t> broadcast_indices(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<size_t> idx(static_cast<size_t>(total));
  const size_t r = out.size();
  // Strides of `in`, aligned to the right of `out`; 0 where `in` broadcasts.
  std::vector<int64_t> stride(r, 0);
  int64_t s = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t i = in.size() - 1 - k;
    const size_t o = r - 1 - k;
    stride[o] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  std::vector<int64_t> pos(r, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t src = 0;
    for (size_t k = 0; k < r; ++k) src += pos[k] * stride[k];
    idx[static_cast<size_t>(flat)] = static_cast<size_t>(src);
    for (size_t k = r; k-- > 0;) {
      if (++pos[k] < out[k]) break;
      pos[k] = 0;
    }
  }
  return idx;
}

}  // namespace qm::ops
