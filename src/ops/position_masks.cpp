// Ops whose output follows from each element's position: OneHot (on where the position along
// the new axis equals the index), Trilu (zeros outside a triangle) and EyeLike (ones on a
// diagonal). OneHot and Trilu move values by element size (any type).
// The rest of the indexing family: gather_scatter.cpp (GatherND, ScatterND, ScatterElements),
// selection.cpp (TopK, NonZero, Compress, NonMaxSuppression), rearrange.cpp (DepthToSpace,
// SpaceToDepth, ReverseSequence), reduce.cpp (CumSum), shape_ops.cpp (Gather, Slice, ...).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct PositionAttrs : OpAttrs {
  int64_t axis = 0;
  bool upper = true;         ///< Trilu
  int64_t k_diag = 0;        ///< EyeLike
  DataType dtype = DataType::Undefined;  ///< EyeLike (Undefined: the input's)
};

// ---------------------------------------------------------------------------------------------
// OneHot, Trilu

std::vector<TensorInfo> infer_onehot(const PositionAttrs& a, const InferContext& c) {
  const TensorInfo &idx = c.in(0), &vals = c.in(2);
  if (!idx.has_rank()) return one(unknown_info(vals.dtype));
  const int64_t r = static_cast<int64_t>(idx.rank()) + 1;
  const size_t ax = static_cast<size_t>(axis_or_fail(c, a.axis, r));
  Dim depth;
  if (auto v = known_numbers(c.input(1)); v && v->size() == 1) {
    const int64_t d = trunc_to_int64((*v)[0]);  // a float depth out of int64's range: not a size
    if (d >= 1) depth = d;
  }
  Dims out = *idx.shape;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), depth);
  return one(make_info(vals.dtype, std::move(out)));
}

void run_onehot(const PositionAttrs& a, RunContext& c) {
  const Tensor &idx = c.in(0), &dep = c.in(1), &vals = c.in(2);
  const std::vector<double> dv = numbers_of(c, dep, "depth");
  if (dv.size() != 1) c.fail("depth must hold one value (got " + std::to_string(dv.size()) + ")");
  const int64_t depth = trunc_to_int64(dv[0]);  // out of range (a float depth): INT64_MIN, refused below
  if (depth < 1) c.fail("depth must be >= 1 (got " + std::to_string(depth) + ")");
  if (vals.numel() != 2) c.fail("values must hold 2 elements [off, on] (got " + std::to_string(vals.numel()) + ")");
  const int64_t r = idx.rank() + 1;
  const int64_t ax = norm_axis(c, a.axis, r);
  Shape os = idx.shape();
  os.insert(os.begin() + ax, depth);
  Tensor& y = c.alloc(0, vals.dtype(), os);
  const std::vector<double> iv = numbers_of(c, idx, "indices");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= idx.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax; i < idx.rank(); ++i) inner *= idx.shape()[static_cast<size_t>(i)];
  by_size(c, vals.dtype(), [&](auto tag) {
    using U = decltype(tag);
    const U off = static_cast<const U*>(vals.raw())[0], on = static_cast<const U*>(vals.raw())[1];
    U* py = static_cast<U*>(y.raw());
    std::fill(py, py + y.numel(), off);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t v = trunc_to_int64(iv[static_cast<size_t>(o * inner + i)]);  // INT64_MIN: out of range
        if (v < 0) v += depth;  // negative indices count from the end (opset 11)
        if (v < 0 || v >= depth) continue;  // out of range: all "off"
        py[(o * depth + v) * inner + i] = on;
      }
  });
}

void run_trilu(const PositionAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  if (x.rank() < 2) c.fail("input must have rank >= 2 (got shape " + shape_to_string(x.shape()) + ")");
  int64_t k = 0;
  if (const Tensor* kt = c.input(1)) {
    const std::vector<int64_t> kv = ints_of(c, *kt, "k");
    if (kv.size() != 1) c.fail("k must hold one value");
    k = kv[0];
  }
  const int64_t rows = x.shape()[static_cast<size_t>(x.rank() - 2)], cols = x.shape()[static_cast<size_t>(x.rank() - 1)];
  const int64_t mats = rows > 0 && cols > 0 ? x.numel() / (rows * cols) : 0;
  Tensor y = x.clone();
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    U* py = static_cast<U*>(y.raw());
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          const bool keep = a.upper ? j - i >= k : j - i <= k;
          if (!keep) py[(m * rows + i) * cols + j] = U(0);  // zero has all bits clear in every type
        }
  });
  c.set(0, std::move(y));
}

// ---------------------------------------------------------------------------------------------
// EyeLike

void run_eyelike(const PositionAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  if (x.rank() != 2) c.fail("input must have rank 2 (got shape " + shape_to_string(x.shape()) + ")");
  Tensor& y = c.alloc(0, a.dtype == DataType::Undefined ? x.dtype() : a.dtype, x.shape());
  const int64_t rows = x.shape()[0], cols = x.shape()[1];
  // A diagonal outside the matrix sets nothing (and i + k could overflow for a hostile k).
  if (a.k_diag >= cols || a.k_diag <= -rows) return;
  for (int64_t i = 0; i < rows; ++i)
    if (i + a.k_diag >= 0 && i + a.k_diag < cols) set_number(y, i * cols + i + a.k_diag, 1.0);
}

}  // namespace

void register_position_masks(OpRegistry& reg) {
  {
    OpDef d = op_def("OneHot", 9, kLatestOpset, 3, 3);
    d.parse = typed_parse<PositionAttrs>([](const ParseContext& p) {
      PositionAttrs a;
      a.axis = p.get_int("axis", -1);
      return a;
    });
    d.infer = typed_infer<PositionAttrs>(infer_onehot);
    d.run = typed_run<PositionAttrs>(run_onehot);
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("Trilu", 14, kLatestOpset, 1, 2);
    d.parse = typed_parse<PositionAttrs>([](const ParseContext& p) {
      PositionAttrs a;
      a.upper = p.get_int("upper", 1) != 0;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) {
      check_rank(c, c.in(0), std::max<size_t>(c.in(0).rank(), 2), "input");
      return same_as_input(c);
    };
    d.run = typed_run<PositionAttrs>(run_trilu);
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("EyeLike", 9, kLatestOpset, 1, 1);
    d.parse = typed_parse<PositionAttrs>([](const ParseContext& p) {
      PositionAttrs a;
      a.k_diag = p.get_int("k", 0);
      if (p.has("dtype")) {
        const int64_t t = p.get_int("dtype", 0);
        if (!dtype_is_known(static_cast<int32_t>(t))) p.fail_attr("dtype", "unknown data type " + std::to_string(t));
        a.dtype = static_cast<DataType>(t);
      }
      return a;
    });
    d.infer = typed_infer<PositionAttrs>([](const PositionAttrs& a, const InferContext& c) {
      return one(TensorInfo(a.dtype == DataType::Undefined ? c.in(0).dtype : a.dtype, c.in(0).shape));
    });
    d.run = typed_run<PositionAttrs>(run_eyelike);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
