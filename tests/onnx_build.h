// Small pieces for building ONNX graphs by hand in tests and fuzz targets (no test framework
// needed): a node, and a GRAPH attribute (an If branch, a Loop/Scan body).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "onnx/model.h"

namespace qm::test {

/// A node with inputs, outputs and an optional name.
inline onnx::Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                            const std::string& name = "") {
  onnx::Node n;
  n.op_type = op;
  n.input = std::move(in);
  n.output = std::move(out);
  n.name = name;
  return n;
}

/// Gives node `n` the GRAPH attribute `name` (an If branch, a Loop/Scan body).
inline void add_graph_attr(onnx::Node& n, const std::string& name, onnx::Graph g) {
  onnx::Attribute a;
  a.name = name;
  a.type = static_cast<int32_t>(onnx::AttributeType::Graph);
  a.g.emplace();
  **a.g = std::move(g);
  n.attribute.push_back(std::move(a));
}

}  // namespace qm::test
