#include <iostream>

#include "api/model_file.h"
#include "api/opset.h"
#include "core/error.h"
#include "cli/commands.h"

namespace qm::cli {

std::string convert_help() {
  return "usage: quantmix convert MODEL.onnx --out OUT.onnx [--opset 10|21]\n"
         "\n"
         "Reads MODEL and writes it back unchanged; external data files beside MODEL are inlined,\n"
         "so OUT is self-contained. Fields quantmix does not interpret are kept byte for byte.\n"
         "\n"
         "  --opset N  raise the default-domain opset to N (10 or 21), rewriting the ops whose form\n"
         "             changed (attributes that became inputs, renamed modes); a model already at or\n"
         "             above N is unchanged. Blocked weight candidates (e.g. W4b64A8) export at\n"
         "             opset 21: this shows beforehand whether a model can get there.\n";
}

int run_convert(const std::vector<std::string>& args) {
  ParsedArgs p = parse_args("convert", args, {"--out", "--opset"}, {});
  if (p.help) {
    std::cout << convert_help();
    return 0;
  }
  if (p.positional.empty()) throw UsageError("convert needs a MODEL.onnx argument (see quantmix convert --help)");
  if (p.positional.size() > 1)
    throw UsageError("unexpected argument '" + p.positional[1] + "' (see quantmix convert --help)");
  if (!p.has("--out")) throw UsageError("convert needs --out OUT.onnx (see quantmix convert --help)");
  const std::string& path = p.positional[0];
  const std::string out = p.get("--out");
  if (out.empty()) throw UsageError("flag '--out' needs a file name");

  onnx::Model model = api::read_model_file(path);
  if (p.has("--opset")) {
    const std::string v = p.get("--opset");
    if (v != "10" && v != "21") throw UsageError("flag '--opset' takes 10 or 21, got '" + v + "'");
    try {
      api::raise_opset(model, std::stoll(v));
    } catch (const qm::Error& e) {
      throw qm::Error(e.kind(), path + ": " + e.what());
    }
  }
  api::write_model_file(model, out);
  return 0;
}

}  // namespace qm::cli
