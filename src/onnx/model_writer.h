// Writes a Model back to the protobuf wire format with protozero. Fields are written in field
// number order, uninterpreted fields are re-inserted verbatim at their place, and repeated scalars
// keep the encoding they were read with; a canonically encoded file read and written unchanged
// gives the same bytes.
#pragma once

#include <string>

#include "onnx/model.h"

namespace qm::onnx {

/// Serialises `model`. Throws Error(Unsupported) if the result would exceed 2 GiB.
std::string write_model(const Model& model);

/// Serialises `model` into `path` (Error(Io) naming the path on failure).
void write_model_file(const Model& model, const std::string& path);

}  // namespace qm::onnx
