// Reading and writing .onnx files for the front ends (`quantmix inspect/convert/run/quantize`,
// wasm/bindings.cpp), so they never reach into onnx/ themselves: a model from a path with its
// external data beside it, or from bytes with its external data files given alongside.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "onnx/model.h"

namespace qm::api {

/// Contents of external data files given with a model, keyed by the location the model names.
using ExternalFiles = std::map<std::string, std::shared_ptr<const std::string>>;

/// Reads MODEL.onnx and, if it stores tensors externally, their data files from its folder (the
/// model becomes self-contained). Throws qm::Error naming the path, tensor or data file (a
/// missing one: "... which was not given — put it beside the model (...)").
onnx::Model read_model_file(const std::string& path);

/// Parses a model's bytes (`file_name` names it in errors) and loads the external data it names
/// from `external`. A location missing there is Error(Io) "FILE: T stores its data in 'LOC',
/// which was not given — <missing_advice> (external data file 'LOC' was not provided)", without
/// the advice when it is empty (what the front end's user should do about it).
onnx::Model read_model_bytes(std::shared_ptr<const std::string> bytes, const std::string& file_name,
                             const ExternalFiles& external, const std::string& missing_advice = "");

/// The whole file at `path` (Error(Io) "PATH: cannot open file", ...).
std::shared_ptr<const std::string> read_file_bytes(const std::string& path);

/// Writes `model` to `path` (Error(Io) naming the path).
void write_model_file(const onnx::Model& model, const std::string& path);

}  // namespace qm::api
