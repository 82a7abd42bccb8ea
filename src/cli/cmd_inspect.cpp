#include <cstdio>
#include <iostream>

#include "api/inspect.h"
#include "cli/commands.h"

namespace qm::cli {

std::string inspect_help() {
  return "usage: quantmix inspect MODEL.onnx [--json] [--input-shape NAME=DIMS]...\n"
         "\n"
         "Inputs and outputs (name, dtype, shape), opsets, op histogram, parameter count, and per\n"
         "layer (Conv, ConvTranspose, Gemm, MatMul) the weight shape and MACs per sample.\n"
         "Unsupported ops are listed, not fatal. External data files are read from beside MODEL.\n"
         "\n"
         "  --json                    print JSON (keys: inputs, outputs, opsets, ops, params, macs,\n"
         "                            layers [{name, op, weight_shape, macs}], unsupported, warnings)\n"
         "  --input-shape NAME=DIMS   fix the shape of input NAME, e.g. input=1x3x224x224 (repeatable)\n";
}

int run_inspect(const std::vector<std::string>& args) {
  ParsedArgs p = parse_args("inspect", args, {"--input-shape"}, {"--json"});
  if (p.help) {
    std::cout << inspect_help();
    return 0;
  }
  if (p.positional.empty()) throw UsageError("inspect needs a MODEL.onnx argument (see quantmix inspect --help)");
  if (p.positional.size() > 1)
    throw UsageError("unexpected argument '" + p.positional[1] + "' (see quantmix inspect --help)");
  const std::string& path = p.positional[0];

  api::InputShapes shapes;
  for (const std::string& spec : p.all("--input-shape")) {
    auto parsed = api::parse_input_shape(spec, kInputShapeFlag);
    shapes[parsed.first] = parsed.second;
  }
  onnx::Model model = api::read_model_file(path);
  const api::InspectReport report = api::inspect_loaded_model(model, path, shapes, kInputShapeFlag);
  const std::string out = p.has("--json") ? api::inspect_to_json(report) : api::inspect_to_text(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace qm::cli
