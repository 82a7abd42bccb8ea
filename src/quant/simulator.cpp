#include "quant/simulator.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <tuple>

#include "core/error.h"
#include "kernels/fake_quant.h"
#include "quant/output_aware.h"

namespace qm::quant {

namespace {

// Learned rounding (Encoding::levels): y = level * the element's scale, as DequantizeLinear.
Tensor dequantize_levels(const Tensor& x, const Encoding& enc) {
  if (static_cast<int64_t>(enc.levels.size()) != x.numel())
    throw Error(ErrorKind::InvalidArgument, "fake quantization: " + std::to_string(enc.levels.size()) + " learned levels for a tensor of shape " +
                                                shape_to_string(x.shape()));
  const Shape& s = x.shape();
  int64_t outer = 1, mid = 1, inner = 1;  // blocked: mid = K; per channel: mid = channels
  const int span = enc.block > 0 ? enc.block_k_dims : 1;
  if (enc.axis < 0 || enc.axis + span > x.rank())
    throw Error(ErrorKind::InvalidArgument, "fake quantization: learned levels need a weight axis inside shape " + shape_to_string(s));
  for (int d = 0; d < x.rank(); ++d) {
    const int64_t n = s[static_cast<size_t>(d)];
    if (d < enc.axis) outer *= n;
    else if (d < enc.axis + span) mid *= n;
    else inner *= n;
  }
  const int64_t blocks = enc.block > 0 ? (mid + enc.block - 1) / enc.block : 1;
  const int64_t scales = enc.block > 0 ? outer * blocks * inner : mid;
  if (static_cast<int64_t>(enc.scale.size()) != scales)
    throw Error(ErrorKind::InvalidArgument, "fake quantization: " + std::to_string(enc.scale.size()) + " scales for learned levels of shape " +
                                                shape_to_string(s) + ", expected " + std::to_string(scales));
  Tensor y(DataType::Float, s);
  float* py = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t m = 0; m < mid; ++m)
      for (int64_t i = 0; i < inner; ++i) {
        const size_t at = static_cast<size_t>((o * mid + m) * inner + i);
        const size_t si = static_cast<size_t>(enc.block > 0 ? (o * blocks + m / enc.block) * inner + i : m);
        py[at] = static_cast<float>(enc.levels[at]) * enc.scale[si];
      }
  return y;
}

}  // namespace

Tensor fake_quantize(const Tensor& x, const Encoding& enc) {
  if (x.dtype() != DataType::Float)
    throw Error(ErrorKind::InvalidArgument, "fake quantization: expected a float tensor, got " + std::string(dtype_name(x.dtype())));
  if (!enc.levels.empty()) return dequantize_levels(x, enc);
  Tensor y(DataType::Float, x.shape());
  if (enc.axis < 0) {
    if (enc.scale.size() != 1)
      throw Error(ErrorKind::InvalidArgument, "fake quantization: a per-tensor encoding needs 1 scale, got " + std::to_string(enc.scale.size()));
    kernels::f32_fake_quant_per_tensor(x.data<float>(), y.data<float>(), static_cast<size_t>(x.numel()), enc.scale[0],
                                       enc.zero_point.empty() ? 0 : enc.zero_point[0], enc.qmin(), enc.qmax());
    return y;
  }
  const Shape& s = x.shape();
  if (enc.block > 0) {
    // Blocked: x as [outer, K, inner]; row k of K takes the scales of its block, one per inner.
    int64_t outer = 1, K = 1, inner = 1;
    for (int d = 0; d < x.rank(); ++d) {
      const int64_t n = s[static_cast<size_t>(d)];
      if (d < enc.axis) outer *= n;
      else if (d < enc.axis + enc.block_k_dims) K *= n;
      else inner *= n;
    }
    const int64_t blocks = (K + enc.block - 1) / enc.block;
    if (enc.axis < 0 || enc.axis + enc.block_k_dims > x.rank() || static_cast<int64_t>(enc.scale.size()) != outer * blocks * inner)
      throw Error(ErrorKind::InvalidArgument, "fake quantization: " + std::to_string(enc.scale.size()) + " block scales (block " +
                                                  std::to_string(enc.block) + " from axis " + std::to_string(enc.axis) + ") for a tensor of shape " +
                                                  shape_to_string(s));
    const float* px = x.data<float>();
    float* py = y.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < K; ++k) {
        const size_t row = static_cast<size_t>((o * K + k) * inner);
        const size_t first = static_cast<size_t>((o * blocks + k / enc.block) * inner);
        kernels::f32_fake_quant_per_channel(px + row, py + row, 1, static_cast<size_t>(inner), 1, enc.scale.data() + first,
                                            nullptr, enc.qmin(), enc.qmax());
      }
    return y;
  }
  if (enc.axis >= x.rank() || static_cast<int64_t>(enc.scale.size()) != s[static_cast<size_t>(enc.axis)])
    throw Error(ErrorKind::InvalidArgument, "fake quantization: " + std::to_string(enc.scale.size()) + " channel scales on axis " +
                                                std::to_string(enc.axis) + " of a tensor of shape " + shape_to_string(s));
  size_t outer = 1, inner = 1;
  for (int i = 0; i < enc.axis; ++i) outer *= static_cast<size_t>(s[static_cast<size_t>(i)]);
  for (size_t i = static_cast<size_t>(enc.axis) + 1; i < s.size(); ++i) inner *= static_cast<size_t>(s[i]);
  bool any_zp = false;
  for (int32_t z : enc.zero_point) any_zp |= z != 0;
  kernels::f32_fake_quant_per_channel(x.data<float>(), y.data<float>(), outer, enc.scale.size(), inner, enc.scale.data(),
                                      any_zp ? enc.zero_point.data() : nullptr, enc.qmin(), enc.qmax());
  return y;
}

void fake_quantize_inplace(float* x, size_t n, const Encoding& enc) {
  kernels::f32_fake_quant_per_tensor(x, x, n, enc.scale.at(0), enc.zero_point.empty() ? 0 : enc.zero_point[0], enc.qmin(),
                                     enc.qmax());
}

// Clears the executor's constant overrides when a run ends (also on exceptions), so a shared
// executor (the session's) never keeps running with fake-quantized weights.
class Simulator::OverrideGuard {
 public:
  explicit OverrideGuard(graph::Executor& e) : e_(e) {}
  ~OverrideGuard() { e_.clear_constant_overrides(); }

 private:
  graph::Executor& e_;
};

// Fake-quantized weights by (quantizer, bits, block), shared by the simulators of one model. Its
// lock also guards the shared Encodings table (Encodings::get computes lazily).
struct Simulator::WeightStore {
  explicit WeightStore(size_t quantizers) : quantizers(quantizers) { renew_keys(); }
  /// New executor override keys (the encodings, hence the fake weights, changed).
  void renew_keys() { key_base = graph::Executor::reserve_override_keys(2 * quantizers * kKeysPerQuantizer); }
  /// One key per (quantizer, bits 0..16, block: per channel or a power of two 16..1024).
  uint64_t key(int q, int bits, int block) const {
    uint64_t code = 0;  // 0 = per channel, 1 = 16, ..., 7 = 1024
    for (int b = block; b >= kMinWeightBlock; b >>= 1) ++code;
    return key_base + static_cast<uint64_t>(q) * kKeysPerQuantizer + code * kBitsKeys + static_cast<uint64_t>(bits);
  }
  /// The key of the corrected bias of weight quantizer q's layer at (bits, block).
  uint64_t bias_key(int q, int bits, int block) const { return key(q, bits, block) + quantizers * kKeysPerQuantizer; }

  static constexpr uint64_t kBitsKeys = 17;
  static constexpr uint64_t kKeysPerQuantizer = kBitsKeys * 8;
  std::mutex mutex;
  std::map<std::tuple<int, int, int>, Tensor> map;
  size_t bytes = 0;
  size_t budget = kDefaultWeightCacheBudget;
  size_t quantizers = 0;
  uint64_t key_base = 0;
};

SubgraphView::SubgraphView(const QuantModel& model, graph::Executor& executor, const graph::ValueHook& hook, Simulator* sim,
                           const QuantConfig* config)
    : model_(model), executor_(executor), hook_(hook), sim_(sim), config_(config) {
  if (model.has_subgraph_quantizers()) executor.set_subgraph_hooks(this);
}

SubgraphView::~SubgraphView() {
  if (model_.has_subgraph_quantizers()) executor_.set_subgraph_hooks(nullptr);
}

std::optional<Tensor> SubgraphView::constant(const std::string& node_path, size_t input, const Tensor&) const {
  if (input != 1 || !sim_ || !config_) return std::nullopt;
  const int q = model_.inner_weight(node_path);
  if (q < 0) return std::nullopt;
  const int b = config_->bits[static_cast<size_t>(q)];
  if (b <= 0) return std::nullopt;
  return sim_->fake_weight(q, b, config_->block_of(static_cast<size_t>(q)));
}

std::optional<Tensor> SubgraphView::value(const std::string& value_path, const Tensor& t) const {
  if (!hook_) return std::nullopt;
  const graph::ValueId v = model_.inner_value(value_path);
  if (v == graph::kNoValue) return std::nullopt;
  return hook_(v, t);
}

Simulator::Simulator(const QuantModel& model, Encodings& encodings, graph::Executor& executor)
    : model_(&model), enc_(&encodings), exec_(&executor), weights_(std::make_shared<WeightStore>(model.quantizers().size())) {}

Simulator::Simulator(Simulator& other, graph::Executor& executor)
    : model_(other.model_), enc_(other.enc_), exec_(&executor), weights_(other.weights_) {}

Simulator::~Simulator() = default;

void Simulator::clear_weight_cache() {
  std::lock_guard<std::mutex> lock(weights_->mutex);
  weights_->map.clear();
  weights_->bytes = 0;
  weights_->renew_keys();
}

void Simulator::set_weight_cache_budget(size_t bytes) {
  std::lock_guard<std::mutex> lock(weights_->mutex);
  weights_->budget = bytes;
}

size_t Simulator::weight_cache_bytes() const {
  std::lock_guard<std::mutex> lock(weights_->mutex);
  return weights_->bytes;
}

Tensor Simulator::fake_weight(int q, int bits, int block) {
  std::lock_guard<std::mutex> lock(weights_->mutex);
  WeightStore& st = *weights_;
  auto it = st.map.find({q, bits, block});
  if (it != st.map.end()) return it->second;
  const Quantizer& qq = model_->quantizer(q);
  if (qq.kind != QuantizerKind::Weight)
    throw Error(ErrorKind::InvalidArgument, "fake_weight: quantizer '" + qq.tensor + "' is not a weight quantizer");
  Tensor w = fake_quantize(model_->weight(q), enc_->get(q, bits, block));
  if (st.bytes + w.nbytes() > st.budget) {
    st.map.clear();
    st.bytes = 0;
  }
  st.bytes += w.nbytes();
  return st.map.emplace(std::make_tuple(q, bits, block), std::move(w)).first->second;
}

void Simulator::apply_weights(const QuantConfig& config) {
  exec_->clear_constant_overrides();
  const auto& qs = model_->quantizers();
  if (config.bits.size() != qs.size())
    throw Error(ErrorKind::InvalidArgument, "simulation: config has " + std::to_string(config.bits.size()) +
                                                " entries, the model has " + std::to_string(qs.size()) + " quantizers");
  for (const Quantizer& q : qs) {
    const int b = config.bits[static_cast<size_t>(q.id)];
    if (q.kind != QuantizerKind::Weight || b <= 0) continue;
    const int block = config.block_of(static_cast<size_t>(q.id));
    if (block != 0 && !valid_weight_block(block))
      throw Error(ErrorKind::InvalidArgument, "simulation: weight '" + q.tensor + "' has block size " + std::to_string(block));
    if (!q.scope.empty()) continue;  // inside a subgraph: SubgraphView
    uint64_t key = 0;
    {
      std::lock_guard<std::mutex> lock(weights_->mutex);
      key = weights_->key(q.id, b, block);
    }
    // Made only where a step needs it (not for layers whose packed weights already match).
    exec_->set_constant_override(q.value, key, [this, id = q.id, b, block] { return fake_weight(id, b, block); });
    const Layer& layer = model_->layers()[static_cast<size_t>(q.layer)];
    if (layer.bias == graph::kNoValue) continue;
    std::lock_guard<std::mutex> lock(weights_->mutex);
    const Encoding& e = enc_->get(q.id, b, block);
    if (e.bias_shift.empty()) continue;
    exec_->set_constant_override(layer.bias, weights_->bias_key(q.id, b, block), [this, id = q.id, b, block, v = layer.bias] {
      std::lock_guard<std::mutex> lock(weights_->mutex);
      return corrected_bias(*model_->plan().constant(v), enc_->get(id, b, block).bias_shift);
    });
  }
}

graph::ValueHook Simulator::make_hook(const QuantConfig& config, const graph::ValueHook& observer) {
  // Resolve encodings up front (get() may compute, and throws with a clear message; the lock:
  // other simulators of the model may be resolving theirs).
  std::vector<const Encoding*> act(model_->quantizers().size(), nullptr);
  bool any = false;
  std::lock_guard<std::mutex> lock(weights_->mutex);
  for (const Quantizer& q : model_->quantizers()) {
    const int b = config.bits[static_cast<size_t>(q.id)];
    if (q.kind == QuantizerKind::Activation && b > 0) {
      const Encoding& e = enc_->get(q.id, b);
      if (!e.calibrated()) continue;  // stays float
      act[static_cast<size_t>(q.id)] = &e;
      any = true;
    }
  }
  if (!any && !observer) return {};
  const QuantModel* m = model_;
  return [m, act = std::move(act), observer](graph::ValueId v, const Tensor& t) -> std::optional<Tensor> {
    if (observer) observer(v, t);
    const int q = m->quantizer_on(v);
    if (q < 0 || !act[static_cast<size_t>(q)] || t.dtype() != DataType::Float) return std::nullopt;
    return fake_quantize(t, *act[static_cast<size_t>(q)]);
  };
}

std::vector<Tensor> Simulator::run(const QuantConfig& config, const std::vector<Tensor>& inputs,
                                   const graph::ValueHook& observer) {
  OverrideGuard guard(*exec_);
  apply_weights(config);
  const graph::ValueHook hook = make_hook(config, observer);
  const SubgraphView view(*model_, *exec_, hook, this, &config);
  return exec_->run(inputs, hook);
}

void Simulator::clear_cache() {
  cache_.clear();
  checkpoints_.clear();
  cache_bytes_ = 0;
}

std::vector<std::vector<Tensor>> Simulator::cache_fp(const std::vector<std::vector<Tensor>>& samples, size_t budget_bytes) {
  clear_cache();
  const graph::Plan& plan = model_->plan();
  const size_t S = plan.steps().size();
  std::vector<std::vector<Tensor>> outputs;
  OverrideGuard guard(*exec_);
  exec_->clear_constant_overrides();
  // Bytes per value from the first sample (shared buffers counted once).
  std::vector<size_t> value_bytes;
  std::set<graph::ValueId> keep_set;  // empty: everything
  bool everything = true;
  for (size_t i = 0; i < samples.size(); ++i) {
    graph::ValueMap keep;
    outputs.push_back(exec_->run(samples[i], {}, &keep));
    if (i == 0) {
      value_bytes.assign(plan.num_values(), 0);
      std::set<const void*> seen;
      size_t total = 0;
      for (const auto& kv : keep) {
        if (!seen.insert(kv.second.raw()).second) continue;
        value_bytes[static_cast<size_t>(kv.first)] = kv.second.nbytes();
        total += kv.second.nbytes();
      }
      if (total * samples.size() <= budget_bytes) {
        for (size_t s = 0; s <= S; ++s) checkpoints_.push_back(s);
      } else {
        // Evenly spaced checkpoints: the smallest stride whose live-in union fits the budget;
        // the model inputs (step 0) are always kept.
        everything = false;
        std::vector<std::vector<graph::ValueId>> live(S + 1);
        for (size_t s = 0; s <= S; ++s) live[s] = plan.live_in(s);
        for (size_t stride = 1;; stride *= 2) {
          std::set<graph::ValueId> u;
          std::vector<size_t> cps;
          for (size_t s = 0; s <= S; s += stride) {
            cps.push_back(s);
            u.insert(live[s].begin(), live[s].end());
          }
          size_t bytes = 0;
          for (graph::ValueId v : u) bytes += value_bytes[static_cast<size_t>(v)];
          if (bytes * samples.size() <= budget_bytes || stride > S) {
            if (stride > S && bytes * samples.size() > budget_bytes) {
              cps = {0};
              u = std::set<graph::ValueId>(live[0].begin(), live[0].end());
            }
            checkpoints_ = cps;
            keep_set = std::move(u);
            break;
          }
        }
      }
    }
    if (!everything) {
      graph::ValueMap kept;
      for (graph::ValueId v : keep_set) {
        auto it = keep.find(v);
        if (it != keep.end()) kept.emplace(v, it->second);
      }
      keep = std::move(kept);
    }
    std::set<const void*> seen;
    for (const auto& kv : keep)
      if (seen.insert(kv.second.raw()).second) cache_bytes_ += kv.second.nbytes();
    cache_.push_back(std::move(keep));
  }
  return outputs;
}

graph::ValueMap Simulator::resume_values(const graph::ValueMap& values, size_t step, const graph::ValueHook& quantize) const {
  graph::ValueMap in;
  for (graph::ValueId v : model_->plan().live_in(step)) {
    auto c = values.find(v);
    if (c == values.end()) continue;  // run_from names the missing value
    Tensor t = c->second;
    if (quantize)
      if (auto r = quantize(v, t)) t = std::move(*r);
    in.emplace(v, std::move(t));
  }
  return in;
}

std::vector<Tensor> Simulator::run_cached(const QuantConfig& config, size_t sample) {
  if (sample >= cache_.size())
    throw Error(ErrorKind::InvalidArgument, "run_cached: sample " + std::to_string(sample) + " is not cached (" +
                                                std::to_string(cache_.size()) + " cached)");
  const size_t start = model_->first_affected_step(config);
  auto it = std::upper_bound(checkpoints_.begin(), checkpoints_.end(), start);
  const size_t cp = it == checkpoints_.begin() ? 0 : *(it - 1);
  const graph::ValueMap& cached = cache_[sample];
  OverrideGuard guard(*exec_);
  apply_weights(config);
  const graph::ValueHook hook = make_hook(config, {});
  const SubgraphView view(*model_, *exec_, hook, this, &config);
  // Values resuming at cp that the config quantizes were cached in floating point.
  return exec_->run_from(cp, resume_values(cached, cp, hook), hook);
}

bool Simulator::run_path(const std::vector<QuantConfig>& path, const std::vector<Tensor>& inputs,
                         const std::function<bool(size_t, std::vector<Tensor>&&)>& on_config, size_t budget_bytes,
                         std::vector<size_t>* resumed_at) {
  const graph::Plan& plan = model_->plan();
  // Every value of the previous config before fake quantization (the observer sees it so), by
  // id; the tensors share the run's buffers.
  graph::ValueMap raw;
  bool keep = true;
  const graph::ValueHook record = [&](graph::ValueId v, const Tensor& t) {
    if (keep && static_cast<size_t>(v) < plan.num_values()) raw[v] = t;  // (not values inside subgraphs)
    return std::optional<Tensor>{};
  };
  for (size_t k = 0; k < path.size(); ++k) {
    const QuantConfig& cfg = path[k];
    size_t start = 0;
    if (k > 0 && keep) {
      const QuantConfig& prev = path[k - 1];
      start = plan.steps().size();
      for (size_t q = 0; q < cfg.bits.size() && q < prev.bits.size(); ++q)
        if (cfg.bits[q] != prev.bits[q] || cfg.block_of(q) != prev.block_of(q)) start = std::min(start, model_->first_affected_step(static_cast<int>(q)));
    }
    if (resumed_at) resumed_at->push_back(start);
    std::vector<Tensor> out;
    {
      OverrideGuard guard(*exec_);
      apply_weights(cfg);
      const graph::ValueHook hook = make_hook(cfg, record);
      const SubgraphView view(*model_, *exec_, hook, this, &cfg);
      if (start == 0) {
        raw.clear();
        out = exec_->run(inputs, hook);
        if (k == 0 && keep) {
          std::set<const void*> seen;
          size_t bytes = 0;
          for (const auto& kv : raw)
            if (seen.insert(kv.second.raw()).second) bytes += kv.second.nbytes();
          if (bytes > budget_bytes) {
            keep = false;  // too big to keep: every config runs in full
            raw.clear();
          }
        }
      } else {
        // Values live into `start` are as the previous config produced them; the ones this config
        // quantizes are fake-quantized again at its bits.
        graph::ValueMap in = resume_values(raw, start, make_hook(cfg, {}));
        // The previous config's values from `start` on are recomputed: drop them first, so that
        // their buffers are free for the new ones (else both copies are held at once, and in
        // wasm, where the heap never shrinks, the heap grows by the downstream part's size).
        for (size_t si = start; si < plan.steps().size(); ++si)
          for (graph::ValueId v : plan.steps()[si].outputs) raw.erase(v);
        out = exec_->run_from(start, in, hook);
      }
    }
    if (!on_config(k, std::move(out))) return false;
  }
  return true;
}

}  // namespace qm::quant
