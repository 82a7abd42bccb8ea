// The mixed-precision search (spec amp.md sections 3-6; Pandey et al. 2023, AIMET AMP):
//
//   phase 0  FP reference outputs; every candidate applied homogeneously (a group that lacks it
//            takes its nearest supported candidate) = the baselines; start point = the most
//            accurate baseline.
//   phase 1  sensitivity: for each group g and each candidate c of g cheaper than its start
//            candidate, only g quantized at c (all else float): output SQNR. With a simulator,
//            samples run one at a time: one FP pass keeps every activation of that sample (if it
//            fits the memory budget) and each (g, c) recomputes only the steps after g's first
//            quantizer (Executor::run_from); otherwise it falls back to full passes.
//   phase 2  from the start point, flips (g, c) applied cumulatively, least sensitive first (ties:
//            larger BOPs saving); a flip that would not lower g's cost from its current candidate
//            is skipped. Every point's TRUE metric is evaluated (or, without the full front, only
//            the points phase 3's binary search needs). Consecutive points differ in one group,
//            so with a simulator each sample walks the path once, every point resuming at the
//            first step its flip changes from the previous point's activations. Each point also
//            carries the phase-1 additive-noise prediction, and whether another measured point
//            (or a baseline) dominates it: the path is not a front, its non-dominated subset is.
//            With SearchOptions::on_front, each front is reported when built (every point at its
//            prediction) and its points as they are measured, so a chart can be drawn at once.
//   phase 3  the target picks a point: best metric within a cost budget (bops, size) or the
//            cheapest point meeting a quality bar (sqnr, sqnr-drop). None feasible: say so, return
//            the start point. With both flip orders, the union of the two fronts; a homogeneous
//            baseline that meets the target better than every front point wins (index -1).
//
// Deterministic for the same inputs (no randomness; ties broken by group id, candidate order).
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"
#include "mixed_precision/groups.h"
#include "mixed_precision/profile.h"
#include "mixed_precision/stability.h"
#include "quant/quant_model.h"

namespace qm::quant {
class Simulator;
}

namespace qm::mp {

enum class TargetKind { None, Bops, Size, Sqnr, SqnrDrop };

/// The selection's target: "bops=0.5" (relative BOPs, 1.0 = W8A8 everywhere), "size=0.5" (weight bytes relative
/// to 8-bit weights), "sqnr=30" (dB), "sqnr-drop=3" (dB below the start point). None = no
/// selection constraint: the start point is selected and the whole front is reported.
struct Target {
  TargetKind kind = TargetKind::None;
  double value = 0;
};
/// "bops=0.5", ..., "none" (api/options.h parses the text).
std::string target_name(const Target& t);

/// Flip order of phase 2.
enum class FlipOrder {
  Paper,  ///< least sensitive first (paper/AIMET); ties: larger BOPs saving
  Ratio,  ///< smallest predicted added noise (phase-1 NSR) per BOPs saved first
  /// Build both fronts: `pareto` is the one with the larger area under it (reported first);
  /// phase 3 picks the best point meeting the target from EITHER front (their union).
  Both
};
const char* order_name(FlipOrder o);  // "paper" | "ratio" | "both"

/// Progress: phase ("reference" = FP reference outputs, then "phase0".."phase3"), done of total
/// (samples x evaluations); return false to cancel (search
/// then throws Error(InvalidArgument) whose message starts with "cancelled").
using ProgressFn = std::function<bool(const std::string& phase, size_t done, size_t total)>;

/// Phase 2 as it runs (FrontUpdate below; SearchOptions::on_front).
struct FrontUpdate;
using FrontFn = std::function<void(const FrontUpdate&)>;

/// A user's metric (AIMET's eval callback; the JS API's score module): the score of one sample's
/// outputs (in the model's output order), higher is better. Called on the calling thread only.
using ScoreFn = std::function<double(const std::vector<Tensor>& outputs, size_t sample)>;

struct SearchOptions {
  std::vector<Candidate> candidates;   ///< empty = the profile's candidates
  Profile profile = generic_profile();
  Target target;
  FlipOrder order = FlipOrder::Paper;
  /// Evaluate every point of the front (the UI shows it). false: phase 3 binary-searches the
  /// flip index and evaluates O(log n) points (needs a target).
  bool full_front = true;
  /// With full_front: evaluate at most this many evenly spaced points of the front (first and
  /// last included; phase 3 then bisects next to the target). 0 = every point.
  size_t front_points = 0;
  /// Memory for phase 1's cache of FP activations (one sample's values at a time); above it,
  /// phase 1 keeps evenly spaced checkpoints and recomputes from them (same results, more work).
  /// Default 512 MiB: with the model, encodings and the runtime it stays within ~1 GiB (a
  /// browser tab).
  size_t memory_budget_bytes = size_t{512} << 20;
  /// Optional labels, one per sample: the metric of phases 0, 2, 3 becomes top-1 accuracy of
  /// output 0 (argmax over its last axis). Phase 1 always uses SQNR.
  std::vector<int64_t> labels;
  /// How phase 1 aggregates its per-sample sums into a score (pooled = the spec's SQNR).
  Phase1Aggregate phase1_aggregate = Phase1Aggregate::Pooled;
  ProgressFn progress;
  /// Optional user metric: the mean of score over the samples replaces SQNR (and top-1) in
  /// phases 0, 2 and 3; phase 1 stays SQNR. `score_id` names the function: a search with the
  /// same id (and the rest unchanged) is reused (sim_evaluator.h, api/workspace.h).
  ScoreFn score;
  std::string score_id;
  /// Optional, for a chart drawn before the search ends (amp.md section 6): each front as soon
  /// as phase 1 has ordered its flips (every point at its phase-1 prediction, none measured),
  /// then its points as phase 2 measures them (FrontUpdate). Called on the calling thread. With
  /// it, phase 2 measures a front in up to `front_updates` consecutive parts (of at least
  /// kMinFrontPart points) instead of one walk: the same numbers, but the first point of each
  /// later part runs from the first step on every sample (about half an FP pass more per part
  /// than resuming it). Points that phase 3 measures (without the full front) are not reported.
  FrontFn on_front;
  size_t front_updates = 8;
};

/// The fewest points of one part of phase 2 with SearchOptions::on_front.
constexpr size_t kMinFrontPart = 8;

/// Quality of one configuration on the samples.
struct Eval {
  double sqnr_db = 0;   ///< output SQNR vs the FP model (spec section 3)
  double nsr = 0;       ///< noise-to-signal ratio averaged over outputs (sqnr_db = -10 log10 nsr)
  std::optional<double> accuracy;  ///< top-1 in [0, 1] when labels were given
  /// Fraction of rows whose argmax agrees with the FP model's on the first classifier-shaped
  /// output (NaN when there is none or it was not measured).
  double top1_agreement = std::numeric_limits<double>::quiet_NaN();
  std::optional<double> score;     ///< mean user score when SearchOptions::score was given
  /// The metric the search maximises: the user score, else accuracy, else SQNR.
  double metric() const { return score ? *score : accuracy ? *accuracy : sqnr_db; }
  /// Phase 1 only (evaluate_many), optional: each sample's sums, in sample order (the
  /// calibration-set stability of stability.h is computed from them).
  std::vector<SampleSums> per_sample;
};

/// How the search evaluates configurations. search() builds one on the simulator; tests use
/// closed-form ones.
struct Evaluator {
  /// Every sample through the quantized model `config`.
  std::function<Eval(const quant::QuantConfig&)> evaluate;
  /// Phase 1: the SQNR of each config (each has one group on). Empty = evaluate() per config.
  /// `tick(done, total)` reports progress in the evaluator's own units; when it returns false
  /// the evaluator stops and returns an empty vector (the search then throws "cancelled").
  std::function<std::vector<Eval>(const std::vector<quant::QuantConfig>&,
                                   const std::function<bool(size_t, size_t)>& tick)>
      evaluate_many;
  /// Phase 2: the metric of every config of a path, in order, where consecutive configs differ
  /// in one group (the simulator resumes each from the previous one's activations). `tick` as
  /// for evaluate_many. Empty = evaluate() per config.
  std::function<std::vector<Eval>(const std::vector<quant::QuantConfig>&,
                                   const std::function<bool(size_t, size_t)>& tick)>
      evaluate_path;
  /// Progress units per evaluate() (samples); the search scales its progress by it.
  size_t units = 1;
  /// Set by the search around each evaluate(): the evaluator calls it after each unit with the
  /// units done so far; false = cancel (the evaluator then throws Error "cancelled: ...").
  std::function<bool(size_t)> on_unit;
  /// Forward-pass equivalents of work done by the evaluator so far (1 = one FP pass over every
  /// sample). Empty = count each evaluate() as 1.
  std::function<double()> work_fpe;
};

/// One configuration on the front, a baseline or the selection.
struct Point {
  Choice choice;            ///< candidate index per group
  Cost cost;
  Eval eval;
  bool evaluated = false;   ///< false: cost only (not needed by the binary search)
  int flip_group = -1;      ///< the flip that led here (-1 for the start point)
  Candidate flip_to;
  /// Phase-1 prediction: the start point's noise plus each flipped group's phase-1 noise
  /// (noise-to-signal ratios added), in dB. What the chart shows until the point is measured.
  double predicted_sqnr_db = 0;
  /// Another measured point of the same front, or a baseline, is at most as costly and at least
  /// as accurate (one of them strictly): not on the Pareto front. False when not measured.
  bool dominated = false;
};

struct GroupReport {
  Group group;
  int start = 0;                                ///< candidate index at the start point
  std::vector<std::optional<double>> sensitivity_db;  ///< per candidate (phase 1; none at/above start)
  /// Per candidate: bootstrap interval over the samples of sensitivity_db (dB, low then high;
  /// none without per-sample sums).
  std::vector<std::optional<std::pair<double, double>>> sensitivity_ci_db;
  std::vector<std::string> layer_names, activation_names;
};

struct Baseline {
  Candidate config;   ///< the homogeneous candidate
  Point point;
};

struct LayerChoice {
  std::string name, op;
  int group = -1;
  int w_bits = 0, a_bits = 0;
  int64_t macs = 0;
  std::optional<double> sensitivity_db;  ///< phase-1 SQNR of its group at the chosen candidate
  std::optional<std::pair<double, double>> sensitivity_ci_db;  ///< its bootstrap interval
};

struct Timing {
  double phase0 = 0, phase1 = 0, phase2 = 0, phase3 = 0, total = 0;  ///< seconds
  double encodings = 0;         ///< seconds computing encodings/fake weights of every candidate width
  double fp_pass = 0;           ///< seconds of one FP pass over every sample
  /// Phase-1 work in forward-pass equivalents: each recomputed step weighs its share of a
  /// full FP pass, by the step times measured in phase 0 (includes the per-sample caching pass).
  double phase1_fpe = 0;
  /// The same with a machine-independent weighting: MACs for layers, output elements otherwise.
  double phase1_ops_fpe = 0;
  double phase1_time_fpe = 0;   ///< phase-1 seconds / fp_pass seconds (wall clock, overheads included)
  double phase1_naive_fpe = 0;  ///< what it would cost with full passes (#configs)
  double phase2_fpe = 0, phase3_fpe = 0;
  size_t evaluations = 0;       ///< full-configuration evaluations (phases 0, 2, 3)
  bool phase1_cached = false;   ///< phase 1 ran from cached FP activations
};

struct SearchResult {
  std::vector<GroupReport> groups;
  std::vector<Baseline> baselines;
  int start_baseline = -1;             ///< index into baselines
  std::vector<Point> pareto;           ///< point 0 = start point, then one per applied flip
  FlipOrder order_used = FlipOrder::Paper;
  std::vector<Point> pareto_other;     ///< the other order's front (FlipOrder::Both only)
  double front_score = 0, front_score_other = 0;  ///< mean metric under the front (see .cpp)
  Point selected;
  /// Into the front named by selected_front; -1: a homogeneous baseline beat the front(s).
  int selected_index = 0;
  int selected_front = 0;              ///< 0: pareto, 1: pareto_other (FlipOrder::Both)
  FlipOrder selected_order = FlipOrder::Paper;  ///< the order whose front holds the selection
  int selected_baseline = -1;          ///< into baselines when selected_index is -1
  bool target_met = true;
  std::string message;                 ///< e.g. "no point meets sqnr=40 (best 35.2 dB): start point"
  quant::QuantConfig selected_config;  ///< bits per quantizer id
  std::vector<LayerChoice> layers;     ///< per QuantModel layer, at the selection
  Timing timing;
  Target target;                       ///< the options' target and order, as searched
  FlipOrder order_requested = FlipOrder::Paper;
  bool labelled = false;               ///< the metric of phases 0, 2, 3 was top-1 (labels given)
  /// With a user score: the FP model's mean score (the reference, as the float top-1 is with
  /// labels); its presence makes the metric the score (report search.metric "score").
  std::optional<double> float_score;
  bool size_front = false;             ///< the fronts lower weight size (a size target), else BOPs
  Phase1Aggregate phase1_aggregate = Phase1Aggregate::Pooled;
  size_t front_points = 0;             ///< SearchOptions::front_points, as searched (0 = every point)
  std::vector<Phase1Flip> phase1;      ///< phase 1's per-sample sums per flip (stability.h)
  Stability stability;                 ///< for the target and selection (phase 3 updates it)
};

/// One step of phase 2 for SearchOptions::on_front. The pointers are valid during the call only.
struct FrontUpdate {
  /// true: the front was just built (after phase 1): every point with its cost and phase-1
  /// prediction (predicted_sqnr_db), none measured yet. false: the points listed in `measured`
  /// have just been measured (Point::eval), the others are as before.
  bool built = true;
  FlipOrder order = FlipOrder::Paper;  ///< the front's flip order (Paper or Ratio)
  const SearchResult* result = nullptr;       ///< the search so far: groups, baselines, start
  /// The whole front as it stands; `dominated` among its measured points and the baselines.
  const std::vector<Point>* points = nullptr;
  std::vector<size_t> measured;  ///< indices into *points (empty when built)
};

/// An update as one JSON object, whose points are report.json's pareto entries (cli.md):
///   built:    {"event": "front", "order": "paper", "baselines": [...], "pareto": [every point]}
///   measured: {"event": "points", "order": "paper", "points": [the points just measured],
///              "dominated": [indices of the front's dominated points]}
std::string front_update_json(const FrontUpdate& u);

/// "W8A8" when the selected configuration is one of the homogeneous baselines (also a front
/// point equal to one, e.g. the start point), else "mixed".
std::string selected_config_name(const SearchResult& r);

/// The search on groups with any evaluator (used by search() and by tests).
/// `quantizers` and `layers` are those the groups were built from (names for the report).
SearchResult search_groups(const std::vector<Group>& groups,
                           const std::vector<quant::Quantizer>& quantizers,
                           const std::vector<quant::Layer>& layers, Evaluator& evaluator,
                           const SearchOptions& options);

/// The search on a placed, calibrated model: groups from model + options.profile/candidates
/// (depthwise Convs detected), FP reference outputs, then phases 0-3 on `sim` (whose encodings
/// must cover every candidate width: Encodings computes them lazily). `samples` are the
/// calibration samples (one tensor per model input each, conformed). Throws qm::Error.
SearchResult search(const quant::QuantModel& model, quant::Simulator& sim,
                    const std::vector<std::vector<Tensor>>& samples, const SearchOptions& options);

/// Phase 3 again on a finished search, for another target: re-selects on the stored fronts and
/// baselines (r.target, selected*, target_met, message, selected_config, layers). Evaluates
/// only points the decision needs that are not measured yet (none when the fronts are fully
/// measured). Throws Error("cancelled ...") when `progress` returns false.
void reselect(SearchResult& r, const std::vector<quant::Quantizer>& quantizers,
              const std::vector<quant::Layer>& layers, Evaluator& evaluator, const Target& target,
              const ProgressFn& progress = {});

/// The per-layer table of a configuration (choice) of the search's groups.
std::vector<LayerChoice> layer_choices(const SearchResult& r, const std::vector<quant::Layer>& layers,
                                       const Choice& choice);

/// The choice of one candidate per group (report "config"/"group_config"). Error naming `what`
/// (the option that gave them) and the group when the count differs or a group does not support
/// its candidate.
Choice choice_of(const SearchResult& r, const std::vector<Candidate>& config, const std::string& what);

/// Forces layers to candidates after a search (the UI's manual override / chosen Pareto point):
/// sets each named layer's group, re-evaluation is up to the caller. Error naming an unknown
/// layer or an unsupported candidate.
Choice override_layers(const SearchResult& r, const std::vector<quant::Layer>& layers, Choice choice,
                       const std::vector<std::pair<std::string, Candidate>>& layer_bits);

// ---- report.json pieces (cli.md). Each writes `"key": value` into an open object. ----
void write_groups_json(JsonWriter& w, const SearchResult& r);     ///< "groups"
void write_baselines_json(JsonWriter& w, const SearchResult& r);  ///< "baselines"
void write_pareto_json(JsonWriter& w, const SearchResult& r);     ///< "pareto" (+ "pareto_order", ...)
/// "selected": index, front/order it came from, "config" ("W8A8" or "mixed"), "group_config"
/// (candidate per group), cost, sqnr_db (+ top1 with labels), "layers".
void write_selected_json(JsonWriter& w, const SearchResult& r);
/// The search's fields of "timing_s" (phase0..phase3, forward-pass equivalents) written into an
/// open "timing_s" object, so the caller adds "calibration" and "export".
void write_timing_fields(JsonWriter& w, const Timing& t);
/// All of the above: "groups", "baselines", "pareto", "selected", "search" (target, order,
/// metric, phase1_aggregate, front_points), "stability" (stability.h); not "timing_s" (the caller owns that object). Points evaluated with labels carry
/// "top1" (and, as before, "accuracy"), a fraction in [0, 1]; with a user score, "score" (and
/// "search" has metric "score" and "float_score").
void write_search_json(JsonWriter& w, const SearchResult& r);

}  // namespace qm::mp
