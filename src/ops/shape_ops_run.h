// run() steps of the data-movement and shape ops (wired in shape_ops.cpp). Element-type
// agnostic: they move bytes of any supported element size.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/registry.h"

namespace qm::ops::detail {

/// Pad's `mode`, resolved when the node is loaded.
enum class PadMode { Constant, Reflect, Edge, Wrap };
/// The attribute spelling of a mode ("constant", ...), for messages.
const char* pad_mode_name(PadMode m);

/// Reshape; `attr_shape` is the opset < 5 attribute (else input 1).
void run_reshape(RunContext& c, bool allowzero, const std::vector<int64_t>* attr_shape);
void run_flatten(RunContext& c, int64_t axis);
/// Transpose; empty perm with !has_perm reverses the dims.
void run_transpose(RunContext& c, const std::vector<int64_t>& perm, bool has_perm);
/// Squeeze/Unsqueeze; axes from the attribute or (from_input) input 1.
void run_squeeze(RunContext& c, const std::vector<int64_t>& axes, bool from_input);
void run_unsqueeze(RunContext& c, const std::vector<int64_t>& axes, bool from_input);
void run_concat(RunContext& c, int64_t axis);
void run_split(RunContext& c, int64_t axis, const std::optional<std::vector<int64_t>>& split_attr);
/// Slice; opset < 10 bounds come from the attributes.
void run_slice(RunContext& c, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
               const std::vector<int64_t>& axes, bool has_axes);
void run_gather(RunContext& c, int64_t axis);
void run_gather_elements(RunContext& c, int64_t axis);
void run_shape(RunContext& c, std::optional<int64_t> start, std::optional<int64_t> end);
void run_size(RunContext& c);
void run_expand(RunContext& c);
void run_tile(RunContext& c);
/// Pad; opset < 11 pads and value come from the attributes.
void run_pad(RunContext& c, PadMode mode, const std::vector<int64_t>& attr_pads, float attr_value);

}  // namespace qm::ops::detail
