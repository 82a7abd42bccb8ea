// SimEvaluator (see sim_evaluator.h), search() on it, and the depthwise traits of a model.
#include "mixed_precision/sim_evaluator.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/conv.h"
#include "quant/metrics.h"
#include "quant/simulator.h"

namespace qm::mp {

LayerTraits layer_traits(const quant::QuantModel& model) {
  LayerTraits t;
  const auto& plan = model.plan();
  for (const auto& l : model.layers()) {
    bool dw = false;
    if (l.op == "Conv" && l.step >= 0 && static_cast<size_t>(l.step) < plan.steps().size()) {
      const auto& step = plan.steps()[static_cast<size_t>(l.step)];
      const auto* attrs = dynamic_cast<const ops::ConvAttrs*>(step.attrs.get());
      const Tensor* w = step.inputs.size() > 1 ? plan.constant(step.inputs[1]) : nullptr;
      if (attrs && w && attrs->group > 1 && w->rank() >= 2 && w->shape()[1] == 1) dw = true;
    }
    t.depthwise.push_back(dw);
  }
  return t;
}

namespace {

using Clock = std::chrono::steady_clock;

// Top-1 of output 0 (argmax over its last axis, one row per sample) against the labels.
bool top1_correct(const std::vector<Tensor>& outputs, int64_t label) {
  if (outputs.empty() || outputs[0].dtype() != DataType::Float || outputs[0].numel() == 0) return false;
  const Tensor& y = outputs[0];
  const float* p = y.data<float>();
  const int64_t n = y.numel();
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best == label;
}

}  // namespace

SimEvaluator::SimEvaluator(const quant::QuantModel& model, quant::Simulator& sim,
                           const std::vector<std::vector<Tensor>>& samples, std::vector<int64_t> labels,
                           size_t memory_budget_bytes, const ProgressFn& progress)
    : model_(model), sim_(sim), samples_(samples), labels_(std::move(labels)), budget_(memory_budget_bytes) {
  if (samples.empty()) throw Error(ErrorKind::InvalidArgument, "Searching: no calibration sample");
  if (!labels_.empty() && labels_.size() != samples.size())
    throw Error(ErrorKind::InvalidArgument, "Searching: labels — expected one per sample (expected " +
                                                std::to_string(samples.size()) + ", got " + std::to_string(labels_.size()) + ")");
  const auto& plan = model.plan();
  const size_t nsteps = plan.steps().size();
  // FP reference outputs. The passes also time each step (the gap between consecutive hook
  // calls is the step that produced the later value; single-threaded runs make this exact
  // enough), which weighs the steps for the forward-pass-equivalent count.
  // A second, deterministic weighting (MACs for layers, output elements for other steps) gives
  // a count that does not depend on the machine's load (tests use it).
  std::vector<double> weight(nsteps + 1, 0.0), weight_ops(nsteps + 1, 0.0);
  for (const auto& l : model.layers())
    if (l.step >= 0 && static_cast<size_t>(l.step) < nsteps) weight_ops[static_cast<size_t>(l.step)] += static_cast<double>(l.macs);
  Clock::time_point last;
  bool first_sample = true;
  auto observer = [&](graph::ValueId v, const Tensor& t) -> std::optional<Tensor> {
    const auto now = Clock::now();
    const int s = static_cast<size_t>(v) < plan.num_values() ? plan.producer_step(v) : -1;  // else inside a subgraph
    if (s >= 0) {
      weight[static_cast<size_t>(s)] += std::chrono::duration<double>(now - last).count();
      if (first_sample) weight_ops[static_cast<size_t>(s)] += static_cast<double>(t.numel());
    }
    last = Clock::now();
    return std::nullopt;
  };
  const auto t_fp = Clock::now();
  fp_.resize(samples.size());
  const quant::QuantConfig off = model.off();
  for (size_t s = 0; s < samples.size(); ++s) {
    if (progress && !progress("reference", s, samples.size()))
      throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during the FP reference pass");
    last = Clock::now();
    fp_[s] = sim.run(off, samples[s], observer);
    first_sample = false;
  }
  fp_seconds_ = std::chrono::duration<double>(Clock::now() - t_fp).count();
  auto suffix_share = [&](const std::vector<double>& w) {
    std::vector<double> suffix(nsteps + 1, 0.0);
    for (size_t s = nsteps; s-- > 0;) suffix[s] = suffix[s + 1] + w[s];
    const double total = suffix[0] > 0 ? suffix[0] : 1.0;
    for (auto& x : suffix) x /= total;
    return suffix;
  };
  suffix_ = suffix_share(weight);
  suffix_ops_ = suffix_share(weight_ops);

  const size_t S = samples.size();
  const double per_sample = 1.0 / static_cast<double>(S);
  // Sums per sample, merged in sample order: the same numbers whatever the thread count.
  auto finish = [this](const std::vector<quant::SqnrAccumulator>& per, const std::vector<char>& correct,
                       const std::vector<double>& scores) {
    quant::SqnrAccumulator acc;
    for (const auto& a : per) acc.merge(a);
    Eval e;
    e.nsr = acc.noise_to_signal();
    e.sqnr_db = acc.sqnr_db();
    e.top1_agreement = acc.top1_agreement();
    if (!labels_.empty())
      e.accuracy = static_cast<double>(std::count(correct.begin(), correct.end(), 1)) / static_cast<double>(samples_.size());
    if (score_) {
      double sum = 0;  // in sample order
      for (double v : scores) sum += v;
      e.score = sum / static_cast<double>(samples_.size());
    }
    return e;
  };
  ev_.units = S;
  ev_.work_fpe = [this]() { return work_; };
  ev_.evaluate = [this, finish](const quant::QuantConfig& cfg) {
    std::vector<quant::SqnrAccumulator> acc(samples_.size());
    std::vector<char> correct(samples_.size(), 0);
    std::vector<double> scores(score_ ? samples_.size() : 0, 0.0);
    const bool done = for_samples(
        [&](quant::Simulator& sim, size_t s) {
          const auto out = sim.run(cfg, samples_[s]);
          acc[s].add(fp_[s], out);
          if (!labels_.empty()) correct[s] = top1_correct(out, labels_[s]);
          if (score_) scores[s] = score_of(out, s, "");  // on the calling thread (scored run)
        },
        [&](size_t done_samples) { return !ev_.on_unit || ev_.on_unit(done_samples); }, static_cast<bool>(score_));
    if (!done) throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller");
    work_ += 1.0;
    return finish(acc, correct, scores);
  };
  ev_.evaluate_many = [this, per_sample, nsteps](const std::vector<quant::QuantConfig>& cfgs,
                                                 const std::function<bool(size_t, size_t)>& tick) {
    // acc[s][k]: sample s under config k.
    std::vector<std::vector<quant::SqnrAccumulator>> acc(samples_.size(), std::vector<quant::SqnrAccumulator>(cfgs.size()));
    std::vector<size_t> first(cfgs.size());
    for (size_t k = 0; k < cfgs.size(); ++k) first[k] = model_.first_affected_step(cfgs[k]);
    std::vector<double> work(samples_.size(), 0.0), ops(samples_.size(), 0.0);
    std::vector<char> all(samples_.size(), 1);
    const size_t total = samples_.size() * cfgs.size();
    // Each thread caches one sample at a time: the budget is shared.
    const size_t budget = budget_ / std::max<size_t>(1, threads());
    std::atomic<size_t> done_configs{0};
    const bool done = for_samples(
        [&](quant::Simulator& sim, size_t s) {
          const auto fp_s = sim.cache_fp({samples_[s]}, budget);
          work[s] += per_sample;
          ops[s] += per_sample;
          const auto& cps = sim.checkpoints();
          if (cps.size() < nsteps) all[s] = 0;
          for (size_t k = 0; k < cfgs.size() && !cancelled_; ++k) {
            acc[s][k].add(fp_s[0], sim.run_cached(cfgs[k], 0));
            // The simulator resumes at the last checkpoint at or before the first affected step.
            auto it = std::upper_bound(cps.begin(), cps.end(), first[k]);
            const size_t resume = it == cps.begin() ? 0 : *(it - 1);
            work[s] += per_sample * suffix_[std::min(resume, nsteps)];
            ops[s] += per_sample * suffix_ops_[std::min(resume, nsteps)];
            ++done_configs;
            if (on_caller()) report(tick(done_configs, total));
          }
          sim.clear_cache();
        },
        [&](size_t) { return tick(done_configs, total); });
    for (size_t s = 0; s < samples_.size(); ++s) {
      work_ += work[s];
      phase1_ops_ += ops[s];
      cached_all_ = cached_all_ && all[s];
    }
    if (!done) return std::vector<Eval>{};
    tick(total, total);
    std::vector<Eval> out(cfgs.size());
    for (size_t k = 0; k < cfgs.size(); ++k) {
      quant::SqnrAccumulator merged;
      for (size_t s = 0; s < samples_.size(); ++s) merged.merge(acc[s][k]);
      out[k].nsr = merged.noise_to_signal();
      out[k].sqnr_db = merged.sqnr_db();
      // Each sample's own sums too (stability.h bootstraps over them).
      out[k].per_sample.reserve(samples_.size());
      for (size_t s = 0; s < samples_.size(); ++s) out[k].per_sample.push_back(SampleSums{acc[s][k].noise(), acc[s][k].signal()});
    }
    return out;
  };
  ev_.evaluate_path = [this, per_sample, nsteps, finish](const std::vector<quant::QuantConfig>& path,
                                                         const std::function<bool(size_t, size_t)>& tick) {
    std::vector<std::vector<quant::SqnrAccumulator>> acc(path.size(), std::vector<quant::SqnrAccumulator>(samples_.size()));
    std::vector<std::vector<char>> correct(path.size(), std::vector<char>(samples_.size(), 0));
    std::vector<std::vector<double>> scores(path.size(), std::vector<double>(score_ ? samples_.size() : 0, 0.0));
    std::exception_ptr score_error;  // the path stops at the first; thrown once run_path has returned
    std::vector<double> work(samples_.size(), 0.0);
    const size_t total = samples_.size() * path.size();
    const size_t budget = budget_ / std::max<size_t>(1, threads());
    std::atomic<size_t> done_points{0};
    const bool done = for_samples(
        [&](quant::Simulator& sim, size_t s) {
          std::vector<size_t> resumed;
          sim.run_path(
              path, samples_[s],
              [&](size_t k, std::vector<Tensor>&& out) {
                acc[k][s].add(fp_[s], out);
                if (!labels_.empty()) correct[k][s] = top1_correct(out, labels_[s]);
                if (score_) {
                  try {
                    scores[k][s] = score_of(out, s, "");
                  } catch (...) {
                    score_error = std::current_exception();
                    cancelled_ = true;
                    return false;
                  }
                }
                ++done_points;
                if (on_caller()) report(tick(done_points, total));
                return !cancelled_;
              },
              budget, &resumed);
          for (size_t r : resumed) work[s] += per_sample * suffix_[std::min(r, nsteps)];
        },
        [&](size_t) { return tick(done_points, total); }, static_cast<bool>(score_));
    for (double w : work) work_ += w;
    if (score_error) std::rethrow_exception(score_error);
    if (!done) return std::vector<Eval>{};
    std::vector<Eval> out;
    for (size_t k = 0; k < path.size(); ++k) out.push_back(finish(acc[k], correct[k], scores[k]));
    return out;
  };
}

size_t SimEvaluator::threads() const {
  ThreadPool* pool = sim_.executor().pool();
  return pool ? pool->size() : 1;
}

bool SimEvaluator::spread_fits() const {
  // Each extra thread's executor packs its own copy of the weights (about their float size).
  double weight_bytes = 0;
  for (const quant::Layer& l : model_.layers()) weight_bytes += 4.0 * static_cast<double>(l.weight_elements);
  return weight_bytes * static_cast<double>(threads() - 1) <= static_cast<double>(budget_) / 2;
}

bool SimEvaluator::on_caller() const { return std::this_thread::get_id() == caller_; }

void SimEvaluator::report(bool keep_going) {
  if (!keep_going) cancelled_ = true;
}

quant::Simulator& SimEvaluator::simulator_for_this_thread() {
  if (on_caller()) return sim_;
  std::lock_guard<std::mutex> lock(workers_mutex_);
  const auto id = std::this_thread::get_id();
  for (Worker& w : workers_)
    if (w.thread == id) return *w.sim;
  // Another executor on the same plan and pool (its ops run inline while the samples are spread)
  // and a simulator sharing the fake-quantized weights.
  Worker w;
  w.thread = id;
  w.exec = std::make_unique<graph::Executor>(model_.plan(), sim_.executor().pool());
  w.sim = std::make_unique<quant::Simulator>(sim_, *w.exec);
  workers_.push_back(std::move(w));
  return *workers_.back().sim;
}

void SimEvaluator::set_score(ScoreFn score) {
  score_ = nullptr;  // until the reference is scored: a failing score is not kept
  reference_score_.reset();
  if (!score) return;
  score_ = std::move(score);
  try {
    double sum = 0;  // in sample order
    for (size_t s = 0; s < fp_.size(); ++s) sum += score_of(fp_[s], s, " of the float model");
    reference_score_ = sum / static_cast<double>(fp_.size());
  } catch (...) {
    score_ = nullptr;
    throw;
  }
}

double SimEvaluator::score_of(const std::vector<Tensor>& outputs, size_t sample, const char* what) const {
  // "calibration sample 2 ('line.png')": the index is what the score function was given, the
  // name what the user knows the sample by.
  const std::string subject = "score: calibration sample " + std::to_string(sample) +
                              (sample < sample_names_.size() ? " ('" + sample_names_[sample] + "')" : std::string()) + what;
  double v = 0;
  try {
    v = score_(outputs, sample);
  } catch (const Error& e) {
    throw Error(e.kind(), subject + ": " + e.what());
  }
  if (std::isfinite(v)) return v;
  const char* text = std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  throw Error(ErrorKind::InvalidArgument, subject + " scored " + text + " (the score must be a finite number, higher is better)");
}

bool SimEvaluator::for_samples(const std::function<void(quant::Simulator&, size_t)>& body,
                               const std::function<bool(size_t)>& progress, bool scored) {
  cancelled_ = false;
  caller_ = std::this_thread::get_id();
  std::atomic<size_t> done{0};
  auto one = [&](size_t s) {
    if (cancelled_) return;
    body(simulator_for_this_thread(), s);
    ++done;
    if (on_caller()) report(progress(done));
  };
  ThreadPool* pool = sim_.executor().pool();
  if (!scored && pool && pool->size() > 1 && samples_.size() > 1 && spread_fits()) pool->parallel_for(samples_.size(), one);
  else for (size_t s = 0; s < samples_.size(); ++s) one(s);  // the ops use the threads instead
  return !cancelled_;
}

void SimEvaluator::add_timing(Timing& t) const {
  t.fp_pass = fp_seconds_;
  t.phase1_cached = cached_all_;
  t.phase1_ops_fpe = phase1_ops_;
  t.phase0 += fp_seconds_;
  t.total += fp_seconds_;
  t.phase1_time_fpe = fp_seconds_ > 0 ? t.phase1 / fp_seconds_ : 0;
}

namespace {

// Progress of range setting: reported only where it takes time (learned rounding).
struct RangeProgress {
  const ProgressFn& progress;
  size_t total;
  bool on;
  RangeProgress(const ProgressFn& p, quant::Simulator& sim, size_t n)
      : progress(p), total(n), on(p && sim.encodings().options().weight_rounding == quant::WeightRounding::Learned) {
    step(0);
  }
  void step(size_t done) const {
    if (on && !progress("ranges", done, total))
      throw Error(ErrorKind::InvalidArgument, "cancelled: stopped while setting weight ranges");
  }
};

}  // namespace

double prepare_candidates(const std::vector<Group>& groups, quant::Simulator& sim, const ProgressFn& progress) {
  const auto t = Clock::now();
  const RangeProgress report(progress, sim, groups.size());
  for (size_t k = 0; k < groups.size(); ++k) {
    const Group& g = groups[k];
    for (const auto& c : g.candidates) {
      for (int q : g.activations) sim.encodings().get(q, c.a_bits);
      for (int q : g.weights) sim.fake_weight(q, c.w_bits, c.w_block);
    }
    report.step(k + 1);
  }
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void prepare_config(const quant::QuantConfig& config, quant::Simulator& sim, const ProgressFn& progress) {
  std::vector<int> weights;
  for (const quant::Quantizer& q : sim.model().quantizers())
    if (q.kind == quant::QuantizerKind::Weight && config.bits.at(static_cast<size_t>(q.id)) > 0) weights.push_back(q.id);
  const RangeProgress report(progress, sim, weights.size());
  for (size_t k = 0; k < weights.size(); ++k) {
    const size_t q = static_cast<size_t>(weights[k]);
    sim.encodings().get(weights[k], config.bits[q], config.block_of(q));
    report.step(k + 1);
  }
}

SearchResult search(const quant::QuantModel& model, quant::Simulator& sim, const std::vector<std::vector<Tensor>>& samples,
                    const SearchOptions& options) {
  if (samples.empty()) throw Error(ErrorKind::InvalidArgument, "Searching: no calibration sample");
  const auto groups = build_groups(model.quantizers(), model.layers(), options.profile, options.candidates,
                                   layer_traits(model));
  // Encodings and fake-quantized weights of every candidate width, up front: they are range
  // setting (lazy in Encodings), not search work, and would otherwise land in phase 1's timing.
  const double enc_seconds = prepare_candidates(groups, sim);
  SimEvaluator ev(model, sim, samples, options.labels, options.memory_budget_bytes, options.progress);
  if (options.score) ev.set_score(options.score);
  SearchResult r = search_groups(groups, model.quantizers(), model.layers(), ev.evaluator(), options);
  r.float_score = ev.reference_score();
  ev.add_timing(r.timing);
  r.timing.encodings = enc_seconds;
  r.timing.total += enc_seconds;
  return r;
}

}  // namespace qm::mp
