#include "api/opset.h"

#include <string>

#include "core/error.h"
#include "graph/graph.h"
#include "graph/shape_inference.h"
#include "onnx/opset_upgrade.h"

namespace qm::api {

int64_t raise_opset(onnx::Model& model, int64_t target) {
  if (target == 10) return onnx::upgrade_to_opset10(model);
  if (target != 21)
    throw Error(ErrorKind::InvalidArgument, "opset " + std::to_string(target) + ": models can be raised to opset 10 or 21");
  if (model.opset_version("") >= 21) return model.opset_version("");
  // Ranks come from the model as it is (the rewrite keeps every tensor's name and rank).
  const graph::Graph g(model);
  return onnx::upgrade_to_opset21(model, graph::rank_lookup(g));
}

}  // namespace qm::api
