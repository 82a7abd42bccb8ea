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

/// Names, fresh names and attribute-to-input helpers shared by the two upgrades.
class Rewriter {
 public:
  explicit Rewriter(const Model& m) {
    if (m.graph) collect_names(*m.graph, names_);
  }

 protected:
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

  static Attribute* find(Node& n, const char* name) {
    for (Attribute& a : n.attribute)
      if (a.name == name) return &a;
    return nullptr;
  }

  /// Sets (adds) attribute `name`, its fields marked present so the writer emits them.
  static Attribute& set(Node& n, const char* name, AttributeType type, uint32_t field) {
    Attribute* a = find(n, name);
    if (!a) {
      n.attribute.emplace_back();
      a = &n.attribute.back();
      a->name = name;
    }
    a->type = static_cast<int32_t>(type);
    a->wire.mark(1);
    a->wire.mark(field);
    a->wire.mark(20);
    return *a;
  }
  static void set_string(Node& n, const char* name, const std::string& value) { set(n, name, AttributeType::String, 4).s = value; }
  static void set_int(Node& n, const char* name, int64_t value) { set(n, name, AttributeType::Int, 3).i = value; }

  std::string base_name(const Node& n, const char* what) {
    return fresh((n.name.empty() ? n.op_type : n.name) + "_" + what);
  }

  std::string int64_input(Graph& g, const Node& n, const char* what, const std::vector<int64_t>& v) {
    const std::string name = base_name(n, what);
    g.initializer.push_back(make_int64_tensor(name, {static_cast<int64_t>(v.size())}, v));
    return name;
  }

  std::string float_scalar_input(Graph& g, const Node& n, const char* what, float v) {
    const std::string name = base_name(n, what);
    g.initializer.push_back(make_float_tensor(name, {}, {v}));
    return name;
  }

  std::set<std::string> names_;
};

class Upgrader10 : public Rewriter {
 public:
  Upgrader10(const Model& m, int64_t from) : Rewriter(m), from_(from) {}

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
      else if (n.op_type == "Scan" && from_ < 9) scan(n);
    }
  }

 private:
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

  int64_t from_;
};

/// 10..20 -> 21 (see the header). `from` is the model's opset; subgraphs share it.
class Upgrader21 : public Rewriter {
 public:
  Upgrader21(const Model& m, int64_t from, const RankFn& rank_of) : Rewriter(m), from_(from), rank_of_(rank_of) {
    if (m.graph) collect_reads(*m.graph, reads_);
  }

  void graph(Graph& g, bool main) {
    for (Node& n : g.node) {
      for (Attribute& a : n.attribute) {
        if (a.g) graph(**a.g, false);
        for (Graph& sg : a.graphs) graph(sg, false);
      }
      if (!n.domain.empty() && n.domain != "ai.onnx") continue;
      const std::string& op = n.op_type;
      if (op == "Clip" && from_ <= 10) clip(g, n);
      else if (op == "Pad" && from_ <= 10) pad(g, n);
      else if (op == "Resize" && from_ <= 10) resize10(g, n);
      else if (op == "Resize") resize(n);
      else if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && from_ <= 12) softmax(n, main);
      else if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && from_ <= 12) axes_to_input(g, n, 1);
      else if (is_reduce18(op) && from_ <= 17) axes_to_input(g, n, 1);
      else if (op == "Split") split(g, n);
      else if (op == "Dropout" && from_ <= 11) dropout(n);
      else if (op == "Scatter" && from_ <= 10) n.op_type = "ScatterElements";
      else if (op == "GridSample" && from_ <= 19) grid_sample(n);
      else if (op == "BatchNormalization" && from_ <= 13) batchnorm(n);
      else if (op == "GroupNormalization" && from_ <= 20)
        throw Error(ErrorKind::Unsupported, where(n) + ": GroupNormalization-18 (scale and bias per group) has no opset-21 form");
    }
  }

 private:
  static bool is_reduce18(const std::string& op) {
    static const std::set<std::string> ops = {"ReduceL1",  "ReduceL2",  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                              "ReduceMean", "ReduceMin", "ReduceProd",   "ReduceSumSquare"};
    return ops.count(op) > 0;
  }

  static void collect_reads(const Graph& g, std::set<std::string>& reads) {
    for (const ValueInfo& v : g.output) reads.insert(v.name);
    for (const Node& n : g.node) {
      for (const std::string& s : n.input) reads.insert(s);
      for (const Attribute& a : n.attribute) {
        if (a.g) collect_reads(**a.g, reads);
        for (const Graph& sg : a.graphs) collect_reads(sg, reads);
      }
    }
  }

  /// Input `index` of n (padding skipped optional inputs with "").
  static void set_input(Node& n, size_t index, const std::string& name) {
    if (n.input.size() <= index) n.input.resize(index + 1);
    n.input[index] = name;
  }

  void clip(Graph& g, Node& n) {
    std::optional<Attribute> lo = take(n, "min"), hi = take(n, "max");
    if (n.input.size() != 1) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 11 Clip takes one input");
    if (lo) set_input(n, 1, float_scalar_input(g, n, "min", lo->f));
    if (hi) set_input(n, 2, float_scalar_input(g, n, "max", hi->f));
  }

  void pad(Graph& g, Node& n) {
    std::optional<Attribute> pads = take(n, "pads"), value = take(n, "value");
    if (!pads) pads = take(n, "paddings");  // opset 1
    if (!pads) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 11 Pad without the pads attribute");
    if (n.input.size() != 1) throw Error(ErrorKind::InvalidModel, where(n) + ": opset < 11 Pad takes one input");
    n.input.push_back(int64_input(g, n, "pads", pads->ints));
    if (value && value->f != 0.0f) n.input.push_back(float_scalar_input(g, n, "value", value->f));
  }

  /// The float values of a constant input (initializer or Constant node of `g`), if any.
  static std::optional<std::vector<float>> constant_floats(const Graph& g, const std::string& name) {
    for (const Tensor& t : g.initializer)
      if (t.name == name) return tensor_to_floats(t);
    for (const Node& c : g.node)
      if (c.op_type == "Constant" && c.output.size() == 1 && c.output[0] == name)
        for (const Attribute& a : c.attribute)
          if (a.name == "value" && a.t) return tensor_to_floats(*a.t);
    return std::nullopt;
  }

  void resize10(Graph& g, Node& n) {
    if (n.input.size() != 2) throw Error(ErrorKind::InvalidModel, where(n) + ": Resize-10 takes X and scales");
    const Attribute* mode = find(n, "mode");
    const bool nearest = !mode || mode->s == "nearest";
    if (nearest) {
      // Opset 10 nearest sampling truncates when upsampling and rounds up when downsampling.
      const std::optional<std::vector<float>> scales = constant_floats(g, n.input[1]);
      if (!scales)
        throw Error(ErrorKind::Unsupported, where(n) + ": Resize-10 nearest with computed scales has no opset-21 form");
      bool up = false, down = false;
      for (float s : *scales) {
        up |= s > 1.0f;
        down |= s < 1.0f;
      }
      if (up && down)
        throw Error(ErrorKind::Unsupported, where(n) + ": Resize-10 nearest that upsamples one axis and downsamples another has no opset-21 form");
      set_string(n, "nearest_mode", down ? "ceil" : "floor");
    }
    set_string(n, "coordinate_transformation_mode", "asymmetric");
    n.input.insert(n.input.begin() + 1, std::string());  // roi
  }

  static void resize(const Node& n) {
    for (const Attribute& a : n.attribute)
      if (a.name == "coordinate_transformation_mode" && a.s == "tf_half_pixel_for_nn")
        throw Error(ErrorKind::Unsupported, where(n) + ": coordinate_transformation_mode tf_half_pixel_for_nn (removed in opset 13) has no opset-21 form");
  }

  void softmax(Node& n, bool main) {
    const Attribute* a = find(n, "axis");
    const int64_t axis = a ? a->i : 1;
    if (axis == -1) return;
    const int rank = main && rank_of_ && !n.input.empty() ? rank_of_(n.input[0]) : -1;
    if (rank > 0 && (axis == rank - 1 || axis == -1)) {
      set_int(n, "axis", -1);
      return;
    }
    throw Error(ErrorKind::Unsupported, where(n) + ": opset " + std::to_string(from_) + " " + n.op_type + " over the input flattened from axis " +
                std::to_string(axis) + (rank > 0 ? " of a rank-" + std::to_string(rank) + " tensor" : std::string(" (rank unknown)")) +
                " has no single-op opset-21 form");
  }

  void axes_to_input(Graph& g, Node& n, size_t index) {
    std::optional<Attribute> axes = take(n, "axes");
    if (!axes) return;  // all axes / no-op forms need no input
    if (n.input.size() > index && !n.input[index].empty())
      throw Error(ErrorKind::InvalidModel, where(n) + ": axes given both as an attribute and as an input");
    set_input(n, index, int64_input(g, n, "axes", axes->ints));
  }

  void split(Graph& g, Node& n) {
    if (from_ <= 12) {
      if (std::optional<Attribute> sizes = take(n, "split")) {
        set_input(n, 1, int64_input(g, n, "split", sizes->ints));
        return;
      }
    }
    // Opset 18 asks for either the split input or num_outputs (equal parts).
    if (from_ <= 17 && (n.input.size() < 2 || n.input[1].empty()) && !find(n, "num_outputs"))
      set_int(n, "num_outputs", static_cast<int64_t>(n.output.size()));
  }

  static void dropout(Node& n) {
    take(n, "ratio");
    take(n, "is_test");
  }

  static void grid_sample(Node& n) {
    if (Attribute* m = find(n, "mode")) {
      if (m->s == "bilinear") m->s = "linear";
      else if (m->s == "bicubic") m->s = "cubic";
    }
  }

  void batchnorm(Node& n) {
    if (n.output.size() <= 1) return;
    for (size_t i = 1; i < n.output.size(); ++i)
      if (!n.output[i].empty() && reads_.count(n.output[i]))
        throw Error(ErrorKind::Unsupported, where(n) + ": its training statistics output '" + n.output[i] + "' is used; opset 21 has it only in training mode");
    n.output.resize(1);
  }

  int64_t from_;
  const RankFn& rank_of_;
  std::set<std::string> reads_;
};

}  // namespace

int64_t upgrade_to_opset10(Model& model) {
  const int64_t opset = model.opset_version("");
  if (opset >= kTarget) return opset;
  if (opset < 7)
    throw Error(ErrorKind::Unsupported, "the model has opset " + std::to_string(opset) +
                ": quantized exports need opset 7 or newer (convert the model to a newer opset first)");
  if (model.graph) Upgrader10(model, opset).graph(*model.graph);
  for (OperatorSetId& o : model.opset_import)
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = kTarget;
  if (model.ir_version < 5) model.ir_version = 5;
  return kTarget;
}

int64_t upgrade_to_opset21(Model& model, const RankFn& rank_of) {
  constexpr int64_t kTarget21 = 21;
  const int64_t from = upgrade_to_opset10(model);
  if (from >= kTarget21) return from;
  if (model.graph) Upgrader21(model, from, rank_of).graph(*model.graph, true);
  for (OperatorSetId& o : model.opset_import)
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = kTarget21;
  if (model.ir_version < 10) model.ir_version = 10;
  return kTarget21;
}

}  // namespace qm::onnx
