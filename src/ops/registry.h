// The operator registry: for each supported (domain, op_type, opset range), how to read the
// node's attributes and how to infer its outputs.
//
// Each op has separate steps:
//   parse(ParseContext) -> Attrs       validates attributes when the model is loaded, so a missing
//                                      or ill-typed attribute fails early, naming node and attribute;
//   infer(Attrs, InferContext) -> outputs   dtype + shape (+ contents of small integer tensors),
//                                      without running anything.
//   run(Attrs, RunContext)             computes the outputs from actual input tensors (the FP32
//                                      engine); output shapes come from the actual inputs, so one
//                                      prepared graph runs any batch size.
//
// Registration is explicit: each op family has one `register_<family>(OpRegistry&)` function,
// called from register_all_ops() in registry.cpp (no static self-registration). Ops absent from
// the registry are "unsupported": a model using them still loads and is inspected, but their
// outputs have unknown shapes.
//
// Adding an op:
//   1. pick its family file in src/ops/ (or add one, plus its register_ function in registry.cpp);
//   2. write an Attrs struct + parse (use ParseContext's typed getters; they validate);
//   3. write infer (call ctx.fail() on inconsistent shapes; fold small integer values if the op
//      appears in shape computations);
//   4. reg.add(...) with the opset range where these semantics hold, and a test in test_ops_*.cpp.
#pragma once

#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "onnx/model.h"
#include "ops/tensor_info.h"

namespace qm {
class ThreadPool;
}

namespace qm::ops {

/// Parsed attributes of one node. Each op family derives its own struct.
struct OpAttrs {
  virtual ~OpAttrs() = default;
};

/// What parse() sees: the node, its display name and the opset of its domain. The typed getters
/// check the attribute's type and throw qm::Error(InvalidModel) naming node, op and attribute:
/// "node 'conv1' (Conv), attribute 'pads': expected 4 values, got 3".
class ParseContext {
 public:
  ParseContext(const onnx::Node& node, std::string name, int64_t opset)
      : node_(node), name_(std::move(name)), opset_(opset) {}

  const onnx::Node& node() const { return node_; }
  const std::string& name() const { return name_; }
  int64_t opset() const { return opset_; }

  /// The attribute called `name`, or nullptr.
  const onnx::Attribute* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  int64_t get_int(std::string_view name, int64_t fallback) const;
  int64_t require_int(std::string_view name) const;
  float get_float(std::string_view name, float fallback) const;
  std::string get_string(std::string_view name, const std::string& fallback) const;
  /// Empty if absent.
  std::vector<int64_t> get_ints(std::string_view name) const;
  std::vector<int64_t> require_ints(std::string_view name) const;
  std::vector<float> get_floats(std::string_view name) const;
  /// The TENSOR attribute `name`, or nullptr if absent.
  const onnx::Tensor* get_tensor(std::string_view name) const;

  /// Throws Error(InvalidModel): "node '<name>' (<op>), attribute '<attr>': <reason>".
  [[noreturn]] void fail_attr(std::string_view attr, const std::string& reason) const;
  /// Throws Error(InvalidModel): "node '<name>' (<op>): <reason>".
  [[noreturn]] void fail(const std::string& reason) const;

 private:
  const onnx::Attribute* find_typed(std::string_view name, onnx::AttributeType type) const;

  const onnx::Node& node_;
  std::string name_;
  int64_t opset_;
};

/// What infer() sees: the inputs' facts (nullptr for omitted optional inputs), how many outputs
/// the node declares, and the node's identity for error messages.
class InferContext {
 public:
  InferContext(std::string node_name, std::string op_type, int64_t opset,
               std::vector<const TensorInfo*> inputs, size_t num_outputs)
      : node_name_(std::move(node_name)), op_type_(std::move(op_type)), opset_(opset),
        inputs_(std::move(inputs)), num_outputs_(num_outputs) {}

  size_t num_inputs() const { return inputs_.size(); }
  /// Input i, or nullptr if absent or omitted ("").
  const TensorInfo* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  /// Input i; an empty TensorInfo (unknown everything) if absent.
  const TensorInfo& in(size_t i) const;
  size_t num_outputs() const { return num_outputs_; }
  int64_t opset() const { return opset_; }
  const std::string& node_name() const { return node_name_; }
  const std::string& op_type() const { return op_type_; }

  /// Throws Error(InvalidModel): "shape inference: node '<name>' (<op>) — <reason>".
  [[noreturn]] void fail(const std::string& reason) const;

 private:
  std::string node_name_;
  std::string op_type_;
  int64_t opset_;
  std::vector<const TensorInfo*> inputs_;
  size_t num_outputs_;
};

/// Per-node state an op may keep across runs (e.g. weights packed for the GEMM kernel). The
/// executor owns one slot per node and clears it when a constant input changes.
struct OpCache {
  virtual ~OpCache() = default;
  /// True if, while this cache exists, the op computes from it alone for constant input `k` and
  /// reads only that input's dtype and shape: the executor may then pass a stand-in of the same
  /// dtype and shape (graph::Executor's lazy constant overrides).
  virtual bool covers_input(size_t k) const { return false; }
};

/// Observes and may replace values inside If/Loop/Scan subgraphs (the quantization simulation
/// sets one on the executor; see control_flow.h). Paths name a value or node by the scopes it
/// sits in: "<control-flow node>/<attribute>/" per level (nested levels joined), then its name,
/// as inspect names subgraph layers.
struct SubgraphHooks {
  virtual ~SubgraphHooks() = default;
  /// Called for constant input `input` (an initializer of the subgraph or of an enclosing one,
  /// or a constant of the model) of node `node_path` before the node runs: a replacement, or
  /// nullopt to keep `t`. A replaced input bypasses the node's cache for that run.
  virtual std::optional<Tensor> constant(const std::string& node_path, size_t input, const Tensor& t) const = 0;
  /// Called for every output `value_path` a subgraph node computes, before anything reads it: a
  /// replacement (same dtype and shape), or nullopt to keep `t`.
  virtual std::optional<Tensor> value(const std::string& value_path, const Tensor& t) const = 0;
};

/// What run() sees: the input tensors (nullptr for omitted optional inputs), which of them are
/// constant (fixed for the life of the prepared graph, so derived data may be cached), the output
/// slots to fill, the thread pool, and the node's identity for error messages.
class RunContext {
 public:
  RunContext(const std::string& node_name, const std::string& op_type, int64_t opset,
             std::vector<const Tensor*> inputs, std::vector<Tensor>* outputs, ThreadPool* pool,
             std::unique_ptr<OpCache>* cache = nullptr, std::vector<bool> constant = {})
      : node_name_(node_name), op_type_(op_type), opset_(opset), inputs_(std::move(inputs)),
        outputs_(outputs), pool_(pool), cache_(cache), constant_(std::move(constant)) {}

  size_t num_inputs() const { return inputs_.size(); }
  /// Input i, or nullptr if absent or omitted.
  const Tensor* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  /// Input i; fails naming the node if it is missing.
  const Tensor& in(size_t i) const;
  /// True if input i is fixed across runs (an initializer or folded constant).
  bool is_constant(size_t i) const { return i < constant_.size() && constant_[i]; }
  size_t num_outputs() const { return outputs_->size(); }
  /// Allocates output i with this type and shape (zero-filled) and returns it.
  Tensor& alloc(size_t i, DataType dtype, Shape shape);
  /// Sets output i to an existing tensor (e.g. a reshaped view of an input: no copy).
  void set(size_t i, Tensor t) { (*outputs_)[i] = std::move(t); }
  Tensor& out(size_t i) { return (*outputs_)[i]; }
  /// The thread pool (never null: a one-thread pool when the caller gave none).
  ThreadPool& pool() const;
  /// The node's cache slot (null when the caller keeps none).
  std::unique_ptr<OpCache>* cache() const { return cache_; }
  int64_t opset() const { return opset_; }
  const std::string& node_name() const { return node_name_; }
  const std::string& op_type() const { return op_type_; }

  /// Throws Error(InvalidArgument): "node '<name>' (<op>): <reason>" (bad runtime input).
  [[noreturn]] void fail(const std::string& reason) const;
  /// Throws Error(Unsupported): "node '<name>' (<op>): <reason>" (a case the engine lacks).
  [[noreturn]] void unsupported(const std::string& reason) const;

  /// Hooks for the values inside this node's subgraphs (control flow only; null: none), and the
  /// path prefix of the graph this node sits in ("" in the main graph).
  void set_subgraph_hooks(const SubgraphHooks* hooks, std::string scope) {
    hooks_ = hooks;
    scope_ = std::move(scope);
  }
  const SubgraphHooks* subgraph_hooks() const { return hooks_; }
  const std::string& scope() const { return scope_; }

 private:
  const std::string& node_name_;
  const std::string& op_type_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor>* outputs_;
  ThreadPool* pool_;
  std::unique_ptr<OpCache>* cache_;
  std::vector<bool> constant_;
  const SubgraphHooks* hooks_ = nullptr;
  std::string scope_;
};

using ParseFn = std::function<std::shared_ptr<const OpAttrs>(const ParseContext&)>;
using InferFn = std::function<std::vector<TensorInfo>(const OpAttrs*, const InferContext&)>;
/// Fills ctx's outputs from its inputs. Throws qm::Error naming the node on bad inputs.
using RunFn = std::function<void(const OpAttrs*, RunContext&)>;

constexpr int kLatestOpset = INT_MAX;
constexpr int kVariadic = INT_MAX;

/// One registry entry: an op's semantics over an opset range [since, until].
struct OpDef {
  std::string domain;   ///< "" for the default ONNX domain (also spelled "ai.onnx")
  std::string op_type;
  int since = 1;
  int until = kLatestOpset;  ///< inclusive
  int min_inputs = 1, max_inputs = 1;    ///< counts include omitted ("") optional inputs
  int min_outputs = 1, max_outputs = 1;
  ParseFn parse;  ///< may be empty: the op has no attributes that matter
  InferFn infer;
  RunFn run;      ///< may be empty: the op is known to inspect but cannot run yet
};

/// Typed convenience: parse returns an A, infer receives a const A&.
template <class A>
ParseFn typed_parse(std::function<A(const ParseContext&)> f) {
  return [f = std::move(f)](const ParseContext& c) -> std::shared_ptr<const OpAttrs> {
    return std::make_shared<const A>(f(c));
  };
}
template <class A>
InferFn typed_infer(std::function<std::vector<TensorInfo>(const A&, const InferContext&)> f) {
  return [f = std::move(f)](const OpAttrs* a, const InferContext& c) {
    return f(*static_cast<const A*>(a), c);
  };
}

template <class A>
RunFn typed_run(std::function<void(const A&, RunContext&)> f) {
  return [f = std::move(f)](const OpAttrs* a, RunContext& c) { f(*static_cast<const A*>(a), c); };
}

class OpRegistry {
 public:
  /// Adds an entry. Overlapping opset ranges for the same (domain, op_type) are a programming
  /// error (asserted).
  void add(OpDef def);
  /// The entry covering `opset`, or nullptr.
  const OpDef* find(std::string_view domain, std::string_view op_type, int64_t opset) const;
  /// True if some opset of (domain, op_type) is registered.
  bool knows(std::string_view domain, std::string_view op_type) const;
  /// All entries, for listing.
  std::vector<const OpDef*> entries() const;
  size_t size() const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<OpDef>, std::less<>> defs_;
};

/// "" for "ai.onnx" (the two spellings of the default domain), otherwise unchanged.
std::string normalize_domain(std::string_view domain);

/// Registers every op family.
void register_all_ops(OpRegistry& reg);

/// A registry with every op, built once on first use.
const OpRegistry& default_registry();

// One registration function per op family (see registry.cpp for the list).
void register_elementwise(OpRegistry& reg);
void register_conv(OpRegistry& reg);
void register_gemm(OpRegistry& reg);
void register_normalization(OpRegistry& reg);
void register_reduce(OpRegistry& reg);
void register_shape_ops(OpRegistry& reg);
void register_constant(OpRegistry& reg);
void register_resize(OpRegistry& reg);
void register_quant(OpRegistry& reg);
void register_position_masks(OpRegistry& reg);
void register_gather_scatter(OpRegistry& reg);
void register_selection(OpRegistry& reg);
void register_rearrange(OpRegistry& reg);
void register_math_extra(OpRegistry& reg);
void register_grid_sample(OpRegistry& reg);
void register_einsum(OpRegistry& reg);
void register_rnn(OpRegistry& reg);
void register_control_flow(OpRegistry& reg);

}  // namespace qm::ops
