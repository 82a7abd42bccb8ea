// Math ops beyond the elementwise family's table: Mish, the rest of the trigonometric and
// hyperbolic functions (Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh), Shrink, IsNaN,
// IsInf, Hardmax and LpNormalization. (GridSample: grid_sample.cpp; Einsum: einsum.cpp.)
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

/// The elementwise functions of run_math_unary, resolved from the op type at registration.
enum class MathKind { Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Shrink };

struct MathAttrs : OpAttrs {
  MathKind kind = MathKind::Shrink;  ///< run_math_unary
  int64_t axis = -1;
  bool legacy_2d = false;       ///< Hardmax < 13: coerced to 2-D at axis
  bool detect_negative = true;  ///< IsInf
  bool detect_positive = true;
  float lambd = 0.5f, bias = 0.0f;  ///< Shrink
  int64_t p = 2;                ///< LpNormalization
};

// ---------------------------------------------------------------------------------------------
// Mish, IsNaN, IsInf

void run_mish(RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_items(c, x.numel(), 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double v = px[i];
      const double sp = v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
      py[i] = static_cast<float>(v * std::tanh(sp));
    }
  });
}

void run_isnan_isinf(const MathAttrs& a, RunContext& c, bool inf) {
  const Tensor& x = c.in(0);
  Tensor& y = c.alloc(0, DataType::Bool, x.shape());
  bool* py = y.data<bool>();
  auto go = [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const T v = px[i];
      py[i] = inf ? (std::isinf(v) && (v > 0 ? a.detect_positive : a.detect_negative)) : std::isnan(v);
    }
  };
  if (x.dtype() == DataType::Float) go(float{});
  else if (x.dtype() == DataType::Double) go(double{});
  else c.unsupported("input has element type " + std::string(dtype_name(x.dtype())) + " (expected float or double)");
}

// ---------------------------------------------------------------------------------------------
// Trigonometric/hyperbolic functions and Shrink (float and double, computed in double).

void run_math_unary(const MathAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  // The function is chosen once; the element loop is instantiated per function.
  auto with = [&](auto f) {
    auto go = [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      parallel_items(c, x.numel(), 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) py[i] = static_cast<T>(f(static_cast<double>(px[i])));
      });
    };
    if (x.dtype() == DataType::Float) go(float{});
    else go(double{});
  };
  if (x.dtype() != DataType::Float && x.dtype() != DataType::Double)
    c.unsupported("input has element type " + std::string(dtype_name(x.dtype())) + " (expected float or double)");
  const float lambd = a.lambd, bias = a.bias;
  switch (a.kind) {
    case MathKind::Tan: with([](double v) { return std::tan(v); }); break;
    case MathKind::Asin: with([](double v) { return std::asin(v); }); break;
    case MathKind::Acos: with([](double v) { return std::acos(v); }); break;
    case MathKind::Atan: with([](double v) { return std::atan(v); }); break;
    case MathKind::Sinh: with([](double v) { return std::sinh(v); }); break;
    case MathKind::Cosh: with([](double v) { return std::cosh(v); }); break;
    case MathKind::Asinh: with([](double v) { return std::asinh(v); }); break;
    case MathKind::Acosh: with([](double v) { return std::acosh(v); }); break;
    case MathKind::Atanh: with([](double v) { return std::atanh(v); }); break;
    case MathKind::Shrink:
      with([lambd, bias](double v) { return v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0); });
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// LpNormalization: x / ||x||_p along one axis (p = 1 or 2); a zero norm leaves zeros.

void run_lp_norm(const MathAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  const int64_t r = x.rank();
  if (r == 0) c.fail("input must have rank >= 1");
  const int64_t ax = norm_axis(c, a.axis, r);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  int64_t outer = 1, dim = x.shape()[static_cast<size_t>(ax)], inner = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= x.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax + 1; i < r; ++i) inner *= x.shape()[static_cast<size_t>(i)];
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = px + o * dim * inner + i;
      double n = 0;
      for (int64_t j = 0; j < dim; ++j) n += a.p == 1 ? std::fabs(p[j * inner]) : static_cast<double>(p[j * inner]) * p[j * inner];
      if (a.p == 2) n = std::sqrt(n);
      for (int64_t j = 0; j < dim; ++j) py[(o * dim + j) * inner + i] = n == 0 ? 0.0f : static_cast<float>(p[j * inner] / n);
    }
}

// ---------------------------------------------------------------------------------------------
// Hardmax: 1 at the first maximum along the axis, 0 elsewhere.

void run_hardmax(const MathAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  const int64_t r = x.rank();
  if (r == 0) c.fail("input must have rank >= 1");
  const int64_t ax = norm_axis(c, a.axis, r);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  int64_t outer = 1, dim = 1, inner = 1;
  for (int64_t i = 0; i < r; ++i) {
    const int64_t s = x.shape()[static_cast<size_t>(i)];
    if (i < ax) outer *= s;
    else if (i == ax || a.legacy_2d) dim *= s;
    else inner *= s;
  }
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = px + o * dim * inner + i;
      int64_t best = 0;
      for (int64_t j = 1; j < dim; ++j)
        if (p[j * inner] > p[best * inner]) best = j;
      if (dim > 0) py[(o * dim + best) * inner + i] = 1.0f;
    }
}

}  // namespace

void register_math_extra(OpRegistry& reg) {
  struct Unary {
    const char* name;
    int since;
    MathKind kind;
  };
  const Unary kUnary[] = {{"Tan", 7, MathKind::Tan},     {"Asin", 7, MathKind::Asin},   {"Acos", 7, MathKind::Acos},
                          {"Atan", 7, MathKind::Atan},   {"Sinh", 9, MathKind::Sinh},   {"Cosh", 9, MathKind::Cosh},
                          {"Asinh", 9, MathKind::Asinh}, {"Acosh", 9, MathKind::Acosh}, {"Atanh", 9, MathKind::Atanh},
                          {"Shrink", 9, MathKind::Shrink}};
  for (const Unary& u : kUnary) {
    OpDef d;
    d.op_type = u.name;
    d.since = u.since;
    d.parse = typed_parse<MathAttrs>([kind = u.kind](const ParseContext& p) {
      MathAttrs a;
      a.kind = kind;
      a.lambd = p.get_float("lambd", 0.5f);
      a.bias = p.get_float("bias", 0.0f);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<MathAttrs>(run_math_unary);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "LpNormalization";
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.axis = p.get_int("axis", -1);
      a.p = p.get_int("p", 2);
      if (a.p != 1 && a.p != 2) p.fail_attr("p", "expected 1 or 2, got " + std::to_string(a.p));
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<MathAttrs>(run_lp_norm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Mish";
    d.since = 18;
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_mish(c); };
    reg.add(std::move(d));
  }
  for (bool inf : {false, true}) {
    OpDef d;
    d.op_type = inf ? "IsInf" : "IsNaN";
    d.since = inf ? 10 : 9;
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.detect_negative = p.get_int("detect_negative", 1) != 0;
      a.detect_positive = p.get_int("detect_positive", 1) != 0;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return one(TensorInfo(DataType::Bool, c.in(0).shape)); };
    d.run = typed_run<MathAttrs>([inf](const MathAttrs& a, RunContext& c) { run_isnan_isinf(a, c, inf); });
    reg.add(std::move(d));
  }
  {
    // Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13, one axis (-1).
    OpDef d;
    d.op_type = "Hardmax";
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.legacy_2d = p.opset() < 13;
      a.axis = p.get_int("axis", a.legacy_2d ? 1 : -1);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<MathAttrs>(run_hardmax);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
