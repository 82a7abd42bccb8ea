// `quantize`: the one entry point for post-training quantization, shared by the CLI
// (`quantmix quantize`, cli.md) and the wasm bindings. From a float model and calibration samples
// it produces the QDQ model (spec amp.md section 1), the AIMET-style encodings JSON, the
// report.json of cli.md and the per-layer table.
//
// Two modes:
//   - homogeneous: `bits` = W8A8 (every weight at 8 bits, every activation at 8 bits), no search;
//   - mixed precision: no `bits`, candidates/profile/target set: the search of
//     src/mixed_precision picks bits per quantizer group (amp.md sections 4-6).
//
// Errors are qm::Error (one line, naming the option, sample or node at fault). A progress callback
// that returns false cancels: quantize() then throws qm::Error(InvalidArgument) whose message
// starts with "cancelled".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/workspace.h"
#include "core/tensor.h"
#include "onnx/model.h"
#include "ops/tensor_info.h"

namespace qm::api {

/// Default QuantizeOptions::memory_budget_bytes (512 MiB, the search's default).
constexpr size_t kDefaultMemoryBudget = size_t{512} << 20;
/// Points of the front phase 2 measures by default (QuantizeOptions::front_points): a chart's
/// worth. Fronts up to this long are measured whole; longer ones (a model with hundreds of layers
/// has fronts of hundreds of points, each a pass over the samples) at evenly spaced points.
constexpr size_t kDefaultFrontPoints = 64;

/// The options as typed values: the front ends parse their text once with api/options.h
/// (parse_candidate, parse_target, parse_profile, ...), so the errors about a value's text name
/// the option as their users know it; the errors quantize() itself raises use the neutral names
/// of the fields below ("labels", "config", "layer bits", "candidates").
struct QuantizeOptions {
  /// Homogeneous configuration, e.g. W8A8 (every weight and activation at those widths), no
  /// search. None: the mixed-precision search (below).
  std::optional<mp::Candidate> bits;
  /// Search: the candidates; empty = the profile's. Without a profile they are taken as given,
  /// for every op; with one, intersected with what it supports per op type (a candidate no
  /// layer can take is an Error naming "candidates").
  std::vector<mp::Candidate> candidates;
  /// Search: the hardware profile (parse_profile: a built-in name or JSON text). None: "generic",
  /// or the candidates as given when there are candidates.
  std::optional<mp::Profile> profile;
  /// Search: the selection's target (none: the search's default, the start point).
  mp::Target target;
  /// Search: phase-2 flip order, "paper" (least sensitive first; default), "ratio" (least
  /// predicted noise per BOPs saved) or "both" (both fronts; the selection takes the best point
  /// meeting the target from either).
  mp::FlipOrder order = mp::FlipOrder::Paper;
  /// Search: memory for phase 1's cache of FP activations (one sample at a time). Above it the
  /// search keeps checkpoints and recomputes from them: same results, more time. The default
  /// (512 MiB) keeps a browser tab within about 1 GiB with the model and encodings.
  size_t memory_budget_bytes = kDefaultMemoryBudget;
  /// Search: how many points of the front phase 2 measures: N >= 2 = N evenly spaced ones (first
  /// and last included; default kDefaultFrontPoints), 0 = every point. The others carry their
  /// phase-1 prediction ("measured": false); the selection measures what it needs next to the
  /// target (amp.md section 6, phase 3). Cuts phase 2 to about N / points of its cost on a long
  /// front.
  size_t front_points = kDefaultFrontPoints;
  /// Search: how phase 1 aggregates its per-sample noise and signal into a sensitivity:
  /// "pooled" (default; sum of noise / sum of signal, the spec's SQNR), "median" or "trimmed"
  /// (of the per-sample ratios). Part of the workspace's reuse check: another aggregation
  /// searches again.
  mp::Phase1Aggregate phase1_aggregate = mp::Phase1Aggregate::Pooled;
  /// Optional class labels, one per calibration sample USED (after max_samples), in sample
  /// order. With them the search's metric in phases 0, 2 and 3 is top-1 accuracy of output 0
  /// (argmax), and the report's points carry "top1". Error naming "labels" when the count
  /// differs from the samples used or a label is negative.
  std::vector<int64_t> labels;
  /// Optional user metric (AIMET's eval callback; the JS API's score module): the score of one
  /// sample's outputs (model output order) and its index among the samples used, higher is
  /// better. Its mean over the samples replaces SQNR and top-1 in phases 0, 2 and 3 (phase 1 stays
  /// SQNR); report points, "selected" and "final" carry "score", and the FP model's mean score is
  /// the reference (search "float_score"; homogeneous: selected "float_score"). Called on the
  /// calling thread only; those runs then take the samples one after another. A non-finite score
  /// is an Error naming the calibration sample.
  mp::ScoreFn score;
  /// Names `score`: the same id means the same function, so the workspace keeps the search and
  /// evaluations made with it; another id searches again (as other labels do).
  std::string score_id;
  /// Search only, optional: the fronts while the search runs (mp::SearchOptions::on_front), each
  /// update as one JSON object (mp::front_update_json): {"event": "front", "order",
  /// "baselines", "pareto"} when phase 1 has ordered a front (every point at its phase-1
  /// prediction, "measured": false), then {"event": "points", "order", "points", "dominated"} as
  /// phase 2 measures them (points are report.json's pareto entries). Called on the calling
  /// thread; not called when the workspace reuses its search. Phase 2 then measures in parts
  /// (a little more work, the same numbers); without it nothing changes.
  std::function<void(const std::string& json)> on_front;
  /// Use at most this many calibration samples (the first ones). 0 = all, capped at 64.
  size_t max_samples = 0;
  /// Weight range setting: mse (default), weight-mse or minmax (quant/calibration.h).
  quant::WeightRange weight_range = quant::WeightRange::Mse;
  /// Weight rounding at <= 4 bits: nearest (default) or learned (learned_rounding.h).
  quant::WeightRounding weight_rounding = quant::WeightRounding::Nearest;
  /// Bias correction of <= 4-bit weights (quant/calibration.h CalibrationOptions::bias_correction).
  bool bias_correction = true;
  /// Activation range setting: mse (default), minmax or percentile.
  quant::ActRange act_range;
  /// Search: recalibrate activation ranges on the partly quantized model (amp.md section 2).
  bool recalibrate = false;
  uint64_t seed = 0;
  /// Kernel threads; 0 = hardware concurrency (1 in wasm).
  size_t threads = 0;
  /// Per-layer overrides applied after the homogeneous choice or the search: ONNX node name (as in
  /// report layers[].name) -> "W4A8". Forces that layer's weight bits and its input activation
  /// bits (the whole group after a search). The reported numbers and the export are of the
  /// resulting configuration. An unknown layer name is Error(InvalidArgument) naming it.
  std::map<std::string, mp::Candidate> layer_bits;
  /// Search only: one candidate per search group (report pareto[i].config or
  /// selected.group_config) instead of the selection; layer_bits then apply on top of it.
  /// Report "final" describes the result. Error naming "config" for a wrong count or a
  /// candidate a group does not support.
  std::vector<mp::Candidate> config;
  /// false: no export (model_bytes and encodings_json stay empty, report.json has no "export"):
  /// the app shows a configuration and exports it only when asked.
  bool export_model = true;
  /// Overrides of declared input shapes (like `inspect --input-shape`).
  std::map<std::string, ops::Dims> input_shapes;
  /// The model's file name, written into report.json ("model.file"). Empty: "model.onnx".
  std::string model_file;
  /// SHA-256 (hex) of the model file for report.json; empty: computed from the bytes given to
  /// quantize_bytes, or from the serialised model given to quantize.
  std::string model_sha256;
};

/// Checks labels against the samples used: one per sample, each a class index >= 0 (quantize()
/// does, with the defaults). Error(InvalidArgument) "<what>: 3 labels for 4 calibration samples
/// used (expected one per sample used, in the order given: <samples_used>, ...)"; a front end
/// checking first passes its own words.
void check_labels(const std::vector<int64_t>& labels, size_t samples_used, const std::string& what = "labels",
                  const std::string& samples_used_words = "the first samples up to the maximum number of samples");

// Progress (api::ProgressFn, workspace.h) phases: "calibration", "reference", "phase0".."phase3",
// "evaluate", "export". A calibration sample (api::Sample) is one tensor per model input,
// conformed like `run` inputs (float64 -> float32, a missing leading batch dim of 1 added).

/// One row of the chosen per-layer table (Conv, ConvTranspose, Gemm, MatMul with constant weight).
struct LayerRow {
  std::string name;          ///< ONNX node name (generated stable name where empty)
  std::string op;            ///< op type
  int64_t macs = 0;          ///< per sample
  double macs_share = 0.0;   ///< macs / total macs of all layers
  int w_bits = 0;            ///< 0: weight not quantized
  int w_block = 0;           ///< blocked weight scales: the block size (0: per channel)
  int a_bits = 0;            ///< bits of the layer's input activation quantizer (0: none/off)
  /// Search only: phase-1 SQNR (dB) of this layer's group at its chosen candidate.
  std::optional<double> sensitivity_db;
  /// Search only: its bootstrap interval over the calibration samples (low, high dB).
  std::optional<std::pair<double, double>> sensitivity_ci_db;
};

struct QuantizeResult {
  std::string model_bytes;     ///< the QDQ model (.onnx bytes)
  std::string encodings_json;  ///< AIMET-style encodings of the chosen configuration
  std::string report_json;     ///< report.json (cli.md keys)
  std::vector<LayerRow> layers;
  /// "W8A8" when homogeneous (also a search whose selection is a homogeneous baseline),
  /// "mixed" otherwise.
  std::string config;
  /// The search's selection was a homogeneous baseline that beat every front point at the target.
  bool baseline_selected = false;
  std::string order_used;      ///< search: "paper" or "ratio" (the front of the selection; "" for a baseline)
  std::optional<double> top1;  ///< top-1 accuracy vs the labels on the samples (labels given)
  std::optional<double> score;        ///< the mean user score of the configuration (score given)
  std::optional<double> float_score;  ///< the FP model's mean user score (score given)
  double sqnr_db = 0.0;        ///< output SQNR of the chosen configuration on the samples
  double rel_bops = 0.0;       ///< BOPs relative to W8A8 everywhere
  double size_bytes = 0.0;     ///< weight bytes at the chosen bit-widths
  size_t samples_used = 0;
  /// Search only: how stable the choice is on these samples (report "stability"): "stable",
  /// "add samples" or "unknown", and its one-line message (CLI summary).
  std::string stability_verdict, stability_message;
  /// Layers inside subgraphs no calibration sample ran (Workspace::layers_not_run; report
  /// "layers_not_run"): their activations stay float and their bits were chosen blind.
  std::vector<std::string> layers_not_run;
};

/// Quantizes the workspace's model with its samples (at least one; options.max_samples is the
/// caller's to apply when setting them): calibration, the search or the homogeneous
/// configuration, options.config / layer_bits on top, evaluation, export and report.json. Does
/// only what the workspace does not hold already: with the same samples and range options the
/// calibration is reused (report timing_s.reused), with the same candidates/profile/order/labels
/// the search (only phase 3 runs for a new target), and a configuration the search measured is
/// not evaluated again. The options' `threads` and `input_shapes` are those the workspace's
/// session was made with. Throws qm::Error.
QuantizeResult quantize(Workspace& workspace, const QuantizeOptions& options, const ProgressFn& progress = {});

/// Quantizes `model` with `samples` (at least one): makes a Session (options.threads,
/// options.input_shapes) and calls the above. Throws qm::Error.
QuantizeResult quantize(onnx::Model model, const std::vector<Sample>& samples,
                        const QuantizeOptions& options, const ProgressFn& progress = {});

/// The same from the bytes of a .onnx file (no external data). report.json's sha256 is that of
/// these bytes.
QuantizeResult quantize_bytes(const std::string& model_bytes, const std::vector<Sample>& samples,
                              const QuantizeOptions& options, const ProgressFn& progress = {});


}  // namespace qm::api
