// `quantmix quantize MODEL.onnx --calib SAMPLES... (--bits WxAy | --candidates/--profile/--target)
// --out OUT.onnx [--encodings E.json] [--report R.json] ...` (cli.md): calibration, optional
// mixed-precision search, QDQ export. Progress on stderr, the chosen per-layer table on stdout.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "api/model_file.h"
#include "api/npy.h"
#include "api/options.h"
#include "api/quantize.h"
#include "api/samples.h"
#include "api/session.h"
#include "api/workspace.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/sha256.h"

namespace qm::cli {
namespace {

void write_text(const std::string& path, const std::string& data, const std::string& flag) {
  std::ofstream f(path, std::ios::binary);
  if (f) f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) throw Error(ErrorKind::Io, flag + " " + path + ": cannot write the file");
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t e = s.find(',', p);
    if (e == std::string::npos) e = s.size();
    if (e > p) out.push_back(s.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

/// --labels FILE: a text file with one integer class per line (blank lines and lines starting
/// with '#' skipped), or a .npy of integers (int64/int32, also smaller integer types). Errors
/// (exit 1) name --labels, the file and the line or dtype.
std::vector<int64_t> read_labels(const std::string& path) {
  const std::string where = "--labels " + path;
  std::vector<int64_t> labels;
  const bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  if (npy) {
    const Tensor t = api::read_npy(path);
    const int64_t n = t.numel();
    switch (t.dtype()) {
      case DataType::Int64: labels.assign(t.data<int64_t>(), t.data<int64_t>() + n); break;
      case DataType::Int32: labels.assign(t.data<int32_t>(), t.data<int32_t>() + n); break;
      case DataType::Int16: labels.assign(t.data<int16_t>(), t.data<int16_t>() + n); break;
      case DataType::Int8: labels.assign(t.data<int8_t>(), t.data<int8_t>() + n); break;
      case DataType::Uint16: labels.assign(t.data<uint16_t>(), t.data<uint16_t>() + n); break;
      case DataType::Uint8: labels.assign(t.data<uint8_t>(), t.data<uint8_t>() + n); break;
      default:
        throw Error(ErrorKind::InvalidArgument, where + ": labels must be integers (expected an int64 or int32 .npy, got " +
                                                    std::string(dtype_name(t.dtype())) + ")");
    }
    if (labels.empty()) throw Error(ErrorKind::InvalidArgument, where + ": no labels in the file (expected one per calibration sample)");
    return labels;
  }
  std::ifstream f(path);
  if (!f) throw Error(ErrorKind::Io, where + ": cannot open the file (" + std::strerror(errno) + ")");
  std::string line;
  size_t lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const size_t e = line.find_last_not_of(" \t\r");
    const std::string tok = line.substr(b, e - b + 1);
    size_t pos = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos == 0 || pos != tok.size())
      throw Error(ErrorKind::InvalidArgument, where + ":" + std::to_string(lineno) + ": '" + (tok.size() > 40 ? tok.substr(0, 40) + "..." : tok) +
                                                  "' is not an integer class (expected one integer per line)");
    labels.push_back(v);
  }
  if (labels.empty()) throw Error(ErrorKind::InvalidArgument, where + ": no labels in the file (expected one integer per line)");
  return labels;
}

std::string base_name(const std::string& path) {
  const size_t s = path.find_last_of('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

}  // namespace

std::string quantize_help() {
  return "usage: quantmix quantize MODEL.onnx --calib SAMPLES... --out OUT.onnx\n"
         "                         (--bits WxAy | [--candidates LIST] [--profile NAME|FILE.json] [--target T]\n"
         "                                        [--order O] [--labels FILE] [--memory-budget SIZE]\n"
         "                                        [--phase1-aggregate A] [--front-points N|all])\n"
         "                         [--encodings E.json] [--report R.json] [--samples N] [--threads T] [--max-memory SIZE] [--quiet]\n"
         "\n"
         "Post-training quantization: calibrates on the samples, picks bit-widths (homogeneous with\n"
         "--bits, else the mixed-precision search) and writes a QDQ ONNX model.\n"
         "\n"
         "  --calib SAMPLES...       calibration samples: .npy, .npz, images, or directories of them\n"
         "                           (every file after --calib up to the next flag; repeatable)\n"
         "  --bits WxAy              homogeneous, e.g. W8A8, W4A8, W8A16 (widths 2..16); WxbBAy has\n"
         "                           blocked weight scales, one per B weights (e.g. W4b64A8)\n"
         "  --candidates LIST        search candidates, e.g. W4A8,W8A8,W8A16 or W4b64A8,W4A8,W8A8\n"
         "                           (default: the profile's)\n"
         "  --profile NAME|FILE      hardware profile: generic, npu, or a JSON file\n"
         "  --target T               bops=0.5 | size=0.5 | sqnr=30 | sqnr-drop=3\n"
         "  --order O                flip order of the Pareto front: paper (least sensitive first, default),\n"
         "                           ratio (least predicted noise per BOPs saved), or both (both fronts; the\n"
         "                           best point meeting the target from either is chosen)\n"
         "  --labels FILE            class labels, one per calibration sample USED, in the order the samples\n"
         "                           are loaded (--calib arguments in order, directory entries sorted by name,\n"
         "                           rows of a stacked .npy in order; the first --samples N): a text file\n"
         "                           with one integer per line, or an int64/int32 .npy. The search then\n"
         "                           maximises top-1 (phases 0, 2, 3); the summary and report show top1\n"
         "  --memory-budget SIZE     memory for the search's cache of float activations, e.g. 512M, 1G or\n"
         "                           bytes (default 512M); a smaller budget recomputes more, same result\n"
         "  --phase1-aggregate A     phase-1 sensitivity over the samples: pooled (sum of noise / sum of\n"
         "                           signal, default), median or trimmed (of the per-sample ratios)\n"
         "  --front-points N|all     measure N evenly spaced points of the Pareto front (first and last\n"
         "                           included; default 64), or all; the others keep their phase-1\n"
         "                           prediction and the selection measures what it needs next to the\n"
         "                           target. Fronts of up to N points are measured whole\n"
         "  --out OUT.onnx           the quantized (QDQ) model\n"
         "  --encodings E.json       AIMET-style encodings of the chosen configuration\n"
         "  --report R.json          report (groups, baselines, Pareto front, selection, timing)\n"
         "  --samples N              use the first N samples (default: all, at most 64)\n"
         "  --weight-range M         mse (default: at <= 4 bits the clip that minimises each layer's\n"
         "                           output error on its calibration inputs) | weight-mse (the\n"
         "                           weight's own error at every width) | minmax\n"
         "  --weight-rounding R      nearest (default) | learned: at <= 4 bits, round each weight up\n"
         "                           or down to minimise its layer's output error (AdaRound-style,\n"
         "                           50-500 iterations per layer and candidate; slower)\n"
         "  --bias-correction B      on (default): at <= 4 bits, add the mean output error of each\n"
         "                           layer's quantized weights (on its calibration inputs) to its\n"
         "                           bias | off\n"
         "  --act-range M            mse (default) | minmax | percentile=99.99\n"
         "  --preprocess SPEC        image preprocessing (size=HxW,scale=1/255,mean=a:b:c,... or a preset)\n"
         "  --input-shape NAME=DIMS  fix a dynamic input shape, e.g. x=1x3x224x224\n"
         "  --seed S                 seed (the search is deterministic)\n"
         "  --threads T              kernel threads (default: all cores)\n"
         "  --max-memory SIZE        most memory the tensors may hold at once, e.g. 1G (default: 4x the\n"
         "                           model's weights, at least 512M, plus --memory-budget); above it,\n"
         "                           one error line\n"
         "  --quiet                  no progress on stderr\n";
}

int run_quantize(const std::vector<std::string>& args) {
  ParsedArgs p = parse_args("quantize", args,
                            {"--calib", "--bits", "--candidates", "--profile", "--target", "--out", "--encodings", "--report",
                             "--samples", "--threads", "--seed", "--weight-range", "--weight-rounding", "--bias-correction", "--act-range", "--preprocess", "--input-shape",
                             "--order", "--labels", "--memory-budget", "--phase1-aggregate", "--front-points", "--max-memory"},
                            {"--quiet"});
  if (p.help) {
    std::cout << quantize_help();
    return 0;
  }
  if (p.positional.empty()) throw UsageError("quantize needs a MODEL.onnx argument (see quantmix quantize --help)");
  // "--calib a.npy b.npy": the parser gives --calib one value; the files after it are positional.
  std::vector<std::string> calib = p.all("--calib");
  if (calib.empty()) throw UsageError("quantize needs calibration samples: --calib SAMPLES... (see quantmix quantize --help)");
  for (size_t i = 1; i < p.positional.size(); ++i) calib.push_back(p.positional[i]);
  if (!p.has("--out")) throw UsageError("quantize needs --out OUT.onnx (see quantmix quantize --help)");
  const bool searching = p.has("--candidates") || p.has("--profile") || p.has("--target") || p.has("--order") ||
                         p.has("--labels") || p.has("--memory-budget") || p.has("--phase1-aggregate") || p.has("--front-points");
  if (p.has("--bits") && searching)
    throw UsageError("--bits (homogeneous) cannot be combined with the search's options --candidates/--profile/--target/"
                     "--order/--labels/--memory-budget/--phase1-aggregate/--front-points");
  if (!p.has("--bits") && !searching) throw UsageError("quantize needs --bits WxAy, or --candidates/--profile/--target for the search");

  // Each flag's text is parsed here, once: a bad value names its flag. Values of --bits, --order,
  // --memory-budget, --phase1-aggregate, --front-points and --weight-rounding are usage (exit 2), the others
  // (and the labels and profile files' contents) input (exit 1).
  api::QuantizeOptions opt;
  auto usage = [](const auto& parse) {
    try {
      parse();
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  };
  if (p.has("--bits")) usage([&] { opt.bits = api::parse_candidate(p.get("--bits"), "--bits"); });
  for (const std::string& c : p.all("--candidates"))
    for (const std::string& s : split_csv(c)) opt.candidates.push_back(api::parse_candidate(s, "--candidates"));
  if (p.has("--profile")) {
    const std::string prof = p.get("--profile");
    struct stat st;
    const bool is_file = prof.find(".json") != std::string::npos || (stat(prof.c_str(), &st) == 0 && S_ISREG(st.st_mode));
    opt.profile = is_file ? api::parse_profile_json(*api::read_file_bytes(prof), prof) : api::builtin_profile(prof, "--profile");
  }
  opt.target = api::parse_target(p.get("--target"), "--target");
  if (p.has("--order") && p.get("--order").empty()) throw UsageError("--order needs paper, ratio or both");
  usage([&] {
    if (p.has("--order")) opt.order = api::parse_order(p.get("--order"), "--order");
    if (p.has("--memory-budget")) opt.memory_budget_bytes = api::parse_size(p.get("--memory-budget"), "--memory-budget");
    if (p.has("--front-points")) opt.front_points = api::parse_front_points(p.get("--front-points"), "--front-points");
    if (p.has("--phase1-aggregate")) opt.phase1_aggregate = api::parse_aggregate(p.get("--phase1-aggregate"), "--phase1-aggregate");
    if (p.has("--weight-rounding")) opt.weight_rounding = api::parse_weight_rounding(p.get("--weight-rounding"), "--weight-rounding");
    if (p.has("--bias-correction")) opt.bias_correction = api::parse_on_off(p.get("--bias-correction"), "--bias-correction");
  });
  if (p.has("--weight-range")) opt.weight_range = api::parse_weight_range(p.get("--weight-range"), "--weight-range");
  if (p.has("--act-range")) opt.act_range = api::parse_act_range(p.get("--act-range"), "--act-range");
  if (p.has("--samples")) opt.max_samples = parse_count("--samples", p.get("--samples"), 1);
  if (p.has("--threads")) opt.threads = parse_count("--threads", p.get("--threads"), 1);
  if (p.has("--seed")) opt.seed = parse_count("--seed", p.get("--seed"), 0);
  for (const auto& [name, dims] : input_shape_flags(p)) opt.input_shapes[name] = ops::Dims(dims.begin(), dims.end());
  const std::string& model_path = p.positional[0];
  opt.model_file = base_name(model_path);
  const bool quiet = p.has("--quiet");
  // Fail before the long computation if an output cannot be written.
  for (const char* flag : {"--out", "--encodings", "--report"}) {
    if (!p.has(flag)) continue;
    const std::string path = p.get(flag);
    const size_t slash = path.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    struct stat st;
    if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw Error(ErrorKind::Io, std::string(flag) + " " + path + ": directory '" + parent + "' does not exist");
  }

  if (p.has("--labels")) opt.labels = read_labels(p.get("--labels"));

  api::SessionOptions so;
  so.threads = opt.threads;
  so.input_shapes = opt.input_shapes;
  so.memory_limit = max_memory_flag(p);
  so.memory_extra = opt.memory_budget_bytes;  // the search's cache of float activations
  {
    auto bytes = api::read_file_bytes(model_path);
    opt.model_sha256 = sha256_hex(*bytes);
  }
  std::unique_ptr<api::Session> session = api::Session::load(model_path, so);

  api::SampleOptions sopt;
  if (p.has("--preprocess")) sopt.preprocess = api::Preprocess::parse(p.get("--preprocess"), "--preprocess");
  sopt.split_stacked = true;
  sopt.max_samples = opt.max_samples ? opt.max_samples : 64;
  std::vector<api::Sample> samples = api::load_samples(*session, calib, sopt);
  if (!opt.labels.empty()) api::check_labels(opt.labels, samples.size(), "--labels", "--samples N uses the first N");
  api::Workspace workspace(std::move(session), opt.input_shapes);
  workspace.set_samples(std::move(samples));

  // On a terminal one line per phase, redrawn in place; otherwise (logs, tests) a line per phase
  // when it completes.
  const bool tty = isatty(fileno(stderr)) != 0;
  std::string last_phase;
  auto progress = [&](const std::string& phase, size_t done, size_t total) {
    if (quiet) return true;
    if (tty) {
      if (phase != last_phase && !last_phase.empty()) std::fprintf(stderr, "\n");
      std::fprintf(stderr, "\r%-12s %zu/%zu", phase.c_str(), done, total);
    } else if (done == total && total > 0) {
      std::fprintf(stderr, "%-12s %zu/%zu\n", phase.c_str(), done, total);
    }
    last_phase = phase;
    std::fflush(stderr);
    return true;
  };
  // The core names the options neutrally ("candidates: ..."), as the JS API does; a choice it
  // can only refuse once it knows the model's layers is named here by its flag.
  api::QuantizeResult r = [&] {
    try {
      return api::quantize(workspace, opt, progress);
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.rfind("candidates: ", 0) == 0) throw Error(e.kind(), "--" + what);
      throw;
    }
  }();
  if (!quiet && tty && !last_phase.empty()) std::fprintf(stderr, "\n");

  write_text(p.get("--out"), r.model_bytes, "--out");
  if (p.has("--encodings")) write_text(p.get("--encodings"), r.encodings_json, "--encodings");
  if (p.has("--report")) write_text(p.get("--report"), r.report_json, "--report");

  // The chosen per-layer table.
  bool any_sens = false;
  size_t wname = 5;
  for (const api::LayerRow& l : r.layers) {
    any_sens |= l.sensitivity_db.has_value();
    wname = std::max(wname, l.name.size());
  }
  bool any_ci = false;
  for (const api::LayerRow& l : r.layers) any_ci |= l.sensitivity_ci_db.has_value();
  std::printf("%-*s  %-13s %7s %6s %6s%s%s\n", static_cast<int>(wname), "layer", "op", "MACs%", "W", "A", any_sens ? "  sens_dB" : "",
              any_ci ? "  90% interval" : "");
  for (const api::LayerRow& l : r.layers) {
    const std::string w = std::to_string(l.w_bits) + (l.w_block ? "b" + std::to_string(l.w_block) : std::string());
    std::printf("%-*s  %-13s %6.2f%% %6s %6d", static_cast<int>(wname), l.name.c_str(), l.op.c_str(), 100.0 * l.macs_share, w.c_str(), l.a_bits);
    if (any_sens) {
      if (l.sensitivity_db) std::printf("  %7.2f", *l.sensitivity_db);
      else std::printf("  %7s", "-");
    }
    if (any_ci) {
      if (l.sensitivity_ci_db) std::printf("  %6.2f..%-6.2f", l.sensitivity_ci_db->first, l.sensitivity_ci_db->second);
      else std::printf("  %14s", "-");
    }
    std::printf("\n");
  }
  // How much the choice depends on the calibration samples (report "stability").
  if (!r.stability_message.empty()) std::printf("%s\n", r.stability_message.c_str());
  if (!r.layers_not_run.empty()) {
    std::string names;
    for (const std::string& n : r.layers_not_run) names += (names.empty() ? "'" : ", '") + n + "'";
    std::printf("not run: %zu layer%s in a branch or loop body no calibration sample took (%s): activations there stay "
                "float (no ranges) and nothing measured what their bits do; add samples that take it\n",
                r.layers_not_run.size(), r.layers_not_run.size() == 1 ? "" : "s", names.c_str());
  }
  std::string config = r.config;
  if (r.baseline_selected) config += " (homogeneous baseline beat the front at this target)";
  std::printf("config=%s sqnr_db=%.2f", config.c_str(), r.sqnr_db);
  if (r.top1) std::printf(" top1=%.4f", *r.top1);
  std::printf(" rel_bops=%.4f size_bytes=%.0f samples=%zu", r.rel_bops, r.size_bytes, r.samples_used);
  if (p.has("--order") && !r.order_used.empty()) std::printf(" order=%s", r.order_used.c_str());
  std::printf(" out=%s (%zu bytes)\n", p.get("--out").c_str(), r.model_bytes.size());
  return 0;
}

}  // namespace qm::cli
