#include "ops/run_util.h"

#include <algorithm>

#include "onnx/tensor_data.h"

namespace qm::ops::detail {

void require_float(const RunContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DataType::Float)
    ctx.unsupported(std::string(what) + " has element type " + std::string(dtype_name(t.dtype())) +
                    " (the engine computes in float32)");
}

double number_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::Float: return t.data<float>()[i];
    case DataType::Double: return t.data<double>()[i];
    case DataType::Int64: return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::Int32: return t.data<int32_t>()[i];
    case DataType::Int16: return t.data<int16_t>()[i];
    case DataType::Uint16: return t.data<uint16_t>()[i];
    case DataType::Int8: case DataType::Int4: return t.data<int8_t>()[i];
    case DataType::Uint8: case DataType::Uint4: return t.data<uint8_t>()[i];
    case DataType::Bool: return t.data<bool>()[i] ? 1.0 : 0.0;
    default: return 0.0;
  }
}

void set_number(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DataType::Float: t.data<float>()[i] = static_cast<float>(v); break;
    case DataType::Double: t.data<double>()[i] = v; break;
    case DataType::Int64: t.data<int64_t>()[i] = trunc_to_int64(v); break;
    case DataType::Int32: t.data<int32_t>()[i] = static_cast<int32_t>(trunc_to_int64(v)); break;
    case DataType::Int16: t.data<int16_t>()[i] = static_cast<int16_t>(trunc_to_int64(v)); break;
    case DataType::Uint16: t.data<uint16_t>()[i] = static_cast<uint16_t>(trunc_to_int64(v)); break;
    case DataType::Int8: case DataType::Int4: t.data<int8_t>()[i] = static_cast<int8_t>(trunc_to_int64(v)); break;
    case DataType::Uint8: case DataType::Uint4: t.data<uint8_t>()[i] = static_cast<uint8_t>(trunc_to_int64(v)); break;
    case DataType::Bool: t.data<bool>()[i] = v != 0; break;
    default: break;
  }
}

std::vector<int64_t> ints_of(const RunContext& ctx, const Tensor& t, const char* what) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  switch (t.dtype()) {
    case DataType::Int64: std::copy(t.data<int64_t>(), t.data<int64_t>() + t.numel(), v.begin()); break;
    case DataType::Int32: case DataType::Int16: case DataType::Uint16: case DataType::Int8:
    case DataType::Uint8: case DataType::Bool: case DataType::Int4: case DataType::Uint4:
      for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = static_cast<int64_t>(number_at(t, i));
      break;
    default:
      ctx.fail(std::string(what) + " must be an integer tensor (got " + std::string(dtype_name(t.dtype())) + ")");
  }
  return v;
}

std::vector<double> numbers_of(const RunContext& ctx, const Tensor& t, const char* what) {
  if (tensor_element_size(t.dtype()) == 0 || t.dtype() == DataType::Float16 || t.dtype() == DataType::Bfloat16)
    ctx.unsupported(std::string(what) + " has unsupported element type " + std::string(dtype_name(t.dtype())));
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = number_at(t, i);
  return v;
}

Shape broadcast_shapes(const RunContext& ctx, const std::vector<const Shape*>& shapes) {
  size_t r = 0;
  for (const Shape* s : shapes) r = std::max(r, s->size());
  Shape out(r, 1);
  for (const Shape* s : shapes) {
    const size_t off = r - s->size();
    for (size_t i = 0; i < s->size(); ++i) {
      const int64_t d = (*s)[i];
      int64_t& o = out[off + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string msg = "input shapes";
      for (const Shape* t : shapes) msg += " " + shape_to_string(*t);
      ctx.fail(msg + " cannot be broadcast");
    }
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

BroadcastIter::BroadcastIter(const Shape& out, const std::vector<const Shape*>& ins) {
  const size_t r = out.size(), k = ins.size();
  steps_.assign(k, 1);
  // mode[d][j]: 1 if input j runs along dim d, 0 if it is broadcast there.
  std::vector<std::vector<int64_t>> in_strides(k, std::vector<int64_t>(r, 0));
  std::vector<std::vector<int>> mode(r, std::vector<int>(k, 1));
  for (size_t j = 0; j < k; ++j) {
    const Shape& s = *ins[j];
    const size_t off = r - s.size();
    Shape padded(r, 1);
    for (size_t i = 0; i < s.size(); ++i) padded[off + i] = s[i];
    const std::vector<int64_t> st = strides_of(padded);
    for (size_t d = 0; d < r; ++d) {
      const bool bc = padded[d] == 1 && out[d] != 1;
      mode[d][j] = bc ? 0 : 1;
      in_strides[j][d] = bc ? 0 : st[d];
    }
  }
  // Inner block: trailing dims with the same mode vector (size-1 dims go with anything).
  size_t split = r;
  std::vector<int> inner_mode;
  while (split > 0) {
    const size_t d = split - 1;
    if (out[d] == 1) {
      --split;
      continue;
    }
    if (inner_mode.empty()) inner_mode = mode[d];
    else if (mode[d] != inner_mode) break;
    inner_ *= out[d];
    --split;
  }
  if (!inner_mode.empty())
    for (size_t j = 0; j < k; ++j) steps_[j] = inner_mode[j];
  outer_shape_.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(split));
  outer_strides_.assign(k, {});
  for (size_t j = 0; j < k; ++j)
    outer_strides_[j].assign(in_strides[j].begin(), in_strides[j].begin() + static_cast<std::ptrdiff_t>(split));
  outer_ = shape_numel(outer_shape_);
  if (shape_numel(out) == 0) outer_ = inner_ = 0;
}

void BroadcastIter::offsets(int64_t o, int64_t* offs) const {
  const size_t k = outer_strides_.size();
  for (size_t j = 0; j < k; ++j) offs[j] = 0;
  for (size_t d = outer_shape_.size(); d-- > 0;) {
    const int64_t c = o % outer_shape_[d];
    o /= outer_shape_[d];
    for (size_t j = 0; j < k; ++j) offs[j] += c * outer_strides_[j][d];
  }
}

Tensor tensor_from_onnx(const onnx::Tensor& t) {
  const DataType dtype = static_cast<DataType>(t.data_type);
  Shape shape(t.dims.begin(), t.dims.end());
  switch (dtype) {
    case DataType::Float: case DataType::Double: {
      std::vector<float> v = onnx::tensor_to_floats(t);
      Tensor out(dtype, shape);
      if (static_cast<int64_t>(v.size()) != out.numel())
        throw Error(ErrorKind::InvalidModel, "tensor '" + t.name + "': payload has " + std::to_string(v.size()) +
                                                 " values, expected " + std::to_string(out.numel()));
      if (dtype == DataType::Float) std::copy(v.begin(), v.end(), out.data<float>());
      else std::copy(v.begin(), v.end(), out.data<double>());
      return out;
    }
    case DataType::Int64: case DataType::Int32: case DataType::Int16: case DataType::Uint16:
    case DataType::Int8: case DataType::Uint8: case DataType::Bool: case DataType::Int4:
    case DataType::Uint4: {
      std::vector<int64_t> v = onnx::tensor_to_int64s(t);
      Tensor out(dtype, shape);
      if (static_cast<int64_t>(v.size()) != out.numel())
        throw Error(ErrorKind::InvalidModel, "tensor '" + t.name + "': payload has " + std::to_string(v.size()) +
                                                 " values, expected " + std::to_string(out.numel()));
      for (int64_t i = 0; i < out.numel(); ++i) set_number(out, i, static_cast<double>(v[static_cast<size_t>(i)]));
      if (dtype == DataType::Int64) std::copy(v.begin(), v.end(), out.data<int64_t>());  // exact
      return out;
    }
    default:
      throw Error(ErrorKind::Unsupported, "tensor '" + t.name + "': element type " +
                                              std::string(dtype_name(dtype)) + " is not supported by the engine");
  }
}

int64_t norm_axis(const RunContext& ctx, int64_t axis, int64_t rank, const char* what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    ctx.fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

void parallel_items(RunContext& ctx, int64_t total, int64_t cost_per_item,
                    const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  constexpr int64_t kMinWork = 32 * 1024;  // below this, threading costs more than it saves
  const int64_t min_chunk = std::max<int64_t>(1, kMinWork / std::max<int64_t>(1, cost_per_item));
  ThreadPool& pool = ctx.pool();
  if (pool.size() == 1 || total <= min_chunk) {
    fn(0, total);
    return;
  }
  pool.parallel_range(static_cast<size_t>(total), static_cast<size_t>(min_chunk), 1,
                      [&](size_t b, size_t e) { fn(static_cast<int64_t>(b), static_cast<int64_t>(e)); });
}

}  // namespace qm::ops::detail
