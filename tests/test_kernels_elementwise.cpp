// Element-wise kernels (SIMD and scalar reference) against double-precision std:: math.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/ref/elementwise.h"
#include "test_kernels_util.h"

namespace qm::kernels {
namespace {

using test::Rng;

constexpr float kInf = std::numeric_limits<float>::infinity();
// Vectorised transcendental functions vs the double-precision oracle (relative).
constexpr double kMathRelTol = 1e-6;
// Below this magnitude results are compared absolutely (e.g. erf and tanh tiny, exp underflow).
constexpr double kMathAbsTol = 1e-37;
// Composite activations whose formula cancels (1 + erf(x) for x << 0, e^x - 1 near 0): absolute.
constexpr double kActivationAbsTol = 2e-7;
constexpr double kActivationRelTol = 2e-6;
// Float pow (glibc) against the double pow rounded to float.
constexpr double kPowRelTol = 3e-7;

struct OpCase {
  UnaryOp op;
  UnaryParams params;
  float lo, hi;  // input range for random tests
  double abs_tol, rel_tol;
};

double oracle(UnaryOp op, double x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::Relu: return x > 0 ? x : 0.0;
    case UnaryOp::LeakyRelu: return x >= 0 ? x : double(p.alpha) * x;
    case UnaryOp::Clip: return std::fmin(std::fmax(x, p.alpha), p.beta);
    case UnaryOp::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Erf: return std::erf(x);
    case UnaryOp::GeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::GeluTanh:
      return 0.5 * x * (1.0 + std::tanh(0.797884560802865355879892 * (x + 0.044715 * x * x * x)));
    case UnaryOp::HardSigmoid: return std::fmax(0.0, std::fmin(1.0, p.alpha * x + p.beta));
    case UnaryOp::HardSwish: return x * std::fmax(0.0, std::fmin(1.0, x / 6.0 + 0.5));
    case UnaryOp::Elu: return x > 0 ? x : p.alpha * std::expm1(x);
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Reciprocal: return 1.0 / x;
    case UnaryOp::kCount: break;
  }
  return x;
}

std::vector<OpCase> op_cases() {
  const double exact = 0.0;
  return {
      {UnaryOp::Relu, {}, -2, 2, exact, exact},
      {UnaryOp::LeakyRelu, {0.01f, 0}, -2, 2, exact, exact},
      {UnaryOp::Clip, {-0.5f, 0.75f}, -2, 2, exact, exact},
      {UnaryOp::Sigmoid, {}, -30, 30, kMathAbsTol, kMathRelTol},
      {UnaryOp::Tanh, {}, -10, 10, kMathAbsTol, kMathRelTol},
      {UnaryOp::Exp, {}, -87, 88, kMathAbsTol, kMathRelTol},
      {UnaryOp::Log, {}, 1e-6f, 1e6f, kMathAbsTol, kMathRelTol},
      {UnaryOp::Erf, {}, -5, 5, kMathAbsTol, kMathRelTol},
      {UnaryOp::GeluErf, {}, -8, 8, kActivationAbsTol, kActivationRelTol},
      {UnaryOp::GeluTanh, {}, -8, 8, kActivationAbsTol, kActivationRelTol},
      {UnaryOp::HardSigmoid, {0.2f, 0.5f}, -4, 4, kActivationAbsTol, kActivationRelTol},
      {UnaryOp::HardSwish, {}, -4, 4, kActivationAbsTol, kActivationRelTol},
      {UnaryOp::Elu, {1.0f, 0}, -5, 5, kActivationAbsTol, kActivationRelTol},
      {UnaryOp::Neg, {}, -2, 2, exact, exact},
      {UnaryOp::Abs, {}, -2, 2, exact, exact},
      {UnaryOp::Sqrt, {}, 0, 100, exact, exact},
      {UnaryOp::Reciprocal, {}, -10, 10, exact, exact},
  };
}

// Exact ops must equal the double result rounded to float; the others within tolerance.
bool matches(float y, double expected, double abs_tol, double rel_tol) {
  if (abs_tol == 0.0 && rel_tol == 0.0) {
    const float e = static_cast<float>(expected);
    return y == e || (std::isnan(y) && std::isnan(e));
  }
  return test::nearly_equal(y, expected, abs_tol, rel_tol);
}

void check_unary(const OpCase& c, const std::vector<float>& x, const std::vector<float>& y,
                 const char* what) {
  size_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = oracle(c.op, x[i], c.params);
    if (!matches(y[i], e, c.abs_tol, c.rel_tol) && bad++ == 0) {
      INFO(what << " " << std::string(unary_op_name(c.op)) << "(" << x[i] << ") = " << y[i] << ", expected "
                << e << " (n=" << x.size() << ", i=" << i << ")");
      CHECK(false);
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("kernels/unary: every op at edge sizes, in place, against double std:: math") {
  for (const OpCase& c : op_cases()) {
    uint64_t seed = 100 + static_cast<uint64_t>(c.op);
    for (size_t n : test::edge_sizes()) {
      INFO(std::string(unary_op_name(c.op)) << " n=" << n);
      Rng rng(seed++);
      const std::vector<float> x = rng.vector(n, c.lo, c.hi);
      std::vector<float> y(n, std::nanf("")), yr(n, std::nanf(""));
      f32_unary(c.op, x.data(), y.data(), n, c.params);
      check_unary(c, x, y, "f32_unary");
      ref::f32_unary(c.op, x.data(), yr.data(), n, c.params);
      check_unary(c, x, yr, "ref::f32_unary");
      std::vector<float> inplace = x;
      f32_unary(c.op, inplace.data(), inplace.data(), n, c.params);
      CHECK(std::memcmp(inplace.data(), y.data(), n * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("kernels/unary: accuracy sweeps over the whole useful range") {
  struct Sweep {
    UnaryOp op;
    float lo, hi;
    bool log_spaced;
  };
  const Sweep sweeps[] = {
      {UnaryOp::Exp, -103.0f, 88.7f, false}, {UnaryOp::Exp, -1e-3f, 1e-3f, false},
      {UnaryOp::Log, 1e-45f, 3e38f, true},  {UnaryOp::Log, 0.5f, 2.0f, false},
      {UnaryOp::Tanh, -12.0f, 12.0f, false}, {UnaryOp::Tanh, 1e-30f, 1.0f, true},
      {UnaryOp::Erf, -6.0f, 6.0f, false},    {UnaryOp::Erf, 1e-30f, 1.0f, true},
      {UnaryOp::Sigmoid, -88.0f, 88.0f, false},
  };
  const size_t n = 100003;
  for (const Sweep& s : sweeps) {
    std::vector<float> x(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      const double t = double(i) / double(n - 1);
      x[i] = s.log_spaced ? float(s.lo * std::pow(double(s.hi) / s.lo, t))
                          : float(s.lo + (double(s.hi) - s.lo) * t);
    }
    f32_unary(s.op, x.data(), y.data(), n);
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < n; ++i) {
      const double e = oracle(s.op, x[i], {});
      if (std::fabs(e) < kMathAbsTol) {
        CHECK(std::fabs(y[i] - e) <= kMathAbsTol);
        continue;
      }
      const double rel = std::fabs(y[i] - e) / std::fabs(e);
      if (rel > worst) {
        worst = rel;
        worst_x = x[i];
      }
    }
    INFO(std::string(unary_op_name(s.op)) << " on [" << s.lo << ", " << s.hi << "]: max rel error " << worst
                             << " at x = " << worst_x);
    CHECK(worst <= kMathRelTol);
  }
}

TEST_CASE("kernels/unary: special values") {
  const float nan = std::nanf("");
  struct Special {
    UnaryOp op;
    float x, expected;
  };
  const Special specials[] = {
      {UnaryOp::Exp, kInf, kInf},        {UnaryOp::Exp, -kInf, 0.0f},
      {UnaryOp::Exp, 89.0f, kInf},       {UnaryOp::Exp, -104.0f, 0.0f},
      {UnaryOp::Exp, 0.0f, 1.0f},        {UnaryOp::Exp, nan, nan},
      {UnaryOp::Log, 0.0f, -kInf},       {UnaryOp::Log, -1.0f, nan},
      {UnaryOp::Log, kInf, kInf},        {UnaryOp::Log, 1.0f, 0.0f},
      {UnaryOp::Log, nan, nan},          {UnaryOp::Tanh, kInf, 1.0f},
      {UnaryOp::Tanh, -kInf, -1.0f},     {UnaryOp::Tanh, nan, nan},
      {UnaryOp::Erf, kInf, 1.0f},        {UnaryOp::Erf, -kInf, -1.0f},
      {UnaryOp::Erf, 0.0f, 0.0f},        {UnaryOp::Erf, nan, nan},
      {UnaryOp::Sigmoid, kInf, 1.0f},    {UnaryOp::Sigmoid, -kInf, 0.0f},
      {UnaryOp::Sigmoid, 0.0f, 0.5f},    {UnaryOp::Relu, nan, 0.0f},
      {UnaryOp::Relu, -0.0f, 0.0f},      {UnaryOp::Sqrt, -1.0f, nan},
      {UnaryOp::Reciprocal, 0.0f, kInf}, {UnaryOp::GeluErf, -kInf, nan},  // -inf * 0, as ORT
      {UnaryOp::HardSwish, -3.0f, 0.0f}, {UnaryOp::HardSwish, 3.0f, 3.0f},
  };
  for (const Special& s : specials) {
    float y = 123.0f;
    f32_unary(s.op, &s.x, &y, 1);
    INFO(std::string(unary_op_name(s.op)) << "(" << s.x << ") = " << y << ", expected " << s.expected);
    if (std::isnan(s.expected)) {
      CHECK(std::isnan(y));
    } else {
      CHECK(y == s.expected);
    }
  }
  // Denormal results and inputs.
  const float tiny_in[] = {-100.0f, 1e-40f, 1e-40f};
  const UnaryOp tiny_ops[] = {UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh};
  for (int i = 0; i < 3; ++i) {
    float y = 0.0f;
    f32_unary(tiny_ops[i], &tiny_in[i], &y, 1);
    const double e = oracle(tiny_ops[i], tiny_in[i], {});
    INFO(std::string(unary_op_name(tiny_ops[i])) << "(" << tiny_in[i] << ") = " << y << " vs " << e);
    CHECK(std::fabs(y - e) <= std::fmax(1e-6 * std::fabs(e), 1.5e-45));
  }
}

TEST_CASE("kernels/binary: same-length, scalar lhs/rhs, in place, against double arithmetic") {
  for (int o = 0; o < static_cast<int>(BinaryOp::kCount); ++o) {
    const BinaryOp op = static_cast<BinaryOp>(o);
    const bool pow = op == BinaryOp::Pow;
    uint64_t seed = 300 + o * 10;
    for (size_t n : test::edge_sizes()) {
      INFO(std::string(binary_op_name(op)) << " n=" << n);
      Rng rng(seed++);
      // Pow: positive bases; Div: divisors away from 0.
      std::vector<float> a = rng.vector(n, pow ? 0.1f : -4.0f, 4.0f);
      std::vector<float> b = rng.vector(n, pow ? -3.0f : 0.25f, 3.0f);
      const float sa = pow ? 1.7f : -1.25f, sb = op == BinaryOp::Div ? 0.3f : 2.5f;
      auto expect = [&](float x, float y) {
        const double r = pow ? std::pow(double(x), double(y)) : [&] {
          switch (op) {
            case BinaryOp::Add: return double(x) + y;
            case BinaryOp::Sub: return double(x) - y;
            case BinaryOp::Mul: return double(x) * y;
            case BinaryOp::Div: return double(x) / y;
            case BinaryOp::Max: return x > y ? double(x) : double(y);
            default: return x < y ? double(x) : double(y);
          }
        }();
        return r;
      };
      auto check = [&](const std::vector<float>& y, auto lhs, auto rhs, const char* what) {
        size_t bad = 0;
        for (size_t i = 0; i < n; ++i) {
          const double e = expect(lhs(i), rhs(i));
          const bool ok = pow ? test::nearly_equal(y[i], e, 0.0, kPowRelTol)
                              : y[i] == static_cast<float>(e);
          if (!ok && bad++ == 0) {
            INFO(what << ": " << lhs(i) << " " << std::string(binary_op_name(op)) << " " << rhs(i) << " = "
                      << y[i] << ", expected " << e);
            CHECK(false);
          }
        }
        CHECK(bad == 0);
      };
      auto va = [&](size_t i) { return a[i]; };
      auto vb = [&](size_t i) { return b[i]; };
      auto ca = [&](size_t) { return sa; };
      auto cb = [&](size_t) { return sb; };
      std::vector<float> y(n);
      f32_binary(op, a.data(), b.data(), y.data(), n);
      check(y, va, vb, "f32_binary");
      ref::f32_binary(op, a.data(), b.data(), y.data(), n);
      check(y, va, vb, "ref::f32_binary");
      f32_binary_scalar_rhs(op, a.data(), sb, y.data(), n);
      check(y, va, cb, "f32_binary_scalar_rhs");
      ref::f32_binary_scalar_rhs(op, a.data(), sb, y.data(), n);
      check(y, va, cb, "ref::f32_binary_scalar_rhs");
      f32_binary_scalar_lhs(op, sa, b.data(), y.data(), n);
      check(y, ca, vb, "f32_binary_scalar_lhs");
      ref::f32_binary_scalar_lhs(op, sa, b.data(), y.data(), n);
      check(y, ca, vb, "ref::f32_binary_scalar_lhs");
      // In place on either operand.
      std::vector<float> expected(n), ia = a, ib = b;
      f32_binary(op, a.data(), b.data(), expected.data(), n);
      f32_binary(op, ia.data(), b.data(), ia.data(), n);
      f32_binary(op, a.data(), ib.data(), ib.data(), n);
      CHECK(ia == expected);
      CHECK(ib == expected);
      std::vector<float> sa_in = a;
      f32_binary_scalar_rhs(op, sa_in.data(), sb, sa_in.data(), n);
      f32_binary_scalar_rhs(op, a.data(), sb, expected.data(), n);
      CHECK(sa_in == expected);
    }
  }
}

TEST_CASE("kernels/binary: Pow with exponents 1, 2, 3 is an exact product, others std::pow") {
  const std::vector<float> a = {-2.5f, 0.0f, 1.1f, 3.0f, -0.75f, 7.0f};
  std::vector<float> y(a.size());
  for (float e : {1.0f, 2.0f, 3.0f, 0.5f, -1.5f}) {
    f32_binary_scalar_rhs(BinaryOp::Pow, a.data(), e, y.data(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      float expected = e == 1.0f   ? a[i]
                       : e == 2.0f ? a[i] * a[i]
                       : e == 3.0f ? a[i] * a[i] * a[i]
                                   : std::pow(a[i], e);
      INFO(a[i] << "^" << e << " = " << y[i] << ", expected " << expected);
      CHECK((y[i] == expected || (std::isnan(y[i]) && std::isnan(expected))));
    }
  }
}

TEST_CASE("kernels/elementwise: op names") {
  CHECK(std::string(unary_op_name(UnaryOp::GeluTanh)) == "GeluTanh");
  CHECK(std::string(unary_op_name(UnaryOp::Reciprocal)) == "Reciprocal");
  CHECK(std::string(binary_op_name(BinaryOp::Pow)) == "Pow");
}

}  // namespace
}  // namespace qm::kernels
