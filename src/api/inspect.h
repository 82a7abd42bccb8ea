// `inspect`: what a model is made of. The same function serves `quantmix inspect` (cli/) and the
// browser (wasm/bindings.cpp), so both print the same numbers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/model_file.h"
#include "onnx/model.h"

namespace qm::api {

/// Input shapes given by the user ("NAME=1x3x224x224"): input name -> dims (fixes dynamic dimensions).
using InputShapes = std::map<std::string, std::vector<int64_t>>;

/// The words a front end's users know the input-shape setting by, used in parse_input_shape's
/// and inspect's errors and in inspect's warning. The defaults are the core's neutral wording;
/// the CLI names its flag ({"--input-shape", "pass", "--input-shape "}), the app its field.
struct ShapeWording {
  /// Errors: "<setting> 'x=1x2': 'x' is not an input of m.onnx (inputs: 'img')".
  std::string setting = "input shape";
  /// The warning's advice: "input shapes are not fully known; <advice> <each>x=1x3xHxW
  /// <each>y=... with numbers in place of the symbols".
  std::string advice = "fix them, e.g.";
  std::string each;
};

/// Parses "NAME=1x3x224x224" (Error(InvalidArgument) "<setting> 'SPEC': <why> (expected
/// NAME=DIMS, e.g. input=1x3x224x224)" on failure).
std::pair<std::string, std::vector<int64_t>> parse_input_shape(const std::string& spec,
                                                               const ShapeWording& wording = {});

/// One dimension as shown to users: a number, or a symbol/`?` where it is unknown.
struct DimInfo {
  std::optional<int64_t> value;
  std::string symbol;  ///< dim_param name, or empty
};

struct ValueSummary {
  std::string name;
  std::string dtype;                 ///< ONNX spelling, e.g. "float"
  std::optional<std::vector<DimInfo>> shape;  ///< nullopt: rank unknown
};

struct LayerSummary {
  std::string name;                  ///< ONNX node name, or the generated stable name
  std::string op;
  std::vector<int64_t> weight_shape; ///< empty if the weight is not a constant
  std::optional<int64_t> macs;       ///< per sample; nullopt where a shape is unknown
};

struct InspectReport {
  std::string file;
  int64_t ir_version = 0;
  std::string producer;              ///< producer_name + " " + producer_version
  std::vector<ValueSummary> inputs;  ///< graph inputs that are not initializers
  std::vector<ValueSummary> outputs;
  std::vector<std::pair<std::string, int64_t>> opsets;  ///< domain ("" = ai.onnx) -> version
  std::vector<std::pair<std::string, int64_t>> ops;     ///< op type -> count, by first occurrence
                                                        ///< ("domain.Op" outside ai.onnx)
  int64_t params = 0;                ///< elements in float initializers and float Constant tensors
  std::optional<int64_t> batch;      ///< the first input's leading dim if known (MACs divided by it)
  std::optional<int64_t> macs;       ///< total per sample; nullopt if any layer is unknown
  std::vector<LayerSummary> layers;  ///< Conv, ConvTranspose, Gemm, MatMul in graph order
  std::vector<std::string> unsupported;  ///< op types quantmix cannot run, each once
  std::vector<std::string> warnings;     ///< e.g. "MACs unknown for 'conv': input shapes are not fully known; ..."
};

/// Reads, validates and shape-infers a model and summarises it. Throws qm::Error on bad input
/// (input shapes that name no input or have the wrong rank: in `wording`).
InspectReport inspect_model(std::shared_ptr<const std::string> model_bytes,
                            const std::string& file_name, const ExternalFiles& external,
                            const InputShapes& input_shapes, const ShapeWording& wording = {});

/// Same, for a model already read (external data, if any, already loaded: tensors still stored
/// externally only lose their contents, not their shapes). `model` is only read.
InspectReport inspect_loaded_model(const onnx::Model& model, const std::string& file_name,
                                   const InputShapes& input_shapes, const ShapeWording& wording = {});

/// The report as JSON with the keys of ../shared/spec/cli.md (`inputs`, `outputs`, `opsets`,
/// `ops`, `params`, `macs`, `layers` {name, op, weight_shape, macs}, `unsupported`, ...).
std::string inspect_to_json(const InspectReport& report);

/// The report as the human-readable text `quantmix inspect` prints.
std::string inspect_to_text(const InspectReport& report);

}  // namespace qm::api
