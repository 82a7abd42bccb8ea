// `quantmix run MODEL.onnx --input [NAME=]FILE ... [--output-dir DIR] [--repeat N] [--threads T]`
// (cli.md): runs the model in the project's own FP32 engine and writes each output as
// DIR/<sanitised output name>.npy.
#include <sys/stat.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "api/npy.h"
#include "api/samples.h"
#include "api/session.h"
#include "cli/commands.h"
#include "core/error.h"

namespace qm::cli {
namespace {

std::string sanitize(const std::string& name) {
  std::string s = name;
  for (char& ch : s)
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
      ch = '_';
  return s;
}

void make_dirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty()) {
        struct stat st;
        if (stat(cur.c_str(), &st) != 0) {
          if (mkdir(cur.c_str(), 0777) != 0) throw Error(ErrorKind::Io, "cannot create output directory '" + cur + "'");
        } else if (!S_ISDIR(st.st_mode)) {
          throw Error(ErrorKind::Io, "--output-dir: '" + cur + "' is not a directory");
        }
      }
    }
    if (i < dir.size()) cur += dir[i];
  }
}

}  // namespace

std::string run_help() {
  return "usage: quantmix run MODEL.onnx --input [NAME=]FILE ... [--output-dir DIR] [--repeat N]\n"
         "                    [--threads T] [--input-shape NAME=DIMS]... [--preprocess SPEC]\n"
         "                    [--encodings ENC.json] [--max-memory SIZE]\n"
         "\n"
         "Runs the model in quantmix's own FP32 engine (with --encodings: its quantization simulation).\n"
         "\n"
         "  --input [NAME=]FILE      a sample: .npy (the tensor of input NAME, or of the single input;\n"
         "                           the leading batch dimension of 1 may be left out), .npz (one\n"
         "                           array per input, keyed by input name) or an image (.png, .jpg,\n"
         "                           .jpeg, .bmp; see --preprocess); repeatable\n"
         "  --output-dir DIR         write each output as DIR/<output name>.npy (characters outside\n"
         "                           [A-Za-z0-9._-] replaced by _); without it, print a summary\n"
         "  --repeat N               run N more forward passes and print run_ms=<median ms> on stderr\n"
         "  --threads T              threads for the kernels (default: all cores)\n"
         "  --max-memory SIZE        most memory the tensors may hold at once, e.g. 512M or 4G (default:\n"
         "                           4x the model's weights, at least 512M); above it, one error line\n"
         "  --input-shape NAME=DIMS  fix the declared shape of input NAME, e.g. x=4x3x224x224\n"
         "  --encodings ENC.json     run the quantization simulation these AIMET-style encodings\n"
         "                           describe (listed tensors quantized, everything else float)\n"
         "  --preprocess SPEC        image to tensor: KEY=VAL,... with size=H[xW] (default: the model's),\n"
         "                           keep-aspect=1, scale=1/255, mean=a:b:c, std=a:b:c, order=rgb|bgr,\n"
         "                           layout=nchw|nhwc, gray=0|1, filter=bilinear|area, or a preset\n"
         "                           imagenet, pm1, unit (default: pixels 0..255, rgb)\n";
}

int run_run(const std::vector<std::string>& args) {
  ParsedArgs p = parse_args("run", args, {"--input", "--output-dir", "--repeat", "--threads", "--input-shape", "--preprocess", "--encodings",
                                          "--max-memory"}, {});
  if (p.help) {
    std::cout << run_help();
    return 0;
  }
  if (p.positional.empty()) throw UsageError("run needs a MODEL.onnx argument (see quantmix run --help)");
  if (p.positional.size() > 1) throw UsageError("unexpected argument '" + p.positional[1] + "' (see quantmix run --help)");
  const size_t repeat = p.has("--repeat") ? parse_count("--repeat", p.get("--repeat"), 0) : 0;
  api::SessionOptions opt;
  if (p.has("--threads")) opt.threads = parse_count("--threads", p.get("--threads"), 1);
  opt.memory_limit = max_memory_flag(p);
  for (const auto& [name, dims] : input_shape_flags(p)) opt.input_shapes[name] = ops::Dims(dims.begin(), dims.end());
  const std::string& model_path = p.positional[0];
#if defined(__GLIBC__)
  // Activations are large, short-lived blocks: keep them in the heap instead of fresh mmaps so
  // repeated forward passes reuse memory without page faults.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  std::unique_ptr<api::Session> session = api::Session::load(model_path, opt);

  // Gather inputs (api/samples.h: .npy, .npz, images through --preprocess).
  api::SampleOptions sample_opt;
  if (p.has("--preprocess")) sample_opt.preprocess = api::Preprocess::parse(p.get("--preprocess"), "--preprocess");
  const std::vector<Tensor> inputs = api::assemble_sample(*session, p.all("--input"), sample_opt);
  // --encodings: run the quantization simulation those encodings describe (the one the search
  // uses): quantizers listed in the file on at their bitwidth, every other one off.
  if (p.has("--encodings")) session->simulate_encodings(api::read_file(p.get("--encodings")), p.get("--encodings"));
  auto forward = [&]() { return session->run(inputs); };
  std::vector<Tensor> outputs = forward();
  if (repeat > 0) {
    std::vector<double> ms;
    for (size_t r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      outputs = forward();
      const auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
    std::fprintf(stderr, "run_ms=%.3f\n", med);
  }
  const auto& outs = session->outputs();
  if (p.has("--output-dir")) {
    const std::string dir = p.get("--output-dir");
    make_dirs(dir);
    for (size_t i = 0; i < outs.size(); ++i) api::write_npy(dir + "/" + sanitize(outs[i].name) + ".npy", outputs[i]);
  } else {
    for (size_t i = 0; i < outs.size(); ++i) {
      const Tensor& t = outputs[i];
      std::printf("%s: %s %s\n", outs[i].name.c_str(), std::string(dtype_name(t.dtype())).c_str(), shape_to_string(t.shape()).c_str());
    }
  }
  return 0;
}

}  // namespace qm::cli
