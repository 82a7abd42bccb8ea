// The search's Evaluator on the quantization simulator (the one search() and the workspace use):
//   - the FP reference outputs of the calibration samples, computed once on construction (the
//     "reference" pass, which also times each step) and kept for every later SQNR (outputs only);
//   - full configurations: every sample through Simulator::run against those references;
//   - phase 1: samples outer, configurations inner: per sample one FP pass caches the activations
//     (within the memory budget: all values, else checkpoints) and every (group, candidate)
//     config resumes at the first step it changes;
//   - phase 2: samples outer, the path of front points inner (Simulator::run_path): each point
//     resumes at its flip's first step from the previous point's activations.
// A user score (set_score; AIMET's eval callback, the JS API's score module) is called with each
// sample's outputs in full-configuration runs and phase 2's path runs, and its mean becomes the
// metric; phase 1 stays SQNR. It is called on the calling thread only (a JS callback must not
// run on a pthread): while a score is set those runs take the samples one after another (each op
// still uses the pool's threads) instead of spreading them over the threads, so no sample's
// outputs need to be kept for later.
// Work is counted in forward-pass equivalents (FPE): each step weighs its measured time in the
// reference pass; a run resumed at step s costs the share of steps s.. in a full pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/executor.h"
#include "mixed_precision/search.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"

namespace qm::mp {

class SimEvaluator {
 public:
  /// `model`, `sim` and `samples` (one tensor per model input each, conformed) must outlive the
  /// evaluator. `labels`: empty or one per sample (top-1 of output 0 joins the metric).
  /// `progress` sees ("reference", done, total); false cancels (Error "cancelled ...").
  SimEvaluator(const quant::QuantModel& model, quant::Simulator& sim, const std::vector<std::vector<Tensor>>& samples,
               std::vector<int64_t> labels, size_t memory_budget_bytes, const ProgressFn& progress = {});
  SimEvaluator(const SimEvaluator&) = delete;
  SimEvaluator& operator=(const SimEvaluator&) = delete;

  /// The Evaluator the search runs on (refers to this object).
  Evaluator& evaluator() { return ev_; }
  /// One configuration on every sample: one simulated pass each, against the kept references.
  Eval evaluate(const quant::QuantConfig& config) { return ev_.evaluate(config); }

  const std::vector<std::vector<Tensor>>& reference() const { return fp_; }
  /// Sets (or, empty, clears) the user score, and scores the FP reference outputs with it: the
  /// reference score (float_score). A non-finite score is Error(InvalidArgument) naming the
  /// calibration sample. Evaluations made before do not carry it: drop them (the workspace does).
  void set_score(ScoreFn score);
  /// What the user calls each sample (e.g. its file), for the score's error messages.
  void set_sample_names(std::vector<std::string> names) { sample_names_ = std::move(names); }
  /// The FP model's mean score; none without a score.
  std::optional<double> reference_score() const { return reference_score_; }
  /// Memory for phase 1's FP cache and phase 2's path activations (one sample's worth).
  void set_memory_budget(size_t bytes) { budget_ = bytes; }
  double fp_seconds() const { return fp_seconds_; }
  /// Phase-1 work in FPE with the machine-independent weighting (MACs for layers, elements
  /// otherwise) and whether phase 1 could cache every value.
  double phase1_ops_fpe() const { return phase1_ops_; }
  bool phase1_cached_all() const { return cached_all_; }
  /// Adds this evaluator's facts (fp_pass, phase-1 counts, the reference pass in phase 0 and the
  /// total) to a search's timing.
  void add_timing(Timing& t) const;
  /// Threads of the executor's pool. The samples are spread over them when the extra
  /// executors' copies of the packed weights fit in half the memory budget (ResNet-50 at the
  /// default 512 MiB does, ViT-B/16 does not); otherwise each op uses the threads.
  size_t threads() const;

 private:
  // Runs body(simulator, s) for every sample, spread over the pool's threads, each thread with a
  // simulator of its own (the calling thread: `sim`). progress(done samples) and the ticks of
  // the bodies run on the calling thread only (a JS callback must not run on a pthread); false
  // from either cancels: remaining samples are skipped and for_samples returns false.
  // `scored`: the body calls the user score, so the samples run on the calling thread.
  bool for_samples(const std::function<void(quant::Simulator&, size_t)>& body,
                   const std::function<bool(size_t)>& progress, bool scored = false);
  // The user score of one sample's outputs; Error naming the sample (and `what`) when not finite.
  double score_of(const std::vector<Tensor>& outputs, size_t sample, const char* what) const;
  quant::Simulator& simulator_for_this_thread();
  // Whether the extra threads' executors (each packs the weights again) fit in half the memory
  // budget; otherwise samples run one after another and each op uses the threads.
  bool spread_fits() const;
  bool on_caller() const;
  void report(bool keep_going);

  struct Worker {
    std::thread::id thread;
    std::unique_ptr<graph::Executor> exec;
    std::unique_ptr<quant::Simulator> sim;
  };

  const quant::QuantModel& model_;
  quant::Simulator& sim_;
  const std::vector<std::vector<Tensor>>& samples_;
  std::vector<int64_t> labels_;
  ScoreFn score_;
  std::vector<std::string> sample_names_;
  std::optional<double> reference_score_;
  size_t budget_;
  std::vector<std::vector<Tensor>> fp_;
  std::vector<double> suffix_, suffix_ops_;  // share of a full pass in steps s.. (suffix[0] = 1)
  double fp_seconds_ = 0;
  double work_ = 1.0;  // FPE done, the reference pass included
  double phase1_ops_ = 0;
  bool cached_all_ = true;
  Evaluator ev_;
  std::mutex workers_mutex_;
  std::vector<Worker> workers_;
  std::thread::id caller_;
  std::atomic<bool> cancelled_{false};
};

/// Computes the encodings and fake-quantized weights of every candidate width of `groups` up
/// front (range setting, not search work). Returns the seconds it took. With learned rounding
/// (slow: quant/learned_rounding.h) `progress` sees phase "ranges", one step per group;
/// returning false cancels with Error(InvalidArgument, "cancelled ...").
double prepare_candidates(const std::vector<Group>& groups, quant::Simulator& sim, const ProgressFn& progress = {});
/// Computes the weight encodings `config` uses, reporting "ranges" as prepare_candidates does.
void prepare_config(const quant::QuantConfig& config, quant::Simulator& sim, const ProgressFn& progress = {});

}  // namespace qm::mp
