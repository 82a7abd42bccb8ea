// search() on the quantization simulator: the Evaluator behind phases 0-3.
//   - full configurations: every sample through Simulator::run, SQNR against the FP outputs of
//     phase 0 (kept for the whole search: outputs only, small);
//   - phase 1: samples outer, configurations inner. For each sample the simulator caches that
//     one sample's FP activations (within the memory budget: all values, else checkpoints), then
//     every (group, candidate) config resumes at the first step it changes (run_cached). Memory
//     is one sample's activations instead of all samples', and the work is one FP pass plus the
//     downstream parts.
// Work is counted in forward-pass equivalents (FPE): each step weighs its measured time in the FP
// reference passes; a run resumed at step s costs the share of steps s.. in a full pass.
#include "mixed_precision/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
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

SearchResult search(const quant::QuantModel& model, quant::Simulator& sim, const std::vector<std::vector<Tensor>>& samples,
                    const SearchOptions& options) {
  if (samples.empty()) throw Error(ErrorKind::InvalidArgument, "Searching: no calibration sample");
  if (!options.labels.empty() && options.labels.size() != samples.size())
    throw Error(ErrorKind::InvalidArgument, "Searching: labels — expected one per sample (expected " +
                                                std::to_string(samples.size()) + ", got " +
                                                std::to_string(options.labels.size()) + ")");
  const auto& plan = model.plan();
  const size_t nsteps = plan.steps().size();
  const auto groups = build_groups(model.quantizers(), model.layers(), options.profile, options.candidates,
                                   layer_traits(model));

  // Encodings and fake-quantized weights of every candidate width, up front: they are range
  // setting (lazy in Encodings), not search work, and would otherwise land in phase 1's timing.
  const auto t_enc = Clock::now();
  for (const auto& g : groups) {
    for (const auto& c : g.candidates) {
      for (int q : g.activations) sim.encodings().get(q, c.a_bits);
      for (int q : g.weights) sim.fake_weight(q, c.w_bits);
    }
  }
  const double enc_seconds = std::chrono::duration<double>(Clock::now() - t_enc).count();

  // FP reference outputs. The passes also time each step (the gap between consecutive hook
  // calls is the step that produced the later value; single-threaded runs make this exact
  // enough), which weighs the steps for the forward-pass-equivalent count of phase 1.
  // A second, deterministic weighting (MACs for layers, output elements for other steps) gives
  // a count that does not depend on the machine's load (tests use it).
  std::vector<double> weight(nsteps + 1, 0.0), weight_ops(nsteps + 1, 0.0);
  for (const auto& l : model.layers())
    if (l.step >= 0 && static_cast<size_t>(l.step) < nsteps) weight_ops[static_cast<size_t>(l.step)] += static_cast<double>(l.macs);
  Clock::time_point last;
  bool first_sample = true;
  auto observer = [&](graph::ValueId v, const Tensor& t) -> std::optional<Tensor> {
    const auto now = Clock::now();
    const int s = plan.producer_step(v);
    if (s >= 0) {
      weight[static_cast<size_t>(s)] += std::chrono::duration<double>(now - last).count();
      if (first_sample) weight_ops[static_cast<size_t>(s)] += static_cast<double>(t.numel());
    }
    last = Clock::now();
    return std::nullopt;
  };
  const auto t_fp = Clock::now();
  std::vector<std::vector<Tensor>> fp(samples.size());
  const quant::QuantConfig off = model.off();
  for (size_t s = 0; s < samples.size(); ++s) {
    if (options.progress && !options.progress("reference", s, samples.size()))
      throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during the FP reference pass");
    last = Clock::now();
    fp[s] = sim.run(off, samples[s], observer);
    first_sample = false;
  }
  const double fp_seconds = std::chrono::duration<double>(Clock::now() - t_fp).count();
  // suffix[s] = share of the work in steps s.. (suffix[0] = 1).
  auto suffix_share = [&](const std::vector<double>& w) {
    std::vector<double> suffix(nsteps + 1, 0.0);
    for (size_t s = nsteps; s-- > 0;) suffix[s] = suffix[s + 1] + w[s];
    const double total = suffix[0] > 0 ? suffix[0] : 1.0;
    for (auto& x : suffix) x /= total;
    return suffix;
  };
  const std::vector<double> suffix = suffix_share(weight), suffix_ops = suffix_share(weight_ops);

  double work = 1.0;      // the FP reference pass
  double phase1_ops = 0;  // phase-1 work with the deterministic weighting
  bool cached_all = true;
  Evaluator ev;
  ev.units = samples.size();
  ev.work_fpe = [&]() { return work; };
  ev.evaluate = [&](const quant::QuantConfig& cfg) {
    quant::SqnrAccumulator acc;
    size_t correct = 0;
    for (size_t s = 0; s < samples.size(); ++s) {
      const auto out = sim.run(cfg, samples[s]);
      acc.add(fp[s], out);
      if (!options.labels.empty() && top1_correct(out, options.labels[s])) ++correct;
      if (ev.on_unit && !ev.on_unit(s + 1))
        throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller");
    }
    work += 1.0;
    Eval e;
    e.nsr = acc.noise_to_signal();
    e.sqnr_db = acc.sqnr_db();
    if (!options.labels.empty()) e.accuracy = static_cast<double>(correct) / static_cast<double>(samples.size());
    return e;
  };
  ev.evaluate_many = [&](const std::vector<quant::QuantConfig>& cfgs, const std::function<bool(size_t, size_t)>& tick) {
    std::vector<quant::SqnrAccumulator> acc(cfgs.size());
    std::vector<size_t> first(cfgs.size());
    for (size_t k = 0; k < cfgs.size(); ++k) first[k] = model.first_affected_step(cfgs[k]);
    const double per_sample = 1.0 / static_cast<double>(samples.size());
    const size_t total = samples.size() * cfgs.size();
    for (size_t s = 0; s < samples.size(); ++s) {
      const auto fp_s = sim.cache_fp({samples[s]}, options.memory_budget_bytes);
      work += per_sample;
      phase1_ops += per_sample;
      const auto& cps = sim.checkpoints();
      if (cps.size() < nsteps) cached_all = false;
      for (size_t k = 0; k < cfgs.size(); ++k) {
        if (!tick(s * cfgs.size() + k, total)) {
          sim.clear_cache();
          return std::vector<Eval>{};
        }
        acc[k].add(fp_s[0], sim.run_cached(cfgs[k], 0));
        // The simulator resumes at the last checkpoint at or before the first affected step.
        auto it = std::upper_bound(cps.begin(), cps.end(), first[k]);
        const size_t resume = it == cps.begin() ? 0 : *(it - 1);
        work += per_sample * suffix[std::min(resume, nsteps)];
        phase1_ops += per_sample * suffix_ops[std::min(resume, nsteps)];
      }
    }
    sim.clear_cache();
    tick(total, total);
    std::vector<Eval> out(cfgs.size());
    for (size_t k = 0; k < cfgs.size(); ++k) {
      out[k].nsr = acc[k].noise_to_signal();
      out[k].sqnr_db = acc[k].sqnr_db();
    }
    return out;
  };

  SearchResult r = search_groups(groups, model.quantizers(), model.layers(), ev, options);
  r.timing.fp_pass = fp_seconds;
  r.timing.encodings = enc_seconds;
  r.timing.phase1_cached = cached_all;
  r.timing.phase1_ops_fpe = phase1_ops;
  r.timing.phase0 += fp_seconds;
  r.timing.total += fp_seconds + enc_seconds;
  r.timing.phase1_time_fpe = fp_seconds > 0 ? r.timing.phase1 / fp_seconds : 0;
  return r;
}

}  // namespace qm::mp
