// `quantmix`: the native command-line front end. Dispatches to the sub-commands and turns every
// failure into one stderr line: exit 1 for bad input (qm::Error), 2 for bad usage. Nothing may
// crash: all exceptions, including std::bad_alloc, are caught here.
#include <cstdio>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

namespace qm::cli {

std::string main_help() {
  return std::string("quantmix ") + kVersion +
         " — mixed-precision post-training quantization of ONNX models\n"
         "\n"
         "usage: quantmix COMMAND [ARGS]\n"
         "\n"
         "commands:\n"
         "  inspect MODEL.onnx [--json] [--input-shape NAME=DIMS]...\n"
         "                        inputs, outputs, opsets, ops, params, per-layer MACs\n"
         "  convert MODEL.onnx --out OUT.onnx\n"
         "                        read and write back (external data inlined)\n"
         "  run MODEL.onnx --input [NAME=]FILE... [--output-dir DIR] [--repeat N] [--threads T]\n"
         "                        run the model in quantmix's FP32 engine, outputs as .npy\n"
         "  quantize MODEL.onnx --calib SAMPLES... --out OUT.onnx (--bits WxAy | --target T ...)\n"
         "                        post-training quantization (homogeneous or mixed-precision search)\n"
         "                        to a QDQ model, with --encodings E.json and --report R.json\n"
         "  help [COMMAND]        this text, or a command's help\n"
         "  --version             print the version\n"
         "\n"
         "Exit status: 0 success, 1 bad input (one `error:` line on stderr), 2 bad usage.\n";
}

namespace {

/// One line: newlines in messages become spaces.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int fail(int status, const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", one_line(message).c_str());
  return status;
}

int dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::cerr << main_help();
    return fail(2, "no command given (see quantmix --help)");
  }
  const std::string& cmd = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (cmd == "--help" || cmd == "-h") {
    std::cout << main_help();
    return 0;
  }
  if (cmd == "help") {
    if (rest.empty()) std::cout << main_help();
    else if (rest[0] == "inspect") std::cout << inspect_help();
    else if (rest[0] == "convert") std::cout << convert_help();
    else if (rest[0] == "run") std::cout << run_help();
    else if (rest[0] == "quantize") std::cout << quantize_help();
    else return fail(2, "unknown command '" + rest[0] + "' (see quantmix --help)");
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << "quantmix " << kVersion << "\n";
    return 0;
  }
  if (cmd == "inspect") return run_inspect(rest);
  if (cmd == "convert") return run_convert(rest);
  if (cmd == "run") return run_run(rest);
  if (cmd == "quantize") return run_quantize(rest);
  if (!cmd.empty() && cmd[0] == '-') return fail(2, "unknown flag '" + cmd + "' (see quantmix --help)");
  return fail(2, "unknown command '" + cmd + "' (see quantmix --help)");
}

}  // namespace
}  // namespace qm::cli

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    const int status = qm::cli::dispatch(args);
    std::fflush(stdout);
    return status;
  } catch (const qm::cli::UsageError& e) {
    return qm::cli::fail(2, e.what());
  } catch (const qm::Error& e) {
    return qm::cli::fail(1, e.what());
  } catch (const std::bad_alloc&) {
    return qm::cli::fail(1, "out of memory");
  } catch (const std::exception& e) {
    return qm::cli::fail(1, std::string("internal error: ") + e.what());
  } catch (...) {
    return qm::cli::fail(1, "internal error");
  }
}
