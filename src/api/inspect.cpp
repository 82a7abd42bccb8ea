#include "api/inspect.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/dtype.h"
#include "core/error.h"
#include "core/json.h"
#include "graph/graph.h"
#include "graph/macs.h"
#include "graph/shape_inference.h"
#include "onnx/model_reader.h"
#include "ops/control_flow.h"

namespace qm::api {
namespace {

using graph::ValueId;

std::string dims_text(const std::vector<int64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s;
}

std::string dtype_text(DataType t) {
  if (t == DataType::Undefined) return "?";
  return std::string(dtype_name(t));
}

ValueSummary summarize(const std::string& name, const ops::TensorInfo& inferred,
                       const onnx::ValueInfo* declared) {
  ops::TensorInfo info = inferred;
  // Where inference knows nothing (e.g. after an unsupported op), show what the file declares.
  if (declared && declared->type) {
    ops::TensorInfo d = ops::info_from_type(&*declared->type);
    if (info.dtype == DataType::Undefined) info.dtype = d.dtype;
    if (!info.shape) info.shape = d.shape;
  }
  ValueSummary v;
  v.name = name;
  v.dtype = dtype_text(info.dtype);
  if (info.shape) {
    std::vector<DimInfo> dims;
    for (const ops::Dim& d : *info.shape) dims.push_back(DimInfo{d.value, d.symbol});
    v.shape = std::move(dims);
  }
  return v;
}

/// Shapes agree where both are known (used to flag disagreements with the file's value_info).
bool compatible(const ops::TensorInfo& a, const ops::TensorInfo& b) {
  if (!a.shape || !b.shape) return true;
  if (a.shape->size() != b.shape->size()) return false;
  for (size_t i = 0; i < a.shape->size(); ++i) {
    const ops::Dim &x = (*a.shape)[i], &y = (*b.shape)[i];
    if (x.known() && y.known() && *x.value != *y.value) return false;
  }
  return true;
}

int64_t count_params(const onnx::Model& model) {
  int64_t total = 0;
  auto is_float = [](int32_t t) { return dtype_is_float(static_cast<DataType>(t)); };
  auto elements = [](const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  };
  const onnx::Graph& g = *model.graph;
  for (const onnx::Tensor& t : g.initializer)
    if (is_float(t.data_type)) total += elements(t.dims);
  for (const onnx::SparseTensor& t : g.sparse_initializer)
    if (is_float(t.values.data_type)) total += elements(t.dims);
  for (const onnx::Node& n : g.node) {
    if (n.op_type != "Constant" || !ops::normalize_domain(n.domain).empty()) continue;
    for (const onnx::Attribute& a : n.attribute) {
      if (a.name == "value" && a.t && is_float(a.t->data_type)) total += elements(a.t->dims);
      else if (a.name == "value_float") total += 1;
      else if (a.name == "value_floats") total += static_cast<int64_t>(a.floats.size());
    }
  }
  return total;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

std::pair<std::string, std::vector<int64_t>> parse_input_shape(const std::string& spec, const ShapeWording& wording) {
  auto bad = [&](const std::string& why) -> Error {
    return Error(ErrorKind::InvalidArgument,
                 wording.setting + " '" + spec + "': " + why + " (expected NAME=DIMS, e.g. input=1x3x224x224)");
  };
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos) throw bad("no '='");
  std::string name = spec.substr(0, eq);
  const std::string dims = spec.substr(eq + 1);
  if (name.empty()) throw bad("the input name is empty");
  if (dims.empty()) throw bad("no dimensions after '='");
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos <= dims.size()) {
    size_t x = dims.find_first_of("xX,", pos);
    if (x == std::string::npos) x = dims.size();
    const std::string tok = dims.substr(pos, x - pos);
    if (tok.empty() || tok.size() > 12 || tok.find_first_not_of("0123456789") != std::string::npos)
      throw bad("dimension '" + tok + "' is not a positive integer");
    const int64_t v = std::stoll(tok);
    if (v < 1) throw bad("dimension '" + tok + "' is not a positive integer");
    out.push_back(v);
    pos = x + 1;
  }
  return {std::move(name), std::move(out)};
}

InspectReport inspect_model(std::shared_ptr<const std::string> model_bytes,
                            const std::string& file_name, const ExternalFiles& external,
                            const InputShapes& input_shapes, const ShapeWording& wording) {
  const onnx::Model model = read_model_bytes(std::move(model_bytes), file_name, external);
  return inspect_loaded_model(model, file_name, input_shapes, wording);
}

InspectReport inspect_loaded_model(const onnx::Model& model, const std::string& file_name,
                                   const InputShapes& input_shapes, const ShapeWording& wording) {
  std::optional<graph::Graph> g_storage;
  try {
    g_storage.emplace(model);
  } catch (const Error& e) {
    throw with_context(e, file_name);
  }
  const graph::Graph& g = *g_storage;

  InspectReport r;
  r.file = file_name;
  r.ir_version = model.ir_version;
  r.producer = model.producer_name;
  if (!model.producer_version.empty())
    r.producer += (r.producer.empty() ? "" : " ") + model.producer_version;

  // Input shapes: names must be model inputs, ranks must match the declared rank.
  graph::InputShapeOverrides overrides;
  for (const auto& [name, dims] : input_shapes) {
    auto id = g.find(name);
    if (!id || g.value(*id).kind != graph::ValueKind::Input) {
      std::vector<std::string> names;
      for (ValueId v : g.inputs()) names.push_back("'" + g.value(v).name + "'");
      throw Error(ErrorKind::InvalidArgument,
                  wording.setting + " '" + name + "=" + dims_text(dims) + "': '" + name +
                      "' is not an input of " + file_name + " (inputs: " +
                      (names.empty() ? "none" : join(names, ", ")) + ")");
    }
    const onnx::ValueInfo* decl = g.value(*id).declared;
    ops::TensorInfo declared = ops::info_from_type(decl && decl->type ? &*decl->type : nullptr);
    if (declared.shape && declared.shape->size() != dims.size())
      throw Error(ErrorKind::InvalidArgument,
                  wording.setting + " '" + name + "=" + dims_text(dims) + "': input '" + name + "' has rank " +
                      std::to_string(declared.shape->size()) + " (" + declared.shape_string() +
                      "), got " + std::to_string(dims.size()) + " dimensions");
    overrides[name] = ops::Dims(dims.begin(), dims.end());
  }

  graph::ValueInfos infos;
  try {
    infos = graph::infer_shapes(g, overrides);
  } catch (const Error& e) {
    throw with_context(e, file_name);
  }

  // Per sample (graph::per_sample_shapes): divided by a fixed batch, or inferred at batch 1.
  graph::PerSampleShapes per_sample;
  try {
    per_sample = graph::per_sample_shapes(g, overrides, infos);
  } catch (const Error& e) {
    throw with_context(e, file_name + " (with batch size 1)");
  }
  r.batch = per_sample.batch;
  const bool batch_dynamic = per_sample.batch_dynamic;
  const std::string& batch_symbol = per_sample.batch_symbol;
  const graph::ValueInfos* mac_infos = &per_sample.mac_infos(infos);
  const int64_t divisor = r.batch.value_or(1);

  for (ValueId v : g.inputs())
    r.inputs.push_back(summarize(g.value(v).name, infos[static_cast<size_t>(v)], g.value(v).declared));
  for (ValueId v : g.outputs()) {
    const graph::Value& val = g.value(v);
    r.outputs.push_back(summarize(val.name, infos[static_cast<size_t>(v)], val.declared));
    if (overrides.empty() && val.declared && val.declared->type && val.kind == graph::ValueKind::NodeOutput) {
      ops::TensorInfo d = ops::info_from_type(&*val.declared->type);
      if (!compatible(infos[static_cast<size_t>(v)], d))
        r.warnings.push_back("output '" + val.name + "': inferred shape " +
                             infos[static_cast<size_t>(v)].shape_string() +
                             " differs from the shape the file declares " + d.shape_string());
    }
  }
  for (const onnx::OperatorSetId& o : model.opset_import)
    r.opsets.emplace_back(ops::normalize_domain(o.domain), o.version);
  for (const graph::Node& n : g.nodes()) {
    const std::string t = graph::qualified_op_type(*n.proto);
    auto it = std::find_if(r.ops.begin(), r.ops.end(), [&](const auto& p) { return p.first == t; });
    if (it == r.ops.end()) r.ops.emplace_back(t, 1);
    else ++it->second;
  }
  r.params = count_params(model);
  for (const graph::Node& n : g.nodes())
    if (ops::has_subgraphs(*n.proto)) r.params += ops::subgraph_params(*n.proto);
  r.unsupported = g.unsupported_op_types();

  bool all_known = true;
  int64_t total = 0;
  std::vector<std::string> unknown_layers;
  // Layers inside If/Loop/Scan subgraphs: each row shows the MACs of one execution of its
  // subgraph. The total counts the costlier branch of each If, and a Loop/Scan body times its
  // trip count or scan length where inference knows it, else once (with a warning).
  std::map<std::string, std::map<std::string, int64_t>> branch_macs;  // If node -> branch -> MACs
  std::vector<std::string> once_per_run;
  for (const graph::Node& n : g.nodes()) {
    if (n.supported() && ops::has_subgraphs(*n.proto)) {
      std::vector<const ops::TensorInfo*> ins;
      for (ValueId v : n.inputs) ins.push_back(v == graph::kNoValue ? nullptr : &(*mac_infos)[static_cast<size_t>(v)]);
      for (const ops::SubgraphLayer& sl : ops::subgraph_layers(*n.proto, n.attrs.get(), ins)) {
        LayerSummary l;
        l.name = sl.name;
        l.op = sl.node->op_type;
        // A weight read from the enclosing graph is constant if it is there.
        bool wconst = sl.weight_constant;
        if (!wconst && sl.node->input.size() > 1)
          if (auto wv = g.find(sl.node->input[1])) wconst = g.is_constant(*wv);
        if (wconst)
          if (auto ws = sl.w.static_shape()) l.weight_shape = *ws;
        if (auto m = graph::layer_macs(l.op, sl.attrs.get(), &sl.x, &sl.w, &sl.y)) {
          l.macs = *m / divisor;
          int64_t runs = sl.repeat.value_or(1);
          if (!sl.repeat && std::find(once_per_run.begin(), once_per_run.end(), "'" + n.name + "'") == once_per_run.end())
            once_per_run.push_back("'" + n.name + "'");
          const int64_t cost = *l.macs > 0 && runs > INT64_MAX / *l.macs ? INT64_MAX : *l.macs * runs;
          if (sl.branch_of.empty()) total += cost;
          else branch_macs[sl.branch_of][sl.branch] += cost;
        } else {
          all_known = false;
          unknown_layers.push_back("'" + l.name + "'");
        }
        r.layers.push_back(std::move(l));
      }
      continue;
    }
    if (!graph::is_layer_op(n)) continue;
    LayerSummary l;
    l.name = n.name;
    l.op = n.op_type();
    if (n.inputs.size() > 1 && n.inputs[1] != graph::kNoValue && g.is_constant(n.inputs[1])) {
      if (auto s = infos[static_cast<size_t>(n.inputs[1])].static_shape()) l.weight_shape = *s;
    }
    if (auto m = graph::node_macs(g, n, *mac_infos)) {
      l.macs = *m / divisor;
      total += *l.macs;
    } else {
      all_known = false;
      unknown_layers.push_back("'" + n.name + "'");
    }
    r.layers.push_back(std::move(l));
  }
  for (const auto& [node, branches] : branch_macs) {
    int64_t most = 0;
    for (const auto& [b, m] : branches) most = std::max(most, m);
    total += most;
  }
  if (all_known) r.macs = total;
  if (!once_per_run.empty())
    r.warnings.push_back("MACs of layers inside the Loop/Scan " + join(once_per_run, ", ") +
                         " are counted once: the number of iterations is known only at run time");

  if (!unknown_layers.empty()) {
    // Say which input to fix, with the dimensions still open after the batch was set to 1.
    std::vector<std::string> open;
    for (ValueId v : g.inputs()) {
      const ops::TensorInfo& in = (*mac_infos)[static_cast<size_t>(v)];
      if (in.is_static()) continue;
      std::string spec = g.value(v).name + "=";
      if (in.shape) {
        std::vector<std::string> parts;
        for (const ops::Dim& d : *in.shape)
          parts.push_back(d.known() ? std::to_string(*d.value) : (d.symbol.empty() ? "?" : d.symbol));
        spec += join(parts, "x");
      } else {
        spec += "DIMS";
      }
      open.push_back(wording.each + spec);
    }
    std::string layers = unknown_layers.size() > 5
                             ? join(std::vector<std::string>(unknown_layers.begin(), unknown_layers.begin() + 5), ", ") +
                                   " and " + std::to_string(unknown_layers.size() - 5) + " more"
                             : join(unknown_layers, ", ");
    std::string w = "MACs unknown for " + layers + ": ";
    if (!open.empty()) {
      w += "input shapes are not fully known; " + wording.advice + " " + join(open, " ") + " with numbers in place of the symbols";
      if (batch_dynamic)
        w += " (the batch dimension" + (batch_symbol.empty() ? std::string() : " '" + batch_symbol + "'") +
             " is counted as 1)";
    } else if (!r.unsupported.empty()) {
      w += "their shapes depend on unsupported ops (" + join(r.unsupported, ", ") + ")";
    } else {
      w += "their shapes depend on values known only at run time (" + wording.setting + " cannot fix this)";
    }
    r.warnings.push_back(w);
  }
  if (!r.unsupported.empty())
    r.warnings.push_back("unsupported ops (" + join(r.unsupported, ", ") +
                         "): the model loads, but their outputs have unknown shapes and it cannot run");
  return r;
}

// ---------------------------------------------------------------------------------------------
// Output

namespace {

void write_value(JsonWriter& j, const ValueSummary& v) {
  j.begin_object(true).key("name").value(v.name).key("dtype").value(v.dtype).key("shape");
  if (!v.shape) {
    j.null();
  } else {
    j.begin_array(true);
    for (const DimInfo& d : *v.shape) {
      if (d.value) j.value(*d.value);
      else if (!d.symbol.empty()) j.value(d.symbol);
      else j.null();
    }
    j.end_array();
  }
  j.end_object();
}

std::string group_digits(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return v < 0 ? "-" + s : s;
}

std::string human(int64_t v) {
  static const char* const kUnits[] = {"", "K", "M", "G", "T", "P"};
  double x = static_cast<double>(v);
  int u = 0;
  while (x >= 1000.0 && u < 5) {
    x /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f" : "%.2f %s", x, kUnits[u]);
  return buf;
}

std::string shape_text(const std::optional<std::vector<DimInfo>>& s) {
  if (!s) return "?";
  std::string t = "[";
  for (size_t i = 0; i < s->size(); ++i) {
    const DimInfo& d = (*s)[i];
    t += (i ? ", " : "") + (d.value ? std::to_string(*d.value) : (d.symbol.empty() ? "?" : d.symbol));
  }
  return t + "]";
}

std::string ints_text(const std::vector<int64_t>& v) {
  std::string t = "[";
  for (size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + std::to_string(v[i]);
  return t + "]";
}

std::string pad(std::string s, size_t w, bool right = false) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::string inspect_to_json(const InspectReport& r) {
  JsonWriter j(1);
  j.begin_object();
  j.key("file").value(r.file);
  j.key("ir_version").value(r.ir_version);
  j.key("producer").value(r.producer);
  j.key("inputs").begin_array();
  for (const ValueSummary& v : r.inputs) write_value(j, v);
  j.end_array();
  j.key("outputs").begin_array();
  for (const ValueSummary& v : r.outputs) write_value(j, v);
  j.end_array();
  j.key("opsets").begin_object(true);
  for (const auto& [d, v] : r.opsets) j.key(d).value(v);
  j.end_object();
  j.key("ops").begin_object(true);
  for (const auto& [t, n] : r.ops) j.key(t).value(n);
  j.end_object();
  j.key("params").value(r.params);
  j.key("batch");
  if (r.batch) j.value(*r.batch);
  else j.null();
  j.key("macs");
  if (r.macs) j.value(*r.macs);
  else j.null();
  j.key("layers").begin_array();
  for (const LayerSummary& l : r.layers) {
    j.begin_object(true).key("name").value(l.name).key("op").value(l.op).key("weight_shape").begin_array(true);
    for (int64_t d : l.weight_shape) j.value(d);
    j.end_array().key("macs");
    if (l.macs) j.value(*l.macs);
    else j.null();
    j.end_object();
  }
  j.end_array();
  j.key("unsupported").begin_array(true);
  for (const std::string& u : r.unsupported) j.value(u);
  j.end_array();
  j.key("warnings").begin_array();
  for (const std::string& w : r.warnings) j.value(w);
  j.end_array();
  j.end_object();
  return j.str() + "\n";
}

std::string inspect_to_text(const InspectReport& r) {
  std::string o;
  auto line = [&](const std::string& label, const std::string& text) { o += pad(label, 13) + text + "\n"; };
  line("model", r.file);
  line("ir", std::to_string(r.ir_version) + (r.producer.empty() ? "" : "  (producer: " + r.producer + ")"));
  std::vector<std::string> opsets;
  for (const auto& [d, v] : r.opsets) opsets.push_back((d.empty() ? "ai.onnx" : d) + " " + std::to_string(v));
  line("opsets", join(opsets, ", "));

  size_t wn = 0, wt = 0;  // one column width for inputs and outputs
  for (const auto* vs : {&r.inputs, &r.outputs}) {
    for (const auto& v : *vs) {
      wn = std::max(wn, v.name.size());
      wt = std::max(wt, v.dtype.size());
    }
  }
  auto io = [&](const char* label, const std::vector<ValueSummary>& vs) {
    if (vs.empty()) line(label, "(none)");
    for (size_t i = 0; i < vs.size(); ++i)
      line(i == 0 ? label : "", pad(vs[i].name, wn) + "  " + pad(vs[i].dtype, wt) + "  " + shape_text(vs[i].shape));
  };
  io("inputs", r.inputs);
  io("outputs", r.outputs);
  line("params", group_digits(r.params) + " (" + human(r.params) + ")");
  line("MACs", r.macs ? group_digits(*r.macs) + " per sample (" + human(*r.macs) + ")" : "unknown");
  std::vector<std::string> ops;
  for (const auto& [t, n] : r.ops) ops.push_back(t + " x" + std::to_string(n));
  // Wrap the op histogram at ~100 columns.
  std::string cur;
  bool first_line = true;
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string item = ops[i] + (i + 1 < ops.size() ? "," : "");
    if (!cur.empty() && cur.size() + item.size() > 88) {
      line(first_line ? "ops" : "", cur);
      first_line = false;
      cur.clear();
    }
    cur += (cur.empty() ? "" : " ") + item;
  }
  if (!cur.empty() || first_line) line(first_line ? "ops" : "", cur.empty() ? "(none)" : cur);
  line("unsupported", r.unsupported.empty() ? "none" : join(r.unsupported, ", "));

  o += "\nlayers (" + std::to_string(r.layers.size()) + ")\n";
  if (!r.layers.empty()) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"name", "op", "weight shape", "MACs", "%"});
    for (const LayerSummary& l : r.layers) {
      std::string pct = "-";
      if (l.macs && r.macs && *r.macs > 0) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(*l.macs) / static_cast<double>(*r.macs));
        pct = buf;
      }
      rows.push_back({l.name, l.op, l.weight_shape.empty() ? "-" : ints_text(l.weight_shape),
                      l.macs ? group_digits(*l.macs) : "unknown", pct});
    }
    std::vector<size_t> w(5, 0);
    for (const auto& row : rows)
      for (size_t c = 0; c < 5; ++c) w[c] = std::max(w[c], row[c].size());
    for (const auto& row : rows) {
      std::string s = "  " + pad(row[0], w[0]) + "  " + pad(row[1], w[1]) + "  " + pad(row[2], w[2]) + "  " +
                      pad(row[3], w[3], true) + "  " + pad(row[4], w[4], true);
      while (!s.empty() && s.back() == ' ') s.pop_back();
      o += s + "\n";
    }
  }
  for (const std::string& wmsg : r.warnings) o += "\nwarning: " + wmsg;
  if (!r.warnings.empty()) o += "\n";
  return o;
}

}  // namespace qm::api
