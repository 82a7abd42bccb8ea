#include "onnx/opset_upgrade.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "onnx/tensor_data.h"

namespace qm::onnx {
namespace {

constexpr int64_t kTarget = 10;

/// Every name used in `g` and its subgraphs (values, nodes, initializers).
void collect_names(const Graph& g, std::set<std::string>& names) {
  for (const Tensor& t : g.initializer) names.insert(t.name);
  for (const ValueInfo& v : g.input) names.insert(v.name);
  for (const ValueInfo& v : g.output) names.insert(v.name);
  for (const Node& n : g.node) {
    names.insert(n.name);
    for (const std::string& s : n.input) names.insert(s);
    for (const std::string& s : n.output) names.insert(s);
    for (const Attribute& a : n.attribute) {
      if (a.g) collect_names(**a.g, names);
      for (const Graph& sg : a.graphs) collect_names(sg, names);
    }
  }
}

class Upgrader {
 public:
  explicit Upgrader(const Model& m) {
    if (m.graph) collect_names(*m.graph, names_);
  }

  void graph(Graph& g) {
    for (Node& n : g.node) {
      for (Attribute& a : n.attribute) {
        if (a.g) graph(**a.g);
        for (Graph& sg : a.graphs) graph(sg);
      }
      if (!n.domain.empty() && n.domain != "ai.onnx") continue;
      if (n.op_type == "Slice") slice(g, n);
      else if (n.op_type == "TopK") topk(g, n);
      else if (n.op_type == "Upsample") upsample(g, n);
      else if (n.op_type == "BatchNormalization") batchnorm(n);
      else if (n.op_type == "Scan") scan(n);
    }
  }

 private:
  static std::string where(const Node& n) {
    return n.op_type + " node '" + (n.name.empty() ? (n.output.empty() ? std::string() : n.output[0]) : n.name) + "'";
  }

  std::string fresh(const std::string& base) {
    std::string s = base;
    for (int k = 1; names_.count(s); ++k) s = base + "_" + std::to_string(k);
    names_.insert(s);
    return s;
  }

  /// Removes attribute `name` from `n` and returns it (nullopt when absent).
  static std::optional<Attribute> take(Node& n, const char* name) {
    for (size_t i = 0; i < n.attribute.size(); ++i) {
      if (n.attribute[i].name != name) continue;
      Attribute a = std::move(n.attribute[i]);
      n.attribute.erase(n.attribute.begin() + static_cast<std::ptrdiff_t>(i));
      return a;
    }
    return std::nullopt;
  }

  std::string int64_input(Graph& g, const Node& n, const char* what, const std::vector<int64_t>& v) {
    const std::string name = fresh((n.name.empty() ? n.op_type : n.name) + "_" + what);
    g.initializer.push_back(make_int64_tensor(name, {static_cast<int64_t>(v.size())}, v));
    return name;
  }

  void slice(Graph& g, Node& n) {
    std::optional<Attribute> starts = take(n, "starts"), ends = take(n, "ends"), axes = take(n, "axes");
    if (!starts || !ends) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 10 Slice without starts/ends attributes");
    if (n.input.size() != 1) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 10 Slice takes one input");
    n.input.push_back(int64_input(g, n, "starts", starts->ints));
    n.input.push_back(int64_input(g, n, "ends", ends->ints));
    if (axes) n.input.push_back(int64_input(g, n, "axes", axes->ints));
  }

  void topk(Graph& g, Node& n) {
    std::optional<Attribute> k = take(n, "k");
    if (!k) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 10 TopK without the k attribute");
    if (n.input.size() != 1) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 10 TopK takes one input");
    n.input.push_back(int64_input(g, n, "k", {k->i}));
  }

  void upsample(Graph& g, Node& n) {
    n.op_type = "Resize";
    if (std::optional<Attribute> scales = take(n, "scales")) {  // Upsample-7: scales attribute
      if (n.input.size() != 1) throw Error(ErrorKind::InvalidModel, where(n) + ": Upsample with both a scales attribute and input");
      const std::string name = fresh((n.name.empty() ? std::string("Upsample") : n.name) + "_scales");
      g.initializer.push_back(make_float_tensor(name, {static_cast<int64_t>(scales->floats.size())}, scales->floats));
      n.input.push_back(name);
    }
    if (n.input.size() != 2) throw Error(ErrorKind::InvalidModel, where(n) + ": Upsample needs its scales");
    for (Attribute& a : n.attribute)
      if (a.name == "mode" && a.s == "bilinear") a.s = "linear";  // old exporters' spelling
  }

  static void batchnorm(Node& n) {
    std::optional<Attribute> spatial = take(n, "spatial");
    if (spatial && spatial->i != 1)
      throw Error(ErrorKind::Unsupported, where(n) + ": spatial=0 (per-element statistics, removed in opset 9) cannot be raised to opset 10");
  }

  static void scan(const Node& n) {
    throw Error(ErrorKind::Unsupported, where(n) + ": Scan before opset 9 has no opset-10 form");
  }

  std::set<std::string> names_;
};

}  // namespace

int64_t upgrade_to_opset10(Model& model) {
  const int64_t opset = model.opset_version("");
  if (opset >= kTarget) return opset;
  if (opset < 7)
    throw Error(ErrorKind::Unsupported, "the model has opset " + std::to_string(opset) +
                ": quantized exports need opset 7 or newer (convert the model to a newer opset first)");
  if (model.graph) Upgrader(model).graph(*model.graph);
  for (OperatorSetId& o : model.opset_import)
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = kTarget;
  if (model.ir_version < 5) model.ir_version = 5;
  return kTarget;
}

}  // namespace qm::onnx
