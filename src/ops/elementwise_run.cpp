// Elementwise execution. Float ops with a vectorised kernel in kernels/elementwise.h run it; the
// rest, and double, compute with libm; integer ops exist for the shape arithmetic and
// comparisons that exporters emit. Broadcasting is split into contiguous inner blocks
// (BroadcastIter) and the element range is spread over the thread pool.
#include "ops/elementwise_run.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/elementwise.h"
#include "ops/run_util.h"

namespace qm::ops::detail {
namespace {

/// Splits n output elements over the pool (only when large).
template <class F>
void par_elems(RunContext& c, int64_t n, F&& f) {
  parallel_items(c, n, 1, [&](int64_t b, int64_t e) { f(b, e); });
}

template <class T, class F>
void map_unary(RunContext& c, const Tensor& x, Tensor& y, F f) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  par_elems(c, x.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = f(px[i]);
  });
}

/// y = op(x) with the vectorised kernel, element ranges split over the pool.
void kernel_unary(RunContext& c, kernels::UnaryOp op, const Tensor& x, Tensor& y, kernels::UnaryParams p = {}) {
  const float* px = x.data<float>();
  float* py = y.data<float>();
  par_elems(c, x.numel(), [&](int64_t b, int64_t e) {
    kernels::f32_unary(op, px + b, py + b, static_cast<size_t>(e - b), p);
  });
}

/// The vectorised kernel of a float unary op, if it has one.
bool unary_kernel_of(UnaryKind op, kernels::UnaryOp& k) {
  using U = kernels::UnaryOp;
  switch (op) {
    case UnaryKind::Neg: k = U::Neg; return true;
    case UnaryKind::Abs: k = U::Abs; return true;
    case UnaryKind::Sqrt: k = U::Sqrt; return true;
    case UnaryKind::Reciprocal: k = U::Reciprocal; return true;
    case UnaryKind::Relu: k = U::Relu; return true;
    case UnaryKind::Exp: k = U::Exp; return true;
    case UnaryKind::Log: k = U::Log; return true;
    case UnaryKind::Erf: k = U::Erf; return true;
    case UnaryKind::Tanh: k = U::Tanh; return true;
    case UnaryKind::Sigmoid: k = U::Sigmoid; return true;
    case UnaryKind::HardSwish: k = U::HardSwish; return true;
    default: return false;
  }
}

}  // namespace

void run_unary(RunContext& c, UnaryKind op) {
  using K = UnaryKind;
  const Tensor& x = c.in(0);
  if (op == K::Not) {
    if (x.dtype() != DataType::Bool) c.fail("input must be bool");
    Tensor& y = c.alloc(0, DataType::Bool, x.shape());
    map_unary<bool>(c, x, y, [](bool v) { return !v; });
    return;
  }
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  kernels::UnaryOp uk;
  if (x.dtype() == DataType::Float && unary_kernel_of(op, uk)) {
    kernel_unary(c, uk, x, y);
    return;
  }
  if (x.dtype() == DataType::Float || x.dtype() == DataType::Double) {
    auto go = [&](auto tag) {
      using T = decltype(tag);
      // Float ops with a vectorised kernel took kernel_unary above; this is double, and the float
      // ops without one (rounding, Sign, Softplus, Softsign, Sin, Cos).
      switch (op) {
        case K::Neg: map_unary<T>(c, x, y, [](T v) { return -v; }); break;
        case K::Abs: map_unary<T>(c, x, y, [](T v) { return std::fabs(v); }); break;
        case K::Floor: map_unary<T>(c, x, y, [](T v) { return std::floor(v); }); break;
        case K::Ceil: map_unary<T>(c, x, y, [](T v) { return std::ceil(v); }); break;
        case K::Round: map_unary<T>(c, x, y, [](T v) { return std::nearbyint(v); }); break;
        case K::Sqrt: map_unary<T>(c, x, y, [](T v) { return std::sqrt(v); }); break;
        case K::Reciprocal: map_unary<T>(c, x, y, [](T v) { return T(1) / v; }); break;
        case K::Relu: map_unary<T>(c, x, y, [](T v) { return v > 0 ? v : T(0); }); break;
        case K::Exp: map_unary<T>(c, x, y, [](T v) { return std::exp(v); }); break;
        case K::Log: map_unary<T>(c, x, y, [](T v) { return std::log(v); }); break;
        case K::Sign: map_unary<T>(c, x, y, [](T v) { return T(v > 0 ? 1 : (v < 0 ? -1 : 0)); }); break;
        case K::Erf: map_unary<T>(c, x, y, [](T v) { return std::erf(v); }); break;
        case K::Tanh: map_unary<T>(c, x, y, [](T v) { return std::tanh(v); }); break;
        case K::Sigmoid: map_unary<T>(c, x, y, [](T v) { return T(1) / (T(1) + std::exp(-v)); }); break;
        case K::HardSwish:
          map_unary<T>(c, x, y, [](T v) { return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5))); });
          break;
        case K::Softplus:
          map_unary<T>(c, x, y, [](T v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); });
          break;
        case K::Softsign: map_unary<T>(c, x, y, [](T v) { return v / (T(1) + std::fabs(v)); }); break;
        case K::Sin: map_unary<T>(c, x, y, [](T v) { return std::sin(v); }); break;
        case K::Cos: map_unary<T>(c, x, y, [](T v) { return std::cos(v); }); break;
        default: c.unsupported("unknown unary op");
      }
    };
    if (x.dtype() == DataType::Float) go(float{});
    else go(double{});
    return;
  }
  dispatch_numeric(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      switch (op) {
        case K::Neg: map_unary<T>(c, x, y, [](T v) { return static_cast<T>(-v); }); break;
        case K::Abs: map_unary<T>(c, x, y, [](T v) { return static_cast<T>(v < 0 ? -v : v); }); break;
        case K::Relu: map_unary<T>(c, x, y, [](T v) { return static_cast<T>(v > 0 ? v : 0); }); break;
        case K::Sign: map_unary<T>(c, x, y, [](T v) { return static_cast<T>(v > 0 ? 1 : (v < 0 ? -1 : 0)); }); break;
        case K::Floor: case K::Ceil: case K::Round: map_unary<T>(c, x, y, [](T v) { return v; }); break;
        default: c.unsupported(c.op_type() + " on " + std::string(dtype_name(x.dtype())) + " tensors is not supported");
      }
    }
  });
}

void run_activation(RunContext& c, ActivationKind op, float alpha, float beta, float gamma) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  using T = float;
  using U = kernels::UnaryOp;
  switch (op) {
    case ActivationKind::LeakyRelu: kernel_unary(c, U::LeakyRelu, x, y, {alpha, 0.0f}); break;
    case ActivationKind::Elu: kernel_unary(c, U::Elu, x, y, {alpha, 0.0f}); break;
    case ActivationKind::HardSigmoid: kernel_unary(c, U::HardSigmoid, x, y, {alpha, beta}); break;
    case ActivationKind::GeluErf: kernel_unary(c, U::GeluErf, x, y); break;
    case ActivationKind::GeluTanh: kernel_unary(c, U::GeluTanh, x, y); break;
    case ActivationKind::Celu:
      map_unary<T>(c, x, y, [=](T v) { return std::max(T(0), v) + std::min(T(0), alpha * (std::exp(v / alpha) - 1)); });
      break;
    case ActivationKind::Selu:
      map_unary<T>(c, x, y, [=](T v) { return v > 0 ? gamma * v : gamma * (alpha * std::exp(v) - alpha); });
      break;
    case ActivationKind::ThresholdedRelu: map_unary<T>(c, x, y, [=](T v) { return v > alpha ? v : T(0); }); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Binary

namespace {

/// Walks the `n` output elements of a two-input broadcast over the pool, in runs that stay in
/// one inner block: f(o, i0, i1, offs) for elements [i0, i1) of output block o, with offs[k]
/// input k's element offset for that block.
template <class F>
void for_each_block_run(RunContext& c, const BroadcastIter& it, int64_t n, F&& f) {
  const int64_t inner = it.inner();
  par_elems(c, n, [&](int64_t begin, int64_t end) {
    int64_t offs[2];
    int64_t pos = begin;
    while (pos < end) {
      const int64_t o = pos / inner, i0 = pos % inner;
      const int64_t i1 = std::min(inner, i0 + (end - pos));
      it.offsets(o, offs);
      f(o, i0, i1, offs);
      pos += i1 - i0;
    }
  });
}

/// out[i] = f(a[i], b[i]) over broadcast blocks, parallel over the element range.
template <class T, class R, class F>
void broadcast_apply(RunContext& c, const Tensor& a, const Tensor& b, Tensor& out, F f) {
  BroadcastIter it(out.shape(), {&a.shape(), &b.shape()});
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  R* po = out.data<R>();
  const int64_t inner = it.inner();
  const int sa = it.step(0), sb = it.step(1);
  for_each_block_run(c, it, out.numel(), [&](int64_t o, int64_t i0, int64_t i1, const int64_t* offs) {
    const T* x = pa + offs[0];
    const T* y = pb + offs[1];
    R* z = po + o * inner;
    if (sa && sb) {
      for (int64_t i = i0; i < i1; ++i) z[i] = f(x[i], y[i]);
    } else if (sa) {
      const T yv = *y;
      for (int64_t i = i0; i < i1; ++i) z[i] = f(x[i], yv);
    } else if (sb) {
      const T xv = *x;
      for (int64_t i = i0; i < i1; ++i) z[i] = f(xv, y[i]);
    } else {
      const R v = f(*x, *y);
      for (int64_t i = i0; i < i1; ++i) z[i] = v;
    }
  });
}

/// Float Add/Sub/Mul/Div over broadcast blocks with the vectorised kernels.
void broadcast_kernel(RunContext& c, kernels::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  BroadcastIter it(out.shape(), {&a.shape(), &b.shape()});
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* po = out.data<float>();
  const int64_t inner = it.inner();
  const int sa = it.step(0), sb = it.step(1);
  for_each_block_run(c, it, out.numel(), [&](int64_t o, int64_t i0, int64_t i1, const int64_t* offs) {
    const size_t n = static_cast<size_t>(i1 - i0);
    const float* x = pa + offs[0] + (sa ? i0 : 0);
    const float* y = pb + offs[1] + (sb ? i0 : 0);
    float* z = po + o * inner + i0;
    if (sa && sb) kernels::f32_binary(op, x, y, z, n);
    else if (sa) kernels::f32_binary_scalar_rhs(op, x, *y, z, n);
    else if (sb) kernels::f32_binary_scalar_lhs(op, *x, y, z, n);
    else kernels::f32_binary_scalar_rhs(op, x, *y, z, 1), std::fill(z + 1, z + n, z[0]);
  });
}

template <class T>
T floor_mod_t(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  } else {
    if (b == T(-1)) return T(0);  // also for the most negative a, whose % -1 traps
    T r = static_cast<T>(a % b);
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  }
}

/// One binary step: out = a (op) b, with out's shape the broadcast of both.
void binary_step(RunContext& c, BinaryKind k, bool fmod, const Tensor& a, const Tensor& b, Tensor& out) {
  if (k == BinaryKind::Pow && a.dtype() != b.dtype()) {
    // Pow(X, Y) with Y of another numeric type: the exponent is converted (ONNX opset 12+).
    const Tensor yb = cast_tensor(c, b, a.dtype());
    binary_step(c, k, fmod, a, yb, out);
    return;
  }
  if (a.dtype() != b.dtype())
    c.fail("inputs have different element types (" + std::string(dtype_name(a.dtype())) + " and " +
           std::string(dtype_name(b.dtype())) + ")");
  if (!is_predicate(k) && (a.dtype() == DataType::Int16 || a.dtype() == DataType::Uint16))
    // 16-bit integers are quantized storage (Q/DQ) here, as in ONNX Runtime, which has no
    // arithmetic kernels for them (the oracle could not check them).
    c.unsupported(std::string("arithmetic on ") + std::string(dtype_name(a.dtype())) + " tensors is not supported");
  if (k == BinaryKind::And || k == BinaryKind::Or || k == BinaryKind::Xor) {
    if (a.dtype() != DataType::Bool) c.fail("And/Or/Xor need bool inputs");
    if (k == BinaryKind::And) broadcast_apply<bool, bool>(c, a, b, out, [](bool x, bool y) { return x && y; });
    else if (k == BinaryKind::Or) broadcast_apply<bool, bool>(c, a, b, out, [](bool x, bool y) { return x || y; });
    else broadcast_apply<bool, bool>(c, a, b, out, [](bool x, bool y) { return x != y; });
    return;
  }
  if (a.dtype() == DataType::Float && (k == BinaryKind::Add || k == BinaryKind::Sum || k == BinaryKind::Mean || k == BinaryKind::Sub ||
                                      k == BinaryKind::Mul || k == BinaryKind::Div)) {
    using B = kernels::BinaryOp;
    const B op = k == BinaryKind::Sub ? B::Sub : k == BinaryKind::Mul ? B::Mul : k == BinaryKind::Div ? B::Div : B::Add;
    broadcast_kernel(c, op, a, b, out);
    return;
  }
  dispatch_all(a.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    if (is_predicate(k)) {
      switch (k) {
        case BinaryKind::Equal: broadcast_apply<T, bool>(c, a, b, out, [](T x, T y) { return x == y; }); break;
        case BinaryKind::Less: broadcast_apply<T, bool>(c, a, b, out, [](T x, T y) { return x < y; }); break;
        case BinaryKind::Greater: broadcast_apply<T, bool>(c, a, b, out, [](T x, T y) { return x > y; }); break;
        case BinaryKind::LessOrEqual: broadcast_apply<T, bool>(c, a, b, out, [](T x, T y) { return x <= y; }); break;
        default: broadcast_apply<T, bool>(c, a, b, out, [](T x, T y) { return x >= y; }); break;
      }
      return;
    }
    if constexpr (std::is_same_v<T, bool>) {
      c.unsupported("arithmetic on bool tensors is not supported");
    } else {
      switch (k) {
        // Integers wrap (two's complement, as ONNX Runtime): computed in the unsigned type of at
        // least int's width, since signed overflow is undefined (int16 * int16 promotes to int).
        case BinaryKind::Add: case BinaryKind::Sum: case BinaryKind::Mean:
          broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return static_cast<T>(wrap_t<T>(x) + wrap_t<T>(y)); }); break;
        case BinaryKind::Sub: broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return static_cast<T>(wrap_t<T>(x) - wrap_t<T>(y)); }); break;
        case BinaryKind::Mul: broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return static_cast<T>(wrap_t<T>(x) * wrap_t<T>(y)); }); break;
        case BinaryKind::Div:
          if constexpr (std::is_integral_v<T>) {
            const T* pb = b.data<T>();
            for (int64_t i = 0; i < b.numel(); ++i)
              if (pb[i] == 0) c.fail("integer division by zero");
          }
          broadcast_apply<T, T>(c, a, b, out, [](T x, T y) {
            // The most negative integer / -1 overflows (and traps): it wraps, as two's
            // complement negation does.
            if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
              if (y == T(-1)) return static_cast<T>(T(0) - static_cast<std::make_unsigned_t<T>>(x));
            return static_cast<T>(x / y);
          });
          break;
        case BinaryKind::Pow:
          broadcast_apply<T, T>(c, a, b, out, [](T x, T y) {
            if constexpr (std::is_integral_v<T>)
              return static_cast<T>(trunc_to_int64(std::pow(static_cast<double>(x), static_cast<double>(y))));
            else
              return static_cast<T>(std::pow(x, y));
          });
          break;
        case BinaryKind::Mod:
          if constexpr (std::is_integral_v<T>) {
            const T* pb = b.data<T>();
            for (int64_t i = 0; i < b.numel(); ++i)
              if (pb[i] == 0) c.fail("integer modulo by zero");
            if (fmod) broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return y == T(-1) ? T(0) : static_cast<T>(x % y); });
            else broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return floor_mod_t<T>(x, y); });
          } else {
            if (fmod) broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return static_cast<T>(std::fmod(x, y)); });
            else broadcast_apply<T, T>(c, a, b, out, [](T x, T y) { return floor_mod_t<T>(x, y); });
          }
          break;
        case BinaryKind::Max:
          broadcast_apply<T, T>(c, a, b, out, [](T x, T y) {
            if constexpr (std::is_floating_point_v<T>)
              if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
            return x > y ? x : y;
          });
          break;
        case BinaryKind::Min:
          broadcast_apply<T, T>(c, a, b, out, [](T x, T y) {
            if constexpr (std::is_floating_point_v<T>)
              if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
            return x < y ? x : y;
          });
          break;
        default: break;
      }
    }
  });
}

}  // namespace

void run_binary(RunContext& c, BinaryKind k, bool legacy, int64_t axis, bool fmod) {
  if (c.num_inputs() == 1) {
    c.set(0, c.in(0).clone());
    return;
  }
  Tensor acc = c.in(0);
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    Tensor b = c.in(i);
    if (legacy && b.rank() < acc.rank()) {
      // Opset < 7: B's dims align with A's starting at `axis` (default: the trailing dims).
      const int64_t r = acc.rank();
      int64_t ax = axis < 0 ? axis + r : axis;
      if (axis == 0 && b.rank() > 0 && b.rank() != r) ax = r - b.rank();
      Shape s(static_cast<size_t>(r), 1);
      for (int64_t d = 0; d < b.rank(); ++d) {
        if (ax + d >= r) c.fail("legacy broadcast: B does not fit A at axis " + std::to_string(axis));
        s[static_cast<size_t>(ax + d)] = b.shape()[static_cast<size_t>(d)];
      }
      b = b.reshaped(s);
    }
    const Shape out_shape = broadcast_shapes(c, {&acc.shape(), &b.shape()});
    Tensor out(is_predicate(k) ? DataType::Bool : acc.dtype(), out_shape);
    binary_step(c, k, fmod, acc, b, out);
    acc = std::move(out);
  }
  if (k == BinaryKind::Mean) {
    const float n = static_cast<float>(c.num_inputs());
    if (acc.dtype() == DataType::Float) {
      float* p = acc.data<float>();
      for (int64_t i = 0; i < acc.numel(); ++i) p[i] /= n;
    } else if (acc.dtype() == DataType::Double) {
      double* p = acc.data<double>();
      for (int64_t i = 0; i < acc.numel(); ++i) p[i] /= n;
    } else {
      c.unsupported("Mean of integer tensors is not supported");
    }
  }
  c.set(0, std::move(acc));
}

void run_where(RunContext& c) {
  const Tensor &cond = c.in(0), &x = c.in(1), &y = c.in(2);
  if (cond.dtype() != DataType::Bool) c.fail("condition must be bool");
  if (x.dtype() != y.dtype()) c.fail("X and Y have different element types");
  const Shape s = broadcast_shapes(c, {&cond.shape(), &x.shape(), &y.shape()});
  Tensor& out = c.alloc(0, x.dtype(), s);
  BroadcastIter it(s, {&cond.shape(), &x.shape(), &y.shape()});
  dispatch_all(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    const bool* pc = cond.data<bool>();
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    const int sc = it.step(0), sx = it.step(1), sy = it.step(2);
    int64_t offs[3];
    for (int64_t o = 0; o < it.outer(); ++o) {
      it.offsets(o, offs);
      T* z = po + o * it.inner();
      for (int64_t i = 0; i < it.inner(); ++i)
        z[i] = pc[offs[0] + i * sc] ? px[offs[1] + i * sx] : py[offs[2] + i * sy];
    }
  });
}

void run_clip(RunContext& c, std::optional<float> lo_attr, std::optional<float> hi_attr) {
  const Tensor& x = c.in(0);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  dispatch_numeric(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    // The opset < 11 attributes are floats: on an integer input one beyond the type's range
    // saturates (a plain cast of it, or of NaN, is undefined); NaN bounds nothing, as for floats.
    auto attr_bound = [](float f, T fallback) -> T {
      if constexpr (std::is_integral_v<T>) {
        if (std::isnan(f)) return fallback;
        if (f <= static_cast<float>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
        if (f >= static_cast<float>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
      }
      return static_cast<T>(f);
    };
    if (lo_attr) lo = attr_bound(*lo_attr, lo);
    if (hi_attr) hi = attr_bound(*hi_attr, hi);
    auto bound = [&](size_t i, T& v) {
      const Tensor* t = c.input(i);
      if (!t || t->numel() == 0) return;
      if (t->numel() != 1) c.fail("min and max must be scalars");
      if (t->dtype() != x.dtype()) c.fail("min/max type differs from the input's");
      v = t->data<T>()[0];
    };
    bound(1, lo);
    bound(2, hi);
    // NaN fails both comparisons and passes through, as in ONNX Runtime.
    map_unary<T>(c, x, y, [=](T v) {
      v = v < lo ? lo : v;
      return v > hi ? hi : v;
    });
  });
}

void run_prelu(RunContext& c) {
  const Tensor &x = c.in(0), &slope = c.in(1);
  Tensor s = slope;
  if (c.opset() < 7 && slope.rank() == 1 && x.rank() >= 2 && slope.numel() == x.shape()[1] && slope.numel() != 1) {
    Shape sh(static_cast<size_t>(x.rank() - 1), 1);
    sh[0] = slope.numel();
    s = slope.reshaped(sh);
  }
  const Shape out = broadcast_shapes(c, {&x.shape(), &s.shape()});
  if (out != x.shape()) c.fail("slope shape " + shape_to_string(slope.shape()) + " does not broadcast to " + shape_to_string(x.shape()));
  Tensor& y = c.alloc(0, x.dtype(), out);
  dispatch_numeric(x.dtype(), c, [&](auto tag) {
    using T = decltype(tag);
    if (s.dtype() != x.dtype()) c.fail("slope type differs from the input's");
    broadcast_apply<T, T>(c, x, s, y, [](T v, T a) { return v < 0 ? static_cast<T>(wrap_t<T>(a) * wrap_t<T>(v)) : v; });
  });
}

Tensor cast_tensor(const RunContext& c, const Tensor& x, DataType to) {
  if (x.dtype() == to) return x;
  Tensor y(to, x.shape());
  const int64_t n = x.numel();
  dispatch_all(x.dtype(), c, [&](auto from_tag) {
    using F = decltype(from_tag);
    const F* px = x.data<F>();
    dispatch_all(to, c, [&](auto to_tag) {
      using T = decltype(to_tag);
      T* py = y.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const F v = px[i];
        if constexpr (std::is_same_v<T, bool>) {
          py[i] = v != F(0);
        } else if constexpr (std::is_floating_point_v<F> && std::is_integral_v<T>) {
          // Truncation toward zero; out-of-range values wrap through int64 (no UB).
          const double d = static_cast<double>(v);
          int64_t w = 0;
          if (std::isfinite(d) && std::fabs(d) < 9.2e18) w = static_cast<int64_t>(d);
          else if (std::isfinite(d)) w = d < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
          else if (!std::isnan(d)) w = d < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
          else w = std::numeric_limits<int64_t>::min();
          py[i] = static_cast<T>(w);
        } else {
          py[i] = static_cast<T>(v);
        }
      }
    });
  });
  return y;
}

void run_cast(RunContext& c, DataType to) { c.set(0, cast_tensor(c, c.in(0), to)); }

void run_identity(RunContext& c, bool dropout) {
  const Tensor& x = c.in(0);
  if (dropout && c.input(2)) {
    const Tensor& t = *c.input(2);
    if (t.numel() == 1 && number_at(t, 0) != 0)
      c.unsupported("training_mode Dropout is not supported (inference only)");
  }
  c.set(0, x);
  if (c.num_outputs() > 1) {
    const DataType mt = c.opset() >= 10 ? DataType::Bool : x.dtype();
    Tensor& m = c.alloc(1, mt, x.shape());
    for (int64_t i = 0; i < m.numel(); ++i) set_number(m, i, 1.0);
  }
}

}  // namespace qm::ops::detail
