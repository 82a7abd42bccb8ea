// Ops that move every element to a new place by a fixed rule, keeping the element count:
// DepthToSpace, SpaceToDepth and ReverseSequence. Values are moved by element size (any type).
// (Transpose, Reshape and the other plain shape ops are in shape_ops.cpp.)
#include <cstring>
#include <vector>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct RearrangeAttrs : OpAttrs {
  int64_t blocksize = 1;                  ///< DepthToSpace / SpaceToDepth
  bool crd = false;                       ///< DepthToSpace mode CRD (default DCR)
  int64_t batch_axis = 1, time_axis = 0;  ///< ReverseSequence
};

/// d * k for a dim (unknown stays unknown).
Dim dim_mul(const Dim& d, int64_t k) {
  if (d.known()) {
    const auto v = checked_mul(*d.value, k);  // past int64: unknown (the run refuses it)
    return v ? Dim(*v) : Dim();
  }
  return k == 1 ? d : Dim();
}

/// d / k if known and divisible; fails on a known remainder.
Dim dim_div(const InferContext& c, const Dim& d, int64_t k, const char* what) {
  if (!d.known()) return k == 1 ? d : Dim();
  if (*d.value % k != 0)
    c.fail(std::string(what) + " " + std::to_string(*d.value) + " is not divisible by " + std::to_string(k));
  return *d.value / k;
}

/// Copies x viewed as `view` (a reshape of x) permuted by `perm` into y (row-major).
template <class U>
void permuted_copy(const U* x, U* y, const Shape& view, const std::vector<size_t>& perm) {
  const size_t r = view.size();
  const std::vector<int64_t> st = strides_of(view);
  Shape os(r);
  std::vector<int64_t> ist(r);
  for (size_t i = 0; i < r; ++i) {
    os[i] = view[perm[i]];
    ist[i] = st[perm[i]];
  }
  const int64_t n = shape_numel(os);
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = x[off];
    for (size_t d = r; d-- > 0;) {
      off += ist[d];
      if (++idx[d] < os[d]) break;
      off -= ist[d] * idx[d];
      idx[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DepthToSpace / SpaceToDepth: a reshape to 6-D, a transpose and a reshape back.

std::vector<TensorInfo> infer_depth_space(const RearrangeAttrs& a, const InferContext& c, bool to_space) {
  const TensorInfo& x = c.in(0);
  if (!x.has_rank()) return one(make_info(x.dtype, Dims(4)));
  check_rank(c, x, 4, "input");
  const Dims& s = *x.shape;
  const int64_t b = a.blocksize;
  if (to_space) return one(make_info(x.dtype, {s[0], dim_div(c, s[1], b * b, "channel count"), dim_mul(s[2], b), dim_mul(s[3], b)}));
  return one(make_info(x.dtype, {s[0], dim_mul(s[1], b * b), dim_div(c, s[2], b, "height"), dim_div(c, s[3], b, "width")}));
}

/// d * k for an output dimension; past int64 fails naming the node (an empty input may have a
/// dimension of 2^40, which times a block of 2^24 overflowed).
int64_t scaled_dim(const RunContext& c, int64_t d, int64_t k) {
  int64_t r = 0;
  if (__builtin_mul_overflow(d, k, &r)) c.fail("dimension " + std::to_string(d) + " times " + std::to_string(k) + " is out of range");
  return r;
}

void run_depth_space(const RearrangeAttrs& a, RunContext& c, bool to_space) {
  const Tensor& x = c.in(0);
  if (x.rank() != 4) c.fail("input must have rank 4 (got shape " + shape_to_string(x.shape()) + ")");
  const int64_t n = x.shape()[0], ch = x.shape()[1], h = x.shape()[2], w = x.shape()[3], b = a.blocksize;
  Shape view, out;
  std::vector<size_t> perm;
  if (to_space) {
    if (ch % (b * b)) c.fail("channel count " + std::to_string(ch) + " is not divisible by blocksize^2 = " + std::to_string(b * b));
    const int64_t oc = ch / (b * b);
    if (a.crd) {
      view = {n, oc, b, b, h, w};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      view = {n, b, b, oc, h, w};
      perm = {0, 3, 4, 1, 5, 2};
    }
    out = {n, oc, scaled_dim(c, h, b), scaled_dim(c, w, b)};
  } else {
    if (h % b || w % b) c.fail("height and width " + std::to_string(h) + "x" + std::to_string(w) + " are not divisible by blocksize " + std::to_string(b));
    view = {n, ch, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    out = {n, scaled_dim(c, ch, b * b), h / b, w / b};
  }
  Tensor& y = c.alloc(0, x.dtype(), out);
  by_size(c, x.dtype(), [&](auto tag) {
    using U = decltype(tag);
    permuted_copy<U>(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), view, perm);
  });
}

// ---------------------------------------------------------------------------------------------
// ReverseSequence: the first len[b] steps of each batch entry in reverse order, the rest as they are.

void run_reverse_sequence(const RearrangeAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &lens_t = c.in(1);
  const int64_t r = x.rank();
  if (r < 2) c.fail("input must have rank >= 2 (got shape " + shape_to_string(x.shape()) + ")");
  const int64_t bax = norm_axis(c, a.batch_axis, r, "batch_axis"), tax = norm_axis(c, a.time_axis, r, "time_axis");
  if (bax > 1 || tax > 1 || bax == tax) c.fail("batch_axis and time_axis must be 0 and 1 in some order");
  const std::vector<int64_t> lens = ints_of(c, lens_t, "sequence_lens");
  const int64_t B = x.shape()[static_cast<size_t>(bax)], T = x.shape()[static_cast<size_t>(tax)];
  if (static_cast<int64_t>(lens.size()) != B) c.fail("sequence_lens has " + std::to_string(lens.size()) + " values, expected " + std::to_string(B));
  Tensor y = x.clone();
  int64_t inner = 1;
  for (int64_t i = 2; i < r; ++i) inner *= x.shape()[static_cast<size_t>(i)];
  const size_t es = tensor_element_size(x.dtype());
  const auto* px = static_cast<const uint8_t*>(x.raw());
  auto* py = static_cast<uint8_t*>(y.raw());
  auto off = [&](int64_t b, int64_t t) { return static_cast<size_t>(((tax == 0 ? t * B + b : b * T + t) * inner)) * es; };
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = lens[static_cast<size_t>(b)];
    if (len < 0 || len > T) c.fail("sequence length " + std::to_string(len) + " is out of range [0, " + std::to_string(T) + "]");
    for (int64_t t = 0; t < len; ++t) std::memcpy(py + off(b, t), px + off(b, len - 1 - t), static_cast<size_t>(inner) * es);
  }
  c.set(0, std::move(y));
}

}  // namespace

void register_rearrange(OpRegistry& reg) {
  for (bool to_space : {true, false}) {
    OpDef d = op_def(to_space ? "DepthToSpace" : "SpaceToDepth", 1, kLatestOpset, 1, 1);
    d.parse = typed_parse<RearrangeAttrs>([to_space](const ParseContext& p) {
      RearrangeAttrs a;
      a.blocksize = p.require_int("blocksize");
      // Its square divides or multiplies the channel count: above 2^24 the square overflowed.
      if (a.blocksize < 1 || a.blocksize > (int64_t{1} << 24))
        p.fail_attr("blocksize", "expected a value between 1 and 16777216, got " + std::to_string(a.blocksize));
      if (to_space && p.opset() >= 11) {
        const std::string mode = p.get_string("mode", "DCR");
        if (mode != "DCR" && mode != "CRD") p.fail_attr("mode", "expected DCR or CRD, got '" + mode + "'");
        a.crd = mode == "CRD";
      }
      return a;
    });
    d.infer = typed_infer<RearrangeAttrs>([to_space](const RearrangeAttrs& a, const InferContext& c) {
      return infer_depth_space(a, c, to_space);
    });
    d.run = typed_run<RearrangeAttrs>([to_space](const RearrangeAttrs& a, RunContext& c) { run_depth_space(a, c, to_space); });
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("ReverseSequence", 10, kLatestOpset, 2, 2);
    d.parse = typed_parse<RearrangeAttrs>([](const ParseContext& p) {
      RearrangeAttrs a;
      a.batch_axis = p.get_int("batch_axis", 1);
      a.time_axis = p.get_int("time_axis", 0);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<RearrangeAttrs>(run_reverse_sequence);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
