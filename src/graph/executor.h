// The FP32 interpreter over a Plan. Values live in slots indexed by ValueId; each step reads its
// inputs (constants from the plan), runs its op, offers every output to the hook, and frees the
// values whose last use it was (the plan's memory plan), so peak memory is the live set, not the
// whole graph.
//
// Hooks: `hook(value, tensor)` is called for every graph input and every value a step produces,
// in execution order; returning a tensor replaces the value for everything downstream (the
// quantization simulation replaces activations with fake-quantized copies this way). run_from()
// resumes at a step from cached values (e.g. those kept by an earlier run with `keep`), so a
// change at one tensor recomputes only what follows it.
//
// Per-node caches (packed weights) persist across runs; one Executor runs one forward pass at a
// time (not reentrant). Ops run on the given thread pool.
//
// Constant overrides: set_constant_override(v, ...) makes every step read another tensor instead
// of the plan constant `v` (the simulation feeds fake-quantized weights this way) until cleared.
// Each override has a key naming its tensor; a step whose overrides' keys differ from those its
// per-node cache was built with drops the cache first, so packed weights always match the tensors
// read. A lazy override (key + source) is made only when a step needs its values: when the step's
// cache was built from other keys or does not cover that input (ops::OpCache::covers_input). A
// covered input gets the plan constant as a stand-in, so a simulated run holds fake-quantized
// weights one step at a time, not all at once.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "graph/plan.h"

namespace qm {
class ThreadPool;
}

namespace qm::graph {

/// Observer at every value: return a tensor to replace it downstream, nullopt to keep it.
using ValueHook = std::function<std::optional<Tensor>(ValueId, const Tensor&)>;

/// Values by id (the tensors share buffers with the run, no copies).
using ValueMap = std::map<ValueId, Tensor>;

/// Memory statistics of the last run.
struct RunStats {
  size_t peak_live_values = 0;  ///< largest number of run-time values held at once
  size_t peak_live_bytes = 0;   ///< their bytes (tensors sharing a buffer counted each)
  size_t steps_run = 0;
};

class Executor {
 public:
  /// `plan` must outlive the executor; `pool` may be null (one thread).
  explicit Executor(const Plan& plan, ThreadPool* pool = nullptr);
  ~Executor();

  /// Runs the whole plan. `inputs` holds one tensor per plan().inputs() entry, in order.
  /// Returns the graph outputs in declaration order. If `keep` is given, every value produced
  /// (after hooks) and every input is stored there too.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const ValueHook& hook = {},
                          ValueMap* keep = nullptr);

  /// Runs steps [start, end) from `cached` values, which must hold plan().live_in(start).
  /// Throws Error(InvalidArgument) naming a missing value.
  std::vector<Tensor> run_from(size_t start, const ValueMap& cached, const ValueHook& hook = {},
                               ValueMap* keep = nullptr);

  const Plan& plan() const { return *plan_; }
  const RunStats& stats() const { return stats_; }
  /// The thread pool the ops run on (null: one thread).
  ThreadPool* pool() const { return pool_; }
  /// Drops cached per-node data (packed weights), e.g. after constants changed.
  void clear_caches();

  /// Reads `t` (same dtype and shape as the plan constant `v`, checked) instead of constant `v`
  /// in every later run, until cleared. Throws Error(InvalidArgument) if `v` is not a constant
  /// or `t` does not match.
  void set_constant_override(ValueId v, Tensor t);
  /// Lazy override: reads `source()` instead of constant `v` where a step needs the values (see
  /// the top of this file); `source` may be called once per such step and run. `key` names the
  /// tensor: equal keys must give equal tensors for the executor's life (take keys from
  /// reserve_override_keys). The tensor's dtype and shape are checked when it is made.
  void set_constant_override(ValueId v, uint64_t key, std::function<Tensor()> source);
  /// `count` override keys no other caller of this function (in this process) gets: the
  /// returned value and the count - 1 that follow it.
  static uint64_t reserve_override_keys(uint64_t count);
  /// Removes one override (no-op if none) / all overrides.
  void clear_constant_override(ValueId v);
  void clear_constant_overrides();
  /// Hooks on the values inside If/Loop/Scan subgraphs for the runs that follow (null: none; the
  /// caller keeps `hooks` alive while it is set).
  void set_subgraph_hooks(const ops::SubgraphHooks* hooks) { subgraph_hooks_ = hooks; }
  /// The tensor of `v`'s eager override, or nullptr (none, or lazy).
  const Tensor* constant_override(ValueId v) const;
  /// Whether `v` is overridden (eagerly or lazily).
  bool has_constant_override(ValueId v) const;

 private:
  std::vector<Tensor> execute(size_t start, std::vector<Tensor>& slots, const ValueHook& hook, ValueMap* keep);

  const Plan* plan_;
  ThreadPool* pool_;
  std::vector<std::unique_ptr<ops::OpCache>> caches_;
  struct Override {
    uint64_t key = 0;  ///< 0: no override
    Tensor tensor;     ///< eager override
    std::function<Tensor()> source;  ///< lazy override
  };
  // Overrides by value id, and per step the keys of the overrides its cache was built with.
  std::vector<Override> overrides_;
  const ops::SubgraphHooks* subgraph_hooks_ = nullptr;
  size_t num_overrides_ = 0;
  std::vector<std::vector<uint64_t>> cache_keys_;
  RunStats stats_;
};

}  // namespace qm::graph
