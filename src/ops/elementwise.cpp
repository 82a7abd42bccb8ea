// Elementwise ops: unary math and activations, numpy-broadcasting binary and variadic ops,
// comparisons and logic, Where, Clip, PRelu, Cast, Identity, Dropout.
// Integer contents are folded through the ops that torch's shape arithmetic uses (Add, Sub, Mul,
// Div, Mod, Max, Min, Equal, Less, Greater, Not, Where, Cast, Neg, Abs, Identity); small float
// contents are folded too (Resize scale computations: Cast -> Mul -> Floor).
#include <climits>
#include <cmath>
#include <cctype>
#include <cstring>

#include "core/error.h"
#include "ops/elementwise_run.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

// ---------------------------------------------------------------------------------------------
// Unary ops

/// Parameters of the parametrised activations (alpha/beta/gamma as in the ONNX spec).
struct ActivationAttrs : OpAttrs {
  float alpha = 0.0f;
  float beta = 0.0f;
  float gamma = 0.0f;
  ActivationKind kind = ActivationKind::LeakyRelu;  ///< Gelu: GeluErf or GeluTanh by `approximate`
};

struct UnaryOp {
  const char* name;
  UnaryKind kind;
  int since;
  double (*fold_float)(double);   ///< nullptr: float contents are not folded
  int64_t (*fold_int)(int64_t);   ///< nullptr: integer contents are not folded
  bool bool_output;
};

double f_neg(double x) { return -x; }
double f_abs(double x) { return std::fabs(x); }
double f_floor(double x) { return std::floor(x); }
double f_ceil(double x) { return std::ceil(x); }
double f_round(double x) { return std::nearbyint(x); }  // ONNX Round: half to even
double f_sqrt(double x) { return std::sqrt(x); }
double f_recip(double x) { return 1.0 / x; }
double f_relu(double x) { return x > 0 ? x : 0.0; }
double f_exp(double x) { return std::exp(x); }
double f_log(double x) { return std::log(x); }
double f_sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
int64_t i_neg(int64_t x) { return x == INT64_MIN ? x : -x; }  // wraps, as two's complement
int64_t i_abs(int64_t x) { return x < 0 ? i_neg(x) : x; }
int64_t i_relu(int64_t x) { return x > 0 ? x : 0; }
int64_t i_not(int64_t x) { return x == 0 ? 1 : 0; }
int64_t i_sign(int64_t x) { return x > 0 ? 1 : (x < 0 ? -1 : 0); }

const UnaryOp kUnaryOps[] = {
    {"Neg", UnaryKind::Neg, 1, f_neg, i_neg, false},
    {"Abs", UnaryKind::Abs, 1, f_abs, i_abs, false},
    {"Floor", UnaryKind::Floor, 1, f_floor, nullptr, false},
    {"Ceil", UnaryKind::Ceil, 1, f_ceil, nullptr, false},
    {"Round", UnaryKind::Round, 11, f_round, nullptr, false},
    {"Sqrt", UnaryKind::Sqrt, 1, f_sqrt, nullptr, false},
    {"Reciprocal", UnaryKind::Reciprocal, 1, f_recip, nullptr, false},
    {"Relu", UnaryKind::Relu, 1, f_relu, i_relu, false},
    {"Exp", UnaryKind::Exp, 1, f_exp, nullptr, false},
    {"Log", UnaryKind::Log, 1, f_log, nullptr, false},
    {"Sign", UnaryKind::Sign, 9, f_sign, i_sign, false},
    {"Not", UnaryKind::Not, 1, nullptr, i_not, true},
    {"Erf", UnaryKind::Erf, 9, nullptr, nullptr, false},
    {"Tanh", UnaryKind::Tanh, 1, nullptr, nullptr, false},
    {"Sigmoid", UnaryKind::Sigmoid, 1, nullptr, nullptr, false},
    {"HardSwish", UnaryKind::HardSwish, 14, nullptr, nullptr, false},
    {"Softplus", UnaryKind::Softplus, 1, nullptr, nullptr, false},
    {"Softsign", UnaryKind::Softsign, 1, nullptr, nullptr, false},
    {"Sin", UnaryKind::Sin, 7, nullptr, nullptr, false},
    {"Cos", UnaryKind::Cos, 7, nullptr, nullptr, false},
};

std::vector<TensorInfo> infer_unary(const UnaryOp& op, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  TensorInfo out(op.bool_output ? DataType::Bool : x.dtype, x.shape);
  if (x.ints && op.fold_int) {
    Dims v;
    for (const Dim& d : *x.ints) v.push_back(d.known() ? Dim(op.fold_int(*d.value)) : Dim());
    set_ints(out, std::move(v));
  } else if (x.floats && op.fold_float) {
    std::vector<double> v;
    for (double d : *x.floats) v.push_back(op.fold_float(d));
    set_floats(out, std::move(v));
  }
  return one(std::move(out));
}

void add_unary(OpRegistry& reg, const UnaryOp& op) {
  OpDef d;
  d.op_type = op.name;
  d.since = op.since;
  d.infer = [&op](const OpAttrs*, const InferContext& c) { return infer_unary(op, c); };
  d.run = [k = op.kind](const OpAttrs*, RunContext& c) { run_unary(c, k); };
  reg.add(std::move(d));
}

/// Activations whose attributes only scale values: shape and dtype pass through. `parse` reads
/// the attributes into attrs whose kind is preset to `kind`.
void add_activation(OpRegistry& reg, const char* name, int since, ActivationKind kind,
                    std::function<void(const ParseContext&, ActivationAttrs&)> parse) {
  OpDef d;
  d.op_type = name;
  d.since = since;
  d.parse = typed_parse<ActivationAttrs>([kind, parse = std::move(parse)](const ParseContext& p) {
    ActivationAttrs a;
    a.kind = kind;
    parse(p, a);
    return a;
  });
  d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
  d.run = typed_run<ActivationAttrs>([](const ActivationAttrs& a, RunContext& c) {
    run_activation(c, a.kind, a.alpha, a.beta, a.gamma);
  });
  reg.add(std::move(d));
}

// ---------------------------------------------------------------------------------------------
// Binary and variadic ops

struct BinaryAttrs : OpAttrs {
  BinaryKind kind = BinaryKind::Add;
  bool legacy_broadcast = false;  ///< opset < 7: B broadcast onto A from `axis`, output is A
  int64_t axis = 0;
  bool fmod = false;              ///< Mod
};

int64_t floor_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/// Folds one element of integer contents; symbols survive identities such as x*1 and x+0.
Dim fold_int(BinaryKind k, const Dim& a, const Dim& b, bool fmod) {
  if (a.known() && b.known()) {
    const int64_t x = *a.value, y = *b.value;
    switch (k) {
      case BinaryKind::Add: case BinaryKind::Sum: {
        auto r = checked_add(x, y);
        return r ? Dim(*r) : Dim();
      }
      case BinaryKind::Sub: {
        int64_t r;
        return __builtin_sub_overflow(x, y, &r) ? Dim() : Dim(r);
      }
      case BinaryKind::Mul: {
        auto r = checked_mul(x, y);
        return r ? Dim(*r) : Dim();
      }
      // C++ truncation, as ONNX Runtime; INT64_MIN / -1 overflows.
      case BinaryKind::Div: return y == 0 || (y == -1 && x == INT64_MIN) ? Dim() : Dim(x / y);
      case BinaryKind::Mod:
        return y == 0 || (y == -1 && x == INT64_MIN) ? Dim() : Dim(fmod ? x % y : floor_mod(x, y));
      case BinaryKind::Max: return std::max(x, y);
      case BinaryKind::Min: return std::min(x, y);
      case BinaryKind::Mean: {
        auto r = checked_add(x, y);
        return r ? Dim(*r / 2) : Dim();
      }
      case BinaryKind::Pow: {
        if (y < 0 || y > 62) return Dim();
        std::optional<int64_t> r = 1;
        for (int64_t i = 0; i < y && r; ++i) r = checked_mul(*r, x);
        return r ? Dim(*r) : Dim();
      }
      case BinaryKind::Equal: return int64_t{x == y};
      case BinaryKind::Less: return int64_t{x < y};
      case BinaryKind::Greater: return int64_t{x > y};
      case BinaryKind::LessOrEqual: return int64_t{x <= y};
      case BinaryKind::GreaterOrEqual: return int64_t{x >= y};
      case BinaryKind::And: return int64_t{x && y};
      case BinaryKind::Or: return int64_t{x || y};
      case BinaryKind::Xor: return int64_t{(x != 0) != (y != 0)};
    }
  }
  switch (k) {
    case BinaryKind::Add: case BinaryKind::Sum:
      if (a.is(0)) return b;
      if (b.is(0)) return a;
      break;
    case BinaryKind::Sub:
      if (b.is(0)) return a;
      if (a.same(b)) return int64_t{0};
      break;
    case BinaryKind::Mul:
      if (a.is(1)) return b;
      if (b.is(1)) return a;
      if (a.is(0) || b.is(0)) return int64_t{0};
      break;
    case BinaryKind::Div:
      if (b.is(1)) return a;
      if (a.same(b)) return int64_t{1};
      break;
    case BinaryKind::Max: case BinaryKind::Min: case BinaryKind::Mean:
      if (a.same(b)) return a;
      break;
    case BinaryKind::Equal: case BinaryKind::LessOrEqual: case BinaryKind::GreaterOrEqual:
      if (a.same(b)) return int64_t{1};
      break;
    case BinaryKind::Less: case BinaryKind::Greater:
      if (a.same(b)) return int64_t{0};
      break;
    default: break;
  }
  return Dim();
}

double fold_float(BinaryKind k, double x, double y, bool fmod) {
  switch (k) {
    case BinaryKind::Add: case BinaryKind::Sum: return x + y;
    case BinaryKind::Sub: return x - y;
    case BinaryKind::Mul: return x * y;
    case BinaryKind::Div: return x / y;
    case BinaryKind::Pow: return std::pow(x, y);
    case BinaryKind::Mod: return fmod ? std::fmod(x, y) : x - std::floor(x / y) * y;
    case BinaryKind::Max: return std::max(x, y);
    case BinaryKind::Min: return std::min(x, y);
    case BinaryKind::Mean: return (x + y) / 2;
    case BinaryKind::Equal: return x == y;
    case BinaryKind::Less: return x < y;
    case BinaryKind::Greater: return x > y;
    case BinaryKind::LessOrEqual: return x <= y;
    case BinaryKind::GreaterOrEqual: return x >= y;
    case BinaryKind::And: return x != 0 && y != 0;
    case BinaryKind::Or: return x != 0 || y != 0;
    case BinaryKind::Xor: return (x != 0) != (y != 0);
  }
  return 0;
}

/// Folds the contents of a (broadcasting) elementwise op of two tracked tensors into `out`.
void fold_binary(BinaryKind k, bool fmod, const TensorInfo& a, const TensorInfo& b, TensorInfo& out) {
  auto sa = a.static_shape(), sb = b.static_shape(), so = out.static_shape();
  if (!sa || !sb || !so) return;
  auto n = out.num_elements();
  if (!n || *n > static_cast<int64_t>(kMaxFoldElements)) return;
  const std::vector<size_t> ia = broadcast_indices(*sa, *so), ib = broadcast_indices(*sb, *so);
  const bool int_out = tracks_ints(out.dtype);
  if (a.ints && b.ints && int_out) {
    Dims v;
    for (size_t i = 0; i < ia.size(); ++i) v.push_back(fold_int(k, (*a.ints)[ia[i]], (*b.ints)[ib[i]], fmod));
    set_ints(out, std::move(v));
    return;
  }
  auto na = known_numbers(&a), nb = known_numbers(&b);
  if (!na || !nb) return;
  std::vector<double> v;
  for (size_t i = 0; i < ia.size(); ++i) v.push_back(fold_float(k, (*na)[ia[i]], (*nb)[ib[i]], fmod));
  if (int_out) {
    Dims d;
    // An integer result folded in doubles (Pow of an int64 base with a float exponent: 10^100)
    // may leave int64: INT64_MIN, as the run's trunc_to_int64 (a plain cast is undefined).
    for (double x : v) d.push_back(trunc_to_int64(x));
    set_ints(out, std::move(d));
  } else {
    set_floats(out, std::move(v));
  }
}

std::vector<TensorInfo> infer_binary(const BinaryAttrs& a, const InferContext& c) {
  DataType dtype = DataType::Undefined;
  for (size_t i = 0; i < c.num_inputs() && dtype == DataType::Undefined; ++i) dtype = c.in(i).dtype;
  if (is_predicate(a.kind)) dtype = DataType::Bool;
  if (a.legacy_broadcast) return one(TensorInfo(dtype, c.in(0).shape));

  std::optional<Dims> shape = c.in(0).shape;
  for (size_t i = 1; i < c.num_inputs() && shape; ++i) {
    const TensorInfo& x = c.in(i);
    if (!x.shape) { shape.reset(); break; }
    auto b = broadcast_dims(*shape, *x.shape);
    if (!b)
      c.fail("input shapes " + dims_to_string(*shape) + " and " + x.shape_string() +
             " cannot be broadcast");
    shape = std::move(b);
  }
  TensorInfo out(dtype, shape);
  if (c.num_inputs() == 1) {
    out.ints = c.in(0).ints;
    out.floats = c.in(0).floats;
  } else if (shape) {
    // Fold left to right; Mean is only folded for two inputs (pairwise averaging is not a mean).
    if (a.kind == BinaryKind::Mean && c.num_inputs() != 2) return one(std::move(out));
    TensorInfo acc = c.in(0);
    for (size_t i = 1; i < c.num_inputs(); ++i) {
      auto bs = broadcast_dims(acc.shape.value_or(Dims{}), c.in(i).shape.value_or(Dims{}));
      TensorInfo step(is_predicate(a.kind) ? DataType::Bool : dtype, bs);
      if (acc.shape && c.in(i).shape) fold_binary(a.kind, a.fmod, acc, c.in(i), step);
      acc = std::move(step);
    }
    out.ints = acc.ints;
    out.floats = acc.floats;
  }
  return one(std::move(out));
}

void add_binary(OpRegistry& reg, const char* name, BinaryKind kind, int since, bool variadic,
                int legacy_until) {
  OpDef d;
  d.op_type = name;
  d.since = since;
  d.min_inputs = variadic ? 1 : 2;
  d.max_inputs = variadic ? kVariadic : 2;
  d.parse = typed_parse<BinaryAttrs>([kind, legacy_until](const ParseContext& p) {
    BinaryAttrs a;
    a.kind = kind;
    a.fmod = p.get_int("fmod", 0) != 0;
    if (p.opset() <= legacy_until) {
      a.legacy_broadcast = p.get_int("broadcast", 0) != 0;
      a.axis = p.get_int("axis", 0);
    }
    return a;
  });
  d.infer = typed_infer<BinaryAttrs>(infer_binary);
  d.run = typed_run<BinaryAttrs>([](const BinaryAttrs& a, RunContext& c) {
    run_binary(c, a.kind, a.legacy_broadcast, a.axis, a.fmod);
  });
  reg.add(std::move(d));
}

// ---------------------------------------------------------------------------------------------
// Where, Clip, PRelu, Cast, Identity, Dropout

std::vector<TensorInfo> infer_where(const InferContext& c) {
  const TensorInfo &cond = c.in(0), &x = c.in(1), &y = c.in(2);
  std::optional<Dims> shape;
  if (cond.shape && x.shape && y.shape) {
    auto s = broadcast_dims(*cond.shape, *x.shape);
    if (s) s = broadcast_dims(*s, *y.shape);
    if (!s)
      c.fail("shapes " + cond.shape_string() + ", " + x.shape_string() + " and " +
             y.shape_string() + " cannot be broadcast");
    shape = std::move(s);
  }
  TensorInfo out(x.dtype != DataType::Undefined ? x.dtype : y.dtype, shape);
  auto so = out.static_shape();
  auto sc = cond.static_shape(), sx = x.static_shape(), sy = y.static_shape();
  auto n = out.num_elements();
  if (so && sc && sx && sy && cond.ints && n && *n <= static_cast<int64_t>(kMaxFoldElements)) {
    auto ic = broadcast_indices(*sc, *so), ix = broadcast_indices(*sx, *so),
         iy = broadcast_indices(*sy, *so);
    if (x.ints && y.ints) {
      Dims v;
      for (size_t i = 0; i < ic.size(); ++i) {
        const Dim& k = (*cond.ints)[ic[i]];
        v.push_back(!k.known() ? Dim() : (*k.value ? (*x.ints)[ix[i]] : (*y.ints)[iy[i]]));
      }
      set_ints(out, std::move(v));
    } else if (x.floats && y.floats && cond.known_ints()) {
      std::vector<double> v;
      for (size_t i = 0; i < ic.size(); ++i)
        v.push_back(*(*cond.ints)[ic[i]].value ? (*x.floats)[ix[i]] : (*y.floats)[iy[i]]);
      set_floats(out, std::move(v));
    }
  }
  return one(std::move(out));
}

struct ClipAttrs : OpAttrs {
  std::optional<float> min, max;  ///< opset < 11 attributes; later they are inputs
};

std::vector<TensorInfo> infer_clip(const ClipAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  TensorInfo out(x.dtype, x.shape);
  std::optional<double> lo = a.min, hi = a.max;
  auto scalar = [](const TensorInfo* t) -> std::optional<double> {
    auto v = known_numbers(t);
    if (!v || v->size() != 1) return std::nullopt;
    return (*v)[0];
  };
  const bool lo_ok = !c.input(1) || (lo = scalar(c.input(1)));
  const bool hi_ok = !c.input(2) || (hi = scalar(c.input(2)));
  if (lo_ok && hi_ok) {
    auto clamp = [&](double v) {
      if (lo && v < *lo) v = *lo;
      if (hi && v > *hi) v = *hi;
      return v;
    };
    if (x.floats) {
      std::vector<double> v;
      for (double d : *x.floats) v.push_back(clamp(d));
      set_floats(out, std::move(v));
    } else if (x.ints) {
      Dims v;
      for (const Dim& d : *x.ints)
        v.push_back(d.known() ? Dim(static_cast<int64_t>(clamp(static_cast<double>(*d.value)))) : Dim());
      set_ints(out, std::move(v));
    }
  }
  return one(std::move(out));
}

std::vector<TensorInfo> infer_prelu(const InferContext& c) {
  const TensorInfo &x = c.in(0), &slope = c.in(1);
  if (c.opset() >= 7 && x.shape && slope.shape) {
    auto b = broadcast_dims(*x.shape, *slope.shape);
    if (!b || b->size() != x.rank())
      c.fail("slope shape " + slope.shape_string() + " does not broadcast to input shape " +
             x.shape_string());
  }
  return same_as_input(c);
}

struct CastAttrs : OpAttrs {
  DataType to = DataType::Undefined;
};

std::vector<TensorInfo> cast_info(const TensorInfo& x, DataType to) {
  TensorInfo out(to, x.shape);
  if (tracks_ints(to)) {
    if (x.ints) {
      Dims v;
      for (const Dim& d : *x.ints) {
        if (d.known()) v.push_back(wrap_to_dtype(*d.value, to));
        else if (to == DataType::Int64 || to == DataType::Int32) v.push_back(d);  // sizes fit
        else v.push_back(Dim());
      }
      set_ints(out, std::move(v));
    } else if (x.floats) {
      Dims v;
      for (double d : *x.floats) {
        if (!std::isfinite(d) || std::fabs(d) > 9.2e18) v.push_back(Dim());
        else v.push_back(wrap_to_dtype(static_cast<int64_t>(d), to));
      }
      set_ints(out, std::move(v));
    }
  } else if (dtype_is_float(to)) {
    if (auto v = known_numbers(&x)) set_floats(out, *v);
  }
  return one(std::move(out));
}

std::vector<TensorInfo> infer_identity(const InferContext& c) {
  std::vector<TensorInfo> v;
  v.push_back(c.in(0));
  return v;
}

struct DropoutAttrs : OpAttrs {
  float ratio = 0.5f;
};

}  // namespace

void register_elementwise(OpRegistry& reg) {
  using namespace detail;
  for (const UnaryOp& op : kUnaryOps) add_unary(reg, op);

  add_activation(reg, "LeakyRelu", 1, ActivationKind::LeakyRelu, [](const ParseContext& p, ActivationAttrs& a) {
    a.alpha = p.get_float("alpha", 0.01f);
  });
  add_activation(reg, "Elu", 1, ActivationKind::Elu, [](const ParseContext& p, ActivationAttrs& a) {
    a.alpha = p.get_float("alpha", 1.0f);
  });
  add_activation(reg, "Celu", 12, ActivationKind::Celu, [](const ParseContext& p, ActivationAttrs& a) {
    a.alpha = p.get_float("alpha", 1.0f);
  });
  add_activation(reg, "Selu", 1, ActivationKind::Selu, [](const ParseContext& p, ActivationAttrs& a) {
    a.alpha = p.get_float("alpha", 1.67326319217681884765625f);
    a.gamma = p.get_float("gamma", 1.05070102214813232421875f);
  });
  add_activation(reg, "HardSigmoid", 1, ActivationKind::HardSigmoid, [](const ParseContext& p, ActivationAttrs& a) {
    a.alpha = p.get_float("alpha", 0.2f);
    a.beta = p.get_float("beta", 0.5f);
  });
  add_activation(reg, "ThresholdedRelu", 10, ActivationKind::ThresholdedRelu, [](const ParseContext& p, ActivationAttrs& a) {
    a.alpha = p.get_float("alpha", 1.0f);
  });
  add_activation(reg, "Gelu", 20, ActivationKind::GeluErf, [](const ParseContext& p, ActivationAttrs& a) {
    const std::string approximate = p.get_string("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
      p.fail_attr("approximate", "expected \"none\" or \"tanh\", got \"" + approximate + "\"");
    if (approximate == "tanh") a.kind = ActivationKind::GeluTanh;
  });
  {
    // ONNX Runtime's contrib Gelu (erf form), as older transformer exports use.
    OpDef d;
    d.domain = "com.microsoft";
    d.op_type = "Gelu";
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_activation(c, ActivationKind::GeluErf, 0, 0, 0); };
    reg.add(std::move(d));
  }

  // Opsets 1-6 of the arithmetic and comparison ops broadcast "legacy" style (attribute
  // `broadcast`, B aligned at `axis`); from opset 7 they follow numpy.
  add_binary(reg, "Add", BinaryKind::Add, 1, false, 6);
  add_binary(reg, "Sub", BinaryKind::Sub, 1, false, 6);
  add_binary(reg, "Mul", BinaryKind::Mul, 1, false, 6);
  add_binary(reg, "Div", BinaryKind::Div, 1, false, 6);
  add_binary(reg, "Pow", BinaryKind::Pow, 1, false, 6);
  add_binary(reg, "Mod", BinaryKind::Mod, 10, false, 0);
  add_binary(reg, "Equal", BinaryKind::Equal, 1, false, 6);
  add_binary(reg, "Less", BinaryKind::Less, 1, false, 6);
  add_binary(reg, "Greater", BinaryKind::Greater, 1, false, 6);
  add_binary(reg, "LessOrEqual", BinaryKind::LessOrEqual, 12, false, 0);
  add_binary(reg, "GreaterOrEqual", BinaryKind::GreaterOrEqual, 12, false, 0);
  add_binary(reg, "And", BinaryKind::And, 1, false, 6);
  add_binary(reg, "Or", BinaryKind::Or, 1, false, 6);
  add_binary(reg, "Xor", BinaryKind::Xor, 1, false, 6);
  add_binary(reg, "Max", BinaryKind::Max, 1, true, 0);
  add_binary(reg, "Min", BinaryKind::Min, 1, true, 0);
  add_binary(reg, "Sum", BinaryKind::Sum, 1, true, 0);
  add_binary(reg, "Mean", BinaryKind::Mean, 1, true, 0);

  {
    OpDef d;
    d.op_type = "Where";
    d.since = 9;
    d.min_inputs = d.max_inputs = 3;
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_where(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_where(c); };
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Clip";
    d.until = 10;
    d.parse = typed_parse<ClipAttrs>([](const ParseContext& p) {
      ClipAttrs a;
      if (p.has("min")) a.min = p.get_float("min", 0.0f);
      if (p.has("max")) a.max = p.get_float("max", 0.0f);
      return a;
    });
    d.infer = typed_infer<ClipAttrs>(infer_clip);
    d.run = typed_run<ClipAttrs>([](const ClipAttrs& a, RunContext& c) { run_clip(c, a.min, a.max); });
    reg.add(d);
    d.since = 11;
    d.until = kLatestOpset;
    d.max_inputs = 3;
    d.parse = typed_parse<ClipAttrs>([](const ParseContext&) { return ClipAttrs(); });
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "PRelu";
    d.min_inputs = d.max_inputs = 2;
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_prelu(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_prelu(c); };
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Cast";
    d.parse = typed_parse<CastAttrs>([](const ParseContext& p) {
      CastAttrs a;
      if (p.opset() < 6) {
        // Cast-1 names the type as a string ("FLOAT").
        std::string s = p.get_string("to", "");
        for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (s.empty()) p.fail_attr("to", "missing required attribute (expected a type name)");
        auto t = dtype_from_name(s);
        if (!t) p.fail_attr("to", "unknown type name '" + s + "'");
        a.to = *t;
      } else {
        const int64_t to = p.require_int("to");
        if (!dtype_is_known(static_cast<int32_t>(to)))
          p.fail_attr("to", "unknown data type " + std::to_string(to));
        a.to = static_cast<DataType>(to);
      }
      return a;
    });
    d.infer = typed_infer<CastAttrs>([](const CastAttrs& a, const InferContext& c) {
      return cast_info(c.in(0), a.to);
    });
    d.run = typed_run<CastAttrs>([](const CastAttrs& a, RunContext& c) { run_cast(c, a.to); });
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "CastLike";
    d.since = 15;
    d.min_inputs = d.max_inputs = 2;
    d.infer = [](const OpAttrs*, const InferContext& c) { return cast_info(c.in(0), c.in(1).dtype); };
    d.run = [](const OpAttrs*, RunContext& c) { run_cast(c, c.in(1).dtype()); };
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Identity";
    d.infer = [](const OpAttrs*, const InferContext& c) { return infer_identity(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_identity(c, false); };
    reg.add(std::move(d));
  }
  {
    // Dropout is the identity at inference; the optional mask has the input's shape
    // (bool from opset 10, the input's type before).
    OpDef d;
    d.op_type = "Dropout";
    d.max_outputs = 2;
    d.until = 11;
    d.parse = typed_parse<DropoutAttrs>([](const ParseContext& p) {
      DropoutAttrs a;
      a.ratio = p.get_float("ratio", 0.5f);
      return a;
    });
    auto infer = [](const OpAttrs*, const InferContext& c) {
      std::vector<TensorInfo> out;
      out.push_back(c.in(0));
      if (c.num_outputs() > 1)
        out.emplace_back(c.opset() >= 10 ? DataType::Bool : c.in(0).dtype, c.in(0).shape);
      return out;
    };
    d.infer = infer;
    d.run = [](const OpAttrs*, RunContext& c) { run_identity(c, true); };
    reg.add(d);
    d.since = 12;
    d.until = kLatestOpset;
    d.max_inputs = 3;
    d.parse = nullptr;
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
