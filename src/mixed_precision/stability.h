// How much the search's choice depends on which calibration samples were given (issue 17).
//
// Phase 1 already computes, per (group, candidate) and per sample, the output's noise and signal
// sums (SqnrAccumulator). From those alone, without another forward pass:
//   - an interval per sensitivity: the bootstrap over samples (resample m of the n samples with
//     replacement, aggregate, convert to dB), the 5th to 95th percentile;
//   - the stability of the ranking and of the selection: phase 2's flip order and phase 3's pick
//     are re-derived on each resample from the phase-1 scores (the front predicted by adding
//     phase-1 noise, as phase 2's predicted_sqnr_db does, instead of measured), and compared:
//     Spearman correlation of the sensitivities between pairs of resamples (two resamples of m
//     stand in for two disjoint calibration sets of n), how often the pick differs from the pick
//     on all samples, how many layers differ between pairs, the pick's cost;
//   - a verdict, "stable" or "add samples" with a suggested count: the same measures on
//     resamples standing in for 2n, 4n, 8n (the samples' empirical distribution standing in for
//     the data).
// m = n x set_fraction (an m-out-of-n bootstrap, m = n / 2 by default): a resample of all n only
// sees the noise of measuring SQNR on n samples, but another calibration set of n also calibrates
// other activation ranges and output-aware weight clips, which move the sensitivities too. On the
// evidence models (tools/eval/stability_results.md) two disjoint sets of n differ in their
// sensitivities 1.3-1.9x (rms) more than resamples of n say, about what halving the resample
// gives (variance ~ 1/m).
// Deterministic: a fixed seed, one thread (after phase 1's sums are merged in sample order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"

namespace qm::mp {

struct SearchResult;

/// Below this many calibration samples the verdict is "add samples" whatever the resamples say.
inline constexpr size_t kMinSamplesToJudge = 8;

/// One sample's phase-1 sums per model output (SqnrAccumulator's noise and signal).
struct SampleSums {
  std::vector<double> noise, signal;
};

/// How phase 1 turns per-sample sums into one score per (group, candidate).
enum class Phase1Aggregate {
  Pooled,   ///< sum of noise / sum of signal over samples, per output, averaged (spec section 3)
  Median,   ///< median over samples of each sample's noise/signal
  Trimmed,  ///< mean of the per-sample noise/signal with the lowest and highest 20% dropped
};
const char* aggregate_name(Phase1Aggregate a);  ///< "pooled" | "median" | "trimmed" (api/options.h parses them)

/// Noise-to-signal ratio of the samples `idx` (indices into `sums`, repeats allowed; empty = all,
/// in order) under `a`. Pooled over all samples equals SqnrAccumulator::noise_to_signal() of the
/// merged sums exactly (same additions in the same order).
double aggregate_nsr(const std::vector<SampleSums>& sums, const std::vector<uint32_t>& idx, Phase1Aggregate a);

/// Phase 1's measurement of one flip (group `group` at candidate index `cand`), kept per sample.
struct Phase1Flip {
  int group = 0, cand = 0;
  std::vector<SampleSums> samples;  ///< in sample order; empty when the evaluator gave none
};

/// Settings of the bootstrap (fixed defaults; tests change them).
struct StabilityOptions {
  size_t resamples = 200;
  uint64_t seed = 17;
  double interval = 0.90;  ///< central coverage of the sensitivity intervals
  /// Resamples draw round(n x set_fraction) (at least 2) of the n samples to stand in for another
  /// calibration set of n (see above); 1 is the plain bootstrap.
  double set_fraction = 0.5;
};

/// Stable when the expected rank correlation between two sample sets of this size is at least
/// this and (with a target) the pick changes at most kStableLayersChanged of the layers.
constexpr double kStableRankCorr = 0.90;
constexpr double kStableLayersChanged = 0.05;

/// The measures at one sample count (the given n, or a projection to more).
struct StabilityAt {
  size_t samples = 0;  ///< the calibration set size this stands for (resamples draw fewer)
  double rank_corr = std::numeric_limits<double>::quiet_NaN();  ///< mean Spearman between resample pairs
  double layers_changed = 0;  ///< mean number of layers whose bits differ between resample pairs' picks
};

struct Stability {
  bool available = false;      ///< false: the evaluator gave no per-sample sums (or one sample)
  size_t samples = 0, resamples = 0;
  size_t resample_size = 0;    ///< samples each resample draws (StabilityOptions::set_fraction)
  uint64_t seed = 0;
  std::string aggregate;       ///< the phase-1 aggregation measured
  size_t flips = 0;            ///< (group, candidate) sensitivities ranked
  double rank_corr = std::numeric_limits<double>::quiet_NaN();      ///< mean over resample pairs
  double rank_corr_p10 = std::numeric_limits<double>::quiet_NaN();  ///< its 10th percentile
  /// Mean Spearman of each resample's sensitivities against those of all samples.
  double rank_corr_full = std::numeric_limits<double>::quiet_NaN();
  bool has_target = false;     ///< with a target the pick is compared; without, only the ranking
  size_t layers = 0;           ///< layers in the search's groups
  double selection_changed = 0;  ///< fraction of resamples whose pick differs from all samples' pick
  double layers_changed = 0;     ///< mean layers differing between the picks of resample pairs
  double layers_changed_full = 0;  ///< mean layers differing from all samples' pick
  /// The pick's relative cost (BOPs, or size for a size target) over resamples: mean, 5th, 95th
  /// percentile; `cost_full` is all samples' pick.
  double cost_full = 0, cost_mean = 0, cost_lo = 0, cost_hi = 0;
  /// Mean predicted SQNR given up by a resample's pick, judged by all samples' sensitivities
  /// (dB, >= 0 at a budget target; how much the differences matter).
  double sqnr_loss_db = 0;
  /// The pick on all samples (predicted front) equals the search's selection.
  bool proxy_matches_selection = false;
  bool stable = true;
  std::string verdict;         ///< "stable" | "add samples" | "unknown"
  size_t suggested_samples = 0;  ///< with "add samples": the count expected to be stable (0: none found up to 8n)
  std::vector<StabilityAt> projection;  ///< the measures at 2n, 4n, 8n (when not stable)
  std::string message;         ///< one line for the CLI summary and the app
};

/// Per-candidate sensitivity intervals of r.groups (sensitivity_ci_db) from r.phase1 (no-op
/// without per-sample sums).
void compute_intervals(SearchResult& r, const StabilityOptions& o = {});
/// r.stability for r.target and the selection (after phase 3).
void compute_stability(SearchResult& r, const StabilityOptions& o = {});
/// "stability": the object above (report.json).
void write_stability_json(JsonWriter& w, const Stability& s);

}  // namespace qm::mp
