// The quantization workspace: the state of one model between the user's actions, so that only
// what an action changes is computed again (the app and the CLI both run on it).
//
//   Workspace ws(Session::load("m.onnx"));        // parsed, planned, quantizers placed: once
//   ws.set_samples(samples, names);               // validated now; drops what depended on them
//   ws.calibrate(options);                        // histograms; encodings per (quantizer, bits)
//   ws.search(search_options);                    // phases 0-3, or phase 3 alone on the stored
//                                                 // fronts when only the target changed
//   Eval e = ws.evaluate(config);                 // one pass over the samples, or none when the
//                                                 // search (or an earlier call) measured it
//   Workspace::Export x = ws.export_config(config);
//
// What each step keeps: the samples (conformed); the encodings table and the simulator over it;
// the FP reference outputs and the evaluator (mp::SimEvaluator); the search result with every
// evaluated point; a cache of evaluations by configuration. set_samples drops everything after
// it; calibrate with other options drops the evaluator, search and cache; a search with other
// groups, order, labels or user score (another score_id) runs again. Not thread-safe: one
// workspace per worker/thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/session.h"
#include "core/tensor.h"
#include "mixed_precision/search.h"
#include "quant/calibration.h"
#include "quant/export_qdq.h"
#include "quant/quant_model.h"

namespace qm::mp {
class SimEvaluator;
}
namespace qm::quant {
class Simulator;
}

namespace qm::api {

/// Progress: (phase, done, total); return false to cancel (the call then throws qm::Error whose
/// message starts with "cancelled").
using ProgressFn = std::function<bool(const std::string& phase, size_t done, size_t total)>;

/// One calibration sample: one tensor per model input, in the model's input order.
using Sample = std::vector<Tensor>;

class Workspace {
 public:
  /// Takes the session (model parsed, validated and planned) and places the quantizers.
  /// `input_shapes` resolve dynamic dimensions for MACs (as the session was given them).
  explicit Workspace(std::unique_ptr<Session> session, const std::map<std::string, ops::Dims>& input_shapes = {});
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  Session& session() { return *session_; }
  const quant::QuantModel& model() const { return *qmodel_; }

  /// Replaces the calibration samples. Each is conformed to the model's inputs now (float64 ->
  /// float32, a missing batch dimension added); a wrong count or shape is an Error naming
  /// names[k] (or "calibration sample k"). Drops the calibration, the search and every
  /// evaluation.
  void set_samples(std::vector<Sample> samples, const std::vector<std::string>& names = {});
  const std::vector<Sample>& samples() const { return samples_; }

  /// Activation histograms over the samples (amp.md section 2), unless they were collected with
  /// the same options already. Returns whether it ran. Error without samples.
  bool calibrate(const quant::CalibrationOptions& options, const ProgressFn& progress = {});
  /// Seconds the last calibration took.
  double calibration_seconds() const { return calibration_seconds_; }
  /// Layers inside If/Loop/Scan subgraphs that no calibration sample ran (a branch never taken, a
  /// body never entered: their output grid saw no values), by index into model().layers(). Their
  /// activations stay float, and the search chose their weight bits without seeing them work.
  /// Empty before calibrate().
  std::vector<int> layers_not_run() const;

  /// The mixed-precision search (phases 0-3, options.progress sees them). Runs unless the stored
  /// search was made with the same groups (candidates x profile), flip order, front settings,
  /// labels and user score (options.score_id; a new id drops the search and the evaluations,
  /// but keeps the FP references, which it scores); then only phase 3 runs again for options.target, on the stored fronts (nothing is
  /// evaluated when they are fully measured). Returns whether the search ran. Needs calibrate().
  bool search(const mp::SearchOptions& options);
  /// The stored search, or null.
  const mp::SearchResult* search_result() const { return search_ ? &*search_ : nullptr; }
  /// The configuration of a choice of the stored search's groups.
  quant::QuantConfig config_of(const mp::Choice& choice) const;

  /// The quality of `config` on the samples: one simulated pass per sample against the kept FP
  /// references, or nothing when this configuration was measured before (by the search too).
  /// `labels` (empty or one per sample) add top-1 unless a search set its own. progress sees
  /// ("evaluate", done, total).
  mp::Eval evaluate(const quant::QuantConfig& config, const ProgressFn& progress = {});

  struct Export {
    std::string model_bytes;     ///< the QDQ model
    std::string encodings_json;  ///< AIMET-style encodings of the configuration
    quant::ExportStats stats;
    double seconds = 0;
  };
  /// The QDQ model and encodings of `config` (amp.md section 1). Needs calibrate().
  Export export_config(const quant::QuantConfig& config);

  /// Labels of evaluations outside a search (one per sample, or empty); a search's labels win.
  void set_labels(std::vector<int64_t> labels);
  /// The user score of evaluations outside a search (empty: none), named by `id` (the same id =
  /// the same function: the evaluations made with it are kept); a search's score wins.
  void set_score(mp::ScoreFn score, std::string id);
  /// The FP model's mean user score (the reference), when a score is set on the evaluator.
  std::optional<double> float_score() const;

 private:
  mp::SimEvaluator& evaluator(const std::vector<int64_t>& labels, size_t memory_budget, const ProgressFn& progress);
  // Sets the pending score (score_, score_id_) on the evaluator unless it has that id already.
  void apply_score();
  void drop_search();
  void drop_calibration();  // and the search, evaluator and evaluations

  std::unique_ptr<Session> session_;
  std::unique_ptr<quant::QuantModel> qmodel_;
  std::vector<Sample> samples_;
  std::vector<std::string> sample_names_;  ///< as set_samples got them (may be empty)
  std::optional<quant::CalibrationOptions> calibrated_with_;
  double calibration_seconds_ = 0;
  std::unique_ptr<quant::Encodings> enc_;
  std::unique_ptr<quant::Simulator> sim_;
  std::vector<int64_t> labels_;           // of the evaluator
  mp::ScoreFn score_;                     // wanted for the next evaluations (empty: none)
  std::string score_id_;
  std::optional<std::string> applied_score_;  // id of the score set on eval_ (none: no score)
  std::unique_ptr<mp::SimEvaluator> eval_;
  std::optional<mp::SearchResult> search_;
  std::vector<std::vector<mp::Candidate>> search_groups_;  // candidates per group of search_
  mp::FlipOrder search_order_ = mp::FlipOrder::Paper;
  bool search_full_front_ = true;
  size_t search_front_points_ = 0;
  mp::Phase1Aggregate search_aggregate_ = mp::Phase1Aggregate::Pooled;
  bool search_size_ = false;
  std::map<std::vector<int>, mp::Eval> evals_;  // by QuantConfig::bits
};

}  // namespace qm::api
