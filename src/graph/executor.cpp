#include "graph/executor.h"

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

void Executor::set_constant_override(ValueId v, Tensor t) {
  const Plan& p = *plan_;
  const Tensor* c = (v >= 0 && static_cast<size_t>(v) < p.num_values()) ? p.constant(v) : nullptr;
  if (!c)
    throw Error(ErrorKind::InvalidArgument, "constant override: value " + std::to_string(v) + " is not a plan constant");
  if (t.dtype() != c->dtype() || t.shape() != c->shape())
    throw Error(ErrorKind::InvalidArgument, "constant override of '" + p.value_name(v) + "': expected " +
                                                std::string(dtype_name(c->dtype())) + " " + shape_to_string(c->shape()) +
                                                ", got " + std::string(dtype_name(t.dtype())) + " " +
                                                shape_to_string(t.shape()));
  Tensor& slot = overrides_[static_cast<size_t>(v)];
  if (slot.dtype() == DataType::Undefined) ++num_overrides_;
  slot = std::move(t);
}

void Executor::clear_constant_override(ValueId v) {
  if (v < 0 || static_cast<size_t>(v) >= overrides_.size()) return;
  Tensor& slot = overrides_[static_cast<size_t>(v)];
  if (slot.dtype() == DataType::Undefined) return;
  slot = Tensor();
  --num_overrides_;
}

void Executor::clear_constant_overrides() {
  if (num_overrides_ == 0) return;
  for (Tensor& t : overrides_) t = Tensor();
  num_overrides_ = 0;
}

const Tensor* Executor::constant_override(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= overrides_.size()) return nullptr;
  const Tensor& t = overrides_[static_cast<size_t>(v)];
  return t.dtype() == DataType::Undefined ? nullptr : &t;
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
  for (size_t si = start; si < p.steps().size(); ++si) {
    const Step& s = p.steps()[si];
    const Node& n = g.node(s.node);
    ins.clear();
    bool keys_match = true;  // the step's cache was built from the constants read now
    std::vector<Tensor>& keys = cache_keys_[si];
    size_t nkeys = 0;
    for (size_t k = 0; k < s.inputs.size(); ++k) {
      const ValueId v = s.inputs[k];
      if (v == kNoValue) {
        ins.push_back(nullptr);
      } else if (s.constant[k]) {
        const Tensor* o = num_overrides_ ? constant_override(v) : nullptr;
        if (o) {
          if (nkeys >= keys.size() || keys[nkeys].raw() != o->raw()) keys_match = false;
          ++nkeys;
        }
        ins.push_back(o ? o : p.constant(v));
      } else {
        const Tensor& t = slots[static_cast<size_t>(v)];
        if (t.dtype() == DataType::Undefined)
          throw Error(ErrorKind::InvalidArgument, "node '" + n.name + "' (" + n.op_type() + "): input '" + p.value_name(v) +
                                                      "' has no value (not computed or freed)");
        ins.push_back(&t);
      }
    }
    if (!keys_match || nkeys != keys.size()) {
      // Overrides changed since the cache was built: rebuild it from the tensors read now.
      caches_[si].reset();
      keys.clear();
      for (size_t k = 0; k < s.inputs.size(); ++k)
        if (s.inputs[k] != kNoValue && s.constant[k])
          if (const Tensor* o = constant_override(s.inputs[k])) keys.push_back(*o);
    }
    outs.assign(s.outputs.size(), Tensor());
    ops::RunContext ctx(n.name, n.op_type(), n.opset, ins, &outs, pool_, &caches_[si], s.constant);
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
