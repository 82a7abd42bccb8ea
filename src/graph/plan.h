// Graph preparation for the FP32 engine: from a validated Graph to an execution plan.
//
//   - topological order (the Graph's);
//   - constant folding: every node whose inputs are all constant (initializers, Constant nodes,
//     and whatever is computed from them: Cast/Reshape/Transpose of weights, shape arithmetic on
//     constants) is run once here and becomes a constant;
//   - BatchNormalization folded into the preceding Conv/ConvTranspose/Gemm when that node's
//     output feeds only the BatchNormalization (kept as an op otherwise);
//   - Identity and (inference) Dropout removed: their output is an alias of their input;
//   - dead steps (nothing downstream reaches a graph output) dropped;
//   - a memory plan: for each step, the values whose last use it is (freed right after it).
//
// The plan does not depend on input shapes: every op computes its output shape from the actual
// inputs, so one plan runs any batch size. Shapes of activations are checked by the ops.
// Folded and BN-adjusted weights are new constant values with ids >= graph().values().size().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace qm::graph {

struct PrepareOptions {
  bool fold_constants = true;   ///< run constant subgraphs once at preparation
  bool fold_batchnorm = true;   ///< fold BatchNormalization into Conv/ConvTranspose/Gemm
  bool remove_identity = true;  ///< drop Identity and inference Dropout
  /// Fuse a Relu, or a Clip with constant bounds, into the Conv/Gemm before it (when that
  /// Conv/Gemm output has no other use): the pre-activation tensor then has no hook.
  bool fuse_activations = true;
};

/// One op to execute.
struct Step {
  int node = -1;                        ///< index into graph().nodes()
  const ops::OpDef* def = nullptr;
  std::shared_ptr<const ops::OpAttrs> attrs;  ///< may differ from the node's (BN folding)
  std::vector<ValueId> inputs;          ///< resolved (aliases followed); kNoValue if omitted
  std::vector<ValueId> outputs;         ///< kNoValue if omitted
  std::vector<bool> constant;           ///< per input: a plan constant
  std::vector<ValueId> free_after;      ///< non-constant values last used here
};

class Plan {
 public:
  /// Prepares `g` (which must outlive the plan). Throws Error(Unsupported) naming every op the
  /// engine cannot run (first node named), Error(InvalidModel) for bad constants.
  explicit Plan(const Graph& g, const PrepareOptions& options = {});

  const Graph& graph() const { return *graph_; }
  const std::vector<Step>& steps() const { return steps_; }
  /// Number of value ids (graph values plus constants created by preparation).
  size_t num_values() const { return constants_.size(); }
  /// The constant value of `v`, or nullptr if `v` is computed at run time.
  const Tensor* constant(ValueId v) const;
  /// Follows aliases (removed Identity/Dropout, folded BatchNormalization).
  ValueId resolve(ValueId v) const { return alias_[static_cast<size_t>(v)]; }
  /// Graph inputs (not initializers), in declaration order (graph value ids).
  const std::vector<ValueId>& inputs() const { return graph_->inputs(); }
  /// Graph outputs, resolved, in declaration order.
  const std::vector<ValueId>& outputs() const { return outputs_; }
  /// The step that produces `v` (resolved), or -1 for inputs and constants.
  int producer_step(ValueId v) const;
  /// Non-constant values produced before step `s` (graph inputs included) and read by step `s`
  /// or later: what run_from(s) needs.
  std::vector<ValueId> live_in(size_t s) const;
  /// Display name of a value (for messages).
  std::string value_name(ValueId v) const;
  /// Number of BatchNormalization nodes folded, Identity/Dropout removed, nodes folded.
  int folded_batchnorms() const { return folded_bn_; }
  int removed_identities() const { return removed_identity_; }
  int folded_nodes() const { return folded_nodes_; }
  int fused_activations() const { return fused_act_; }

 private:
  ValueId add_constant(Tensor t);
  void fold_batchnorms();
  void fuse_activations();
  void drop_dead_steps();
  void plan_memory();
  /// Per value: how many steps read it (a graph output counts as one more reader), and the
  /// index of the step that writes it (-1: none). The step-rewriting passes start from these.
  struct StepLinks {
    std::vector<int> uses, producer;
  };
  StepLinks step_links() const;
  /// Removes the steps whose `drop` entry is true, keeping the others in order.
  void drop_steps(const std::vector<bool>& drop);

  const Graph* graph_;
  std::vector<Step> steps_;
  std::vector<std::unique_ptr<Tensor>> constants_;  // indexed by ValueId; null if not constant
  std::vector<ValueId> alias_;
  std::vector<ValueId> outputs_;
  std::vector<int> producer_;  // step index per value
  int folded_bn_ = 0, removed_identity_ = 0, folded_nodes_ = 0, fused_act_ = 0;
};

}  // namespace qm::graph
