// The quantization simulation (spec amp.md section 1: simulation = deployment): the FP32 engine
// with fake quantization where a QuantConfig switches quantizers on.
//   - activations: fake-quantized by an executor hook right where the value is produced (model
//     inputs included), per tensor, with kernels::f32_fake_quant_per_tensor (bit-exact with ONNX
//     Runtime's QuantizeLinear -> DequantizeLinear at the TRUE bit-width range);
//   - weights: replaced through executor constant overrides by fake-quantized copies
//     (kernels::f32_fake_quant_per_channel), cached per (quantizer, bits).
//
// For the search: cache_fp() keeps the FP activations of the calibration samples (as much as a
// memory budget allows: every value, or the live-in sets of evenly spaced checkpoint steps), and
// run_cached() recomputes only from the first step the config affects (or the nearest checkpoint
// before it), fake-quantizing cached values the config quantizes.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "graph/executor.h"
#include "quant/calibration.h"
#include "quant/quant_model.h"

namespace qm::quant {

/// Fake-quantizes a float tensor with an encoding (per tensor, per channel along enc.axis, or
/// per block: Encoding::block).
Tensor fake_quantize(const Tensor& x, const Encoding& enc);
/// In place on n floats with a per-tensor encoding.
void fake_quantize_inplace(float* x, size_t n, const Encoding& enc);

/// Default bytes of fake-quantized weights a Simulator keeps between runs. Small: the executor's
/// packed weights already hold the configuration being run; this only saves recomputing the
/// weights of layers a search switches back and forth.
inline constexpr size_t kDefaultWeightCacheBudget = size_t{64} << 20;

class Simulator;

/// The values inside If/Loop/Scan subgraphs, for one run (ops::SubgraphHooks): each quantizer's
/// value there is offered to `hook` under its virtual id (QuantModel::inner_value), as the
/// executor offers plan values; with a simulator and a config, the layers there read their
/// fake-quantized weights. Set on `executor` while it lives, where the model has quantizers
/// inside subgraphs. `hook`, `sim` and `config` must outlive it.
class SubgraphView final : public ops::SubgraphHooks {
 public:
  SubgraphView(const QuantModel& model, graph::Executor& executor, const graph::ValueHook& hook, Simulator* sim = nullptr,
               const QuantConfig* config = nullptr);
  ~SubgraphView() override;
  SubgraphView(const SubgraphView&) = delete;
  SubgraphView& operator=(const SubgraphView&) = delete;

  std::optional<Tensor> constant(const std::string& node_path, size_t input, const Tensor& t) const override;
  std::optional<Tensor> value(const std::string& value_path, const Tensor& t) const override;

 private:
  const QuantModel& model_;
  graph::Executor& executor_;
  const graph::ValueHook& hook_;
  Simulator* sim_;
  const QuantConfig* config_;
};

class Simulator {
 public:
  /// `model`, `encodings` and `executor` (on model.plan()) must outlive the simulator. The
  /// executor may be the session's: the simulator sets its constant overrides for each run and
  /// clears them afterwards.
  Simulator(const QuantModel& model, Encodings& encodings, graph::Executor& executor);
  /// A second simulator of the same model and encodings on another executor (one per thread),
  /// sharing `other`'s fake-quantized weights (the shared cache is locked, so the two may run at
  /// the same time on different threads). The FP cache is its own.
  Simulator(Simulator& other, graph::Executor& executor);
  ~Simulator();

  /// One simulated forward of `config` on `inputs` (one tensor per model input). `observer`, if
  /// given, sees every value before it is fake-quantized (what calibration needs). Returns the
  /// graph outputs.
  std::vector<Tensor> run(const QuantConfig& config, const std::vector<Tensor>& inputs,
                          const graph::ValueHook& observer = {});

  /// Runs the FP model on `samples`, keeps their activations within `budget_bytes` (all values
  /// if they fit, else checkpoints) and returns the FP outputs (one vector per sample).
  /// Replaces any earlier cache.
  std::vector<std::vector<Tensor>> cache_fp(const std::vector<std::vector<Tensor>>& samples,
                                            size_t budget_bytes = size_t{512} << 20);
  size_t num_cached() const { return cache_.size(); }
  /// Bytes held by the FP cache (buffers shared by several values counted once).
  size_t cache_bytes() const { return cache_bytes_; }
  /// Checkpoint steps the cache can resume at (all steps when everything fits).
  const std::vector<size_t>& checkpoints() const { return checkpoints_; }
  void clear_cache();

  /// Outputs of cached sample `sample` under `config`: resumes at the last checkpoint at or
  /// before model().first_affected_step(config). Same result as run(config, inputs of sample).
  std::vector<Tensor> run_cached(const QuantConfig& config, size_t sample);

  /// Runs the configs of `path` in order on one sample (`inputs`), handing each one's outputs to
  /// `on_config(k, outputs)`. Consecutive configs that differ in a few quantizers (a phase-2
  /// front) cost little: each resumes at the first step where it differs from the previous one,
  /// from the previous config's activations (kept before fake quantization, one sample's worth).
  /// When those exceed `budget_bytes`, every config runs in full (same results). Returns false
  /// as soon as on_config returns false. Same outputs as run(path[k], inputs) for every k.
  bool run_path(const std::vector<QuantConfig>& path, const std::vector<Tensor>& inputs,
                const std::function<bool(size_t, std::vector<Tensor>&&)>& on_config,
                size_t budget_bytes = size_t{512} << 20, std::vector<size_t>* resumed_at = nullptr);

  /// The fake-quantized weight of weight quantizer q at `bits`, per channel or with blocked
  /// scales of `block` (cached; the tensor shares the cache's buffer).
  Tensor fake_weight(int q, int bits, int block = 0);
  /// Drops cached fake-quantized weights (e.g. after encodings changed).
  void clear_weight_cache();
  /// Bytes the fake-quantized weight cache may hold (default kDefaultWeightCacheBudget); when a
  /// new entry would exceed it, the cache is emptied first. Runs set the weights as lazy executor
  /// overrides: a fake weight is made (or taken from this cache) only for a layer whose packed
  /// weights do not already hold it, and freed after its step unless cached here.
  void set_weight_cache_budget(size_t bytes);
  size_t weight_cache_bytes() const;

  const QuantModel& model() const { return *model_; }
  Encodings& encodings() { return *enc_; }
  graph::Executor& executor() { return *exec_; }

 private:
  class OverrideGuard;
  void apply_weights(const QuantConfig& config);
  graph::ValueHook make_hook(const QuantConfig& config, const graph::ValueHook& observer);
  // The values live into `step`, from `values` (before fake quantization), each passed through
  // `quantize` (the config's hook): what run_from needs to resume there.
  graph::ValueMap resume_values(const graph::ValueMap& values, size_t step, const graph::ValueHook& quantize) const;

  const QuantModel* model_;
  Encodings* enc_;
  graph::Executor* exec_;
  struct WeightStore;
  std::shared_ptr<WeightStore> weights_;  // shared by the simulators of one model
  std::vector<graph::ValueMap> cache_;       // per sample
  std::vector<size_t> checkpoints_;          // sorted
  size_t cache_bytes_ = 0;
};

}  // namespace qm::quant
