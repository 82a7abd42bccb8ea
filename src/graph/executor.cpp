#include "graph/executor.h"

#include <atomic>

#include "core/error.h"
#include "core/thread_pool.h"

namespace qm::graph {

Executor::Executor(const Plan& plan, ThreadPool* pool) : plan_(&plan), pool_(pool) {
  caches_.resize(plan.steps().size());
  cache_keys_.resize(plan.steps().size());
  overrides_.resize(plan.num_values());
}

Executor::~Executor() = default;

void Executor::clear_caches() {
  for (auto& c : caches_) c.reset();
  for (auto& k : cache_keys_) k.clear();
}

namespace {

std::atomic<uint64_t> next_override_key{1};

/// Throws unless `t` can stand for plan constant `c` (value `name`).
void check_override(const Tensor& c, const Tensor& t, const std::string& name) {
  if (t.dtype() != c.dtype() || t.shape() != c.shape())
    throw Error(ErrorKind::InvalidArgument, "constant override of '" + name + "': expected " +
                                                std::string(dtype_name(c.dtype())) + " " + shape_to_string(c.shape()) +
                                                ", got " + std::string(dtype_name(t.dtype())) + " " +
                                                shape_to_string(t.shape()));
}

}  // namespace

uint64_t Executor::reserve_override_keys(uint64_t count) { return next_override_key.fetch_add(count); }

void Executor::set_constant_override(ValueId v, Tensor t) {
  const Plan& p = *plan_;
  const Tensor* c = (v >= 0 && static_cast<size_t>(v) < p.num_values()) ? p.constant(v) : nullptr;
  if (!c)
    throw Error(ErrorKind::InvalidArgument, "constant override: value " + std::to_string(v) + " is not a plan constant");
  check_override(*c, t, p.value_name(v));
  Override& slot = overrides_[static_cast<size_t>(v)];
  if (slot.key == 0) ++num_overrides_;
  slot.key = reserve_override_keys(1);
  slot.tensor = std::move(t);
  slot.source = nullptr;
}

void Executor::set_constant_override(ValueId v, uint64_t key, std::function<Tensor()> source) {
  const Plan& p = *plan_;
  if (v < 0 || static_cast<size_t>(v) >= p.num_values() || !p.constant(v))
    throw Error(ErrorKind::InvalidArgument, "constant override: value " + std::to_string(v) + " is not a plan constant");
  if (key == 0 || !source) throw Error(ErrorKind::InvalidArgument, "constant override of '" + p.value_name(v) + "': no key or source");
  Override& slot = overrides_[static_cast<size_t>(v)];
  if (slot.key == 0) ++num_overrides_;
  slot.key = key;
  slot.tensor = Tensor();
  slot.source = std::move(source);
}

void Executor::clear_constant_override(ValueId v) {
  if (v < 0 || static_cast<size_t>(v) >= overrides_.size()) return;
  Override& slot = overrides_[static_cast<size_t>(v)];
  if (slot.key == 0) return;
  slot = Override();
  --num_overrides_;
}

void Executor::clear_constant_overrides() {
  if (num_overrides_ == 0) return;
  for (Override& o : overrides_) o = Override();
  num_overrides_ = 0;
}

const Tensor* Executor::constant_override(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= overrides_.size()) return nullptr;
  const Override& o = overrides_[static_cast<size_t>(v)];
  return o.key != 0 && o.tensor.dtype() != DataType::Undefined ? &o.tensor : nullptr;
}

bool Executor::has_constant_override(ValueId v) const {
  return v >= 0 && static_cast<size_t>(v) < overrides_.size() && overrides_[static_cast<size_t>(v)].key != 0;
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, const ValueHook& hook, ValueMap* keep) {
  const Plan& p = *plan_;
  if (inputs.size() != p.inputs().size())
    throw Error(ErrorKind::InvalidArgument, "expected " + std::to_string(p.inputs().size()) + " inputs, got " +
                                                std::to_string(inputs.size()));
  std::vector<Tensor> slots(p.num_values());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueId v = p.inputs()[i];
    Tensor t = inputs[i];
    if (hook)
      if (auto r = hook(v, t)) t = std::move(*r);
    if (keep) (*keep)[v] = t;
    slots[static_cast<size_t>(v)] = std::move(t);
  }
  return execute(0, slots, hook, keep);
}

std::vector<Tensor> Executor::run_from(size_t start, const ValueMap& cached, const ValueHook& hook, ValueMap* keep) {
  const Plan& p = *plan_;
  std::vector<Tensor> slots(p.num_values());
  for (ValueId v : p.live_in(start)) {
    auto it = cached.find(v);
    if (it == cached.end())
      throw Error(ErrorKind::InvalidArgument, "run_from step " + std::to_string(start) + ": value '" + p.value_name(v) +
                                                  "' is needed but not cached");
    slots[static_cast<size_t>(v)] = it->second;
  }
  return execute(start, slots, hook, keep);
}

std::vector<Tensor> Executor::execute(size_t start, std::vector<Tensor>& slots, const ValueHook& hook, ValueMap* keep) {
  const Plan& p = *plan_;
  const Graph& g = p.graph();
  stats_ = RunStats();
  size_t live = 0, live_bytes = 0;
  for (const Tensor& t : slots)
    if (t.dtype() != DataType::Undefined) {
      ++live;
      live_bytes += t.nbytes();
    }
  std::vector<const Tensor*> ins;
  std::vector<Tensor> outs;
  std::vector<Tensor> made;  // lazy overrides made for the current step
  std::vector<uint64_t> now;  // keys of the current step's overrides
  for (size_t si = start; si < p.steps().size(); ++si) {
    const Step& s = p.steps()[si];
    const Node& n = g.node(s.node);
    now.clear();
    if (num_overrides_)
      for (size_t k = 0; k < s.inputs.size(); ++k)
        if (s.inputs[k] != kNoValue && s.constant[k] && has_constant_override(s.inputs[k]))
          now.push_back(overrides_[static_cast<size_t>(s.inputs[k])].key);
    std::vector<uint64_t>& keys = cache_keys_[si];
    if (now != keys) {
      // Overrides changed since the cache was built: rebuild it from the tensors read now.
      caches_[si].reset();
      keys = now;
    }
    // The cache (if any) matches the overrides: lazy ones it covers need not be made.
    const ops::OpCache* cache = caches_[si].get();
    ins.clear();
    made.clear();
    made.reserve(now.size());
    for (size_t k = 0; k < s.inputs.size(); ++k) {
      const ValueId v = s.inputs[k];
      if (v == kNoValue) {
        ins.push_back(nullptr);
      } else if (s.constant[k]) {
        const Override* o = num_overrides_ && has_constant_override(v) ? &overrides_[static_cast<size_t>(v)] : nullptr;
        if (!o) {
          ins.push_back(p.constant(v));
        } else if (o->tensor.dtype() != DataType::Undefined) {
          ins.push_back(&o->tensor);
        } else if (cache && cache->covers_input(k)) {
          ins.push_back(p.constant(v));  // stand-in: the op reads the cache
        } else {
          made.push_back(o->source());
          check_override(*p.constant(v), made.back(), p.value_name(v));
          ins.push_back(&made.back());
        }
      } else {
        const Tensor& t = slots[static_cast<size_t>(v)];
        if (t.dtype() == DataType::Undefined)
          throw Error(ErrorKind::InvalidArgument, "node '" + n.name + "' (" + n.op_type() + "): input '" + p.value_name(v) +
                                                      "' has no value (not computed or freed)");
        ins.push_back(&t);
      }
    }
    outs.assign(s.outputs.size(), Tensor());
    ops::RunContext ctx(n.name, n.op_type(), n.opset, ins, &outs, pool_, &caches_[si], s.constant);
    if (subgraph_hooks_) ctx.set_subgraph_hooks(subgraph_hooks_, "");
    s.def->run(s.attrs.get(), ctx);
    ++stats_.steps_run;
    for (size_t k = 0; k < s.outputs.size(); ++k) {
      const ValueId v = s.outputs[k];
      if (v == kNoValue) continue;
      Tensor& t = outs[k];
      if (t.dtype() == DataType::Undefined)
        throw Error(ErrorKind::Unsupported, "node '" + n.name + "' (" + n.op_type() + "): output " + std::to_string(k) +
                                                " was not computed");
      if (hook)
        if (auto r = hook(v, t)) t = std::move(*r);
      if (keep) (*keep)[v] = t;
      ++live;
      live_bytes += t.nbytes();
      slots[static_cast<size_t>(v)] = std::move(t);
    }
    if (live > stats_.peak_live_values) stats_.peak_live_values = live;
    if (live_bytes > stats_.peak_live_bytes) stats_.peak_live_bytes = live_bytes;
    for (ValueId v : s.free_after) {
      Tensor& t = slots[static_cast<size_t>(v)];
      if (t.dtype() == DataType::Undefined) continue;
      --live;
      live_bytes -= t.nbytes();
      t = Tensor();
    }
  }
  std::vector<Tensor> result;
  for (ValueId v : p.outputs()) {
    if (const Tensor* c = p.constant(v)) {
      result.push_back(*c);
      continue;
    }
    const Tensor& t = slots[static_cast<size_t>(v)];
    if (t.dtype() == DataType::Undefined)
      throw Error(ErrorKind::InvalidArgument, "output '" + p.value_name(v) + "' has no value");
    result.push_back(t);
  }
  return result;
}

}  // namespace qm::graph
