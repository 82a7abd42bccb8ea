// The label-free metric of the search (spec amp.md section 3): output SQNR against the FP model,
//   SQNR_dB = 10 log10( sum y_fp^2 / sum (y_fp - y_q)^2 )
// summed over all samples and elements of each output; with several outputs the per-output
// noise-to-signal ratios are averaged, then converted to dB. Plus top-1 agreement between FP and
// quantized argmax for classifier-shaped outputs ([N, C] with C >= 2, or [N, C, 1, 1]).
// Accumulator form: add batches as they come, read the totals at any time.
#pragma once

#include <cstddef>
#include <vector>

#include "core/tensor.h"

namespace qm::quant {

class SqnrAccumulator {
 public:
  /// Adds one forward's outputs: `fp` and `q` hold the same outputs (float, same shapes; an
  /// output that is not float is skipped). Error(InvalidArgument) on mismatched counts/shapes.
  void add(const std::vector<Tensor>& fp, const std::vector<Tensor>& q);

  /// Adds another accumulator's sums (e.g. another thread's samples).
  void merge(const SqnrAccumulator& other);

  /// SQNR in dB (+infinity when the noise is exactly 0; nan if nothing was added or every
  /// signal is 0).
  double sqnr_db() const;
  /// Average over outputs of noise/signal (what sqnr_db converts).
  double noise_to_signal() const;
  /// Per-output sums (signal = sum y_fp^2, noise = sum (y_fp - y_q)^2), in double.
  const std::vector<double>& signal() const { return signal_; }
  const std::vector<double>& noise() const { return noise_; }

  /// Fraction of rows where argmax agrees on the first classifier-shaped output (nan if none).
  double top1_agreement() const;
  size_t top1_rows() const { return rows_; }
  void reset();

 private:
  std::vector<double> signal_, noise_;
  size_t rows_ = 0, agree_ = 0;
};

/// SQNR (dB) of `q` against `fp`: one vector of outputs per sample.
double sqnr_db(const std::vector<std::vector<Tensor>>& fp, const std::vector<std::vector<Tensor>>& q);

/// noise/signal ratio <-> dB.
double nsr_to_db(double nsr);
double db_to_nsr(double db);

}  // namespace qm::quant
