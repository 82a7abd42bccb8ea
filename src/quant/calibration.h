// Range setting (spec amp.md section 2): encodings per (quantizer, bit-width).
//
//   - weights: per channel, symmetric signed, scale = clip / (2^(b-1) - 1); `mse` (default)
//     searches clip over a grid of fractions of max|w| (0.1..1.0, then +-0.1 in steps of 0.02
//     around the best) minimising the squared error of the actual fake-quantized channel (from 12 bits on it
//     takes max|w|: clipping cannot pay off there); at <= 4 bits `mse` minimises the layer's
//     OUTPUT error on rows of its calibration inputs instead where the layer allows
//     (output_aware.h; `weight-mse` keeps the weight's own error); `minmax` uses max|w|;
//     blocked scales (Encoding::block) are chosen the same way per block;
//   - activations: a streaming histogram per tensor (bins anchored at 0, bin width doubling as the
//     range grows: memory is fixed, independent of the sample count), then `mse` (default: the
//     [min, max] minimising expected squared error = clipping error + in-range rounding noise
//     scale^2/12 per element, as AIMET's tf_enhanced), `minmax` (exact observed range) or
//     `percentile=P` (the P-th and (100-P)-th percentiles). The range always contains 0 and the
//     zero point is an integer, so 0 is exactly representable.
//
// Calibration runs the FP forward over the samples (one forward per add_sample call) with an
// executor hook feeding each activation quantizer's histogram; nothing else is stored.
// Encodings are computed lazily, once per (quantizer, bits), by Encodings::get.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "graph/executor.h"
#include "quant/learned_rounding.h"
#include "quant/output_aware.h"
#include "quant/quant_model.h"

namespace qm::quant {

class Simulator;

/// Mse: the clip of each channel/block minimises squared error, at <= 4 bits of the layer's
/// output on calibration inputs where the layer allows (output_aware.h), else of the weight
/// itself; WeightMse: the weight's own error at every width; MinMax: max|w|.
enum class WeightRange { Mse, WeightMse, MinMax };
/// Nearest: each weight rounds to its nearest level. Learned: at <= 4 bits, where the layer takes
/// rows (output_aware.h), the integers minimise the layer's output error (learned_rounding.h).
enum class WeightRounding { Nearest, Learned };

/// The activation range setting (api/options.h parses its text, as it does the two above).
struct ActRange {
  enum Kind { Mse, MinMax, Percentile } kind = Mse;
  double percentile = 99.99;  ///< for Percentile, in (50, 100]
};

struct CalibrationOptions {
  WeightRange weight_range = WeightRange::Mse;
  WeightRounding weight_rounding = WeightRounding::Nearest;
  LearnedRoundingOptions learned_rounding;
  ActRange act_range;
  /// At <= 4 bits, where the layer takes rows and has a bias it alone reads (Layer::bias): add
  /// the mean output error of its quantized weights to that bias (Encoding::bias_shift).
  bool bias_correction = true;
  size_t histogram_bins = 2048;  ///< max bins per activation histogram
  /// Rows of each layer's input kept for output-aware weight ranges (WeightRange::Mse at <= 4
  /// bits) and learned rounding, spread over the samples; 0 = none (the weight MSE search and
  /// round-to-nearest everywhere). Learned rounding takes at least kLearnedRoundingRows.
  size_t output_rows = 64;
  static constexpr size_t kLearnedRoundingRows = 128;
  /// Whether the calibrator keeps rows, and how many per layer.
  size_t rows_per_layer() const;
};

/// A histogram over a growing range with a fixed maximum number of bins. Bin k covers
/// [k*width, (k+1)*width); bins span [first_bin*width, (first_bin+size)*width). When a value
/// falls outside and the span would need more than max_bins, the width doubles (pairs of bins
/// merge exactly). NaN values are ignored; infinities are clamped to the largest finite float.
class StreamingHistogram {
 public:
  explicit StreamingHistogram(size_t max_bins = 2048);
  void add(const float* x, size_t n);

  uint64_t count() const { return count_; }
  float min() const { return min_; }  ///< exact observed min (0 if empty)
  float max() const { return max_; }  ///< exact observed max (0 if empty)
  double width() const { return width_; }
  int64_t first_bin() const { return first_; }
  const std::vector<double>& counts() const { return counts_; }
  /// Heap bytes held (constant once max_bins bins exist).
  size_t bytes() const { return counts_.capacity() * sizeof(double); }

 private:
  void cover(double lo, double hi);

  size_t max_bins_;
  double width_ = 0.0;
  int64_t first_ = 0;
  std::vector<double> counts_;
  uint64_t count_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
};

/// Asymmetric unsigned per-tensor encoding of [lo, hi] at `bits`: the range is extended to
/// contain 0, scale = (hi - lo) / (2^b - 1) (at least a tiny positive value), zero point =
/// round(-lo / scale) clamped to [0, 2^b - 1]; min/max are the represented range.
Encoding activation_encoding_from_range(double lo, double hi, int bits);
/// Per-tensor activation encoding from a histogram.
Encoding activation_encoding(const StreamingHistogram& h, int bits, const ActRange& range);
/// Per-channel symmetric weight encoding of `w` (float) along `axis`.
Encoding weight_encoding(const Tensor& w, int axis, int bits, WeightRange range);
/// Blocked symmetric weight encoding of `w` (BlockLayout): one scale per block, chosen as a
/// channel's is (`mse` clip search over the block's elements, or `minmax`).
Encoding blocked_weight_encoding(const Tensor& w, const BlockLayout& layout, int block, int bits, WeightRange range);
/// Output-aware symmetric weight encoding (output_aware.h) of `w` with `layout`: per channel
/// (block 0: the channel axis is the layout's outer or inner one, `axis`) or per block.
Encoding output_aware_weight_encoding(const Tensor& w, const BlockLayout& layout, int axis, int block, int bits, const LayerRows& rows);

/// The encodings table: (quantizer, bits, weight block size) -> Encoding, filled lazily from the plan's weights
/// and the activation histograms, or set explicitly (e.g. read from an encodings JSON).
class Encodings {
 public:
  /// `model` must outlive the table.
  explicit Encodings(const QuantModel& model, CalibrationOptions options = {});
  Encodings(Encodings&&) noexcept;
  Encodings& operator=(Encodings&&) noexcept;
  ~Encodings();

  /// The encoding of quantizer q at `bits` (2..16), per channel or (weights, `block` > 0) with
  /// blocked scales, computed on first use. Throws Error(InvalidArgument) if it is not set and
  /// cannot be computed (activation without a histogram: no calibration sample reached it; a
  /// block size for a layer without a blocked form).
  const Encoding& get(int q, int bits, int block = 0);
  bool has(int q, int bits, int block = 0) const;
  /// Sets (replaces) an encoding; its bits and block fields are the key.
  void set(int q, Encoding e);
  /// Takes the histogram of activation quantizer q (the Calibrator calls this).
  void set_histogram(int q, std::shared_ptr<const StreamingHistogram> h);
  const StreamingHistogram* histogram(int q) const;
  /// Takes the input rows of weight quantizer q's layer (output-aware ranges).
  void set_rows(int q, std::shared_ptr<const LayerRows> rows);
  const LayerRows* rows(int q) const;
  const QuantModel& model() const { return *model_; }
  const CalibrationOptions& options() const { return options_; }
  /// Drops every encoding (computed or set); histograms stay.
  void clear_computed();

 private:
  const QuantModel* model_;
  CalibrationOptions options_;
  using Key = std::tuple<int, int, int>;  // quantizer, bits, block
  std::map<Key, Encoding> table_;
  std::vector<std::shared_ptr<const StreamingHistogram>> hist_;
  std::vector<std::shared_ptr<const LayerRows>> rows_;
};

/// What the calibrator used (for reports and the memory test).
struct CalibrationStats {
  size_t samples = 0;             ///< add_sample calls
  size_t histogram_bytes = 0;     ///< heap bytes of all histograms now
  size_t peak_live_bytes = 0;     ///< max over forwards of the executor's peak live bytes
  double seconds = 0.0;
};

/// Streams samples through the FP forward and collects activation histograms.
///   Calibrator cal(model, session.executor(), options);
///   for (auto& s : samples) cal.add_sample(s);
///   Encodings enc = cal.finish();
class Calibrator {
 public:
  /// `model` and `executor` (on model.plan()) must outlive the calibrator.
  Calibrator(const QuantModel& model, graph::Executor& executor, CalibrationOptions options = {});
  ~Calibrator();

  /// One forward pass on `inputs` (one tensor per model input, conformed; any batch size).
  /// With `sim` and `config`: the forward is the simulation of `config` and the histograms see
  /// each activation before it is fake-quantized (sequential calibration, --recalibrate).
  void add_sample(const std::vector<Tensor>& inputs, Simulator* sim = nullptr,
                  const QuantConfig* config = nullptr);
  const CalibrationStats& stats() const { return stats_; }
  /// An Encodings table holding the histograms (the calibrator can go on adding samples;
  /// later finish() calls see them).
  Encodings finish() const;

 private:
  const QuantModel* model_;
  graph::Executor* executor_;
  CalibrationOptions options_;
  std::vector<std::shared_ptr<StreamingHistogram>> hist_;  // per quantizer (activations only)
  std::vector<std::shared_ptr<LayerRows>> rows_;           // per layer (output-aware ranges)
  std::vector<std::vector<int>> rows_of_value_;            // per plan value: layers reading it
  size_t rows_quota_ = 0;                                  // rows per layer per sample now
  std::vector<bool> macs_pending_;                         // layers whose MACs are still unknown
  CalibrationStats stats_;
};

/// Calibrates over `samples` (each one tensor per model input). `progress(done, total)` after
/// each sample; returning false cancels with Error(InvalidArgument, "cancelled ...").
Encodings calibrate(const QuantModel& model, graph::Executor& executor,
                    const std::vector<std::vector<Tensor>>& samples, const CalibrationOptions& options = {},
                    const std::function<bool(size_t, size_t)>& progress = {},
                    CalibrationStats* stats = nullptr);

}  // namespace qm::quant
