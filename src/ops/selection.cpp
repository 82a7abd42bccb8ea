// Ops that choose elements by their values, so the output's size depends on the data: TopK,
// NonZero, Compress and NonMaxSuppression. TopK computes on the numeric types; Compress moves
// values by element size (any type).
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct TopKAttrs : OpAttrs {
  int64_t axis = -1;
  std::optional<int64_t> k;  ///< opset 1 attribute (later an input)
  bool largest = true, sorted = true;
};

struct CompressAttrs : OpAttrs {
  bool has_axis = false;  ///< without an axis the input is flattened
  int64_t axis = 0;
};

struct NmsAttrs : OpAttrs {
  bool center_box = false;  ///< boxes are [x_center, y_center, width, height]
};

// ---------------------------------------------------------------------------------------------
// TopK

std::vector<TensorInfo> infer_topk(const TopKAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  std::vector<TensorInfo> out;
  if (!x.has_rank()) {
    out.push_back(unknown_info(x.dtype));
    out.push_back(unknown_info(DataType::Int64));
    return out;
  }
  Dims s = *x.shape;
  const size_t ax = static_cast<size_t>(axis_or_fail(c, a.axis, static_cast<int64_t>(s.size())));
  std::optional<int64_t> k = a.k;
  if (!k) k = known_scalar_int(c.input(1));
  if (k && *k < 0) c.fail("k must be >= 0 (got " + std::to_string(*k) + ")");
  if (k && s[ax].known() && *k > *s[ax].value)
    c.fail("k = " + std::to_string(*k) + " exceeds the axis size " + std::to_string(*s[ax].value));
  s[ax] = k ? Dim(*k) : Dim();
  out.push_back(make_info(x.dtype, s));
  out.push_back(make_info(DataType::Int64, s));
  return out;
}

void run_topk(const TopKAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  if (r == 0) c.fail("input must have rank >= 1");
  const int64_t ax = norm_axis(c, a.axis, r);
  int64_t k = 0;
  if (a.k) {
    k = *a.k;
  } else {
    const std::vector<int64_t> kv = ints_of(c, c.in(1), "K");
    if (kv.size() != 1) c.fail("K must hold one value (got " + std::to_string(kv.size()) + ")");
    k = kv[0];
  }
  const int64_t dim = x.shape()[static_cast<size_t>(ax)];
  if (k < 0 || k > dim) c.fail("k = " + std::to_string(k) + " is out of range for an axis of size " + std::to_string(dim));
  Shape os = x.shape();
  os[static_cast<size_t>(ax)] = k;
  Tensor& vals = c.alloc(0, x.dtype(), os);
  Tensor& inds = c.alloc(1, DataType::Int64, os);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= x.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax + 1; i < r; ++i) inner *= x.shape()[static_cast<size_t>(i)];
  dispatch_numeric(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* pv = vals.data<T>();
    int64_t* pi = inds.data<int64_t>();
    // Ties keep the lower index first (as ONNX Runtime); NaN counts as the largest value.
    auto before = [&](int64_t i, int64_t j, const T* p) {
      const T u = p[i * inner], v = p[j * inner];
      if constexpr (std::is_floating_point_v<T>) {
        const bool nu = u != u, nv = v != v;
        if (nu || nv) {
          if (nu && nv) return i < j;
          return a.largest ? nu : nv;
        }
      }
      if (u != v) return a.largest ? u > v : u < v;
      return i < j;
    };
    parallel_items(c, outer * inner, dim, [&](int64_t b, int64_t e) {
      std::vector<int64_t> order(static_cast<size_t>(dim));
      for (int64_t oi = b; oi < e; ++oi) {
        const int64_t o = oi / inner, i = oi % inner;
        const T* p = px + o * dim * inner + i;
        std::iota(order.begin(), order.end(), int64_t{0});
        auto cmp = [&](int64_t u, int64_t v) { return before(u, v, p); };
        // sorted = 0 leaves the order unspecified; ONNX Runtime's then depends on its heap or
        // nth_element, so this engine returns the sorted order either way.
        std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
        for (int64_t j = 0; j < k; ++j) {
          const int64_t dst = o * k * inner + j * inner + i;
          pv[dst] = p[order[static_cast<size_t>(j)] * inner];
          pi[dst] = order[static_cast<size_t>(j)];
        }
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// NonZero, Compress

void run_nonzero(RunContext& c) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  std::vector<int64_t> hits;
  dispatch_all(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i)
      if (p[i] != T(0)) hits.push_back(i);
  });
  const int64_t n = static_cast<int64_t>(hits.size());
  // A scalar has rank 0 but ONNX Runtime reports its one element as [1, n].
  Tensor& y = c.alloc(0, DataType::Int64, {std::max<int64_t>(r, 1), n});
  int64_t* py = y.data<int64_t>();
  if (r == 0) {
    for (int64_t j = 0; j < n; ++j) py[j] = 0;
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    int64_t f = hits[static_cast<size_t>(j)];
    for (int64_t d = r - 1; d >= 0; --d) {
      py[d * n + j] = f % x.shape()[static_cast<size_t>(d)];
      f /= x.shape()[static_cast<size_t>(d)];
    }
  }
}

void run_compress(const CompressAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &cond = c.in(1);
  const std::vector<int64_t> keep = ints_of(c, cond, "condition");
  // Without an axis the input is flattened. A condition shorter than the axis drops the rest.
  const Tensor src = a.has_axis ? x : x.reshaped({x.numel()});
  const int64_t r = src.rank();
  const int64_t ax = a.has_axis ? norm_axis(c, a.axis, r) : 0;
  const int64_t dim = src.shape()[static_cast<size_t>(ax)];
  if (static_cast<int64_t>(keep.size()) > dim)
    c.fail("condition has " + std::to_string(keep.size()) + " values, more than the axis size " + std::to_string(dim));
  std::vector<int64_t> sel;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) sel.push_back(static_cast<int64_t>(i));
  Shape os = src.shape();
  os[static_cast<size_t>(ax)] = static_cast<int64_t>(sel.size());
  Tensor& y = c.alloc(0, x.dtype(), os);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= src.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax + 1; i < r; ++i) inner *= src.shape()[static_cast<size_t>(i)];
  const size_t es = tensor_element_size(x.dtype());
  const auto* px = static_cast<const uint8_t*>(src.raw());
  auto* py = static_cast<uint8_t*>(y.raw());
  const int64_t k = static_cast<int64_t>(sel.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j)
      std::memcpy(py + static_cast<size_t>((o * k + j) * inner) * es,
                  px + static_cast<size_t>((o * dim + sel[static_cast<size_t>(j)]) * inner) * es, static_cast<size_t>(inner) * es);
}

// ---------------------------------------------------------------------------------------------
// NonMaxSuppression: per batch and class, boxes in decreasing score order (ties: lower box index
// first), each kept unless its IoU with a kept box exceeds the threshold; at most
// max_output_boxes_per_class per class (absent or 0: none, as the spec's default).

/// Corners (min/max along each axis) of box i; boxes are [y1, x1, y2, x2] or [xc, yc, w, h].
struct Box {
  float x0, y0, x1, y1;
};

Box box_at(const float* b, bool center) {
  if (center) {
    const float hw = b[2] / 2, hh = b[3] / 2;
    return {b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh};
  }
  return {std::min(b[1], b[3]), std::min(b[0], b[2]), std::max(b[1], b[3]), std::max(b[0], b[2])};
}

/// True if IoU(a, b) > threshold (boxes without area never suppress).
bool overlaps(const Box& a, const Box& b, float threshold) {
  const float ix0 = std::max(a.x0, b.x0), ix1 = std::min(a.x1, b.x1);
  if (ix1 <= ix0) return false;
  const float iy0 = std::max(a.y0, b.y0), iy1 = std::min(a.y1, b.y1);
  if (iy1 <= iy0) return false;
  const float inter = (ix1 - ix0) * (iy1 - iy0);
  const float area_a = (a.x1 - a.x0) * (a.y1 - a.y0), area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
  const float uni = area_a + area_b - inter;
  if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > threshold;
}

void run_nms(bool center, RunContext& c) {
  const Tensor &boxes = c.in(0), &scores = c.in(1);
  require_float(c, boxes, "boxes");
  require_float(c, scores, "scores");
  if (boxes.rank() != 3 || scores.rank() != 3 || boxes.shape()[2] != 4 || boxes.shape()[0] != scores.shape()[0] ||
      boxes.shape()[1] != scores.shape()[2])
    c.fail("boxes " + shape_to_string(boxes.shape()) + " and scores " + shape_to_string(scores.shape()) +
           " must be [batches, boxes, 4] and [batches, classes, boxes]");
  auto scalar = [&](size_t i, const char* what) -> std::optional<double> {
    const Tensor* t = c.input(i);
    if (!t || t->numel() == 0) return std::nullopt;
    if (t->numel() != 1) c.fail(std::string(what) + " must hold one value");
    return number_at(*t, 0);
  };
  // Through a double: INT64_MAX becomes 2^63 and a float tensor may hold 1e30 or NaN, whose plain
  // casts are undefined. Beyond int64 means no limit; NaN (INT64_MIN) and negatives select none.
  const double max_d = scalar(2, "max_output_boxes_per_class").value_or(0);
  const int64_t max_out = max_d >= 9223372036854775807.0 ? std::numeric_limits<int64_t>::max()
                                                         : std::max<int64_t>(0, trunc_to_int64(max_d));
  const float iou = static_cast<float>(scalar(3, "iou_threshold").value_or(0));
  if (iou < 0 || iou > 1) c.fail("iou_threshold must be in [0, 1] (got " + std::to_string(iou) + ")");
  const std::optional<double> score_min = scalar(4, "score_threshold");
  const int64_t nb = boxes.shape()[0], nc = scores.shape()[1], n = boxes.shape()[1];
  std::vector<int64_t> sel;
  const float* pb = boxes.data<float>();
  const float* ps = scores.data<float>();
  std::vector<int64_t> order;
  std::vector<Box> kept;
  for (int64_t b = 0; b < nb && max_out > 0; ++b)
    for (int64_t k = 0; k < nc; ++k) {
      const float* s = ps + (b * nc + k) * n;
      order.clear();
      for (int64_t i = 0; i < n; ++i)
        if (!score_min || s[i] > static_cast<float>(*score_min)) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t u, int64_t v) { return s[u] > s[v]; });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        const Box bx = box_at(pb + (b * n + i) * 4, center);
        bool keep = true;
        for (const Box& o : kept)
          if (overlaps(o, bx, iou)) {
            keep = false;
            break;
          }
        if (!keep) continue;
        kept.push_back(bx);
        sel.insert(sel.end(), {b, k, i});
      }
    }
  Tensor& y = c.alloc(0, DataType::Int64, {static_cast<int64_t>(sel.size() / 3), 3});
  std::copy(sel.begin(), sel.end(), y.data<int64_t>());
}

}  // namespace

void register_selection(OpRegistry& reg) {
  {
    OpDef d = op_def("TopK", 1, 9, 1, 1);
    d.min_outputs = d.max_outputs = 2;
    d.parse = typed_parse<TopKAttrs>([](const ParseContext& p) {
      TopKAttrs a;
      a.axis = p.get_int("axis", -1);
      if (p.opset() < 10) a.k = p.require_int("k");
      if (p.opset() >= 11) {
        a.largest = p.get_int("largest", 1) != 0;
        a.sorted = p.get_int("sorted", 1) != 0;
      }
      return a;
    });
    d.infer = typed_infer<TopKAttrs>(infer_topk);
    d.run = typed_run<TopKAttrs>(run_topk);
    reg.add(d);
    d.since = 10;
    d.until = kLatestOpset;
    d.min_inputs = d.max_inputs = 2;
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("NonZero", 9, kLatestOpset, 1, 1);
    d.infer = [](const OpAttrs*, const InferContext& c) {
      const TensorInfo& x = c.in(0);
      return one(make_info(DataType::Int64, {x.has_rank() ? Dim(static_cast<int64_t>(std::max<size_t>(x.rank(), 1))) : Dim(), Dim()}));
    };
    d.run = [](const OpAttrs*, RunContext& c) { run_nonzero(c); };
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("Compress", 9, kLatestOpset, 2, 2);
    d.parse = typed_parse<CompressAttrs>([](const ParseContext& p) {
      CompressAttrs a;
      a.has_axis = p.has("axis");
      a.axis = p.get_int("axis", 0);
      return a;
    });
    d.infer = typed_infer<CompressAttrs>([](const CompressAttrs& a, const InferContext& c) {
      const TensorInfo& x = c.in(0);
      if (!a.has_axis) return one(make_info(x.dtype, {Dim()}));
      if (!x.has_rank()) return one(unknown_info(x.dtype));
      Dims s = *x.shape;
      s[static_cast<size_t>(axis_or_fail(c, a.axis, static_cast<int64_t>(s.size())))] = Dim();
      return one(make_info(x.dtype, std::move(s)));
    });
    d.run = typed_run<CompressAttrs>(run_compress);
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("NonMaxSuppression", 10, kLatestOpset, 2, 5);
    d.parse = typed_parse<NmsAttrs>([](const ParseContext& p) {
      NmsAttrs a;
      const int64_t cpb = p.get_int("center_point_box", 0);
      if (cpb != 0 && cpb != 1) p.fail_attr("center_point_box", "expected 0 or 1, got " + std::to_string(cpb));
      a.center_box = cpb == 1;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext&) { return one(make_info(DataType::Int64, {Dim(), 3})); };
    d.run = typed_run<NmsAttrs>([](const NmsAttrs& a, RunContext& c) { run_nms(a.center_box, c); });
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
