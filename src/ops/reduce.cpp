// Reductions: ReduceMean/Sum/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare (axes an attribute
// until opset 12 for ReduceSum and 17 for the others, an input after), ArgMax, ArgMin, and
// CumSum, their running form.
#include <cmath>
#include <limits>
#include <set>
#include <type_traits>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

/// Which reduction a node computes, resolved from its op type at registration.
enum class ReduceKind { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare, ArgMax, ArgMin };

struct ReduceAttrs : OpAttrs {
  ReduceKind kind = ReduceKind::Sum;
  std::vector<int64_t> axes;   ///< attribute form (older opsets)
  bool keepdims = true;
  bool noop_with_empty_axes = false;
  bool axes_from_input = false;
  bool arg = false;            ///< ArgMax/ArgMin: single `axis`, int64 output
  bool select_last_index = false;
};

std::vector<TensorInfo> infer_reduce(const ReduceAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  const DataType dtype = a.arg ? DataType::Int64 : x.dtype;
  if (!x.has_rank()) return one(unknown_info(dtype));
  const int64_t r = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes = a.axes;
  if (a.axes_from_input && c.input(1)) {
    auto v = known_ints(c.input(1));
    if (!v) {
      // Axes computed at run time: the rank is known only if dims are kept.
      if (!a.keepdims) return one(unknown_info(dtype));
      return one(make_info(dtype, Dims(static_cast<size_t>(r))));
    }
    axes = *v;
  }
  if (axes.empty()) {
    if (a.noop_with_empty_axes) return same_as_input(c);
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  std::set<int64_t> reduced;
  for (int64_t ax : axes) reduced.insert(axis_or_fail(c, ax, r, "reduction axis"));
  Dims out;
  for (int64_t i = 0; i < r; ++i) {
    if (!reduced.count(i)) out.push_back((*x.shape)[static_cast<size_t>(i)]);
    else if (a.keepdims) out.push_back(1);
  }
  return one(make_info(dtype, std::move(out)));
}

// ---------------------------------------------------------------------------------------------
// Execution: the input is walked once in row-major order with an odometer; each element lands
// in its output slot (reduced dims have output stride 0). Sums accumulate in double (int64 for
// integer types).

template <class T>
void reduce_typed(ReduceKind op, const Tensor& x, const std::vector<bool>& red, Tensor& y) {
  using K = ReduceKind;
  const int64_t r = x.rank();
  Shape full_out = x.shape();
  for (int64_t i = 0; i < r; ++i)
    if (red[static_cast<size_t>(i)]) full_out[static_cast<size_t>(i)] = 1;
  const std::vector<int64_t> ost = detail::strides_of(full_out);
  std::vector<int64_t> step(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) step[static_cast<size_t>(i)] = red[static_cast<size_t>(i)] ? 0 : ost[static_cast<size_t>(i)];
  const int64_t nout = y.numel();
  const int64_t count = nout ? x.numel() / nout : 0;
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const bool is_max = op == K::Max, is_min = op == K::Min;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  auto walk = [&](auto&& f) {
    std::vector<int64_t> idx(static_cast<size_t>(r), 0);
    int64_t o = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      f(o, px[i]);
      for (int64_t d = r - 1; d >= 0; --d) {
        const size_t u = static_cast<size_t>(d);
        o += step[u];
        if (++idx[u] < x.shape()[u]) break;
        o -= step[u] * idx[u];
        idx[u] = 0;
      }
    }
  };
  if (is_max || is_min) {
    std::vector<T> acc(static_cast<size_t>(nout), is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max());
    if constexpr (std::is_floating_point_v<T>)
      std::fill(acc.begin(), acc.end(), is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity());
    walk([&](int64_t o, T v) {
      T& a = acc[static_cast<size_t>(o)];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v)) { a = v; return; }
        if (std::isnan(a)) return;
      }
      if (is_max ? v > a : v < a) a = v;
    });
    std::copy(acc.begin(), acc.end(), py);
    return;
  }
  // Integer sums and products wrap in int64 (what x86 and wasm give; signed overflow is
  // undefined, UBSan in fuzz_model_run); float ones accumulate in double as before.
  auto add = [](Acc& a, Acc b) { a = static_cast<Acc>(wrap_t<Acc>(a) + wrap_t<Acc>(b)); };
  auto mul = [](Acc a, Acc b) { return static_cast<Acc>(wrap_t<Acc>(a) * wrap_t<Acc>(b)); };
  // v - max for LogSumExp: exact for integers, even where T's own subtraction overflowed
  // (INT32_MIN - INT32_MAX); beyond int64 the difference is taken in double (exp of it is 0).
  auto below_max = [](T v, T m) -> double {
    if constexpr (std::is_integral_v<T>) {
      int64_t d = 0;
      if (__builtin_sub_overflow(static_cast<int64_t>(v), static_cast<int64_t>(m), &d))
        return static_cast<double>(v) - static_cast<double>(m);
      return static_cast<double>(d);
    } else {
      return static_cast<double>(v - m);
    }
  };
  std::vector<Acc> acc(static_cast<size_t>(nout), op == K::Prod ? Acc(1) : Acc(0));
  std::vector<T> mx;
  if (op == K::LogSumExp) {
    mx.assign(static_cast<size_t>(nout), std::numeric_limits<T>::lowest());
    walk([&](int64_t o, T v) { mx[static_cast<size_t>(o)] = std::max(mx[static_cast<size_t>(o)], v); });
  }
  if (op == K::Sum || op == K::Mean || op == K::LogSum) walk([&](int64_t o, T v) { add(acc[static_cast<size_t>(o)], static_cast<Acc>(v)); });
  else if (op == K::Prod) walk([&](int64_t o, T v) { acc[static_cast<size_t>(o)] = mul(acc[static_cast<size_t>(o)], static_cast<Acc>(v)); });
  // |INT64_MIN| wraps to itself (as its negation on x86).
  else if (op == K::L1) walk([&](int64_t o, T v) { add(acc[static_cast<size_t>(o)], v < 0 ? mul(static_cast<Acc>(v), Acc(-1)) : static_cast<Acc>(v)); });
  else if (op == K::L2 || op == K::SumSquare) walk([&](int64_t o, T v) { add(acc[static_cast<size_t>(o)], mul(static_cast<Acc>(v), static_cast<Acc>(v))); });
  else if (op == K::LogSumExp)
    walk([&](int64_t o, T v) { add(acc[static_cast<size_t>(o)], static_cast<Acc>(std::exp(below_max(v, mx[static_cast<size_t>(o)])))); });
  for (int64_t i = 0; i < nout; ++i) {
    Acc a = acc[static_cast<size_t>(i)];
    double v = static_cast<double>(a);
    if (op == K::Mean) v = count ? v / static_cast<double>(count) : std::nan("");
    else if (op == K::L2) v = std::sqrt(v);
    else if (op == K::LogSum) v = std::log(v);
    else if (op == K::LogSumExp) v = std::log(v) + static_cast<double>(mx[static_cast<size_t>(i)]);
    if constexpr (std::is_integral_v<T>) {
      if (op == K::Mean) py[i] = static_cast<T>(count ? a / count : 0);
      // log(0) = -inf and overflowing sums leave int64's range: trunc_to_int64 gives INT64_MIN.
      else py[i] = static_cast<T>(op == K::L2 || op == K::LogSum || op == K::LogSumExp ? trunc_to_int64(v) : a);
    } else {
      py[i] = static_cast<T>(v);
    }
  }
}

void run_reduce(const ReduceAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  const int64_t r = x.rank();
  std::vector<int64_t> axes = a.axes;
  if (a.axes_from_input && c.input(1)) axes = detail::ints_of(c, *c.input(1), "axes");
  if (a.arg) {
    const int64_t axis = detail::norm_axis(c, a.axes.empty() ? 0 : a.axes[0], std::max<int64_t>(r, 1));
    Shape ys = x.shape();
    if (r > 0) {
      if (a.keepdims) ys[static_cast<size_t>(axis)] = 1;
      else ys.erase(ys.begin() + axis);
    }
    Tensor& y = c.alloc(0, DataType::Int64, ys);
    int64_t outer = 1, d = r > 0 ? x.shape()[static_cast<size_t>(axis)] : 1, inner = 1;
    for (int64_t i = 0; i < r; ++i) {
      if (i < axis) outer *= x.shape()[static_cast<size_t>(i)];
      else if (i > axis) inner *= x.shape()[static_cast<size_t>(i)];
    }
    if (d == 0 && y.numel() > 0) c.fail("cannot take ArgMax/ArgMin over an empty axis");
    const bool is_max = a.kind == ReduceKind::ArgMax;
    int64_t* py = y.data<int64_t>();
    detail::dispatch_numeric(x.dtype(), c, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = px + o * d * inner + i;
          int64_t best = 0;
          for (int64_t j = 1; j < d; ++j) {
            const T v = p[j * inner], b = p[best * inner];
            const bool better = is_max ? (a.select_last_index ? v >= b : v > b) : (a.select_last_index ? v <= b : v < b);
            if (better) best = j;
          }
          py[o * inner + i] = best;
        }
    });
    return;
  }
  std::vector<bool> red(static_cast<size_t>(r), false);
  if (axes.empty()) {
    if (a.noop_with_empty_axes) {
      c.set(0, x);
      return;
    }
    red.assign(static_cast<size_t>(r), true);
  }
  for (int64_t ax : axes) red[static_cast<size_t>(detail::norm_axis(c, ax, r, "reduction axis"))] = true;
  Shape ys;
  for (int64_t i = 0; i < r; ++i) {
    if (!red[static_cast<size_t>(i)]) ys.push_back(x.shape()[static_cast<size_t>(i)]);
    else if (a.keepdims) ys.push_back(1);
  }
  Tensor& y = c.alloc(0, x.dtype(), ys);
  detail::dispatch_numeric(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    reduce_typed<T>(a.kind, x, red, y);
  });
}

void add_reduce(OpRegistry& reg, const char* name, ReduceKind kind, int input_since) {
  OpDef d;
  d.op_type = name;
  d.until = input_since - 1;
  d.parse = typed_parse<ReduceAttrs>([kind](const ParseContext& p) {
    ReduceAttrs a;
    a.kind = kind;
    a.axes = p.get_ints("axes");
    a.keepdims = p.get_int("keepdims", 1) != 0;
    return a;
  });
  d.infer = typed_infer<ReduceAttrs>(infer_reduce);
  d.run = typed_run<ReduceAttrs>(run_reduce);
  reg.add(d);
  d.since = input_since;
  d.until = kLatestOpset;
  d.max_inputs = 2;
  d.parse = typed_parse<ReduceAttrs>([kind](const ParseContext& p) {
    ReduceAttrs a;
    a.kind = kind;
    a.axes_from_input = true;
    a.keepdims = p.get_int("keepdims", 1) != 0;
    a.noop_with_empty_axes = p.get_int("noop_with_empty_axes", 0) != 0;
    return a;
  });
  reg.add(std::move(d));
}

// ---------------------------------------------------------------------------------------------
// CumSum: the running sum along an axis (the reductions' partial results).

struct CumSumAttrs : OpAttrs {
  bool exclusive = false, reverse = false;
};

void run_cumsum(const CumSumAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  const std::vector<int64_t> av = ints_of(c, c.in(1), "axis");
  if (av.size() != 1) c.fail("axis must hold one value (got " + std::to_string(av.size()) + ")");
  const int64_t r = x.rank();
  const int64_t ax = norm_axis(c, av[0], std::max<int64_t>(r, 1));
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  int64_t outer = 1, inner = 1;
  const int64_t dim = r ? x.shape()[static_cast<size_t>(ax)] : 1;
  for (int64_t i = 0; i < ax; ++i) outer *= x.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax + 1; i < r; ++i) inner *= x.shape()[static_cast<size_t>(i)];
  dispatch_numeric(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        // Sequential sums in T, as ONNX Runtime does.
        T acc = T(0);
        for (int64_t s = 0; s < dim; ++s) {
          const int64_t j = a.reverse ? dim - 1 - s : s;
          const int64_t off = (o * dim + j) * inner + i;
          if (a.exclusive) {
            py[off] = acc;
            acc = static_cast<T>(wrap_t<T>(acc) + wrap_t<T>(px[off]));  // integers wrap (no UB)
          } else {
            acc = static_cast<T>(wrap_t<T>(acc) + wrap_t<T>(px[off]));
            py[off] = acc;
          }
        }
      }
  });
}

}  // namespace

void register_reduce(OpRegistry& reg) {
  using K = ReduceKind;
  add_reduce(reg, "ReduceSum", K::Sum, 13);
  const std::pair<const char*, ReduceKind> kReduce[] = {
      {"ReduceMean", K::Mean}, {"ReduceMax", K::Max},       {"ReduceMin", K::Min},
      {"ReduceProd", K::Prod}, {"ReduceL1", K::L1},         {"ReduceL2", K::L2},
      {"ReduceLogSum", K::LogSum}, {"ReduceLogSumExp", K::LogSumExp}, {"ReduceSumSquare", K::SumSquare}};
  for (const auto& [name, kind] : kReduce) add_reduce(reg, name, kind, 18);
  for (const ReduceKind kind : {K::ArgMax, K::ArgMin}) {
    OpDef d;
    d.op_type = kind == K::ArgMax ? "ArgMax" : "ArgMin";
    d.parse = typed_parse<ReduceAttrs>([kind](const ParseContext& p) {
      ReduceAttrs a;
      a.kind = kind;
      a.arg = true;
      a.axes = {p.get_int("axis", 0)};
      a.keepdims = p.get_int("keepdims", 1) != 0;
      a.select_last_index = p.get_int("select_last_index", 0) != 0;
      return a;
    });
    d.infer = typed_infer<ReduceAttrs>(infer_reduce);
    d.run = typed_run<ReduceAttrs>(run_reduce);
    reg.add(std::move(d));
  }
  {
    OpDef d = op_def("CumSum", 11, kLatestOpset, 2, 2);
    d.parse = typed_parse<CumSumAttrs>([](const ParseContext& p) {
      CumSumAttrs a;
      a.exclusive = p.get_int("exclusive", 0) != 0;
      a.reverse = p.get_int("reverse", 0) != 0;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<CumSumAttrs>(run_cumsum);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
