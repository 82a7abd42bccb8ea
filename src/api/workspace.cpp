// The quantization workspace (see workspace.h).
#include "api/workspace.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "mixed_precision/sim_evaluator.h"
#include "onnx/model_writer.h"
#include "quant/encodings_json.h"
#include "quant/simulator.h"

namespace qm::api {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool same_options(const quant::CalibrationOptions& a, const quant::CalibrationOptions& b) {
  // a: the calibration done, b: the one asked for; rows kept for more layers serve fewer.
  return a.weight_range == b.weight_range && a.weight_rounding == b.weight_rounding &&
         a.bias_correction == b.bias_correction && a.act_range.kind == b.act_range.kind &&
         a.rows_per_layer() >= b.rows_per_layer() &&
         a.act_range.percentile == b.act_range.percentile && a.histogram_bins == b.histogram_bins;
}

}  // namespace

Workspace::Workspace(std::unique_ptr<Session> session, const std::map<std::string, ops::Dims>& input_shapes)
    : session_(std::move(session)) {
  if (!session_) throw Error(ErrorKind::InvalidArgument, "workspace: no model");
  quant::PlacementOptions popt;
  popt.input_shapes = input_shapes;
  qmodel_ = std::make_unique<quant::QuantModel>(session_->plan(), popt);
  if (qmodel_->layers().empty() && qmodel_->quantizers().empty())
    throw Error(ErrorKind::InvalidArgument, "quantize: the model has nothing to quantize (no float activations or weighted layers)");
}

Workspace::~Workspace() = default;

void Workspace::drop_search() {
  search_.reset();
  search_groups_.clear();
}

void Workspace::drop_calibration() {
  drop_search();
  evals_.clear();
  eval_.reset();
  sim_.reset();  // refers to the encodings
  enc_.reset();
  calibrated_with_.reset();
}

void Workspace::set_samples(std::vector<Sample> samples, const std::vector<std::string>& names) {
  const size_t ninputs = session_->inputs().size();
  for (size_t k = 0; k < samples.size(); ++k) {
    const std::string what = k < names.size() ? "calibration sample '" + names[k] + "'" : "calibration sample " + std::to_string(k);
    if (samples[k].size() != ninputs)
      throw Error(ErrorKind::InvalidArgument, what + " has " + std::to_string(samples[k].size()) +
                                                  " tensors (expected one per model input: " + std::to_string(ninputs) + ")");
    for (size_t i = 0; i < ninputs; ++i) samples[k][i] = session_->conform_input(i, std::move(samples[k][i]), what);
  }
  drop_calibration();  // everything after the samples depends on them
  samples_ = std::move(samples);
  sample_names_ = names;
}

bool Workspace::calibrate(const quant::CalibrationOptions& options, const ProgressFn& progress) {
  if (samples_.empty()) throw Error(ErrorKind::InvalidArgument, "quantize: no calibration sample given (expected at least 1)");
  if (calibrated_with_ && same_options(*calibrated_with_, options)) return false;
  drop_calibration();
  const auto t0 = Clock::now();
  enc_ = std::make_unique<quant::Encodings>(quant::calibrate(*qmodel_, session_->executor(), samples_, options,
                                                              [&](size_t done, size_t total) {
                                                                return !progress || progress("calibration", done, total);
                                                              }));
  sim_ = std::make_unique<quant::Simulator>(*qmodel_, *enc_, session_->executor());
  calibrated_with_ = options;
  calibration_seconds_ = seconds_since(t0);
  return true;
}

mp::SimEvaluator& Workspace::evaluator(const std::vector<int64_t>& labels, size_t memory_budget, const ProgressFn& progress) {
  if (!sim_) throw Error(ErrorKind::InvalidArgument, "quantize: calibrate before searching or evaluating");
  if (!eval_ || labels != labels_) {
    drop_search();
    evals_.clear();
    eval_.reset();
    eval_ = std::make_unique<mp::SimEvaluator>(*qmodel_, *sim_, samples_, labels, memory_budget, progress);
    eval_->set_sample_names(sample_names_);
    labels_ = labels;
    applied_score_.reset();
  }
  apply_score();
  return *eval_;
}

void Workspace::apply_score() {
  const std::optional<std::string> want = score_ ? std::optional<std::string>(score_id_) : std::nullopt;
  if (!eval_ || want == applied_score_) return;
  // Every stored evaluation carries the old metric.
  drop_search();
  evals_.clear();
  applied_score_.reset();
  eval_->set_score(score_);  // scores the FP references (throws on a non-finite score)
  applied_score_ = want;
}

void Workspace::set_score(mp::ScoreFn score, std::string id) {
  score_ = std::move(score);
  score_id_ = std::move(id);
  const std::optional<std::string> want = score_ ? std::optional<std::string>(score_id_) : std::nullopt;
  if (want != applied_score_) {
    // What is stored was measured with another metric; the evaluator takes the new score (and
    // scores its FP references) when it is next used.
    drop_search();
    evals_.clear();
  }
}

std::optional<double> Workspace::float_score() const {
  return eval_ && applied_score_ ? eval_->reference_score() : std::nullopt;
}

void Workspace::set_labels(std::vector<int64_t> labels) {
  if (eval_ && labels != labels_) {
    drop_search();
    evals_.clear();
    eval_.reset();
  }
  labels_ = std::move(labels);
}

quant::QuantConfig Workspace::config_of(const mp::Choice& choice) const {
  if (!search_) throw Error(ErrorKind::InvalidArgument, "quantize: no search to take a configuration from");
  std::vector<mp::Group> groups;
  for (const mp::GroupReport& g : search_->groups) groups.push_back(g.group);
  return mp::choice_config(groups, choice, qmodel_->quantizers().size());
}

bool Workspace::search(const mp::SearchOptions& options) {
  if (!sim_) throw Error(ErrorKind::InvalidArgument, "quantize: calibrate before searching");
  const auto groups = mp::build_groups(qmodel_->quantizers(), qmodel_->layers(), options.profile, options.candidates,
                                       mp::layer_traits(*qmodel_));
  std::vector<std::vector<mp::Candidate>> cands;
  for (const mp::Group& g : groups) cands.push_back(g.candidates);
  const bool size = options.target.kind == mp::TargetKind::Size;
  set_score(options.score, options.score_id);
  const std::optional<std::string> score_key = options.score ? std::optional<std::string>(options.score_id) : std::nullopt;
  const bool same = search_ && labels_ == options.labels && applied_score_ == score_key && cands == search_groups_ && search_order_ == options.order &&
                    search_full_front_ == options.full_front && search_front_points_ == options.front_points &&
                    search_aggregate_ == options.phase1_aggregate && (search_size_ == size || search_full_front_);
  if (same && eval_) {
    // Only the target changed (or nothing): phase 3 on the stored fronts. A point phase 2 left
    // predicted that was evaluated since (a click on it) counts as measured: not measured again.
    for (std::vector<mp::Point>* front : {&search_->pareto, &search_->pareto_other}) {
      for (mp::Point& p : *front) {
        if (p.evaluated) continue;
        const auto it = evals_.find(config_of(p.choice).key());
        if (it == evals_.end()) continue;
        p.eval = it->second;
        p.evaluated = true;
      }
    }
    mp::reselect(*search_, qmodel_->quantizers(), qmodel_->layers(), eval_->evaluator(), options.target, options.progress);
  } else {
    const double enc_seconds = mp::prepare_candidates(groups, *sim_, options.progress);
    mp::SimEvaluator& ev = evaluator(options.labels, options.memory_budget_bytes, options.progress);
    ev.set_memory_budget(options.memory_budget_bytes);
    drop_search();
    mp::SearchResult r = mp::search_groups(groups, qmodel_->quantizers(), qmodel_->layers(), ev.evaluator(), options);
    r.float_score = ev.reference_score();
    ev.add_timing(r.timing);
    r.timing.encodings = enc_seconds;
    r.timing.total += enc_seconds;
    search_ = std::move(r);
    search_groups_ = std::move(cands);
    search_order_ = options.order;
    search_full_front_ = options.full_front;
    search_front_points_ = options.front_points;
    search_aggregate_ = options.phase1_aggregate;
    search_size_ = size;
  }
  // Every measured point answers later evaluations of the same configuration.
  auto keep = [&](const mp::Point& p) {
    if (p.evaluated) evals_.emplace(config_of(p.choice).key(), p.eval);
  };
  for (const mp::Baseline& b : search_->baselines) keep(b.point);
  for (const mp::Point& p : search_->pareto) keep(p);
  for (const mp::Point& p : search_->pareto_other) keep(p);
  return !same;
}

mp::Eval Workspace::evaluate(const quant::QuantConfig& config, const ProgressFn& progress) {
  if (config.bits.size() != qmodel_->quantizers().size())
    throw Error(ErrorKind::InvalidArgument, "evaluate: the configuration has " + std::to_string(config.bits.size()) +
                                                " entries, the model has " + std::to_string(qmodel_->quantizers().size()) +
                                                " quantizers");
  auto it = evals_.find(config.key());
  if (it != evals_.end()) return it->second;
  mp::prepare_config(config, *sim_, progress);
  mp::SimEvaluator& ev = evaluator(labels_, size_t{512} << 20, progress);
  const size_t n = samples_.size();
  if (progress && !progress("evaluate", 0, n)) throw Error(ErrorKind::InvalidArgument, "cancelled: stopped during evaluate");
  ev.evaluator().on_unit = [&](size_t done) { return !progress || progress("evaluate", done, n); };
  struct Reset {
    mp::Evaluator& e;
    ~Reset() { e.on_unit = nullptr; }
  } reset{ev.evaluator()};
  const mp::Eval e = ev.evaluate(config);
  return evals_.emplace(config.key(), e).first->second;
}

std::vector<int> Workspace::layers_not_run() const {
  std::vector<int> out;
  if (!enc_) return out;
  for (size_t i = 0; i < qmodel_->layers().size(); ++i) {
    const quant::Layer& l = qmodel_->layers()[i];
    if (l.scope.empty() || l.output_quantizer < 0 || qmodel_->quantizer(l.output_quantizer).scope.empty()) continue;
    const quant::StreamingHistogram* h = enc_->histogram(l.output_quantizer);
    if (!h || h->count() == 0) out.push_back(static_cast<int>(i));
  }
  return out;
}

Workspace::Export Workspace::export_config(const quant::QuantConfig& config) {
  if (!enc_) throw Error(ErrorKind::InvalidArgument, "export: calibrate first");
  const auto t0 = Clock::now();
  std::vector<quant::ExportQuantizer> eqs;
  for (const quant::Quantizer& q : qmodel_->quantizers()) {
    const int b = config.bits.at(static_cast<size_t>(q.id));
    if (b <= 0) continue;
    quant::ExportQuantizer e;
    e.kind = q.kind;
    e.value = q.value;
    e.scope = q.scope;
    e.path = q.path;
    e.encoding = enc_->get(q.id, b, config.block_of(static_cast<size_t>(q.id)));
    if (!e.encoding.calibrated()) continue;  // in a subgraph no sample ran: stays float
    if (q.kind == quant::QuantizerKind::Weight) {
      if (!q.scope.empty()) e.weight = &qmodel_->weight(q.id);
      const quant::Layer& layer = qmodel_->layers()[static_cast<size_t>(q.layer)];
      e.step = layer.step;
      e.bias = layer.bias;
      e.bias_step = layer.bias_step;
      e.bias_input = layer.bias_input;
    }
    eqs.push_back(std::move(e));
  }
  Export x;
  const onnx::Model qdq = quant::export_qdq(session_->plan(), eqs, {}, &x.stats);
  x.model_bytes = onnx::write_model(qdq);
  x.encodings_json = quant::encodings_to_json(*qmodel_, *enc_, config);
  x.seconds = seconds_since(t0);
  return x;
}

}  // namespace qm::api
