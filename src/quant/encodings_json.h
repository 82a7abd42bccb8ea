// AIMET-style encodings JSON (spec amp.md section 1, "Export"):
//   {"version": "0.6.1",
//    "activation_encodings": {"<tensor>": [{"bitwidth": 8, "dtype": "int", "is_symmetric": "False",
//                                           "max": .., "min": .., "offset": -zp, "scale": ..}]},
//    "param_encodings": {"<weight>": [ one entry per output channel, "is_symmetric": "True" ]}}
// Keys are Quantizer::tensor names; offset = -zero_point (ONNX zero point). is_symmetric is
// written as the string "True"/"False" (AIMET) and read as a string or a JSON bool.
// Weights with learned rounding (Encoding::levels) add a section AIMET does not have:
//    "learned_levels": {"<weight>": {"bitwidth": 4, "levels": "<hex digit of level - qmin per
//                                     element, in the weight's order>"}}
#pragma once

#include <string>

#include "quant/calibration.h"
#include "quant/quant_model.h"

namespace qm::quant {

/// The encodings of every quantizer on in `config` (computed through `enc` where needed).
std::string encodings_to_json(const QuantModel& model, Encodings& enc, const QuantConfig& config);

/// Reads `text` (from `source`, for messages): sets each listed quantizer's encoding in `enc`
/// and returns the config with those quantizers at their bitwidth (others off). Throws
/// Error(InvalidArgument) naming source and tensor: unknown tensor, a weight with the wrong number
/// of channels, bitwidth outside 2..16, scale not positive and finite, zero point outside the
/// range, malformed JSON (with byte offset).
QuantConfig encodings_from_json(const std::string& text, const QuantModel& model, Encodings& enc,
                                const std::string& source = "encodings");

}  // namespace qm::quant
