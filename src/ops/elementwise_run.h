// run() steps of the elementwise family (elementwise.cpp wires them into the registry). They
// switch on ctx.op_type(), so one function serves every op of a kind.
#pragma once

#include <optional>

#include "ops/registry.h"

namespace qm::ops::detail {

/// Neg, Abs, Floor, Ceil, Round, Sqrt, Reciprocal, Relu, Exp, Log, Sign, Not, Erf, Tanh,
/// Sigmoid, HardSwish, Softplus, Softsign, Sin, Cos.
void run_unary(RunContext& c);
/// LeakyRelu, Elu, Celu, Selu, HardSigmoid, ThresholdedRelu, Gelu (tanh_approx for
/// approximate="tanh").
void run_activation(RunContext& c, float alpha, float beta, float gamma, bool tanh_approx);
/// Add ... Xor, Max/Min/Sum/Mean (variadic). legacy: opset < 7 broadcast=1 (B aligned at axis).
void run_binary(RunContext& c, bool legacy, int64_t axis, bool fmod);
void run_where(RunContext& c);
/// Clip: bounds from the attributes (opset < 11) or inputs 1 and 2.
void run_clip(RunContext& c, std::optional<float> lo, std::optional<float> hi);
void run_prelu(RunContext& c);
/// Cast (and CastLike with to = input 1's type).
void run_cast(RunContext& c, DataType to);
/// Identity and Dropout (inference: identity; the optional mask is all ones).
void run_identity(RunContext& c);

/// Casts `x` to `to` (float/double/integer/bool), as ONNX Cast does.
Tensor cast_tensor(const RunContext& c, const Tensor& x, DataType to);

}  // namespace qm::ops::detail
