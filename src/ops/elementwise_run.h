// run() steps of the elementwise family (elementwise.cpp wires them into the registry). One
// function serves every op of a kind; which op it computes is an enum resolved when the model is
// loaded (from the registry entry or the node's parsed attributes), so a run compares no strings.
#pragma once

#include <optional>

#include "ops/registry.h"

namespace qm::ops::detail {

/// The ops of run_unary (no attributes; one registry entry each).
enum class UnaryKind {
  Neg, Abs, Floor, Ceil, Round, Sqrt, Reciprocal, Relu, Exp, Log, Sign, Not, Erf, Tanh, Sigmoid,
  HardSwish, Softplus, Softsign, Sin, Cos
};

/// The ops of run_activation; Gelu is GeluErf or GeluTanh by its `approximate` attribute.
enum class ActivationKind { LeakyRelu, Elu, Celu, Selu, HardSigmoid, ThresholdedRelu, GeluErf, GeluTanh };

/// The ops of run_binary: arithmetic, then the predicates (bool output) from Equal on.
enum class BinaryKind {
  Add, Sub, Mul, Div, Pow, Mod, Max, Min, Sum, Mean,
  Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor
};

/// True for the ops with a bool output (comparisons and logic).
inline bool is_predicate(BinaryKind k) { return k >= BinaryKind::Equal; }

void run_unary(RunContext& c, UnaryKind k);
/// alpha/beta/gamma as in the ONNX spec of each activation.
void run_activation(RunContext& c, ActivationKind k, float alpha, float beta, float gamma);
/// Add ... Xor, Max/Min/Sum/Mean (variadic). legacy: opset < 7 broadcast=1 (B aligned at axis).
void run_binary(RunContext& c, BinaryKind k, bool legacy, int64_t axis, bool fmod);
void run_where(RunContext& c);
/// Clip: bounds from the attributes (opset < 11) or inputs 1 and 2.
void run_clip(RunContext& c, std::optional<float> lo, std::optional<float> hi);
void run_prelu(RunContext& c);
/// Cast (and CastLike with to = input 1's type).
void run_cast(RunContext& c, DataType to);
/// Identity and Dropout (inference: identity; the optional mask is all ones; a Dropout in
/// training mode is refused).
void run_identity(RunContext& c, bool dropout);

/// Casts `x` to `to` (float/double/integer/bool), as ONNX Cast does.
Tensor cast_tensor(const RunContext& c, const Tensor& x, DataType to);

}  // namespace qm::ops::detail
