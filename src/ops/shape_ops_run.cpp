// Data-movement and shape op execution: reshapes share the input's buffer (no copy); the rest
// copy elements by size (1, 2, 4 or 8 bytes), so every element type moves the same way.
#include "ops/shape_ops_run.h"

#include <algorithm>
#include <cstring>

#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops::detail {
namespace {

int64_t clamp_i(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// out[j] = in[sum_d idx_d * in_stride[d]] over an output shape (the general strided copy:
/// transpose, slice with steps, broadcast with stride 0).
template <class U>
void strided_copy(const U* in, U* out, const Shape& oshape, const std::vector<int64_t>& istride, int64_t ibase) {
  const size_t r = oshape.size();
  const int64_t n = shape_numel(oshape);
  if (n == 0) return;
  if (r == 0) {
    out[0] = in[ibase];
    return;
  }
  std::vector<int64_t> idx(r, 0);
  const int64_t last = oshape[r - 1], ls = istride[r - 1];
  int64_t off = ibase;
  for (int64_t j = 0; j < n; j += last) {
    const U* src = in + off;
    U* dst = out + j;
    if (ls == 1) std::memcpy(dst, src, static_cast<size_t>(last) * sizeof(U));
    else for (int64_t t = 0; t < last; ++t) dst[t] = src[t * ls];
    for (size_t d = r - 1; d-- > 0;) {
      off += istride[d];
      if (++idx[d] < oshape[d]) break;
      off -= istride[d] * idx[d];
      idx[d] = 0;
    }
  }
}

std::vector<int64_t> axes_input(RunContext& c, size_t i) {
  const Tensor* t = c.input(i);
  if (!t) return {};
  return ints_of(c, *t, "axes");
}

}  // namespace

void run_reshape(RunContext& c, bool allowzero, const std::vector<int64_t>* attr_shape) {
  const Tensor& x = c.in(0);
  std::vector<int64_t> target = attr_shape ? *attr_shape : ints_of(c, c.in(1), "shape");
  int64_t known = 1;
  int minus = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t& t = target[i];
    if (t == 0 && !allowzero) {
      if (i >= x.shape().size()) c.fail("shape " + shape_to_string(target) + " copies dimension " + std::to_string(i) + " that the input " + shape_to_string(x.shape()) + " lacks");
      t = x.shape()[i];
    }
    if (t == -1) {
      if (minus >= 0) c.fail("shape " + shape_to_string(target) + " has more than one -1");
      minus = static_cast<int>(i);
    } else if (t < 0) {
      c.fail("shape " + shape_to_string(target) + " has a negative dimension");
    } else {
      const std::optional<int64_t> k = checked_mul(known, t);
      if (!k) c.fail("shape " + shape_to_string(target) + " has more elements than int64 can count");
      known = *k;
    }
  }
  if (minus >= 0) {
    if (known == 0 || x.numel() % known != 0)
      c.fail("cannot reshape " + shape_to_string(x.shape()) + " to " + shape_to_string(target));
    target[static_cast<size_t>(minus)] = x.numel() / known;
  } else if (known != x.numel()) {
    c.fail("cannot reshape " + shape_to_string(x.shape()) + " (" + std::to_string(x.numel()) + " elements) to " +
           shape_to_string(target) + " (" + std::to_string(known) + " elements)");
  }
  c.set(0, x.reshaped(target));
}

void run_flatten(RunContext& c, int64_t axis) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) c.fail("axis out of range");
  int64_t a = 1;
  for (int64_t i = 0; i < axis; ++i) a *= x.shape()[static_cast<size_t>(i)];
  const int64_t b = a ? x.numel() / a : [&] {
    int64_t p = 1;
    for (int64_t i = axis; i < r; ++i) p *= x.shape()[static_cast<size_t>(i)];
    return p;
  }();
  c.set(0, x.reshaped({a, b}));
}

void run_transpose(RunContext& c, const std::vector<int64_t>& perm_attr, bool has_perm) {
  const Tensor& x = c.in(0);
  const size_t r = static_cast<size_t>(x.rank());
  std::vector<int64_t> perm = perm_attr;
  if (!has_perm) {
    perm.clear();
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  }
  if (perm.size() != r) c.fail("perm does not match the input rank");
  Shape os(r);
  const std::vector<int64_t> st = strides_of(x.shape());
  std::vector<int64_t> ist(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t p = perm[i] < 0 ? perm[i] + static_cast<int64_t>(r) : perm[i];
    if (p < 0 || p >= static_cast<int64_t>(r)) c.fail("perm is not a permutation");
    os[i] = x.shape()[static_cast<size_t>(p)];
    ist[i] = st[static_cast<size_t>(p)];
  }
  Tensor& y = c.alloc(0, x.dtype(), os);
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    strided_copy<U>(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), os, ist, 0);
  });
}

void run_squeeze(RunContext& c, const std::vector<int64_t>& attr_axes, bool from_input) {
  const Tensor& x = c.in(0);
  const std::vector<int64_t> axes = from_input ? axes_input(c, 1) : attr_axes;
  const int64_t r = x.rank();
  std::vector<bool> drop(static_cast<size_t>(r), false);
  if (axes.empty()) {
    for (int64_t i = 0; i < r; ++i) drop[static_cast<size_t>(i)] = x.shape()[static_cast<size_t>(i)] == 1;
  } else {
    for (int64_t a : axes) {
      const int64_t n = norm_axis(c, a, r);
      if (x.shape()[static_cast<size_t>(n)] != 1)
        c.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x.shape()[static_cast<size_t>(n)]));
      drop[static_cast<size_t>(n)] = true;
    }
  }
  Shape s;
  for (int64_t i = 0; i < r; ++i)
    if (!drop[static_cast<size_t>(i)]) s.push_back(x.shape()[static_cast<size_t>(i)]);
  c.set(0, x.reshaped(s));
}

void run_unsqueeze(RunContext& c, const std::vector<int64_t>& attr_axes, bool from_input) {
  const Tensor& x = c.in(0);
  const std::vector<int64_t> axes = from_input ? axes_input(c, 1) : attr_axes;
  const int64_t r = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> ins(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    const int64_t n = norm_axis(c, a, r);
    if (ins[static_cast<size_t>(n)]) c.fail("axes repeat an axis");
    ins[static_cast<size_t>(n)] = true;
  }
  Shape s;
  size_t k = 0;
  for (int64_t i = 0; i < r; ++i) s.push_back(ins[static_cast<size_t>(i)] ? 1 : x.shape()[k++]);
  c.set(0, x.reshaped(s));
}

void run_concat(RunContext& c, int64_t axis) {
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.input(i)) ins.push_back(c.input(i));
  if (ins.empty()) c.fail("no inputs");
  const Tensor& x0 = *ins[0];
  const int64_t r = x0.rank();
  if (r == 0) c.fail("cannot concatenate scalars");
  const int64_t ax = norm_axis(c, axis, r);
  Shape os = x0.shape();
  os[static_cast<size_t>(ax)] = 0;
  for (const Tensor* t : ins) {
    if (t->rank() != r || t->dtype() != x0.dtype()) c.fail("inputs differ in rank or element type");
    for (int64_t d = 0; d < r; ++d)
      if (d != ax && t->shape()[static_cast<size_t>(d)] != x0.shape()[static_cast<size_t>(d)])
        c.fail("inputs differ in dimension " + std::to_string(d) + " (" + shape_to_string(x0.shape()) + " vs " + shape_to_string(t->shape()) + ")");
    os[static_cast<size_t>(ax)] += t->shape()[static_cast<size_t>(ax)];
  }
  Tensor& y = c.alloc(0, x0.dtype(), os);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ax; ++d) outer *= os[static_cast<size_t>(d)];
  for (int64_t d = ax + 1; d < r; ++d) inner *= os[static_cast<size_t>(d)];
  const size_t es = tensor_element_size(x0.dtype());
  const int64_t orow = os[static_cast<size_t>(ax)] * inner;
  auto* py = static_cast<uint8_t*>(y.raw());
  int64_t off = 0;
  for (const Tensor* t : ins) {
    const int64_t row = t->shape()[static_cast<size_t>(ax)] * inner;
    const auto* pt = static_cast<const uint8_t*>(t->raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(py + static_cast<size_t>(o * orow + off) * es, pt + static_cast<size_t>(o * row) * es, static_cast<size_t>(row) * es);
    off += row;
  }
}

void run_split(RunContext& c, int64_t axis, const std::optional<std::vector<int64_t>>& split_attr) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  const int64_t ax = norm_axis(c, axis, r);
  const int64_t dim = x.shape()[static_cast<size_t>(ax)];
  const size_t n = c.num_outputs();
  std::vector<int64_t> sizes;
  if (c.opset() >= 13 && c.input(1)) sizes = ints_of(c, *c.input(1), "split");
  else if (c.opset() < 13 && split_attr) sizes = *split_attr;
  if (sizes.empty()) {
    const int64_t k = static_cast<int64_t>(n);
    const int64_t chunk = (dim + k - 1) / k;
    if (c.opset() < 18 && dim % k != 0) c.fail("dimension " + std::to_string(dim) + " cannot be split into " + std::to_string(n) + " equal parts");
    for (size_t i = 0; i < n; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - chunk * static_cast<int64_t>(i))));
  }
  if (sizes.size() != n) c.fail("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(n) + " outputs");
  // Sizes from a dynamic input are checked here as infer checks known ones: a negative size, or
  // a sum past int64 ({INT64_MAX, 2} overflowed to dim + 1 - 2^64), is refused.
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) c.fail("split sizes " + ints_to_string(sizes) + " must not be negative");
    if (__builtin_add_overflow(total, s, &total)) c.fail("split sizes " + ints_to_string(sizes) + " overflow");
  }
  if (total != dim) c.fail("split sizes sum to " + std::to_string(total) + ", not the dimension size " + std::to_string(dim));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ax; ++d) outer *= x.shape()[static_cast<size_t>(d)];
  for (int64_t d = ax + 1; d < r; ++d) inner *= x.shape()[static_cast<size_t>(d)];
  const size_t es = tensor_element_size(x.dtype());
  const auto* px = static_cast<const uint8_t*>(x.raw());
  int64_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    Shape s = x.shape();
    s[static_cast<size_t>(ax)] = sizes[i];
    Tensor& y = c.alloc(i, x.dtype(), s);
    const int64_t row = sizes[i] * inner;
    auto* py = static_cast<uint8_t*>(y.raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(py + static_cast<size_t>(o * row) * es, px + static_cast<size_t>(o * dim * inner + off) * es, static_cast<size_t>(row) * es);
    off += row;
  }
}

void run_slice(RunContext& c, const std::vector<int64_t>& a_starts, const std::vector<int64_t>& a_ends,
               const std::vector<int64_t>& a_axes, bool has_axes) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = a_starts;
    ends = a_ends;
    if (has_axes) axes = a_axes;
  } else {
    starts = ints_of(c, c.in(1), "starts");
    ends = ints_of(c, c.in(2), "ends");
    if (c.input(3)) axes = ints_of(c, *c.input(3), "axes");
    if (c.input(4)) steps = ints_of(c, *c.input(4), "steps");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    c.fail("starts, ends, axes and steps have different lengths");
  Shape os = x.shape();
  const std::vector<int64_t> st = strides_of(x.shape());
  std::vector<int64_t> ist = st;
  int64_t base = 0;
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t ax = norm_axis(c, axes[i], r);
    if (seen[static_cast<size_t>(ax)]) c.fail("axes repeat an axis");
    seen[static_cast<size_t>(ax)] = true;
    const int64_t dim = x.shape()[static_cast<size_t>(ax)], step = steps[i];
    if (step == 0) c.fail("slice step must not be 0");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    // Written so that a step of +-2^63 (INT64_MAX is the usual "to the end") cannot overflow:
    // ceil(span / |step|) as (span - 1) / |step| + 1, |step| in 64 unsigned bits, and the input
    // stride only scaled when a second element is taken (then |step| < dim).
    int64_t len;
    if (step > 0) {
      s = clamp_i(s, 0, dim);
      e = clamp_i(e, 0, dim);
      len = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = clamp_i(s, 0, dim - 1);
      e = clamp_i(e, -1, dim - 1);
      const uint64_t neg = static_cast<uint64_t>(-(step + 1)) + 1;
      len = s > e ? static_cast<int64_t>(static_cast<uint64_t>(s - e - 1) / neg + 1) : 0;
    }
    os[static_cast<size_t>(ax)] = len;
    if (len > 0) base += s * st[static_cast<size_t>(ax)];
    ist[static_cast<size_t>(ax)] = len > 1 ? st[static_cast<size_t>(ax)] * step : 0;
  }
  Tensor& y = c.alloc(0, x.dtype(), os);
  if (y.numel() == 0) return;
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    strided_copy<U>(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), os, ist, base);
  });
}

void run_gather(RunContext& c, int64_t axis) {
  const Tensor &x = c.in(0), &idx = c.in(1);
  const int64_t r = x.rank();
  if (r == 0) c.fail("cannot gather from a scalar");
  const int64_t ax = norm_axis(c, axis, r);
  const std::vector<int64_t> ind = ints_of(c, idx, "indices");
  Shape os(x.shape().begin(), x.shape().begin() + ax);
  os.insert(os.end(), idx.shape().begin(), idx.shape().end());
  os.insert(os.end(), x.shape().begin() + ax + 1, x.shape().end());
  Tensor& y = c.alloc(0, x.dtype(), os);
  const int64_t dim = x.shape()[static_cast<size_t>(ax)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ax; ++d) outer *= x.shape()[static_cast<size_t>(d)];
  for (int64_t d = ax + 1; d < r; ++d) inner *= x.shape()[static_cast<size_t>(d)];
  const size_t es = tensor_element_size(x.dtype());
  const auto* px = static_cast<const uint8_t*>(x.raw());
  auto* py = static_cast<uint8_t*>(y.raw());
  const int64_t k = static_cast<int64_t>(ind.size());
  for (int64_t j = 0; j < k; ++j)
    if (ind[static_cast<size_t>(j)] < -dim || ind[static_cast<size_t>(j)] >= dim)
      c.fail("index " + std::to_string(ind[static_cast<size_t>(j)]) + " is out of range for axis " + std::to_string(axis) + " of size " + std::to_string(dim));
  const size_t row = static_cast<size_t>(inner) * es;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j) {
      int64_t i = ind[static_cast<size_t>(j)];
      if (i < 0) i += dim;
      std::memcpy(py + static_cast<size_t>(o * k + j) * row, px + static_cast<size_t>(o * dim + i) * row, row);
    }
}

void run_gather_elements(RunContext& c, int64_t axis) {
  const Tensor &x = c.in(0), &idx = c.in(1);
  const int64_t r = x.rank();
  if (idx.rank() != r) c.fail("data and indices differ in rank");
  const int64_t ax = norm_axis(c, axis, r);
  // Off the axis, an index coordinate is a data coordinate: it must exist in the data.
  for (int64_t d = 0; d < r; ++d)
    if (d != ax && idx.shape()[static_cast<size_t>(d)] > x.shape()[static_cast<size_t>(d)])
      c.fail("indices dimension " + std::to_string(d) + " (" + std::to_string(idx.shape()[static_cast<size_t>(d)]) +
             ") is larger than the data's (" + std::to_string(x.shape()[static_cast<size_t>(d)]) + ")");
  const std::vector<int64_t> ind = ints_of(c, idx, "indices");
  Tensor& y = c.alloc(0, x.dtype(), idx.shape());
  const std::vector<int64_t> xs = strides_of(x.shape());
  const int64_t dim = x.shape()[static_cast<size_t>(ax)];
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    const U* px = static_cast<const U*>(x.raw());
    U* py = static_cast<U*>(y.raw());
    std::vector<int64_t> coord(static_cast<size_t>(r), 0);
    for (int64_t j = 0; j < y.numel(); ++j) {
      int64_t off = 0;
      for (int64_t d = 0; d < r; ++d) {
        int64_t v = coord[static_cast<size_t>(d)];
        if (d == ax) {
          v = ind[static_cast<size_t>(j)];
          if (v < -dim || v >= dim) c.fail("index " + std::to_string(v) + " is out of range");
          if (v < 0) v += dim;
        }
        off += v * xs[static_cast<size_t>(d)];
      }
      py[j] = px[off];
      for (int64_t d = r - 1; d >= 0; --d) {
        if (++coord[static_cast<size_t>(d)] < idx.shape()[static_cast<size_t>(d)]) break;
        coord[static_cast<size_t>(d)] = 0;
      }
    }
  });
}

void run_shape(RunContext& c, std::optional<int64_t> start, std::optional<int64_t> end) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  int64_t s = start.value_or(0), e = end.value_or(r);
  if (s < 0) s += r;
  if (e < 0) e += r;
  s = clamp_i(s, 0, r);
  e = clamp_i(e, 0, r);
  Tensor& y = c.alloc(0, DataType::Int64, {std::max<int64_t>(0, e - s)});
  for (int64_t i = s; i < e; ++i) y.data<int64_t>()[i - s] = x.shape()[static_cast<size_t>(i)];
}

void run_size(RunContext& c) {
  Tensor& y = c.alloc(0, DataType::Int64, {});
  y.data<int64_t>()[0] = c.in(0).numel();
}

void run_expand(RunContext& c) {
  const Tensor& x = c.in(0);
  const std::vector<int64_t> target = ints_of(c, c.in(1), "shape");
  const Shape ts(target.begin(), target.end());
  const Shape os = broadcast_shapes(c, {&x.shape(), &ts});
  Tensor& y = c.alloc(0, x.dtype(), os);
  const size_t r = os.size();
  Shape padded(r, 1);
  for (size_t i = 0; i < x.shape().size(); ++i) padded[r - x.shape().size() + i] = x.shape()[i];
  std::vector<int64_t> st = strides_of(padded);
  for (size_t i = 0; i < r; ++i)
    if (padded[i] == 1) st[i] = 0;
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    strided_copy<U>(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), os, st, 0);
  });
}

void run_tile(RunContext& c) {
  const Tensor& x = c.in(0);
  const std::vector<int64_t> reps = ints_of(c, c.in(1), "repeats");
  const size_t r = static_cast<size_t>(x.rank());
  if (reps.size() != r) c.fail("repeats do not match the input rank");
  // Viewed as [rep0, d0, rep1, d1, ...] with stride 0 on the repeat dims.
  Shape vs, os;
  std::vector<int64_t> vst;
  const std::vector<int64_t> st = strides_of(x.shape());
  for (size_t i = 0; i < r; ++i) {
    if (reps[i] < 0) c.fail("repeats must not be negative");
    vs.push_back(reps[i]);
    vst.push_back(0);
    vs.push_back(x.shape()[i]);
    vst.push_back(st[i]);
    const std::optional<int64_t> d = checked_mul(x.shape()[i], reps[i]);
    if (!d) c.fail("repeats give a dimension of " + std::to_string(x.shape()[i]) + " x " + std::to_string(reps[i]) + ", out of range");
    os.push_back(*d);
  }
  Tensor& y = c.alloc(0, x.dtype(), os);
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    strided_copy<U>(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), vs, vst, 0);
  });
}

const char* pad_mode_name(PadMode m) {
  switch (m) {
    case PadMode::Constant: return "constant";
    case PadMode::Reflect: return "reflect";
    case PadMode::Edge: return "edge";
    case PadMode::Wrap: return "wrap";
  }
  return "?";
}

void run_pad(RunContext& c, PadMode m, const std::vector<int64_t>& attr_pads, float attr_value) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  std::vector<int64_t> pads = c.opset() < 11 ? attr_pads : ints_of(c, c.in(1), "pads");
  std::vector<int64_t> axes;
  if (c.opset() >= 18 && c.input(3)) axes = ints_of(c, *c.input(3), "axes");
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  if (pads.size() != 2 * axes.size()) c.fail("pads has " + std::to_string(pads.size()) + " values, expected " + std::to_string(2 * axes.size()));
  std::vector<int64_t> pb(static_cast<size_t>(r), 0), pe(static_cast<size_t>(r), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const size_t a = static_cast<size_t>(norm_axis(c, axes[i], r));
    pb[a] = pads[i];
    pe[a] = pads[i + axes.size()];
  }
  Shape os = x.shape();
  for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
    int64_t padded = 0;
    if (__builtin_add_overflow(os[d], pb[d], &padded) || __builtin_add_overflow(padded, pe[d], &padded))
      c.fail("pads of " + std::to_string(pb[d]) + " and " + std::to_string(pe[d]) + " give a dimension out of range");
    os[d] = padded;
    if (os[d] < 0) c.fail("pads remove more than the dimension");
  }
  Tensor& y = c.alloc(0, x.dtype(), os);
  double value = attr_value;
  if (c.opset() >= 11 && c.input(2) && c.input(2)->numel() > 0) value = number_at(*c.input(2), 0);
  if (m != PadMode::Constant)
    for (size_t d = 0; d < static_cast<size_t>(r); ++d)
      if (x.shape()[d] == 0 && os[d] > 0) c.fail("cannot pad an empty dimension in " + std::string(pad_mode_name(m)) + " mode");
  const std::vector<int64_t> xs = strides_of(x.shape());
  Tensor fill(x.dtype(), {1});
  set_number(fill, 0, value);
  // Input index of output index v - pb along a dimension of n (-1: outside, constant mode).
  auto source = [m](int64_t v, int64_t n) -> int64_t {
    if (v >= 0 && v < n) return v;
    switch (m) {
      case PadMode::Constant: return -1;
      case PadMode::Edge: return v < 0 ? 0 : n - 1;
      case PadMode::Wrap: return ((v % n) + n) % n;
      default: {
        if (n == 1) return 0;
        const int64_t period = 2 * (n - 1);
        v = ((v % period) + period) % period;
        return v >= n ? period - v : v;
      }
    }
  };
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    const U* px = static_cast<const U*>(x.raw());
    U* py = static_cast<U*>(y.raw());
    const U fv = *static_cast<const U*>(fill.raw());
    if (y.numel() == 0) return;
    if (r == 0) {
      py[0] = px[0];
      return;
    }
    // Row by row along the last dimension: the outer dimensions give the row's source (or fill),
    // the row itself is fill | interior copy | fill (or mapped elements in the other modes).
    const size_t last = static_cast<size_t>(r - 1);
    const int64_t width = os[last], n = x.shape()[last], before = pb[last];
    std::vector<int64_t> coord(last, 0);
    for (int64_t row = 0; row < y.numel() / width; ++row) {
      U* out = py + row * width;
      int64_t base = 0;
      bool outside = false;
      for (size_t d = 0; d < last && !outside; ++d) {
        const int64_t v = source(coord[d] - pb[d], x.shape()[d]);
        if (v < 0) outside = true;
        else base += v * xs[d];
      }
      if (outside) {
        std::fill(out, out + width, fv);
      } else {
        const int64_t lo = std::max<int64_t>(0, before), hi = std::min<int64_t>(width, before + n);
        for (int64_t j = 0; j < std::min(lo, width); ++j) {
          const int64_t v = source(j - before, n);
          out[j] = v < 0 ? fv : px[base + v];
        }
        if (hi > lo) std::copy(px + base + (lo - before), px + base + (hi - before), out + lo);
        for (int64_t j = std::max(hi, lo); j < width; ++j) {
          const int64_t v = source(j - before, n);
          out[j] = v < 0 ? fv : px[base + v];
        }
      }
      for (int64_t d = static_cast<int64_t>(last) - 1; d >= 0; --d) {
        if (++coord[static_cast<size_t>(d)] < os[static_cast<size_t>(d)]) break;
        coord[static_cast<size_t>(d)] = 0;
      }
    }
  });
}

}  // namespace qm::ops::detail
