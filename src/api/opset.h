// Raising a model's opset (onnx/opset_upgrade.h) with the facts the rewrite needs from shape
// inference: `quantmix convert --opset`, and what a user can check before asking for blocked
// weight candidates (which export at opset 21).
#pragma once

#include <cstdint>

#include "onnx/model.h"

namespace qm::api {

/// Raises the default-domain opset of `model` to `target`: 10 or 21 (other values:
/// Error(InvalidArgument)). A model already at or above it is unchanged. Returns the opset the
/// model has afterwards. Errors name the node that has no form at the target opset.
int64_t raise_opset(onnx::Model& model, int64_t target);

}  // namespace qm::api
