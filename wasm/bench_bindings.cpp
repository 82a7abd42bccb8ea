// Embind module for `npm run bench` only (target quantmix_bench, EXCLUDE_FROM_ALL, built by
// scripts/bench.sh; never part of the app or of CI). It wraps api::Session for node:
//   const m = new Module.BenchModel(modelBytes /* Uint8Array */, threads);
//   m.setInput(float32Array, [8, 3, 224, 224]);
//   const ms = m.run();             // one forward pass, wall ms measured inside wasm
//   m.output();                     // Float32Array copy of output 0 (for the ORT agreement check)
//   m.peakLiveBytes();              // RunStats of the last run
//   m.profile();                    // one forward pass, CPU ms per step (JSON text)
//   m.delete();
// and the whole post-training search (api::quantize, as the app runs it: full Pareto front):
//   const r = Module.quantizeSearch(modelBytes, samples /* Float32Array, N samples back to back */,
//                                   [1, 3, 224, 224] /* one sample's shape */, N,
//                                   {candidates: 'W4A8,W8A8,W8A16', target: 'bops=0.75', threads: 1},
//                                   (phase, done, total) => {} /* optional progress */);
//   r.report (report.json text, with timing_s), r.sqnr_db, r.rel_bops, r.model_bytes,
//   r.malloc_peak (dlmalloc's peak footprint: the heap high-water mark in bytes), r.malloc_live
//   (bytes allocated at the end, with the session, samples and result still alive).
// Errors are thrown as C++ exceptions (the bench aborts on them; it is not a library boundary).
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/model_file.h"
#include "api/options.h"
#include "api/quantize.h"
#include "api/session.h"
#include "core/error.h"
#include "core/sha256.h"

// dlmalloc's peak footprint (bytes obtained from sbrk); defined by Emscripten's dlmalloc.c, not
// declared in its headers.
extern "C" size_t malloc_max_footprint(void);

namespace {

using emscripten::val;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// CPU time of the node process (process.cpuUsage(), user + system) in ms: per-step times stay
/// meaningful when other jobs share the cores, where wall time does not. ~1 us per call.
double cpu_ms() {
  const val u = val::global("process").call<val>("cpuUsage");
  return (u["user"].as<double>() + u["system"].as<double>()) / 1000.0;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    o += ch;
  }
  return o;
}

class BenchModel {
 public:
  BenchModel(const std::string& bytes, int threads) {
    qm::api::SessionOptions opt;
    opt.threads = threads > 0 ? static_cast<size_t>(threads) : 1;
    auto shared = std::make_shared<const std::string>(bytes);
    session_ = std::make_unique<qm::api::Session>(qm::api::read_model_bytes(std::move(shared), "bench.onnx", {}), opt);
    const qm::graph::Plan& p = session_->plan();
    producer_.assign(p.num_values(), -1);
    for (size_t si = 0; si < p.steps().size(); ++si)
      for (qm::graph::ValueId v : p.steps()[si].outputs)
        if (v != qm::graph::kNoValue) producer_[static_cast<size_t>(v)] = static_cast<int>(si);
  }

  void set_input(const val& data, const val& shape) {
    const std::vector<float> v = emscripten::convertJSArrayToNumberVector<float>(data);
    const std::vector<int> dims = emscripten::convertJSArrayToNumberVector<int>(shape);
    qm::Tensor t(qm::DataType::Float, qm::Shape(dims.begin(), dims.end()));
    if (static_cast<size_t>(t.numel()) != v.size())
      throw qm::Error(qm::ErrorKind::InvalidArgument, "bench: input size does not match its shape");
    std::memcpy(t.data<float>(), v.data(), v.size() * sizeof(float));
    inputs_ = {session_->conform_input(0, std::move(t), "bench")};
  }

  double run() {
    const auto t0 = Clock::now();
    outputs_ = session_->run(inputs_);
    return ms_since(t0);
  }

  val output() const {
    const qm::Tensor& t = outputs_.at(0);
    val view(emscripten::typed_memory_view(static_cast<size_t>(t.numel()), t.data<float>()));
    return view.call<val>("slice");
  }

  double peak_live_bytes() const { return static_cast<double>(session_->executor().stats().peak_live_bytes); }
  int steps() const { return static_cast<int>(session_->plan().steps().size()); }

  /// One forward pass with a hook at every value: a step's time is the CPU time since the
  /// previous hook call (the hook runs right after a step's outputs are computed).
  std::string profile() {
    const qm::graph::Plan& p = session_->plan();
    std::vector<double> step_ms(p.steps().size(), 0.0);
    double last = cpu_ms();
    qm::graph::ValueHook hook = [&](qm::graph::ValueId v, const qm::Tensor&) -> std::optional<qm::Tensor> {
      const double now = cpu_ms();
      const int s = producer_[static_cast<size_t>(v)];
      if (s >= 0) step_ms[static_cast<size_t>(s)] += now - last;
      last = now;
      return std::nullopt;
    };
    outputs_ = session_->run(inputs_, hook);
    std::string o = "[";
    for (size_t si = 0; si < p.steps().size(); ++si) {
      const qm::graph::Node& n = p.graph().node(p.steps()[si].node);
      if (si) o += ",";
      o += "{\"node\":\"" + json_escape(n.name) + "\",\"op\":\"" + json_escape(n.op_type()) +
           "\",\"ms\":" + std::to_string(step_ms[si]) + "}";
    }
    return o + "]";
  }

 private:
  std::unique_ptr<qm::api::Session> session_;
  std::vector<qm::Tensor> inputs_, outputs_;
  std::vector<int> producer_;
};

/// The search of the app (api::quantize with the options the page passes, full front) on
/// `count` samples of `sample_shape` taken back to back from `data`.
val quantize_search(const val& model_js, const val& data, const val& sample_shape,
                    int count, const val& options, const val& on_progress) {
  // One copy of the model in the heap, made as the app's binding makes it (an Embind std::string
  // parameter would hold a second one during the call).
  std::string model_bytes(model_js["length"].as<size_t>(), '\0');
  if (!model_bytes.empty())
    val(emscripten::typed_memory_view(model_bytes.size(), reinterpret_cast<uint8_t*>(model_bytes.data())))
        .call<void>("set", model_js);
  const std::vector<float> v = emscripten::convertJSArrayToNumberVector<float>(data);
  const std::vector<int> dims = emscripten::convertJSArrayToNumberVector<int>(sample_shape);
  const qm::Shape shape(dims.begin(), dims.end());
  std::vector<qm::api::Sample> samples;
  size_t offset = 0;
  for (int i = 0; i < count; ++i) {
    qm::Tensor t(qm::DataType::Float, shape);
    const size_t n = static_cast<size_t>(t.numel());
    if (offset + n > v.size())
      throw qm::Error(qm::ErrorKind::InvalidArgument, "bench: fewer sample values than count x shape");
    std::memcpy(t.data<float>(), v.data() + offset, n * sizeof(float));
    offset += n;
    samples.push_back({std::move(t)});
  }
  qm::api::QuantizeOptions opts;
  // The page's option strings, parsed once as the app's bindings do (api/options.h).
  auto str = [&](const char* key) -> std::string {
    const val x = options[key];
    return !x.isUndefined() && !x.isNull() ? x.as<std::string>() : std::string();
  };
  if (!str("candidates").empty()) opts.candidates = qm::api::parse_candidates(str("candidates"), "candidates");
  if (!str("target").empty()) opts.target = qm::api::parse_target(str("target"), "target");
  if (!str("profile").empty()) opts.profile = qm::api::parse_profile(str("profile"), "profile");
  if (!str("bits").empty()) opts.bits = qm::api::parse_candidate(str("bits"), "bits");
  if (!str("frontPoints").empty()) opts.front_points = qm::api::parse_front_points(str("frontPoints"), "frontPoints");
  opts.threads = options["threads"].isNumber() ? options["threads"].as<size_t>() : 1;
  opts.model_file = "bench.onnx";
  qm::api::ProgressFn progress;
  if (!on_progress.isUndefined() && !on_progress.isNull()) {
    progress = [&on_progress](const std::string& phase, size_t done, size_t total) {
      on_progress(phase, static_cast<double>(done), static_cast<double>(total));
      return true;
    };
  }
  qm::api::SessionOptions so;
  so.threads = opts.threads;
  // Moved, not copied: the session frees them once the plan holds the weights.
  const std::string sha = qm::sha256_hex(model_bytes);
  auto shared = std::make_shared<const std::string>(std::move(model_bytes));
  qm::api::Workspace workspace(
      std::make_unique<qm::api::Session>(qm::api::read_model_bytes(std::move(shared), "bench.onnx", {}), so));
  workspace.set_samples(std::move(samples));
  opts.model_sha256 = sha;
  const qm::api::QuantizeResult r = qm::api::quantize(workspace, opts, progress);
  const struct mallinfo mi = mallinfo();
  val o = val::object();
  o.set("report", r.report_json);
  o.set("config", r.config);
  o.set("sqnr_db", r.sqnr_db);
  o.set("rel_bops", r.rel_bops);
  o.set("model_bytes", static_cast<double>(r.model_bytes.size()));
  o.set("samples_used", static_cast<double>(r.samples_used));
  o.set("malloc_peak", static_cast<double>(malloc_max_footprint()));
  o.set("malloc_live", static_cast<double>(mi.uordblks));
  return o;
}

}  // namespace

EMSCRIPTEN_BINDINGS(quantmix_bench) {
  emscripten::class_<BenchModel>("BenchModel")
      .constructor<const std::string&, int>()
      .function("setInput", &BenchModel::set_input)
      .function("run", &BenchModel::run)
      .function("output", &BenchModel::output)
      .function("peakLiveBytes", &BenchModel::peak_live_bytes)
      .function("steps", &BenchModel::steps)
      .function("profile", &BenchModel::profile);
  emscripten::function("quantizeSearch", &quantize_search);
  // Bytes malloc has handed out and not taken back now (the heap minus its free space).
  emscripten::function("mallocLive", +[]() { return static_cast<double>(mallinfo().uordblks); });
}
