// Gathering and scattering by index tensors: GatherND, ScatterND, ScatterElements (and its opset
// 9-10 name Scatter). Gather and GatherElements, whose integer contents shape computations
// follow, are in shape_ops.cpp.
// Values are moved by element size (any type); the Scatter reductions compute on the numeric
// types. Indices may be negative (counted from the end); one out of range fails naming the node.
#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct GatherNDAttrs : OpAttrs {
  int64_t batch_dims = 0;
};

/// How a scattered update combines with the element it lands on (attribute `reduction`).
enum class Reduction { None, Add, Mul, Max, Min };

struct ScatterAttrs : OpAttrs {
  int64_t axis = 0;                       ///< ScatterElements
  Reduction reduction = Reduction::None;  ///< add, mul (opset 16+), max, min (opset 18+)
};

/// Normalises index v into [0, dim) (negative counts from the end), failing through ctx.
int64_t norm_index(const RunContext& c, int64_t v, int64_t dim, const char* what) {
  if (v < -dim || v >= dim)
    c.fail(std::string(what) + " " + std::to_string(v) + " is out of range for a dimension of size " + std::to_string(dim));
  return v < 0 ? v + dim : v;
}

// ---------------------------------------------------------------------------------------------
// GatherND

std::vector<TensorInfo> infer_gather_nd(const GatherNDAttrs& a, const InferContext& c) {
  const TensorInfo &x = c.in(0), &idx = c.in(1);
  if (!x.has_rank() || !idx.has_rank() || idx.rank() == 0 || !idx.shape->back().known())
    return one(unknown_info(x.dtype));
  const int64_t r = static_cast<int64_t>(x.rank()), q = static_cast<int64_t>(idx.rank());
  const int64_t m = *idx.shape->back().value, b = a.batch_dims;
  if (b < 0 || b >= std::min(r, q)) c.fail("batch_dims " + std::to_string(b) + " must be below the ranks of data and indices");
  if (m < 1 || m > r - b)
    c.fail("indices' last dimension " + std::to_string(m) + " must be between 1 and " + std::to_string(r - b) + " (data rank - batch_dims)");
  Dims out(idx.shape->begin(), idx.shape->end() - 1);
  out.insert(out.end(), x.shape->begin() + b + m, x.shape->end());
  return one(make_info(x.dtype, std::move(out)));
}

void run_gather_nd(const GatherNDAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &idx = c.in(1);
  const int64_t r = x.rank(), q = idx.rank(), b = a.batch_dims;
  if (q < 1) c.fail("indices must have rank >= 1");
  const int64_t m = idx.shape()[static_cast<size_t>(q - 1)];
  if (b < 0 || b >= std::min(r, q) || m < 1 || m > r - b)
    c.fail("indices of shape " + shape_to_string(idx.shape()) + " do not fit data of shape " + shape_to_string(x.shape()) +
           " with batch_dims " + std::to_string(b));
  for (int64_t i = 0; i < b; ++i)
    if (x.shape()[static_cast<size_t>(i)] != idx.shape()[static_cast<size_t>(i)])
      c.fail("batch dimensions of data " + shape_to_string(x.shape()) + " and indices " + shape_to_string(idx.shape()) + " differ");
  Shape out(idx.shape().begin(), idx.shape().end() - 1);
  out.insert(out.end(), x.shape().begin() + b + m, x.shape().end());
  Tensor& y = c.alloc(0, x.dtype(), out);
  const std::vector<int64_t> ind = ints_of(c, idx, "indices");
  const std::vector<int64_t> xs = strides_of(x.shape());
  int64_t batches = 1, slice = 1;
  for (int64_t i = 0; i < b; ++i) batches *= x.shape()[static_cast<size_t>(i)];
  for (int64_t i = b + m; i < r; ++i) slice *= x.shape()[static_cast<size_t>(i)];
  const int64_t batch_stride = b > 0 ? xs[static_cast<size_t>(b - 1)] : x.numel();
  const int64_t tuples = batches ? static_cast<int64_t>(ind.size()) / m / batches : 0;
  const size_t es = tensor_element_size(x.dtype());
  const auto* px = static_cast<const uint8_t*>(x.raw());
  auto* py = static_cast<uint8_t*>(y.raw());
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t t = 0; t < tuples; ++t) {
      const int64_t tup = bi * tuples + t;
      int64_t off = bi * batch_stride;
      for (int64_t k = 0; k < m; ++k)
        off += norm_index(c, ind[static_cast<size_t>(tup * m + k)], x.shape()[static_cast<size_t>(b + k)], "index") *
               xs[static_cast<size_t>(b + k)];
      std::memcpy(py + static_cast<size_t>(tup * slice) * es, px + static_cast<size_t>(off) * es, static_cast<size_t>(slice) * es);
    }
}

// ---------------------------------------------------------------------------------------------
// ScatterND, ScatterElements

/// dst = combine(dst, v) for each update j (dst at offset off(j)), the reduction chosen once
/// outside the loop over elements.
template <class T, class Off>
void reduce_all(T* py, const T* pu, int64_t n, Reduction red, Off off) {
  auto each = [&](auto combine) {
    for (int64_t j = 0; j < n; ++j) {
      T& dst = py[off(j)];
      dst = combine(dst, pu[j]);
    }
  };
  switch (red) {
    case Reduction::None: each([](T, T v) { return v; }); break;
    // Integers wrap (two's complement, as x86; signed overflow is undefined).
    case Reduction::Add: each([](T d, T v) { return static_cast<T>(wrap_t<T>(d) + wrap_t<T>(v)); }); break;
    case Reduction::Mul: each([](T d, T v) { return static_cast<T>(wrap_t<T>(d) * wrap_t<T>(v)); }); break;
    case Reduction::Max: each([](T d, T v) { return std::max(d, v); }); break;
    case Reduction::Min: each([](T d, T v) { return std::min(d, v); }); break;
  }
}

Reduction parse_reduction(const ParseContext& p) {
  const std::string r = p.get_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (p.opset() >= 16 && r == "add") return Reduction::Add;
  if (p.opset() >= 16 && r == "mul") return Reduction::Mul;
  if (p.opset() >= 18 && r == "max") return Reduction::Max;
  if (p.opset() >= 18 && r == "min") return Reduction::Min;
  p.fail_attr("reduction", "expected none, add, mul (opset 16+) or max, min (opset 18+), got '" + r + "'");
}

void run_scatter_nd(const ScatterAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &idx = c.in(1), &upd = c.in(2);
  const int64_t r = x.rank(), q = idx.rank();
  if (q < 1) c.fail("indices must have rank >= 1");
  const int64_t m = idx.shape()[static_cast<size_t>(q - 1)];
  if (m < 1 || m > r) c.fail("indices' last dimension " + std::to_string(m) + " must be between 1 and the data rank " + std::to_string(r));
  Shape want(idx.shape().begin(), idx.shape().end() - 1);
  want.insert(want.end(), x.shape().begin() + m, x.shape().end());
  if (upd.shape() != want)
    c.fail("updates have shape " + shape_to_string(upd.shape()) + ", expected " + shape_to_string(want));
  if (upd.dtype() != x.dtype()) c.fail("updates and data differ in element type");
  Tensor y = x.clone();
  const std::vector<int64_t> ind = ints_of(c, idx, "indices");
  const std::vector<int64_t> xs = strides_of(x.shape());
  int64_t slice = 1;
  for (int64_t i = m; i < r; ++i) slice *= x.shape()[static_cast<size_t>(i)];
  const int64_t tuples = static_cast<int64_t>(ind.size()) / m;
  auto offset = [&](int64_t t) {
    int64_t off = 0;
    for (int64_t k = 0; k < m; ++k)
      off += norm_index(c, ind[static_cast<size_t>(t * m + k)], x.shape()[static_cast<size_t>(k)], "index") * xs[static_cast<size_t>(k)];
    return off;
  };
  if (a.reduction == Reduction::None) {
    const size_t es = tensor_element_size(x.dtype());
    for (int64_t t = 0; t < tuples; ++t)
      std::memcpy(static_cast<uint8_t*>(y.raw()) + static_cast<size_t>(offset(t)) * es,
                  static_cast<const uint8_t*>(upd.raw()) + static_cast<size_t>(t * slice) * es, static_cast<size_t>(slice) * es);
  } else {
    dispatch_numeric(x.dtype(), c, [&](auto tag) {
      using T = decltype(tag);
      T* py = y.data<T>();
      const T* pu = upd.data<T>();
      for (int64_t t = 0; t < tuples; ++t) {
        const int64_t off = offset(t);
        reduce_all(py + off, pu + t * slice, slice, a.reduction, [](int64_t j) { return j; });
      }
    });
  }
  c.set(0, std::move(y));
}

void run_scatter_elements(const ScatterAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &idx = c.in(1), &upd = c.in(2);
  const int64_t r = x.rank();
  if (idx.rank() != r || upd.shape() != idx.shape())
    c.fail("data " + shape_to_string(x.shape()) + ", indices " + shape_to_string(idx.shape()) + " and updates " +
           shape_to_string(upd.shape()) + " must have one rank, and indices the shape of updates");
  if (upd.dtype() != x.dtype()) c.fail("updates and data differ in element type");
  const int64_t ax = norm_axis(c, a.axis, r);
  Tensor y = x.clone();
  const std::vector<int64_t> ind = ints_of(c, idx, "indices");
  const std::vector<int64_t> xs = strides_of(x.shape());
  const int64_t dim = x.shape()[static_cast<size_t>(ax)];
  // Destination offset of each update element.
  std::vector<int64_t> dst(ind.size());
  std::vector<int64_t> coord(static_cast<size_t>(r), 0);
  for (size_t j = 0; j < ind.size(); ++j) {
    int64_t off = 0;
    for (int64_t d = 0; d < r; ++d) {
      int64_t v = coord[static_cast<size_t>(d)];
      if (d == ax) v = norm_index(c, ind[j], dim, "index");
      else if (v >= x.shape()[static_cast<size_t>(d)]) c.fail("indices shape " + shape_to_string(idx.shape()) + " exceeds data shape " + shape_to_string(x.shape()));
      off += v * xs[static_cast<size_t>(d)];
    }
    dst[j] = off;
    for (int64_t d = r - 1; d >= 0; --d) {
      if (++coord[static_cast<size_t>(d)] < idx.shape()[static_cast<size_t>(d)]) break;
      coord[static_cast<size_t>(d)] = 0;
    }
  }
  if (a.reduction == Reduction::None) {
    by_size(c, x.dtype(), [&](auto tag) {
      using U = decltype(tag);
      U* py = static_cast<U*>(y.raw());
      const U* pu = static_cast<const U*>(upd.raw());
      for (size_t j = 0; j < dst.size(); ++j) py[dst[j]] = pu[j];
    });
  } else {
    dispatch_numeric(x.dtype(), c, [&](auto tag) {
      using T = decltype(tag);
      T* py = y.data<T>();
      const T* pu = upd.data<T>();
      reduce_all(py, pu, static_cast<int64_t>(dst.size()), a.reduction, [&](int64_t j) { return dst[static_cast<size_t>(j)]; });
    });
  }
  c.set(0, std::move(y));
}

}  // namespace

void register_gather_scatter(OpRegistry& reg) {
  {
    OpDef d = op_def("GatherND", 11, kLatestOpset, 2, 2);
    d.parse = typed_parse<GatherNDAttrs>([](const ParseContext& p) {
      GatherNDAttrs a;
      a.batch_dims = p.get_int("batch_dims", 0);
      if (a.batch_dims < 0) p.fail_attr("batch_dims", "expected a value >= 0, got " + std::to_string(a.batch_dims));
      return a;
    });
    d.infer = typed_infer<GatherNDAttrs>(infer_gather_nd);
    d.run = typed_run<GatherNDAttrs>(run_gather_nd);
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("ScatterND", 11, kLatestOpset, 3, 3);
    d.parse = typed_parse<ScatterAttrs>([](const ParseContext& p) {
      ScatterAttrs a;
      a.reduction = parse_reduction(p);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<ScatterAttrs>(run_scatter_nd);
    reg.add(std::move(d));
  }
  for (const char* name : {"ScatterElements", "Scatter"}) {
    // Scatter (opsets 9-10) is ScatterElements under its old name.
    const bool old = std::string(name) == "Scatter";
    OpDef d = op_def(name, old ? 9 : 11, old ? 10 : kLatestOpset, 3, 3);
    d.parse = typed_parse<ScatterAttrs>([](const ParseContext& p) {
      ScatterAttrs a;
      a.axis = p.get_int("axis", 0);
      a.reduction = parse_reduction(p);
      return a;
    });
    d.infer = typed_infer<ScatterAttrs>([](const ScatterAttrs& a, const InferContext& c) {
      const TensorInfo& x = c.in(0);
      if (x.has_rank() && x.rank() > 0) axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
      return same_as_input(c);
    });
    d.run = typed_run<ScatterAttrs>(run_scatter_elements);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
