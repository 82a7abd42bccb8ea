// Constants: Constant (every value_* attribute), ConstantOfShape, Range. Their contents are
// tracked when small, so shape computations that start from them fold.
#include <cmath>
#include <cstring>
#include <type_traits>
#include <optional>

#include "core/error.h"
#include "onnx/tensor_data.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct ConstantAttrs : OpAttrs {
  const onnx::Tensor* tensor = nullptr;  ///< `value` (or ConstantOfShape's value), in the model
  TensorInfo info;                       ///< what the attribute says: dtype, shape, contents
  std::optional<std::vector<float>> float_values;  ///< value_float(s), for run
  std::optional<std::vector<int64_t>> int_values;  ///< value_int(s), for run
};

ConstantAttrs parse_constant(const ParseContext& p) {
  static const char* const kNames[] = {"value", "value_float", "value_floats", "value_int",
                                       "value_ints", "value_string", "value_strings", "sparse_value"};
  ConstantAttrs a;
  int found = 0;
  for (const char* n : kNames) found += p.has(n) ? 1 : 0;
  if (found == 0 && p.opset() >= 1)
    p.fail("missing required attribute 'value' (or one of value_float, value_floats, value_int, "
           "value_ints, value_string, value_strings, sparse_value)");
  if (found > 1) p.fail("has more than one value attribute (expected exactly one)");
  try {
    if (const onnx::Tensor* t = p.get_tensor("value")) {
      a.tensor = t;
      a.info = info_from_tensor(*t);
    } else if (p.has("value_float")) {
      a.info = TensorInfo(DataType::Float, Dims{});
      a.info.floats = std::vector<double>{p.get_float("value_float", 0.0f)};
      a.float_values = std::vector<float>{p.get_float("value_float", 0.0f)};
    } else if (p.has("value_floats")) {
      std::vector<float> v = p.get_floats("value_floats");
      a.info = TensorInfo(DataType::Float, Dims{static_cast<int64_t>(v.size())});
      set_floats(a.info, std::vector<double>(v.begin(), v.end()));
      a.float_values = v;
    } else if (p.has("value_int")) {
      a.info = int_tensor_info(DataType::Int64, Dims{p.get_int("value_int", 0)}, true);
      a.int_values = std::vector<int64_t>{p.get_int("value_int", 0)};
    } else if (p.has("value_ints")) {
      std::vector<int64_t> v = p.get_ints("value_ints");
      a.info = TensorInfo(DataType::Int64, Dims{static_cast<int64_t>(v.size())});
      set_ints(a.info, Dims(v.begin(), v.end()));
      a.int_values = v;
    } else if (p.has("value_string")) {
      a.info = TensorInfo(DataType::String, Dims{});
    } else if (p.has("value_strings")) {
      const onnx::Attribute* s = p.find("value_strings");
      a.info = TensorInfo(DataType::String, Dims{static_cast<int64_t>(s->strings.size())});
    } else if (const onnx::Attribute* s = p.find("sparse_value")) {
      if (!s->sparse_tensor) p.fail_attr("sparse_value", "holds no sparse tensor");
      Dims dims(s->sparse_tensor->dims.begin(), s->sparse_tensor->dims.end());
      a.info = TensorInfo(static_cast<DataType>(s->sparse_tensor->values.data_type), dims);
    }
  } catch (const Error& e) {
    throw with_context(e, "node '" + p.name() + "' (Constant)");
  }
  return a;
}

ConstantAttrs parse_constant_of_shape(const ParseContext& p) {
  ConstantAttrs a;
  a.info = TensorInfo(DataType::Float, Dims{1});
  a.info.floats = std::vector<double>{0.0};
  if (const onnx::Tensor* t = p.get_tensor("value")) {
    a.tensor = t;
    try {
      a.info = info_from_tensor(*t);
    } catch (const Error& e) {
      throw with_context(e, "node '" + p.name() + "' (ConstantOfShape), attribute 'value'");
    }
    auto n = a.info.num_elements();
    if (!n || *n != 1) p.fail_attr("value", "expected a one-element tensor, got shape " + a.info.shape_string());
  }
  return a;
}

std::vector<TensorInfo> infer_constant_of_shape(const ConstantAttrs& a, const InferContext& c) {
  const TensorInfo& s = c.in(0);
  const DataType dtype = a.info.dtype;
  check_rank(c, s, 1, "shape");
  if (!s.ints) {
    auto ss = s.static_shape();
    if (ss && ss->size() == 1 && (*ss)[0] <= static_cast<int64_t>(kMaxRank))
      return one(make_info(dtype, Dims(static_cast<size_t>((*ss)[0]))));
    return one(unknown_info(dtype));
  }
  for (const Dim& d : *s.ints)
    if (d.known() && *d.value < 0) c.fail("shape " + dims_to_string(*s.ints) + " has a negative dimension");
  TensorInfo t(dtype, *s.ints);
  if (auto n = t.num_elements()) {
    if (a.info.ints && !a.info.ints->empty() && *n <= static_cast<int64_t>(kMaxFoldElements))
      set_ints(t, Dims(static_cast<size_t>(*n), (*a.info.ints)[0]));
    else if (a.info.floats && !a.info.floats->empty() && *n <= static_cast<int64_t>(kMaxFloatFoldElements))
      set_floats(t, std::vector<double>(static_cast<size_t>(*n), (*a.info.floats)[0]));
  }
  return one(std::move(t));
}

/// limit - start of an integer Range, exact in uint64 and then a double (the difference itself
/// overflowed for start = INT64_MIN, fuzz_model_run).
double int_span(int64_t start, int64_t limit) {
  const auto a = static_cast<uint64_t>(start), b = static_cast<uint64_t>(limit);
  return limit >= start ? static_cast<double>(b - a) : -static_cast<double>(a - b);
}

std::vector<TensorInfo> infer_range(const InferContext& c) {
  const DataType dtype = c.in(0).dtype;
  for (size_t i = 0; i < 3; ++i) {
    const TensorInfo& t = c.in(i);
    if (t.has_rank() && !(t.rank() == 0 || (t.rank() == 1 && (*t.shape)[0].is(1))))
      c.fail("input " + std::to_string(i) + " must be a scalar (got shape " + t.shape_string() + ")");
  }
  auto start = known_numbers(c.input(0)), limit = known_numbers(c.input(1)), delta = known_numbers(c.input(2));
  if (!start || !limit || !delta || start->size() != 1 || limit->size() != 1 || delta->size() != 1)
    return one(make_info(dtype, Dims{Dim()}));
  const double s = (*start)[0], l = (*limit)[0], d = (*delta)[0];
  if (d == 0) c.fail("delta must not be 0");
  auto si = c.in(0).known_ints(), li = c.in(1).known_ints(), di = c.in(2).known_ints();
  const bool exact = tracks_ints(dtype) && si && li && di && si->size() == 1 && li->size() == 1 && di->size() == 1;
  // Integers: the count as the run computes it (l - s in doubles rounds near INT64_MAX: start =
  // INT64_MAX - 1599, delta 800 gave 3 values instead of 2, and the third overflowed).
  const double count = std::max(std::ceil((exact ? int_span((*si)[0], (*li)[0]) : l - s) / d), 0.0);
  if (!(count < 9.0e18)) c.fail("range is too long");
  const int64_t n = static_cast<int64_t>(count);
  TensorInfo t(dtype, Dims{n});
  if (tracks_ints(dtype)) {
    if (exact && n <= static_cast<int64_t>(kMaxFoldElements)) {
      // start + i * delta lies between start and limit, but i * delta alone may not fit (start
      // INT64_MIN, delta 2^62): computed wrapping, as the run accumulates.
      Dims v;
      for (int64_t i = 0; i < n; ++i)
        v.push_back(static_cast<int64_t>(static_cast<uint64_t>((*si)[0]) + static_cast<uint64_t>(i) * static_cast<uint64_t>((*di)[0])));
      set_ints(t, std::move(v));
    }
  } else if (n <= static_cast<int64_t>(kMaxFloatFoldElements)) {
    std::vector<double> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(s + static_cast<double>(i) * d);
    set_floats(t, std::move(v));
  }
  return one(std::move(t));
}

// ---------------------------------------------------------------------------------------------
// Execution

void run_constant(const ConstantAttrs& a, RunContext& c) {
  if (a.tensor) {
    c.set(0, detail::tensor_from_onnx(*a.tensor));
    return;
  }
  const auto shape = a.info.static_shape();
  if (!shape) c.unsupported("this kind of Constant value is not supported");
  if (a.info.dtype == DataType::Float && a.float_values) {
    Tensor& y = c.alloc(0, DataType::Float, *shape);
    std::copy(a.float_values->begin(), a.float_values->end(), y.data<float>());
  } else if (a.info.dtype == DataType::Int64 && a.int_values) {
    Tensor& y = c.alloc(0, DataType::Int64, *shape);
    std::copy(a.int_values->begin(), a.int_values->end(), y.data<int64_t>());
  } else {
    c.unsupported("Constant of type " + std::string(dtype_name(a.info.dtype)) + " is not supported by the engine");
  }
}

void run_constant_of_shape(const ConstantAttrs& a, RunContext& c) {
  const std::vector<int64_t> dims = detail::ints_of(c, c.in(0), "shape");
  for (int64_t d : dims)
    if (d < 0) c.fail("shape " + shape_to_string(dims) + " has a negative dimension");
  Tensor value = a.tensor ? detail::tensor_from_onnx(*a.tensor) : Tensor(DataType::Float, {1});
  if (value.numel() != 1) c.fail("value must hold one element");
  Tensor& y = c.alloc(0, value.dtype(), Shape(dims.begin(), dims.end()));
  const size_t es = tensor_element_size(value.dtype());
  auto* py = static_cast<uint8_t*>(y.raw());
  for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(py + static_cast<size_t>(i) * es, value.raw(), es);
}

void run_range(RunContext& c) {
  const Tensor &s = c.in(0), &l = c.in(1), &d = c.in(2);
  if (s.numel() != 1 || l.numel() != 1 || d.numel() != 1) c.fail("start, limit and delta must be scalars");
  if (s.dtype() != l.dtype() || s.dtype() != d.dtype()) c.fail("start, limit and delta must have the same type");
  detail::dispatch_numeric(s.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    const T start = s.data<T>()[0], limit = l.data<T>()[0], delta = d.data<T>()[0];
    if (delta == T(0)) c.fail("delta must not be 0");
    // Integers: the span exactly in uint64, then as a double (limit - start overflowed for
    // start = INT64_MIN, fuzz_model_run).
    double span = 0;
    if constexpr (std::is_integral_v<T>) {
      span = int_span(static_cast<int64_t>(start), static_cast<int64_t>(limit));
    } else {
      span = static_cast<double>(limit - start);
    }
    const double count = std::ceil(span / static_cast<double>(delta));
    if (!(count < 1e10)) c.fail("range is too long");
    // A limit far on the wrong side of start gives a count of -1e30 or -inf: empty, and a plain
    // cast of it is undefined (trunc_to_int64 gives INT64_MIN).
    const int64_t n = std::max<int64_t>(0, trunc_to_int64(count));
    Tensor& y = c.alloc(0, s.dtype(), {n});
    T* py = y.data<T>();
    // Accumulated like ONNX Runtime (value += delta), which matters for float ranges.
    T v = start;
    for (int64_t i = 0; i < n; ++i) {
      py[i] = v;
      if constexpr (std::is_integral_v<T>)  // wraps (the step after the last value may overflow)
        v = static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(v)) + static_cast<uint64_t>(static_cast<int64_t>(delta)));
      else
        v = static_cast<T>(v + delta);
    }
  });
}

}  // namespace

void register_constant(OpRegistry& reg) {
  {
    OpDef d;
    d.op_type = "Constant";
    d.min_inputs = d.max_inputs = 0;
    d.parse = typed_parse<ConstantAttrs>(parse_constant);
    d.infer = typed_infer<ConstantAttrs>([](const ConstantAttrs& a, const InferContext&) { return one(a.info); });
    d.run = typed_run<ConstantAttrs>(run_constant);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "ConstantOfShape";
    d.since = 9;
    d.parse = typed_parse<ConstantAttrs>(parse_constant_of_shape);
    d.infer = typed_infer<ConstantAttrs>(infer_constant_of_shape);
    d.run = typed_run<ConstantAttrs>(run_constant_of_shape);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Range";
    d.since = 11;
    d.min_inputs = d.max_inputs = 3;
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_range(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_range(c); };
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
