// quantize(): calibration, (optional) mixed-precision search, QDQ export, encodings and report.
#include "api/quantize.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "api/session.h"
#include "api/workspace.h"
#include "core/error.h"
#include "core/json.h"
#include "core/sha256.h"
#include "mixed_precision/search.h"
#include "onnx/model_reader.h"
#include "onnx/model_writer.h"
#include "quant/calibration.h"
#include "quant/encodings_json.h"
#include "quant/export_qdq.h"
#include "quant/metrics.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"

namespace qm::api {

/// Default cap on calibration samples (cli.md: "default: all, at most 64").
constexpr size_t kDefaultMaxSamples = 64;

void check_labels(const std::vector<int64_t>& labels, size_t samples_used, const std::string& what,
                  const std::string& samples_used_words) {
  if (labels.size() != samples_used)
    throw Error(ErrorKind::InvalidArgument,
                what + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(samples_used) +
                    " calibration samples used (expected one per sample used, in the order given: " + samples_used_words +
                    ", by default at most " + std::to_string(kDefaultMaxSamples) + ")");
  for (size_t k = 0; k < labels.size(); ++k)
    if (labels[k] < 0)
      throw Error(ErrorKind::InvalidArgument, what + ": label " + std::to_string(k) + " is " + std::to_string(labels[k]) +
                                                  " (expected a class index >= 0)");
}

namespace {

/// Wraps the user's callback: false from it becomes the "cancelled" error.
struct Progress {
  const ProgressFn& fn;
  void operator()(const std::string& phase, size_t done, size_t total) const {
    if (fn && !fn(phase, done, total)) throw Error(ErrorKind::InvalidArgument, "cancelled: quantization stopped during " + phase);
  }
};

/// Bits a quantizer runs at in `cfg` (0 = off).
int bits_of(const quant::QuantConfig& cfg, int q) { return q >= 0 ? cfg.bits[static_cast<size_t>(q)] : 0; }

/// Applies options.layer_bits to `cfg` (homogeneous mode): the layer's weight and input
/// activation quantizers.
void apply_layer_bits(const quant::QuantModel& qmodel, const std::map<std::string, mp::Candidate>& layer_bits,
                      quant::QuantConfig& cfg) {
  for (const auto& kv : layer_bits) {
    const mp::Candidate& b = kv.second;
    bool found = false;
    for (const quant::Layer& l : qmodel.layers()) {
      if (l.name != kv.first) continue;
      found = true;
      if (b.w_block && !l.blocks.ok())
        throw Error(ErrorKind::InvalidArgument, "layer '" + l.name + "' (" + l.op + "): " + mp::candidate_name(b) + " needs blocked weight scales, which it has not");
      if (l.weight_quantizer >= 0) {
        cfg.bits[static_cast<size_t>(l.weight_quantizer)] = b.w_bits;
        cfg.set_block(static_cast<size_t>(l.weight_quantizer), b.w_block);
      }
      if (l.input_quantizer >= 0) cfg.bits[static_cast<size_t>(l.input_quantizer)] = b.a_bits;
    }
    if (!found) throw Error(ErrorKind::InvalidArgument, "layer bits: no layer named '" + kv.first + "' (Conv, ConvTranspose, Gemm or MatMul with constant weights)");
  }
}

void write_layers_json(JsonWriter& w, const std::vector<LayerRow>& rows) {
  w.key("layers").begin_array();
  for (const LayerRow& r : rows) {
    w.begin_object(true);
    w.key("name").value(r.name).key("op").value(r.op).key("w_bits").value(r.w_bits).key("a_bits").value(r.a_bits);
    if (r.w_block) w.key("w_block").value(r.w_block);
    w.key("macs").value(r.macs);
    if (r.sensitivity_db) w.key("sensitivity_db").value(*r.sensitivity_db);
    if (r.sensitivity_ci_db)
      w.key("sensitivity_ci_db").begin_array(true).value(r.sensitivity_ci_db->first).value(r.sensitivity_ci_db->second).end_array();
    w.end_object();
  }
  w.end_array();
}

/// The typed search options of `options` (profile, candidates, target, order, labels, budget).
mp::SearchOptions search_options(const QuantizeOptions& options, const ProgressFn& progress_fn) {
  mp::SearchOptions so;
  so.profile = options.profile ? *options.profile : mp::generic_profile();
  so.candidates = options.candidates;
  // Candidates without a profile: no hardware was named, so the candidates themselves are what
  // it supports (the generic profile lists only W4A8..W16A16, and would otherwise replace a
  // W4A4 by its nearest pair, W4A8, without a word). A named profile still restricts them.
  if (!options.profile && !so.candidates.empty()) {
    so.profile.candidates = so.candidates;
    so.profile.description = "generic: the candidates given, for every op";
  }
  so.target = options.target;
  so.order = options.order;
  so.memory_budget_bytes = options.memory_budget_bytes;
  so.labels = options.labels;
  so.score = options.score;
  so.score_id = options.score_id;
  so.phase1_aggregate = options.phase1_aggregate;
  so.front_points = options.front_points;
  so.progress = [progress_fn](const std::string& phase, size_t done, size_t total) {
    return !progress_fn || progress_fn(phase, done, total);
  };
  if (options.on_front)
    so.on_front = [on_front = options.on_front](const mp::FrontUpdate& u) { on_front(mp::front_update_json(u)); };
  return so;
}

}  // namespace

QuantizeResult quantize(Workspace& ws, const QuantizeOptions& options, const ProgressFn& progress_fn) {
  const Progress progress{progress_fn};
  const size_t n = ws.samples().size();
  if (n == 0) throw Error(ErrorKind::InvalidArgument, "quantize: no calibration sample given (expected at least 1)");
  const bool search_mode = !options.bits;
  const mp::Candidate homog = options.bits.value_or(mp::Candidate{});
  // Checked before the long computation: options, and labels (one per sample used).
  std::optional<mp::SearchOptions> so;
  if (search_mode) so = search_options(options, progress_fn);
  if (!options.labels.empty()) check_labels(options.labels, n);
  if (!search_mode && !options.config.empty())
    throw Error(ErrorKind::InvalidArgument, "config: a per-group configuration needs a search (not homogeneous bits)");

  const quant::QuantModel& qmodel = ws.model();
  quant::CalibrationOptions copt;
  copt.weight_range = options.weight_range;
  copt.weight_rounding = options.weight_rounding;
  copt.bias_correction = options.bias_correction;
  copt.act_range = options.act_range;
  // Rows of the layers' inputs (output-aware ranges, learned rounding: tens of MB on large
  // models) are kept only when some weight may get <= 4 bits.
  auto low_bits = [](const std::vector<mp::Candidate>& v) {
    return std::any_of(v.begin(), v.end(), [](const mp::Candidate& c) { return c.w_bits <= 4; });
  };
  bool rows_needed = search_mode ? low_bits(so->profile.candidates) : homog.w_bits <= 4;
  if (search_mode)
    for (const auto& kv : so->profile.ops) rows_needed |= low_bits(kv.second.candidates);
  for (const auto& kv : options.layer_bits) rows_needed |= kv.second.w_bits <= 4;
  if (!rows_needed) copt.output_rows = 0;
  std::vector<std::string> reused;
  if (!ws.calibrate(copt, progress_fn)) reused.push_back("calibration");

  QuantizeResult res;
  res.samples_used = n;
  quant::QuantConfig cfg;
  const mp::SearchResult* sr = nullptr;
  // The per-group choice of the exported configuration (search mode).
  mp::Choice choice;
  const bool adjusted = !options.layer_bits.empty() || !options.config.empty();
  if (search_mode) {
    if (!ws.search(*so)) reused.push_back("search");
    sr = ws.search_result();
    choice = options.config.empty() ? sr->selected.choice : mp::choice_of(*sr, options.config, "config");
    if (!options.layer_bits.empty())
      choice = mp::override_layers(*sr, qmodel.layers(), choice, {options.layer_bits.begin(), options.layer_bits.end()});
    cfg = ws.config_of(choice);
    res.config = adjusted ? "mixed" : mp::selected_config_name(*sr);
    if (adjusted)
      for (const mp::Baseline& b : sr->baselines)
        if (b.point.choice == choice) res.config = mp::candidate_name(b.config);
    res.baseline_selected = !adjusted && sr->selected_index < 0;
    if (sr->selected_index >= 0) res.order_used = mp::order_name(sr->selected_order);
    res.stability_verdict = sr->stability.verdict;
    res.stability_message = sr->stability.message;
  } else {
    ws.set_labels(options.labels);
    ws.set_score(options.score, options.score_id);
    cfg = qmodel.homogeneous(homog.w_bits, homog.a_bits, homog.w_block);
    apply_layer_bits(qmodel, options.layer_bits, cfg);
    res.config = options.layer_bits.empty() ? mp::candidate_name(homog) : "mixed";
  }

  // The configuration's quality (measured by the search already unless adjusted) and cost.
  const auto eval_start = std::chrono::steady_clock::now();
  const mp::Eval ev = ws.evaluate(cfg, progress_fn);
  const double eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
  res.sqnr_db = ev.sqnr_db;
  res.top1 = ev.accuracy;
  res.score = ev.score;
  res.float_score = ws.float_score();
  mp::Cost cost;
  if (sr) {
    std::vector<mp::Group> groups;
    for (const mp::GroupReport& g : sr->groups) groups.push_back(g.group);
    cost = mp::choice_cost(groups, choice);
  } else {
    cost = mp::config_cost(qmodel.layers(), cfg);
  }
  res.rel_bops = cost.rel_bops;
  res.size_bytes = cost.size_bytes;

  Workspace::Export x;
  if (options.export_model) {
    progress("export", 0, 1);
    x = ws.export_config(cfg);
    res.model_bytes = std::move(x.model_bytes);
    res.encodings_json = std::move(x.encodings_json);
    progress("export", 1, 1);
  }

  // Per-layer table.
  int64_t total_macs = 0;
  for (const quant::Layer& l : qmodel.layers()) total_macs += l.macs;
  std::vector<mp::LayerChoice> chosen;
  if (sr) chosen = mp::layer_choices(*sr, qmodel.layers(), choice);
  for (size_t i = 0; i < qmodel.layers().size(); ++i) {
    const quant::Layer& l = qmodel.layers()[i];
    LayerRow r;
    r.name = l.name;
    r.op = l.op;
    r.macs = l.macs;
    r.macs_share = total_macs > 0 ? static_cast<double>(l.macs) / static_cast<double>(total_macs) : 0.0;
    r.w_bits = bits_of(cfg, l.weight_quantizer);
    r.w_block = l.weight_quantizer >= 0 ? cfg.block_of(static_cast<size_t>(l.weight_quantizer)) : 0;
    r.a_bits = bits_of(cfg, l.input_quantizer);
    if (i < chosen.size()) {
      r.sensitivity_db = chosen[i].sensitivity_db;
      r.sensitivity_ci_db = chosen[i].sensitivity_ci_db;
    }
    res.layers.push_back(std::move(r));
  }

  for (int i : ws.layers_not_run()) res.layers_not_run.push_back(qmodel.layers()[static_cast<size_t>(i)].name);

  // report.json (cli.md).
  JsonWriter w(2);
  w.begin_object();
  w.key("model").begin_object();
  w.key("file").value(options.model_file.empty() ? std::string("model.onnx") : options.model_file);
  w.key("sha256").value(options.model_sha256);
  w.key("macs").value(total_macs);
  w.end_object();
  w.key("mode").value(search_mode ? "search" : "homogeneous");
  w.key("samples").value(n);
  if (search_mode) {
    w.key("candidates").begin_array(true);
    std::vector<mp::Candidate> cands;
    for (const mp::GroupReport& g : sr->groups)
      for (const mp::Candidate& c : g.group.candidates)
        if (std::find(cands.begin(), cands.end(), c) == cands.end()) cands.push_back(c);
    mp::sort_widest_first(cands);
    for (const mp::Candidate& c : cands) w.value(mp::candidate_name(c));
    w.end_array();
    mp::write_search_json(w, *sr);
    if (adjusted) {
      // The configuration the user chose on top of the search (a front point, overrides).
      w.key("final").begin_object();
      w.key("config").value(res.config);
      w.key("rel_bops").value(res.rel_bops).key("size_bytes").value(res.size_bytes);
      std::vector<mp::Group> groups;
      for (const mp::GroupReport& g : sr->groups) groups.push_back(g.group);
      w.key("rel_size").value(mp::choice_cost(groups, choice).rel_size);
      w.key("sqnr_db").value(res.sqnr_db);
      if (res.top1) w.key("top1").value(*res.top1);
      if (res.score) w.key("score").value(*res.score);
      w.key("group_config").begin_array(true);
      for (size_t gi = 0; gi < sr->groups.size(); ++gi)
        w.value(mp::candidate_name(sr->groups[gi].group.candidates[static_cast<size_t>(choice[gi])]));
      w.end_array();
      write_layers_json(w, res.layers);
      w.end_object();
    }
  } else {
    w.key("candidates").begin_array(true).value(mp::candidate_name(homog)).end_array();
    w.key("groups").begin_array();
    // Homogeneous: one row per layer's decision (its weight and input activation), no sensitivity.
    for (size_t i = 0; i < qmodel.layers().size(); ++i) {
      const quant::Layer& l = qmodel.layers()[i];
      w.begin_object(true);
      w.key("id").value(i);
      w.key("layers").begin_array(true).value(l.name).end_array();
      w.key("activations").begin_array(true);
      if (l.input_quantizer >= 0) w.value(qmodel.quantizer(l.input_quantizer).tensor);
      w.end_array();
      w.key("candidates").begin_array(true).value(mp::candidate_name(homog)).end_array();
      w.key("sensitivity_db").begin_object(true).end_object();
      w.end_object();
    }
    w.end_array();
    w.key("baselines").begin_array();
    w.begin_object(true);
    w.key("config").value(mp::candidate_name(homog)).key("rel_bops").value(res.rel_bops).key("size_bytes").value(res.size_bytes);
    w.key("sqnr_db").value(res.sqnr_db);
    w.end_object();
    w.end_array();
    w.key("pareto").begin_array().end_array();
    w.key("selected").begin_object();
    w.key("config").value(res.config);
    w.key("rel_bops").value(res.rel_bops).key("size_bytes").value(res.size_bytes).key("sqnr_db").value(res.sqnr_db);
    if (!std::isnan(ev.top1_agreement)) w.key("top1_agreement").value(ev.top1_agreement);
    if (res.top1) w.key("top1").value(*res.top1);
    if (res.score) w.key("score").value(*res.score);
    if (res.float_score) w.key("float_score").value(*res.float_score);
    write_layers_json(w, res.layers);
    w.end_object();
  }
  if (!res.layers_not_run.empty()) {
    w.key("layers_not_run").begin_array(true);
    for (const std::string& name : res.layers_not_run) w.value(name);
    w.end_array();
  }
  if (options.export_model) {
    const quant::ExportStats& xst = x.stats;
    w.key("export").begin_object(true);
    w.key("bytes").value(res.model_bytes.size()).key("weights").value(xst.weights).key("activations").value(xst.activations);
    w.key("clips").value(xst.clips).key("guards").value(xst.guards).key("batchnorms_folded").value(xst.batchnorms_folded);
    w.key("com_microsoft").value(xst.uses_com_microsoft).key("raised_to_opset21").value(xst.raised_to_opset21);
    w.end_object();
  }
  w.key("timing_s").begin_object(true);
  w.key("calibration").value(ws.calibration_seconds());
  if (search_mode) {
    mp::write_timing_fields(w, sr->timing);
  } else {
    // Homogeneous: range setting (learned rounding included) and the evaluation of the config.
    w.key("phase1").value(0.0).key("phase2").value(0.0).key("evaluate").value(eval_seconds);
  }
  w.key("export").value(x.seconds);
  w.key("reused").begin_array(true);
  for (const std::string& r : reused) w.value(r);
  w.end_array();
  w.end_object();
  w.end_object();
  res.report_json = w.str() + "\n";
  return res;
}

QuantizeResult quantize(onnx::Model model, const std::vector<Sample>& samples, const QuantizeOptions& options,
                        const ProgressFn& progress) {
  QuantizeOptions opt = options;
  if (opt.model_sha256.empty()) opt.model_sha256 = sha256_hex(onnx::write_model(model));
  SessionOptions so;
  so.threads = options.threads;
  so.input_shapes = options.input_shapes;
  Workspace ws(std::make_unique<Session>(std::move(model), so), options.input_shapes);
  const size_t cap = options.max_samples ? options.max_samples : kDefaultMaxSamples;
  ws.set_samples(std::vector<Sample>(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(std::min(cap, samples.size()))));
  return quantize(ws, opt, progress);
}

QuantizeResult quantize_bytes(const std::string& model_bytes, const std::vector<Sample>& samples,
                              const QuantizeOptions& options, const ProgressFn& progress) {
  QuantizeOptions opt = options;
  if (opt.model_sha256.empty()) opt.model_sha256 = sha256_hex(model_bytes);
  auto bytes = std::make_shared<const std::string>(model_bytes);
  return quantize(onnx::read_model(bytes, opt.model_file.empty() ? "model.onnx" : opt.model_file), samples, opt, progress);
}

}  // namespace qm::api
