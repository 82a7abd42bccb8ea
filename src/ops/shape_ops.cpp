// Data-movement and shape ops: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Split,
// Slice, Gather, GatherElements, Shape, Size, Expand, Tile, Pad.
// The contents of small integer tensors are carried through (Shape, Gather, Slice, Concat,
// Squeeze, Unsqueeze, Reshape, Expand, Split), symbols included, so that shapes which torch
// exports compute at run time (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) resolve.
#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/shape_ops_run.h"

namespace qm::ops {
namespace {
using namespace detail;

/// Attribute-form axes/shape/etc. of the older opsets (empty when they are inputs).
struct AxesAttrs : OpAttrs {
  std::vector<int64_t> axes;
  bool has_axes = false;
  int64_t axis = 0;
  bool allowzero = false;                 ///< Reshape
  std::optional<std::vector<int64_t>> split;  ///< Split
  int64_t num_outputs = 0;                ///< Split (opset 18)
  std::optional<int64_t> start, end;      ///< Shape (opset 15)
  std::vector<int64_t> starts, ends;      ///< Slice < 10
  std::vector<int64_t> pads;              ///< Pad < 11
  PadMode mode = PadMode::Constant;       ///< Pad
  float value = 0.0f;                     ///< Pad < 11
};

// ---------------------------------------------------------------------------------------------
// Reshape, Flatten

/// Resolves a Reshape target (0 = copy, -1 = infer) against the input shape, cancelling symbols:
/// [N, 512, 1, 1] -> [N, -1] gives [N, 512].
Dims reshape_dims(const InferContext& c, const std::optional<Dims>& in, Dims target, bool allowzero) {
  int minus_one = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    Dim& t = target[i];
    if (t.is(-1)) {
      if (minus_one >= 0) c.fail("shape " + dims_to_string(target) + " has more than one -1");
      minus_one = static_cast<int>(i);
    } else if (t.is(0) && !allowzero) {
      if (in && i < in->size()) t = (*in)[i];
      else if (in) c.fail("shape " + dims_to_string(target) + " copies dimension " + std::to_string(i) + " (0) but the input has rank " + std::to_string(in->size()));
      else t = Dim();
    } else if (t.known() && *t.value < -1) {
      c.fail("shape " + dims_to_string(target) + " has a negative dimension");
    }
  }
  if (!in) {
    if (minus_one >= 0) target[static_cast<size_t>(minus_one)] = Dim();
    return target;
  }
  // Factor both sides into a known product and a multiset of symbols.
  auto factor = [](const Dims& d, size_t skip, int64_t& known, std::multiset<std::string>& syms) {
    bool ok = true;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i == skip) continue;
      if (d[i].known()) {
        auto k = checked_mul(known, *d[i].value);
        if (!k) return false;
        known = *k;
      } else if (d[i].is_symbol()) syms.insert(d[i].symbol);
      else ok = false;
    }
    return ok;
  };
  int64_t kin = 1, kt = 1;
  std::multiset<std::string> sin, st;
  const bool in_ok = factor(*in, SIZE_MAX, kin, sin);
  const bool t_ok = factor(target, minus_one >= 0 ? static_cast<size_t>(minus_one) : SIZE_MAX, kt, st);
  if (minus_one < 0) {
    if (in_ok && t_ok && sin.empty() && st.empty() && kin != kt)
      c.fail("cannot reshape " + dims_to_string(*in) + " (" + std::to_string(kin) + " elements) to " +
             dims_to_string(target) + " (" + std::to_string(kt) + " elements)");
    return target;
  }
  Dim& inferred = target[static_cast<size_t>(minus_one)];
  inferred = Dim();
  if (!in_ok || !t_ok) return target;
  for (const std::string& s : st) {
    auto it = sin.find(s);
    if (it == sin.end()) return target;
    sin.erase(it);
  }
  if (kt == 0) {
    if (kin != 0) c.fail("cannot reshape " + dims_to_string(*in) + " to " + dims_to_string(target) + " (-1 with a zero dimension)");
    return target;
  }
  if (kin % kt != 0) {
    if (sin.empty())
      c.fail("cannot reshape " + dims_to_string(*in) + " (" + std::to_string(kin) +
             " elements) to a multiple of " + std::to_string(kt));
    return target;
  }
  const int64_t q = kin / kt;
  if (sin.empty()) inferred = q;
  else if (sin.size() == 1 && q == 1) inferred = Dim::sym(*sin.begin());
  return target;
}

std::vector<TensorInfo> finish_reshape(const TensorInfo& x, Dims out) {
  TensorInfo t(x.dtype, std::move(out));
  if (x.ints) set_ints(t, *x.ints);
  if (x.floats) set_floats(t, *x.floats);
  return one(std::move(t));
}

std::vector<TensorInfo> infer_reshape(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  Dims target;
  if (c.opset() < 5) {
    target.assign(a.axes.begin(), a.axes.end());
  } else {
    const TensorInfo& s = c.in(1);
    if (!s.ints) {
      auto ss = s.static_shape();
      if (ss && ss->size() == 1 && (*ss)[0] <= static_cast<int64_t>(kMaxRank))
        return one(make_info(x.dtype, Dims(static_cast<size_t>((*ss)[0]))));
      return one(unknown_info(x.dtype));
    }
    check_rank(c, s, 1, "shape");
    target = *s.ints;
  }
  return finish_reshape(x, reshape_dims(c, x.shape, std::move(target), a.allowzero));
}

std::vector<TensorInfo> infer_flatten(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(make_info(x.dtype, Dims(2)));
  const int64_t r = static_cast<int64_t>(x.rank());
  int64_t axis = a.axis;
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r)
    c.fail("axis " + std::to_string(a.axis) + " is out of range for rank " + std::to_string(r));
  const size_t ax = static_cast<size_t>(axis);
  return finish_reshape(x, Dims{dim_product(*x.shape, 0, ax), dim_product(*x.shape, ax, x.rank())});
}

// ---------------------------------------------------------------------------------------------
// Transpose, Squeeze, Unsqueeze

std::vector<TensorInfo> infer_transpose(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(unknown_info(x.dtype));
  const size_t r = x.rank();
  std::vector<int64_t> perm = a.axes;
  if (!a.has_axes)
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  std::vector<bool> seen(r, false);
  if (perm.size() != r) c.fail("perm " + ints_to_string(perm) + " has " + std::to_string(perm.size()) + " values for an input of rank " + std::to_string(r));
  Dims out;
  for (int64_t p : perm) {
    auto ax = normalize_axis(p, static_cast<int64_t>(r));
    if (!ax || seen[static_cast<size_t>(*ax)]) c.fail("perm " + ints_to_string(perm) + " is not a permutation of 0.." + std::to_string(r - 1));
    seen[static_cast<size_t>(*ax)] = true;
    out.push_back((*x.shape)[static_cast<size_t>(*ax)]);
  }
  TensorInfo t(x.dtype, std::move(out));
  if (r <= 1) t.ints = x.ints;
  return one(std::move(t));
}

/// Axes from the attribute (old opsets) or from input 1 (new); nullopt if not known.
std::optional<std::vector<int64_t>> axes_of(const AxesAttrs& a, const InferContext& c, bool from_input, bool& absent) {
  absent = false;
  if (!from_input) {
    absent = !a.has_axes;
    return a.axes;
  }
  if (!c.input(1)) {
    absent = true;
    return std::vector<int64_t>{};
  }
  return known_ints(c.input(1));
}

std::vector<TensorInfo> infer_squeeze(const AxesAttrs& a, const InferContext& c, bool from_input) {
  const TensorInfo& x = c.in(0);
  bool absent = false;
  auto axes = axes_of(a, c, from_input, absent);
  if (!x.has_rank() || !axes) return one(unknown_info(x.dtype));
  const int64_t r = static_cast<int64_t>(x.rank());
  std::set<int64_t> drop;
  if (absent || axes->empty()) {
    for (int64_t i = 0; i < r; ++i) {
      const Dim& d = (*x.shape)[static_cast<size_t>(i)];
      if (!d.known()) return one(unknown_info(x.dtype));  // might be 1
      if (*d.value == 1) drop.insert(i);
    }
  } else {
    for (int64_t ax : *axes) {
      const int64_t n = axis_or_fail(c, ax, r);
      const Dim& d = (*x.shape)[static_cast<size_t>(n)];
      if (d.known() && *d.value != 1)
        c.fail("cannot squeeze axis " + std::to_string(ax) + " of size " + std::to_string(*d.value) + " (shape " + x.shape_string() + ")");
      drop.insert(n);
    }
  }
  Dims out;
  for (int64_t i = 0; i < r; ++i)
    if (!drop.count(i)) out.push_back((*x.shape)[static_cast<size_t>(i)]);
  return finish_reshape(x, std::move(out));
}

std::vector<TensorInfo> infer_unsqueeze(const AxesAttrs& a, const InferContext& c, bool from_input) {
  const TensorInfo& x = c.in(0);
  bool absent = false;
  auto axes = axes_of(a, c, from_input, absent);
  if (!x.has_rank() || !axes) return one(unknown_info(x.dtype));
  if (absent || axes->empty()) c.fail("axes are required");
  const int64_t r = static_cast<int64_t>(x.rank() + axes->size());
  std::vector<bool> inserted(static_cast<size_t>(r), false);
  for (int64_t ax : *axes) {
    const int64_t n = axis_or_fail(c, ax, r);
    if (inserted[static_cast<size_t>(n)]) c.fail("axes " + ints_to_string(*axes) + " repeat an axis");
    inserted[static_cast<size_t>(n)] = true;
  }
  Dims out;
  size_t k = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(inserted[static_cast<size_t>(i)] ? Dim(1) : (*x.shape)[k++]);
  return finish_reshape(x, std::move(out));
}

// ---------------------------------------------------------------------------------------------
// Concat, Split

std::vector<TensorInfo> infer_concat(const AxesAttrs& a, const InferContext& c) {
  DataType dtype = DataType::Undefined;
  std::optional<size_t> rank;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    const TensorInfo& t = c.in(i);
    if (dtype == DataType::Undefined) dtype = t.dtype;
    if (!t.has_rank()) continue;
    if (rank && *rank != t.rank())
      c.fail("inputs have different ranks (" + c.in(0).shape_string() + " vs " + t.shape_string() + ")");
    rank = t.rank();
  }
  if (!rank) return one(unknown_info(dtype));
  if (*rank == 0) c.fail("cannot concatenate scalars");
  const int64_t axis = axis_or_fail(c, a.axis, static_cast<int64_t>(*rank));
  Dims out(*rank);
  bool first = true;
  bool all_ranked = true;
  int64_t sum = 0;
  bool sum_known = true;
  const Dim* single_nonzero = nullptr;
  int nonzero = 0;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    const TensorInfo& t = c.in(i);
    if (!t.has_rank()) {
      all_ranked = false;
      continue;
    }
    for (size_t d = 0; d < *rank; ++d) {
      const Dim& v = (*t.shape)[d];
      if (static_cast<int64_t>(d) == axis) continue;
      if (first) out[d] = v;
      else if (v.known() && out[d].known() && *v.value != *out[d].value)
        c.fail("inputs differ in dimension " + std::to_string(d) + " (" + c.in(0).shape_string() + " vs " + t.shape_string() + ")");
      else if (!out[d].known() && (v.known() || (!out[d].is_symbol() && v.is_symbol()))) out[d] = v;  // known > symbol > unknown: the dims must be equal
    }
    first = false;
    const Dim& v = (*t.shape)[static_cast<size_t>(axis)];
    if (v.known() && sum_known) {
      auto s2 = checked_add(sum, *v.value);
      if (s2) sum = *s2;
      else sum_known = false;
    } else {
      sum_known = false;
    }
    if (!v.is(0)) {
      ++nonzero;
      single_nonzero = &v;
    }
  }
  if (all_ranked && sum_known) out[static_cast<size_t>(axis)] = sum;
  else if (all_ranked && nonzero == 1) out[static_cast<size_t>(axis)] = *single_nonzero;
  else out[static_cast<size_t>(axis)] = Dim();
  TensorInfo t(dtype, out);
  if (*rank == 1) {
    Dims ints;
    std::vector<double> floats;
    bool have_ints = true, have_floats = true;
    for (size_t i = 0; i < c.num_inputs(); ++i) {
      const TensorInfo& x = c.in(i);
      if (x.ints) ints.insert(ints.end(), x.ints->begin(), x.ints->end());
      else have_ints = false;
      if (x.floats) floats.insert(floats.end(), x.floats->begin(), x.floats->end());
      else have_floats = false;
    }
    if (have_ints) set_ints(t, std::move(ints));
    else if (have_floats) set_floats(t, std::move(floats));
  }
  return one(std::move(t));
}

std::vector<TensorInfo> infer_split(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  const size_t n = c.num_outputs();
  std::vector<TensorInfo> outs(n, unknown_info(x.dtype));
  if (!x.has_rank()) return outs;
  const int64_t axis = axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
  const Dim& dim = (*x.shape)[static_cast<size_t>(axis)];
  std::optional<std::vector<int64_t>> sizes = a.split;
  if (c.opset() >= 13 && c.input(1)) sizes = known_ints(c.input(1));
  else if (c.opset() >= 13 || !a.split) sizes.reset();
  std::vector<Dim> parts(n);
  if (sizes) {
    if (sizes->size() != n)
      c.fail("split has " + std::to_string(sizes->size()) + " sizes for " + std::to_string(n) + " outputs");
    int64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      if ((*sizes)[i] < 0) c.fail("split sizes " + ints_to_string(*sizes) + " must not be negative");
      parts[i] = (*sizes)[i];
      auto t = checked_add(total, (*sizes)[i]);
      if (!t) c.fail("split sizes " + ints_to_string(*sizes) + " overflow");
      total = *t;
    }
    if (dim.known() && total != *dim.value)
      c.fail("split sizes " + ints_to_string(*sizes) + " sum to " + std::to_string(total) + ", not the dimension size " + std::to_string(*dim.value));
  } else if (!(c.opset() >= 13 && c.input(1))) {
    // Equal parts; with num_outputs (opset 18) the last part may be smaller.
    if (dim.known()) {
      const int64_t d = *dim.value, k = static_cast<int64_t>(n);
      if (a.num_outputs == 0 && d % k != 0)
        c.fail("dimension " + std::to_string(d) + " cannot be split into " + std::to_string(n) + " equal parts");
      const int64_t chunk = (d + k - 1) / k;
      for (size_t i = 0; i < n; ++i)
        parts[i] = std::max<int64_t>(0, std::min(chunk, d - chunk * static_cast<int64_t>(i)));
    }
  }
  int64_t offset = 0;
  bool offset_known = true;
  for (size_t i = 0; i < n; ++i) {
    Dims s = *x.shape;
    s[static_cast<size_t>(axis)] = parts[i];
    outs[i] = make_info(x.dtype, s);
    if (x.ints && x.rank() == 1 && parts[i].known() && offset_known)
      set_ints(outs[i], Dims(x.ints->begin() + offset, x.ints->begin() + offset + *parts[i].value));
    if (parts[i].known()) offset += *parts[i].value;
    else offset_known = false;
  }
  return outs;
}

// ---------------------------------------------------------------------------------------------
// Slice

struct SliceRange {
  int64_t start, end, step;
};

/// Clamps a slice of a dimension of known size as ONNX specifies; returns the resulting length.
int64_t clamp_slice(SliceRange& s, int64_t dim) {
  if (dim == 0) {
    s.start = s.end = 0;
    s.step = 1;
    return 0;
  }
  int64_t start = s.start, end = s.end;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (s.step > 0) {
    start = clamp64(start, 0, dim);
    end = clamp64(end, 0, dim);
  } else {
    start = clamp64(start, 0, dim - 1);
    end = clamp64(end, -1, dim - 1);
  }
  s.start = start;
  s.end = end;
  // Lengths via division first: end - start and the step can be near INT64_MAX.
  if (s.step > 0) return end > start ? (end - start - 1) / s.step + 1 : 0;
  return start > end ? (start - end - 1) / (s.step == INT64_MIN ? INT64_MAX : -s.step) + 1 : 0;
}

std::vector<TensorInfo> infer_slice(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(unknown_info(x.dtype));
  const int64_t r = static_cast<int64_t>(x.rank());
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = a.starts;
    ends = a.ends;
    if (a.has_axes) axes = a.axes;
  } else {
    starts = known_ints(c.input(1));
    ends = known_ints(c.input(2));
    if (c.input(3)) axes = known_ints(c.input(3));
    if (c.input(4)) steps = known_ints(c.input(4));
    if ((c.input(3) && !axes) || (c.input(4) && !steps)) {
      // Unknown axes or steps: only the rank is known.
      return one(make_info(x.dtype, Dims(static_cast<size_t>(r))));
    }
  }
  const bool bounds_known = starts && ends;
  size_t count = 0;
  if (starts) count = starts->size();
  else if (auto ss = c.input(1) ? c.input(1)->static_shape() : std::nullopt; ss && ss->size() == 1)
    count = static_cast<size_t>(std::min<int64_t>((*ss)[0], static_cast<int64_t>(x.rank())));
  if (!axes) {
    if (!bounds_known && count == 0) return one(make_info(x.dtype, Dims(static_cast<size_t>(r))));
    axes = std::vector<int64_t>();
    for (size_t i = 0; i < count; ++i) axes->push_back(static_cast<int64_t>(i));
  }
  if (!steps) steps = std::vector<int64_t>(axes->size(), 1);
  if (bounds_known && (starts->size() != axes->size() || ends->size() != axes->size() || steps->size() != axes->size()))
    c.fail("starts, ends, axes and steps have different lengths (" + std::to_string(starts->size()) + ", " +
           std::to_string(ends->size()) + ", " + std::to_string(axes->size()) + ", " + std::to_string(steps->size()) + ")");
  Dims out = *x.shape;
  std::vector<SliceRange> ranges(static_cast<size_t>(r), SliceRange{0, INT64_MAX, 1});
  std::vector<bool> sliced(static_cast<size_t>(r), false);
  for (size_t i = 0; i < axes->size(); ++i) {
    const int64_t ax = axis_or_fail(c, (*axes)[i], r);
    if (sliced[static_cast<size_t>(ax)]) c.fail("axes " + ints_to_string(*axes) + " repeat an axis");
    sliced[static_cast<size_t>(ax)] = true;
    Dim& d = out[static_cast<size_t>(ax)];
    if (!bounds_known) {
      d = Dim();
      continue;
    }
    SliceRange s{(*starts)[i], (*ends)[i], (*steps)[i]};
    if (s.step == 0) c.fail("slice step must not be 0");
    if (d.known()) {
      d = clamp_slice(s, *d.value);
      ranges[static_cast<size_t>(ax)] = s;
    } else if (s.step == 1 && s.start == 0 && s.end >= INT32_MAX) {
      // x[0:] keeps the (symbolic) dimension
    } else {
      d = Dim();
    }
  }
  TensorInfo t(x.dtype, out);
  if (r == 1 && bounds_known && x.ints && x.is_static()) {
    const SliceRange& s = ranges[0];
    Dims v;
    // By count: i += step would overflow after the last element for a step near 2^63.
    const int64_t n = out[0].value.value_or(0);
    for (int64_t k = 0; k < n; ++k) v.push_back((*x.ints)[static_cast<size_t>(s.start + k * s.step)]);
    set_ints(t, std::move(v));
  }
  return one(std::move(t));
}

// ---------------------------------------------------------------------------------------------
// Gather, GatherElements

std::vector<TensorInfo> infer_gather(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo &x = c.in(0), &idx = c.in(1);
  if (!x.has_rank() || !idx.has_rank()) return one(unknown_info(x.dtype));
  const int64_t r = static_cast<int64_t>(x.rank());
  if (r == 0) c.fail("cannot gather from a scalar");
  const size_t axis = static_cast<size_t>(axis_or_fail(c, a.axis, r));
  Dims out(x.shape->begin(), x.shape->begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), idx.shape->begin(), idx.shape->end());
  out.insert(out.end(), x.shape->begin() + static_cast<std::ptrdiff_t>(axis) + 1, x.shape->end());
  TensorInfo t(x.dtype, out);
  auto ind = idx.known_ints();
  const Dim& dim = (*x.shape)[axis];
  if (ind && dim.known()) {
    for (int64_t i : *ind)
      if (i < -*dim.value || i >= *dim.value)
        c.fail("index " + std::to_string(i) + " is out of range for axis " + std::to_string(a.axis) + " of size " + std::to_string(*dim.value));
  }
  if (ind && r == 1 && dim.known() && (x.ints || x.floats)) {
    if (x.ints) {
      Dims v;
      for (int64_t i : *ind) v.push_back((*x.ints)[static_cast<size_t>(i < 0 ? i + *dim.value : i)]);
      set_ints(t, std::move(v));
    } else {
      std::vector<double> v;
      for (int64_t i : *ind) v.push_back((*x.floats)[static_cast<size_t>(i < 0 ? i + *dim.value : i)]);
      set_floats(t, std::move(v));
    }
  }
  return one(std::move(t));
}

// ---------------------------------------------------------------------------------------------
// Shape, Size, Expand, Tile, Pad

std::vector<TensorInfo> infer_shape(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(make_info(DataType::Int64, Dims{Dim()}));
  const int64_t r = static_cast<int64_t>(x.rank());
  int64_t start = a.start.value_or(0), end = a.end.value_or(r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = clamp64(start, 0, r);
  end = clamp64(end, 0, r);
  Dims v;
  for (int64_t i = start; i < end; ++i) v.push_back((*x.shape)[static_cast<size_t>(i)]);
  return one(int_tensor_info(DataType::Int64, std::move(v)));
}

std::vector<TensorInfo> infer_size(const InferContext& c) {
  const TensorInfo& x = c.in(0);
  Dim n = x.has_rank() ? dim_product(*x.shape, 0, x.rank()) : Dim();
  return one(int_tensor_info(DataType::Int64, Dims{n}, true));
}

std::vector<TensorInfo> infer_expand(const InferContext& c) {
  const TensorInfo &x = c.in(0), &s = c.in(1);
  check_rank(c, s, 1, "shape");
  if (!s.ints) {
    auto ss = s.static_shape();
    if (ss && ss->size() == 1 && x.has_rank() && (*ss)[0] <= static_cast<int64_t>(kMaxRank))
      return one(make_info(x.dtype, Dims(std::max(static_cast<size_t>((*ss)[0]), x.rank()))));
    return one(unknown_info(x.dtype));
  }
  for (const Dim& d : *s.ints)
    if (d.known() && *d.value < 0) c.fail("shape " + dims_to_string(*s.ints) + " has a negative dimension");
  if (!x.has_rank()) return one(make_info(x.dtype, Dims(s.ints->size())));
  auto b = broadcast_dims(*x.shape, *s.ints);
  if (!b) c.fail("input shape " + x.shape_string() + " cannot be expanded to " + dims_to_string(*s.ints));
  TensorInfo t(x.dtype, *b);
  auto sx = x.static_shape(), so = t.static_shape();
  auto n = t.num_elements();
  if (x.ints && sx && so && n && *n <= static_cast<int64_t>(kMaxFoldElements)) {
    Dims v;
    for (size_t i : broadcast_indices(*sx, *so)) v.push_back((*x.ints)[i]);
    set_ints(t, std::move(v));
  }
  return one(std::move(t));
}

std::vector<TensorInfo> infer_tile(const InferContext& c) {
  const TensorInfo &x = c.in(0), &rep = c.in(1);
  if (!x.has_rank()) return one(unknown_info(x.dtype));
  auto reps = rep.known_ints();
  if (!reps) return one(make_info(x.dtype, Dims(x.rank())));
  if (reps->size() != x.rank())
    c.fail("repeats " + ints_to_string(*reps) + " do not match input rank " + std::to_string(x.rank()));
  Dims out;
  for (size_t i = 0; i < x.rank(); ++i) {
    const Dim& d = (*x.shape)[i];
    const int64_t k = (*reps)[i];
    if (k < 0) c.fail("repeats " + ints_to_string(*reps) + " must not be negative");
    std::optional<int64_t> v = d.known() ? checked_mul(*d.value, k) : std::nullopt;
    out.push_back(k == 1 ? d : (v ? Dim(*v) : (k == 0 ? Dim(int64_t{0}) : Dim())));
  }
  return one(make_info(x.dtype, std::move(out)));
}

std::vector<TensorInfo> infer_pad(const AxesAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(unknown_info(x.dtype));
  const int64_t r = static_cast<int64_t>(x.rank());
  std::optional<std::vector<int64_t>> pads;
  std::vector<int64_t> axes;
  if (c.opset() < 11) {
    pads = a.pads;
  } else {
    pads = known_ints(c.input(1));
    if (c.input(3)) {
      auto ax = known_ints(c.input(3));
      if (!ax) return one(make_info(x.dtype, Dims(x.rank())));
      axes = *ax;
    }
  }
  if (!pads) return one(make_info(x.dtype, Dims(x.rank())));
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  if (pads->size() != 2 * axes.size())
    c.fail("pads " + ints_to_string(*pads) + " has " + std::to_string(pads->size()) + " values, expected " + std::to_string(2 * axes.size()));
  Dims out = *x.shape;
  const size_t k = axes.size();
  for (size_t i = 0; i < k; ++i) {
    const size_t ax = static_cast<size_t>(axis_or_fail(c, axes[i], r));
    Dim& d = out[ax];
    auto sum = checked_add((*pads)[i], (*pads)[i + k]);
    if (!sum || *sum > kMaxDim || *sum < -kMaxDim) c.fail("pads " + ints_to_string(*pads) + " out of range");
    const int64_t add = *sum;
    if (add == 0) continue;
    if (!d.known()) {
      d = Dim();
      continue;
    }
    if (*d.value + add < 0) c.fail("pads " + ints_to_string(*pads) + " remove more than dimension " + std::to_string(ax) + " of shape " + x.shape_string());
    d = *d.value + add;
  }
  return one(make_info(x.dtype, std::move(out)));
}

/// The run step of a shape op registered as (name, since).
RunFn shape_run(const std::string& name, int since) {
  auto r = [](std::function<void(const AxesAttrs&, RunContext&)> f) { return typed_run<AxesAttrs>(std::move(f)); };
  if (name == "Reshape")
    return r([since](const AxesAttrs& a, RunContext& c) { run_reshape(c, a.allowzero, since < 5 ? &a.axes : nullptr); });
  if (name == "Flatten") return r([](const AxesAttrs& a, RunContext& c) { run_flatten(c, a.axis); });
  if (name == "Transpose") return r([](const AxesAttrs& a, RunContext& c) { run_transpose(c, a.axes, a.has_axes); });
  if (name == "Squeeze") return r([since](const AxesAttrs& a, RunContext& c) { run_squeeze(c, a.axes, since >= 13); });
  if (name == "Unsqueeze") return r([since](const AxesAttrs& a, RunContext& c) { run_unsqueeze(c, a.axes, since >= 13); });
  if (name == "Concat") return r([](const AxesAttrs& a, RunContext& c) { run_concat(c, a.axis); });
  if (name == "Split") return r([](const AxesAttrs& a, RunContext& c) { run_split(c, a.axis, a.split); });
  if (name == "Slice") return r([](const AxesAttrs& a, RunContext& c) { run_slice(c, a.starts, a.ends, a.axes, a.has_axes); });
  if (name == "Gather") return r([](const AxesAttrs& a, RunContext& c) { run_gather(c, a.axis); });
  if (name == "GatherElements") return r([](const AxesAttrs& a, RunContext& c) { run_gather_elements(c, a.axis); });
  if (name == "Shape") return r([](const AxesAttrs& a, RunContext& c) { run_shape(c, a.start, a.end); });
  if (name == "Size") return r([](const AxesAttrs&, RunContext& c) { run_size(c); });
  if (name == "Expand") return r([](const AxesAttrs&, RunContext& c) { run_expand(c); });
  if (name == "Tile") return r([](const AxesAttrs&, RunContext& c) { run_tile(c); });
  if (name == "Pad") return r([](const AxesAttrs& a, RunContext& c) { run_pad(c, a.mode, a.pads, a.value); });
  return nullptr;
}

template <class F>
void add(OpRegistry& reg, const char* name, int since, int until, int min_in, int max_in,
         F infer, std::function<AxesAttrs(const ParseContext&)> parse = nullptr, int min_out = 1,
         int max_out = 1) {
  OpDef d = op_def(name, since, until, min_in, max_in);
  d.min_outputs = min_out;
  d.max_outputs = max_out;
  if (parse) d.parse = typed_parse<AxesAttrs>(std::move(parse));
  else d.parse = [](const ParseContext&) { return std::make_shared<const AxesAttrs>(); };
  d.infer = typed_infer<AxesAttrs>(infer);
  d.run = shape_run(name, since);
  reg.add(std::move(d));
}

AxesAttrs parse_axes_attr(const ParseContext& p, const char* name, bool required) {
  AxesAttrs a;
  a.has_axes = p.has(name);
  a.axes = required ? p.require_ints(name) : p.get_ints(name);
  return a;
}

}  // namespace

void register_shape_ops(OpRegistry& reg) {
  add(reg, "Reshape", 1, 4, 1, 1, infer_reshape, [](const ParseContext& p) {
    return parse_axes_attr(p, "shape", true);
  });
  add(reg, "Reshape", 5, kLatestOpset, 2, 2, infer_reshape, [](const ParseContext& p) {
    AxesAttrs a;
    a.allowzero = p.get_int("allowzero", 0) != 0;
    return a;
  });
  add(reg, "Flatten", 1, kLatestOpset, 1, 1, infer_flatten, [](const ParseContext& p) {
    AxesAttrs a;
    a.axis = p.get_int("axis", 1);
    return a;
  });
  add(reg, "Transpose", 1, kLatestOpset, 1, 1, infer_transpose, [](const ParseContext& p) {
    return parse_axes_attr(p, "perm", false);
  });
  add(reg, "Squeeze", 1, 12, 1, 1,
      [](const AxesAttrs& a, const InferContext& c) { return infer_squeeze(a, c, false); },
      [](const ParseContext& p) { return parse_axes_attr(p, "axes", false); });
  add(reg, "Squeeze", 13, kLatestOpset, 1, 2,
      [](const AxesAttrs& a, const InferContext& c) { return infer_squeeze(a, c, true); });
  add(reg, "Unsqueeze", 1, 12, 1, 1,
      [](const AxesAttrs& a, const InferContext& c) { return infer_unsqueeze(a, c, false); },
      [](const ParseContext& p) { return parse_axes_attr(p, "axes", true); });
  add(reg, "Unsqueeze", 13, kLatestOpset, 2, 2,
      [](const AxesAttrs& a, const InferContext& c) { return infer_unsqueeze(a, c, true); });
  add(reg, "Concat", 1, kLatestOpset, 1, kVariadic, infer_concat, [](const ParseContext& p) {
    AxesAttrs a;
    a.axis = p.opset() >= 4 ? p.require_int("axis") : p.get_int("axis", 1);
    return a;
  });
  auto parse_split = [](const ParseContext& p) {
    AxesAttrs a;
    a.axis = p.get_int("axis", 0);
    if (p.opset() < 13 && p.has("split")) a.split = p.get_ints("split");
    a.num_outputs = p.get_int("num_outputs", 0);
    if (a.num_outputs != 0 && a.num_outputs != static_cast<int64_t>(p.node().output.size()))
      p.fail_attr("num_outputs", "expected " + std::to_string(p.node().output.size()) +
                                     " (the number of outputs), got " + std::to_string(a.num_outputs));
    return a;
  };
  add(reg, "Split", 1, kLatestOpset, 1, 2, infer_split, parse_split, 1, kVariadic);
  add(reg, "Slice", 1, 9, 1, 1, infer_slice, [](const ParseContext& p) {
    AxesAttrs a = parse_axes_attr(p, "axes", false);
    a.starts = p.require_ints("starts");
    a.ends = p.require_ints("ends");
    if (a.starts.size() != a.ends.size())
      p.fail_attr("ends", "expected " + std::to_string(a.starts.size()) + " values (as starts), got " + std::to_string(a.ends.size()));
    if (a.has_axes && a.axes.size() != a.starts.size())
      p.fail_attr("axes", "expected " + std::to_string(a.starts.size()) + " values (as starts), got " + std::to_string(a.axes.size()));
    return a;
  });
  add(reg, "Slice", 10, kLatestOpset, 3, 5, infer_slice);
  auto parse_axis0 = [](const ParseContext& p) {
    AxesAttrs a;
    a.axis = p.get_int("axis", 0);
    return a;
  };
  add(reg, "Gather", 1, kLatestOpset, 2, 2, infer_gather, parse_axis0);
  add(reg, "GatherElements", 11, kLatestOpset, 2, 2,
      [](const AxesAttrs& a, const InferContext& c) {
        const TensorInfo &x = c.in(0), &idx = c.in(1);
        if (x.has_rank() && idx.has_rank() && x.rank() != idx.rank())
          c.fail("data " + x.shape_string() + " and indices " + idx.shape_string() + " differ in rank");
        if (x.has_rank() && x.rank() > 0) axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
        return one(TensorInfo(x.dtype, idx.shape));
      },
      parse_axis0);
  add(reg, "Shape", 1, kLatestOpset, 1, 1, infer_shape, [](const ParseContext& p) {
    AxesAttrs a;
    if (p.has("start")) a.start = p.get_int("start", 0);
    if (p.has("end")) a.end = p.get_int("end", 0);
    return a;
  });
  add(reg, "Size", 1, kLatestOpset, 1, 1,
      [](const AxesAttrs&, const InferContext& c) { return infer_size(c); });
  add(reg, "Expand", 8, kLatestOpset, 2, 2,
      [](const AxesAttrs&, const InferContext& c) { return infer_expand(c); });
  add(reg, "Tile", 6, kLatestOpset, 2, 2,
      [](const AxesAttrs&, const InferContext& c) { return infer_tile(c); });
  auto parse_pad_mode = [](const ParseContext& p, AxesAttrs& a) {
    const std::string mode = p.get_string("mode", "constant");
    if (mode == "constant") a.mode = PadMode::Constant;
    else if (mode == "reflect") a.mode = PadMode::Reflect;
    else if (mode == "edge") a.mode = PadMode::Edge;
    else if (mode == "wrap" && p.opset() >= 19) a.mode = PadMode::Wrap;
    else p.fail_attr("mode", "expected constant, reflect, edge or wrap, got '" + mode + "'");
  };
  add(reg, "Pad", 1, 10, 1, 1, infer_pad, [parse_pad_mode](const ParseContext& p) {
    AxesAttrs a;
    const char* name = p.opset() < 2 ? "paddings" : "pads";
    a.pads = p.require_ints(name);
    a.value = p.get_float("value", 0.0f);
    parse_pad_mode(p, a);
    return a;
  });
  add(reg, "Pad", 11, kLatestOpset, 2, 4, infer_pad, [parse_pad_mode](const ParseContext& p) {
    AxesAttrs a;
    parse_pad_mode(p, a);
    return a;
  });
}

}  // namespace qm::ops
