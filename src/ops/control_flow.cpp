// If, Loop (opset 1+) and Scan (opset 9+): see control_flow.h. Subgraphs are compiled at parse
// and interpreted here by name; the main graph's executor sees one step per control-flow node.
#include "ops/control_flow.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {

// ---------------------------------------------------------------------------------------------
// Names

void collect_outer(const onnx::Graph& g, std::set<std::string>& out) {
  std::set<std::string> defined;
  for (const auto& t : g.initializer) defined.insert(t.name);
  for (const auto& t : g.sparse_initializer) defined.insert(t.values.name);
  for (const auto& v : g.input) defined.insert(v.name);
  for (const auto& n : g.node)
    for (const auto& o : n.output) defined.insert(o);
  std::set<std::string> used;
  for (const auto& n : g.node) {
    for (const auto& i : n.input) used.insert(i);
    for (const auto& a : n.attribute) {
      if (a.g) collect_outer(**a.g, used);
      for (const auto& sg : a.graphs) collect_outer(sg, used);
    }
  }
  for (const auto& o : g.output) used.insert(o.name);
  for (const auto& u : used)
    if (!u.empty() && !defined.count(u)) out.insert(u);
}

std::string qualified(const onnx::Node& n) {
  const std::string d = normalize_domain(n.domain);
  return d.empty() ? n.op_type : d + "." + n.op_type;
}

const OpDef* find_def(const onnx::Node& n, int64_t opset) {
  const std::string d = normalize_domain(n.domain);
  if (!d.empty()) return nullptr;  // subgraph nodes: default domain only
  return default_registry().find(d, n.op_type, opset);
}

void collect_unsupported(const onnx::Graph& g, int64_t opset, std::vector<std::string>& out) {
  for (const onnx::Node& n : g.node) {
    const OpDef* def = find_def(n, opset);
    if (!def || !def->run) {
      const std::string t = qualified(n);
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
    for (const auto& a : n.attribute) {
      if (a.g) collect_unsupported(**a.g, opset, out);
      for (const auto& sg : a.graphs) collect_unsupported(sg, opset, out);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Compiled subgraphs

struct SubNode {
  const onnx::Node* proto = nullptr;
  std::string name;
  int64_t opset = 0;
  const OpDef* def = nullptr;
  std::shared_ptr<const OpAttrs> attrs;
  std::vector<std::string> inputs;   ///< declared, then implicit (nested subgraphs' outer names)
  std::vector<std::string> outputs;  ///< "" for omitted outputs
  std::vector<std::string> free_after;  ///< local values last read here
  bool folded = false;  ///< a Constant node whose output is in Subgraph::inits: nothing to run
};

struct Subgraph {
  std::string attr;   ///< then_branch, else_branch, body
  std::string where;  ///< "node 'x' (If), then_branch" for messages
  const onnx::Graph* proto = nullptr;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, Tensor> inits;          ///< usable initializers, and the outputs of
                                                ///< Constant nodes (computed once, at compile)
  std::map<std::string, std::string> bad_inits;  ///< initializers the engine cannot read: why
  std::vector<SubNode> nodes;                   ///< topological order
};

std::string node_ref(const std::string& name, const std::string& op) { return "node '" + name + "' (" + op + ")"; }

std::shared_ptr<const Subgraph> compile(const onnx::Graph& g, const std::string& attr, const ParseContext& p) {
  auto sg = std::make_shared<Subgraph>();
  sg->attr = attr;
  sg->where = node_ref(p.name(), p.node().op_type) + ", " + attr;
  sg->proto = &g;
  auto fail = [&](const std::string& why) -> Error { return Error(ErrorKind::InvalidModel, sg->where + ": " + why); };
  for (const auto& v : g.input) sg->inputs.push_back(v.name);
  for (const auto& v : g.output) sg->outputs.push_back(v.name);
  for (const onnx::Tensor& t : g.initializer) {
    try {
      sg->inits.emplace(t.name, detail::tensor_from_onnx(t));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Unsupported) throw with_context(e, sg->where);
      sg->bad_inits.emplace(t.name, e.what());
    }
  }
  // Nodes: names as graph::Graph gives them, registry entries, attributes.
  const std::vector<std::string> names = subgraph_node_names(g);
  std::vector<SubNode> nodes(g.node.size());
  std::map<std::string, int> producer;
  for (size_t i = 0; i < g.node.size(); ++i) {
    SubNode& s = nodes[i];
    s.proto = &g.node[i];
    s.name = names[i];
    s.opset = p.opset();
    s.def = find_def(*s.proto, s.opset);
    s.inputs = s.proto->input;
    for (std::string& o : subgraph_outer_names(*s.proto)) s.inputs.push_back(std::move(o));
    s.outputs = s.proto->output;
    for (const std::string& o : s.outputs) {
      if (o.empty()) continue;
      if (!producer.emplace(o, static_cast<int>(i)).second)
        throw fail(node_ref(s.name, s.proto->op_type) + ": output '" + o + "' is already produced by another node");
    }
    if (!s.def) continue;
    const int nin = static_cast<int>(s.proto->input.size()), nout = static_cast<int>(s.proto->output.size());
    if (nin < s.def->min_inputs || nin > s.def->max_inputs || nout < s.def->min_outputs || nout > s.def->max_outputs)
      throw fail(node_ref(s.name, s.proto->op_type) + ": " + std::to_string(nin) + " inputs and " + std::to_string(nout) +
                 " outputs do not fit the op");
    try {
      if (s.def->parse) s.attrs = s.def->parse(ParseContext(*s.proto, s.name, s.opset));
    } catch (const Error& e) {
      throw with_context(e, sg->where);
    }
    // A Constant node's value is fixed: computed here, it is read like an initializer (a
    // constant to the op and to SubgraphHooks, e.g. a layer weight stored this way).
    if (s.proto->op_type == "Constant" && normalize_domain(s.proto->domain).empty() && s.def->run && nout == 1 &&
        !s.outputs[0].empty() && !sg->inits.count(s.outputs[0])) {
      try {
        std::vector<Tensor> out(1);
        RunContext ctx(s.name, s.proto->op_type, s.opset, {}, &out, nullptr);
        s.def->run(s.attrs.get(), ctx);
        if (out[0].dtype() != DataType::Undefined) {
          sg->inits.emplace(s.outputs[0], std::move(out[0]));
          s.folded = true;
        }
      } catch (const Error&) {
        // Left to run (and to report its error) with the subgraph.
      }
    }
  }
  // Topological order (Kahn, smallest index first).
  const size_t n = nodes.size();
  std::vector<std::vector<int>> succ(n);
  std::vector<int> pending(n, 0);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> preds;
    for (const std::string& in : nodes[i].inputs) {
      auto it = producer.find(in);
      if (it != producer.end()) preds.insert(it->second);
    }
    for (int q : preds) {
      if (q == static_cast<int>(i)) throw fail(node_ref(nodes[i].name, nodes[i].proto->op_type) + " reads its own output");
      succ[static_cast<size_t>(q)].push_back(static_cast<int>(i));
    }
    pending[i] = static_cast<int>(preds.size());
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int s : succ[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(s)] == 0) ready.push(s);
  }
  if (order.size() != n) throw fail("the subgraph has a cycle");
  for (int i : order) sg->nodes.push_back(std::move(nodes[static_cast<size_t>(i)]));
  // Memory plan: a local value (subgraph input or node output) is freed after its last reader,
  // unless it is a subgraph output.
  std::set<std::string> keep(sg->outputs.begin(), sg->outputs.end());
  std::set<std::string> local(sg->inputs.begin(), sg->inputs.end());
  for (const auto& kv : producer) local.insert(kv.first);
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < sg->nodes.size(); ++i)
    for (const std::string& in : sg->nodes[i].inputs)
      if (local.count(in) && !keep.count(in)) last[in] = i;
  for (const auto& [name, i] : last) sg->nodes[i].free_after.push_back(name);
  return sg;
}

/// The subgraph in GRAPH attribute `attr`, compiled; fails naming the node when it is missing.
std::shared_ptr<const Subgraph> require_graph(const ParseContext& p, const char* attr) {
  const onnx::Attribute* a = p.find(attr);
  if (!a || !a->g) p.fail_attr(attr, "missing required subgraph (expected a GRAPH attribute)");
  return compile(**a->g, attr, p);
}

struct ControlFlowAttrs : OpAttrs {
  size_t num_inputs = 0;               ///< declared inputs (implicit ones follow)
  std::vector<std::string> outer;      ///< implicit inputs, in the order the graph appends them
  std::vector<std::shared_ptr<const Subgraph>> subs;  ///< If: then, else; Loop/Scan: body
  // Scan
  int64_t num_scan_inputs = 0;
  std::vector<int64_t> in_axes, in_dirs, out_axes, out_dirs;
};

void parse_common(const ParseContext& p, ControlFlowAttrs& a) {
  a.num_inputs = p.node().input.size();
  a.outer = subgraph_outer_names(p.node());
}

ControlFlowAttrs parse_if(const ParseContext& p) {
  ControlFlowAttrs a;
  parse_common(p, a);
  a.subs.push_back(require_graph(p, "then_branch"));
  a.subs.push_back(require_graph(p, "else_branch"));
  const size_t nout = p.node().output.size();
  for (const auto& s : a.subs)
    if (s->outputs.size() != nout)
      p.fail(s->attr + " has " + std::to_string(s->outputs.size()) + " outputs, the node has " + std::to_string(nout) +
             " (both branches must produce every output)");
  return a;
}

ControlFlowAttrs parse_loop(const ParseContext& p) {
  ControlFlowAttrs a;
  parse_common(p, a);
  if (a.num_inputs < 2)
    p.fail("expected at least 2 inputs (trip count M and condition, either may be \"\"), got " + std::to_string(a.num_inputs));
  a.subs.push_back(require_graph(p, "body"));
  const Subgraph& b = *a.subs[0];
  const size_t n = a.num_inputs - 2;  // loop-carried values
  if (b.inputs.size() != n + 2)
    p.fail("body has " + std::to_string(b.inputs.size()) + " inputs, expected " + std::to_string(n + 2) +
           " (iteration number, condition and the " + std::to_string(n) + " loop-carried values)");
  if (b.outputs.size() < n + 1)
    p.fail("body has " + std::to_string(b.outputs.size()) + " outputs, expected at least " + std::to_string(n + 1) +
           " (condition and the " + std::to_string(n) + " loop-carried values)");
  const size_t k = b.outputs.size() - 1 - n;
  if (p.node().output.size() != n + k)
    p.fail("expected " + std::to_string(n + k) + " outputs (" + std::to_string(n) + " loop-carried values and " +
           std::to_string(k) + " scan outputs of the body), got " + std::to_string(p.node().output.size()));
  return a;
}

ControlFlowAttrs parse_scan(const ParseContext& p) {
  ControlFlowAttrs a;
  parse_common(p, a);
  a.subs.push_back(require_graph(p, "body"));
  const Subgraph& b = *a.subs[0];
  a.num_scan_inputs = p.require_int("num_scan_inputs");
  const int64_t total = static_cast<int64_t>(a.num_inputs);
  if (a.num_scan_inputs < 1 || a.num_scan_inputs > total)
    p.fail_attr("num_scan_inputs", "expected 1 to " + std::to_string(total) + " (the node's inputs), got " +
                                       std::to_string(a.num_scan_inputs));
  const size_t m = static_cast<size_t>(a.num_scan_inputs), n = a.num_inputs - m;
  if (b.inputs.size() != n + m)
    p.fail("body has " + std::to_string(b.inputs.size()) + " inputs, expected " + std::to_string(n + m) + " (" +
           std::to_string(n) + " state variables and " + std::to_string(m) + " scan inputs)");
  if (p.node().output.size() < n || b.outputs.size() != p.node().output.size())
    p.fail("body has " + std::to_string(b.outputs.size()) + " outputs and the node " + std::to_string(p.node().output.size()) +
           ": expected the same number, at least the " + std::to_string(n) + " state variables");
  const size_t k = b.outputs.size() - n;
  auto list = [&](const char* name, size_t count, std::vector<int64_t>& out, bool dir) {
    out = p.get_ints(name);
    if (!p.has(name)) out.assign(count, 0);
    if (out.size() != count)
      p.fail_attr(name, "expected " + std::to_string(count) + " values, got " + std::to_string(out.size()));
    if (dir)
      for (int64_t d : out)
        if (d != 0 && d != 1) p.fail_attr(name, "expected 0 (forward) or 1 (reverse), got " + std::to_string(d));
  };
  list("scan_input_axes", m, a.in_axes, false);
  list("scan_input_directions", m, a.in_dirs, true);
  list("scan_output_axes", k, a.out_axes, false);
  list("scan_output_directions", k, a.out_dirs, true);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Running a subgraph

/// A value visible to a subgraph: its tensor and whether it is fixed for the prepared graph.
struct ScopeValue {
  const Tensor* tensor = nullptr;
  bool constant = false;
};
using Scope = std::unordered_map<std::string, ScopeValue>;

/// Per-node caches of a control-flow node's subgraphs (in its own cache slot).
struct ControlFlowCache : OpCache {
  std::vector<std::vector<std::unique_ptr<OpCache>>> subs;
};

/// The implicit inputs of the node being run, by name.
Scope outer_scope(const ControlFlowAttrs& a, const RunContext& ctx) {
  Scope s;
  for (size_t i = 0; i < a.outer.size(); ++i) {
    const size_t k = a.num_inputs + i;
    if (const Tensor* t = ctx.input(k)) s[a.outer[i]] = ScopeValue{t, ctx.is_constant(k)};
  }
  return s;
}

/// The cache vector of subgraph `index`, or null when the node keeps no cache.
std::vector<std::unique_ptr<OpCache>>* sub_caches(RunContext& ctx, const ControlFlowAttrs& a, size_t index) {
  std::unique_ptr<OpCache>* slot = ctx.cache();
  if (!slot) return nullptr;
  if (!*slot) {
    auto c = std::make_unique<ControlFlowCache>();
    c->subs.resize(a.subs.size());
    for (size_t i = 0; i < a.subs.size(); ++i) c->subs[i].resize(a.subs[i]->nodes.size());
    *slot = std::move(c);
  }
  auto* c = dynamic_cast<ControlFlowCache*>(slot->get());
  return c ? &c->subs[index] : nullptr;
}

/// Runs `sg` with its declared inputs bound to `args` and `outer` as the enclosing scope.
std::vector<Tensor> run_subgraph(const Subgraph& sg, std::vector<Tensor> args, const Scope& outer, ThreadPool* pool,
                                 std::vector<std::unique_ptr<OpCache>>* caches, const SubgraphHooks* hooks,
                                 const std::string& scope) {
  std::unordered_map<std::string, Tensor> env;
  for (size_t i = 0; i < sg.inputs.size() && i < args.size(); ++i) env[sg.inputs[i]] = std::move(args[i]);
  auto lookup = [&](const std::string& name, bool& constant) -> const Tensor* {
    constant = false;
    auto it = env.find(name);
    if (it != env.end()) return &it->second;
    auto ii = sg.inits.find(name);
    if (ii != sg.inits.end()) {
      constant = true;
      return &ii->second;
    }
    auto bi = sg.bad_inits.find(name);
    if (bi != sg.bad_inits.end()) throw Error(ErrorKind::Unsupported, sg.where + ": " + bi->second);
    auto oi = outer.find(name);
    if (oi != outer.end()) {
      constant = oi->second.constant;
      return oi->second.tensor;
    }
    return nullptr;
  };
  std::vector<const Tensor*> ins;
  std::vector<bool> constant;
  std::vector<Tensor> outs;
  std::vector<Tensor> replaced;  // constant inputs the hooks replaced, for this node
  for (size_t ni = 0; ni < sg.nodes.size(); ++ni) {
    const SubNode& s = sg.nodes[ni];
    if (s.folded) continue;
    if (!s.def || !s.def->run)
      throw Error(ErrorKind::Unsupported, sg.where + ": " + node_ref(s.name, qualified(*s.proto)) + ": op not supported by the engine");
    ins.clear();
    constant.clear();
    for (const std::string& name : s.inputs) {
      if (name.empty()) {
        ins.push_back(nullptr);
        constant.push_back(false);
        continue;
      }
      bool c = false;
      const Tensor* t = lookup(name, c);
      if (!t)
        throw Error(ErrorKind::InvalidArgument, sg.where + ": " + node_ref(s.name, s.proto->op_type) + ": input '" + name + "' has no value");
      ins.push_back(t);
      constant.push_back(c);
    }
    outs.assign(s.outputs.size(), Tensor());
    std::unique_ptr<OpCache>* slot = caches && ni < caches->size() ? &(*caches)[ni] : nullptr;
    if (hooks) {
      replaced.clear();
      replaced.reserve(ins.size());  // ins points into it: no reallocation
      const std::string path = scope + s.name;
      for (size_t k = 0; k < ins.size(); ++k)
        if (ins[k] && constant[k])
          if (auto r = hooks->constant(path, k, *ins[k])) {
            replaced.push_back(std::move(*r));
            ins[k] = &replaced.back();
            slot = nullptr;  // the cache was built from the original constant
          }
    }
    RunContext ctx(s.name, s.proto->op_type, s.opset, ins, &outs, pool, slot, constant);
    if (hooks) ctx.set_subgraph_hooks(hooks, scope);
    try {
      s.def->run(s.attrs.get(), ctx);
    } catch (const Error& e) {
      throw with_context(e, sg.where);
    }
    for (size_t k = 0; k < s.outputs.size(); ++k) {
      if (s.outputs[k].empty()) continue;
      if (outs[k].dtype() == DataType::Undefined)
        throw Error(ErrorKind::Unsupported, sg.where + ": " + node_ref(s.name, s.proto->op_type) + ": output " + std::to_string(k) + " was not computed");
      if (hooks)
        if (auto r = hooks->value(scope + s.outputs[k], outs[k])) outs[k] = std::move(*r);
      env[s.outputs[k]] = std::move(outs[k]);
    }
    for (const std::string& name : s.free_after) env.erase(name);
  }
  std::vector<Tensor> result;
  for (const std::string& name : sg.outputs) {
    bool c = false;
    const Tensor* t = lookup(name, c);
    if (!t) throw Error(ErrorKind::InvalidArgument, sg.where + ": output '" + name + "' has no value");
    result.push_back(*t);
  }
  return result;
}

/// The path prefix of the values inside subgraph `sg` of the node being run (SubgraphHooks).
std::string inner_scope(const RunContext& ctx, const Subgraph& sg) {
  return ctx.subgraph_hooks() ? subgraph_scope(ctx.scope(), ctx.node_name(), sg.attr) : std::string();
}

bool scalar_bool(const Tensor& t, const RunContext& ctx, const std::string& what) {
  if (t.dtype() != DataType::Bool)
    ctx.fail(what + " must be a bool tensor, got " + std::string(dtype_name(t.dtype())));
  if (t.numel() != 1) ctx.fail(what + " must have one element, got shape " + shape_to_string(t.shape()));
  return t.data<bool>()[0];
}

/// Element `index` of `t` along `axis` (the axis removed).
Tensor take(const Tensor& t, int64_t axis, int64_t index) {
  Shape s = t.shape();
  const int64_t len = s[static_cast<size_t>(axis)];
  s.erase(s.begin() + axis);
  Tensor out(t.dtype(), s);
  const size_t es = tensor_element_size(t.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= t.shape()[static_cast<size_t>(i)];
  for (int64_t i = axis + 1; i < t.rank(); ++i) inner *= t.shape()[static_cast<size_t>(i)];
  const size_t chunk = static_cast<size_t>(inner) * es;
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    if (chunk) std::memcpy(dst + static_cast<size_t>(o) * chunk, src + (static_cast<size_t>(o * len + index)) * chunk, chunk);
  return out;
}

/// Stacks `parts` (same dtype and shape, checked) along a new axis `axis`; reversed order if
/// `reverse` (the first part goes last).
Tensor stack(const std::vector<Tensor>& parts, int64_t axis, bool reverse, const RunContext& ctx, const std::string& what) {
  const Tensor& first = parts.front();
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i].dtype() != first.dtype() || parts[i].shape() != first.shape())
      ctx.fail(what + " has " + std::string(dtype_name(first.dtype())) + " " + shape_to_string(first.shape()) +
               " in iteration 0 but " + std::string(dtype_name(parts[i].dtype())) + " " + shape_to_string(parts[i].shape()) +
               " in iteration " + std::to_string(i) + " (every iteration must give the same shape)");
  const int64_t len = static_cast<int64_t>(parts.size());
  Shape s = first.shape();
  s.insert(s.begin() + axis, len);
  Tensor out(first.dtype(), s);
  const size_t es = tensor_element_size(first.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) inner *= s[i];
  const size_t chunk = static_cast<size_t>(inner) * es;
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t t = 0; t < len; ++t) {
    const int64_t pos = reverse ? len - 1 - t : t;
    const auto* src = static_cast<const uint8_t*>(parts[static_cast<size_t>(t)].raw());
    for (int64_t o = 0; o < outer; ++o)
      if (chunk) std::memcpy(dst + static_cast<size_t>(o * len + pos) * chunk, src + static_cast<size_t>(o) * chunk, chunk);
  }
  return out;
}

void run_if(const ControlFlowAttrs& a, RunContext& ctx) {
  const bool cond = scalar_bool(ctx.in(0), ctx, "the condition");
  const size_t which = cond ? 0 : 1;
  std::vector<Tensor> outs = run_subgraph(*a.subs[which], {}, outer_scope(a, ctx), &ctx.pool(), sub_caches(ctx, a, which),
                                          ctx.subgraph_hooks(), inner_scope(ctx, *a.subs[which]));
  for (size_t k = 0; k < ctx.num_outputs() && k < outs.size(); ++k) ctx.set(k, std::move(outs[k]));
}

/// A declared element type and static dims of subgraph output `k`, for empty scan outputs.
Tensor empty_scan_output(const Subgraph& sg, size_t k, int64_t axis) {
  const onnx::ValueInfo& v = sg.proto->output[k];
  TensorInfo info = info_from_type(v.type ? &*v.type : nullptr);
  DataType dt = info.dtype == DataType::Undefined ? DataType::Float : info.dtype;
  Shape s;
  if (auto st = info.static_shape()) s = *st;
  s.insert(s.begin() + std::min<int64_t>(axis, static_cast<int64_t>(s.size())), 0);
  return Tensor(dt, s);
}

void run_loop(const ControlFlowAttrs& a, RunContext& ctx) {
  const Subgraph& body = *a.subs[0];
  const size_t n = a.num_inputs - 2;
  const size_t k = body.outputs.size() - 1 - n;
  std::optional<int64_t> trips;
  if (const Tensor* m = ctx.input(0)) {
    if (m->dtype() != DataType::Int64 || m->numel() != 1)
      ctx.fail("trip count M must be one int64, got " + std::string(dtype_name(m->dtype())) + " " + shape_to_string(m->shape()));
    trips = m->data<int64_t>()[0];
    if (*trips < 0) ctx.fail("trip count M is " + std::to_string(*trips) + " (expected >= 0)");
  }
  bool cond = true;
  const Tensor* c0 = ctx.input(1);
  if (c0) cond = scalar_bool(*c0, ctx, "the initial condition");
  if (!trips && !c0) ctx.fail("neither a trip count M nor a condition is given: the loop would never end");
  if (trips && !c0 && *trips > kMaxLoopIterations)
    ctx.fail("trip count M = " + std::to_string(*trips) + " exceeds the engine's limit of " + std::to_string(kMaxLoopIterations) + " iterations");
  std::vector<Tensor> carried;
  for (size_t i = 0; i < n; ++i) {
    const Tensor* t = ctx.input(2 + i);
    if (!t) ctx.fail("loop-carried input " + std::to_string(2 + i) + " is omitted (optional values are not supported)");
    carried.push_back(*t);
  }
  const Scope outer = outer_scope(a, ctx);
  auto* caches = sub_caches(ctx, a, 0);
  std::vector<std::vector<Tensor>> scans(k);
  int64_t i = 0;
  for (; (!trips || i < *trips) && cond; ++i) {
    if (i >= kMaxLoopIterations)
      ctx.fail("still running after " + std::to_string(kMaxLoopIterations) + " iterations (the engine's limit" +
               (trips ? ", trip count M = " + std::to_string(*trips) : std::string()) + ", condition still true)");
    std::vector<Tensor> args;
    Tensor it(DataType::Int64, {});
    it.data<int64_t>()[0] = i;
    Tensor ci(DataType::Bool, {});
    ci.data<bool>()[0] = cond;
    args.push_back(std::move(it));
    args.push_back(std::move(ci));
    for (Tensor& t : carried) args.push_back(std::move(t));
    std::vector<Tensor> outs;
    try {
      outs = run_subgraph(body, std::move(args), outer, &ctx.pool(), caches, ctx.subgraph_hooks(), inner_scope(ctx, body));
    } catch (const Error& e) {
      throw with_context(e, node_ref(ctx.node_name(), ctx.op_type()) + ", iteration " + std::to_string(i));
    }
    cond = scalar_bool(outs[0], ctx, "the body's condition output");
    carried.assign(outs.begin() + 1, outs.begin() + 1 + static_cast<std::ptrdiff_t>(n));
    for (size_t j = 0; j < k; ++j) scans[j].push_back(std::move(outs[1 + n + j]));
  }
  for (size_t j = 0; j < n; ++j) ctx.set(j, std::move(carried[j]));
  for (size_t j = 0; j < k; ++j) {
    if (n + j >= ctx.num_outputs()) break;
    ctx.set(n + j, scans[j].empty() ? empty_scan_output(body, 1 + n + j, 0)
                                     : stack(scans[j], 0, false, ctx, "scan output " + std::to_string(j)));
  }
}

void run_scan(const ControlFlowAttrs& a, RunContext& ctx) {
  const Subgraph& body = *a.subs[0];
  const size_t m = static_cast<size_t>(a.num_scan_inputs), n = a.num_inputs - m;
  const size_t k = body.outputs.size() - n;
  std::vector<Tensor> state;
  for (size_t i = 0; i < n; ++i) state.push_back(ctx.in(i));
  std::vector<int64_t> axes(m);
  int64_t len = -1;
  for (size_t j = 0; j < m; ++j) {
    const Tensor& x = ctx.in(n + j);
    if (x.rank() < 1) ctx.fail("scan input " + std::to_string(j) + " is a scalar (expected rank >= 1)");
    axes[j] = detail::norm_axis(ctx, a.in_axes[j], x.rank(), "scan_input_axes");
    const int64_t l = x.shape()[static_cast<size_t>(axes[j])];
    if (len >= 0 && l != len)
      ctx.fail("scan inputs have different lengths along their scan axes (" + std::to_string(len) + " and " + std::to_string(l) + ")");
    len = l;
  }
  if (len > kMaxLoopIterations)
    ctx.fail("scan length " + std::to_string(len) + " exceeds the engine's limit of " + std::to_string(kMaxLoopIterations) + " iterations");
  const Scope outer = outer_scope(a, ctx);
  auto* caches = sub_caches(ctx, a, 0);
  std::vector<std::vector<Tensor>> scans(k);
  for (int64_t t = 0; t < len; ++t) {
    std::vector<Tensor> args = std::move(state);
    for (size_t j = 0; j < m; ++j)
      args.push_back(take(ctx.in(n + j), axes[j], a.in_dirs[j] ? len - 1 - t : t));
    std::vector<Tensor> outs;
    try {
      outs = run_subgraph(body, std::move(args), outer, &ctx.pool(), caches, ctx.subgraph_hooks(), inner_scope(ctx, body));
    } catch (const Error& e) {
      throw with_context(e, node_ref(ctx.node_name(), ctx.op_type()) + ", iteration " + std::to_string(t));
    }
    state.assign(outs.begin(), outs.begin() + static_cast<std::ptrdiff_t>(n));
    for (size_t j = 0; j < k; ++j) scans[j].push_back(std::move(outs[n + j]));
  }
  for (size_t i = 0; i < n; ++i) ctx.set(i, std::move(state[i]));
  for (size_t j = 0; j < k; ++j) {
    if (scans[j].empty()) {
      ctx.set(n + j, empty_scan_output(body, n + j, std::max<int64_t>(a.out_axes[j], 0)));
      continue;
    }
    const int64_t axis = detail::norm_axis(ctx, a.out_axes[j], scans[j][0].rank() + 1, "scan_output_axes");
    ctx.set(n + j, stack(scans[j], axis, a.out_dirs[j] != 0, ctx, "scan output " + std::to_string(j)));
  }
}

// ---------------------------------------------------------------------------------------------
// Shape inference through subgraphs

using InfoScope = std::unordered_map<std::string, const TensorInfo*>;

/// Only dtype and shape (no tracked contents): values that change between iterations.
TensorInfo shape_only(const TensorInfo& t) { return TensorInfo(t.dtype, t.shape); }

/// What two facts have in common (If branches, a carried value before and after the body).
TensorInfo merge(const TensorInfo& a, const TensorInfo& b) {
  TensorInfo r;
  r.dtype = a.dtype == b.dtype ? a.dtype : DataType::Undefined;
  if (a.shape && b.shape && a.shape->size() == b.shape->size()) {
    Dims d;
    for (size_t i = 0; i < a.shape->size(); ++i) d.push_back((*a.shape)[i].same((*b.shape)[i]) ? (*a.shape)[i] : Dim::unknown());
    r.shape = std::move(d);
  }
  return r;
}

TensorInfo declared(const onnx::ValueInfo& v) { return info_from_type(v.type ? &*v.type : nullptr); }

/// Infers `sg` with its inputs as `args` (declared types where a fact is unknown). Returns its
/// outputs' facts; `all` (if given) receives every value's. Throws on inconsistent shapes.
std::vector<TensorInfo> infer_subgraph(const Subgraph& sg, std::vector<TensorInfo> args, const InfoScope& outer,
                                       std::unordered_map<std::string, TensorInfo>* all = nullptr,
                                       const std::function<void(const SubNode&, const std::vector<const TensorInfo*>&,
                                                                const std::vector<TensorInfo>&)>& visit = {}) {
  std::unordered_map<std::string, TensorInfo> env;
  for (const onnx::Tensor& t : sg.proto->initializer) env[t.name] = info_from_tensor(t);
  for (size_t i = 0; i < sg.inputs.size(); ++i) {
    TensorInfo d = declared(sg.proto->input[i]);
    TensorInfo t = i < args.size() ? std::move(args[i]) : TensorInfo();
    if (t.dtype == DataType::Undefined) t.dtype = d.dtype;
    if (!t.shape) t.shape = d.shape;
    env[sg.inputs[i]] = std::move(t);
  }
  static const TensorInfo kUnknown;
  auto lookup = [&](const std::string& name) -> const TensorInfo* {
    auto it = env.find(name);
    if (it != env.end()) return &it->second;
    auto oi = outer.find(name);
    if (oi != outer.end() && oi->second) return oi->second;
    return &kUnknown;
  };
  for (const SubNode& s : sg.nodes) {
    std::vector<const TensorInfo*> ins;
    for (const std::string& name : s.inputs) ins.push_back(name.empty() ? nullptr : lookup(name));
    std::vector<TensorInfo> outs(s.outputs.size());
    if (s.def && s.def->infer) {
      InferContext ctx(s.name, s.proto->op_type, s.opset, ins, s.outputs.size());
      outs = s.def->infer(s.attrs.get(), ctx);
      outs.resize(s.outputs.size());
    }
    if (visit) visit(s, ins, outs);
    for (size_t k = 0; k < s.outputs.size(); ++k)
      if (!s.outputs[k].empty()) env[s.outputs[k]] = std::move(outs[k]);
  }
  std::vector<TensorInfo> result;
  for (size_t i = 0; i < sg.outputs.size(); ++i) {
    TensorInfo t = *lookup(sg.outputs[i]);
    TensorInfo d = declared(sg.proto->output[i]);
    if (t.dtype == DataType::Undefined) t.dtype = d.dtype;
    if (!t.shape) t.shape = d.shape;
    result.push_back(std::move(t));
  }
  if (all) *all = std::move(env);
  return result;
}

InfoScope outer_infos(const ControlFlowAttrs& a, const std::vector<const TensorInfo*>& inputs) {
  InfoScope s;
  for (size_t i = 0; i < a.outer.size(); ++i)
    if (a.num_inputs + i < inputs.size()) s[a.outer[i]] = inputs[a.num_inputs + i];
  return s;
}

std::vector<const TensorInfo*> ctx_inputs(const InferContext& ctx) {
  std::vector<const TensorInfo*> v;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) v.push_back(ctx.input(i));
  return v;
}

/// Subgraph facts with the outputs' declared types when inference inside fails.
std::vector<TensorInfo> infer_or_declared(const Subgraph& sg, std::vector<TensorInfo> args, const InfoScope& outer) {
  try {
    return infer_subgraph(sg, std::move(args), outer);
  } catch (const Error&) {
    std::vector<TensorInfo> r;
    for (const auto& o : sg.proto->output) r.push_back(declared(o));
    return r;
  }
}

std::vector<TensorInfo> infer_if(const ControlFlowAttrs& a, const InferContext& ctx) {
  const InfoScope outer = outer_infos(a, ctx_inputs(ctx));
  std::vector<TensorInfo> t = infer_or_declared(*a.subs[0], {}, outer);
  std::vector<TensorInfo> e = infer_or_declared(*a.subs[1], {}, outer);
  std::vector<TensorInfo> r(ctx.num_outputs());
  for (size_t k = 0; k < r.size() && k < t.size() && k < e.size(); ++k) r[k] = merge(t[k], e[k]);
  return r;
}

std::vector<TensorInfo> loop_body_args(const ControlFlowAttrs& a, const InferContext& ctx) {
  std::vector<TensorInfo> args;
  args.push_back(make_info(DataType::Int64, {}));
  args.push_back(make_info(DataType::Bool, {}));
  for (size_t i = 2; i < a.num_inputs; ++i) args.push_back(shape_only(ctx.in(i)));
  return args;
}

std::vector<TensorInfo> infer_loop(const ControlFlowAttrs& a, const InferContext& ctx) {
  const Subgraph& body = *a.subs[0];
  const size_t n = a.num_inputs - 2;
  std::vector<TensorInfo> outs = infer_or_declared(body, loop_body_args(a, ctx), outer_infos(a, ctx_inputs(ctx)));
  std::vector<TensorInfo> r(ctx.num_outputs());
  for (size_t i = 0; i < n && i < r.size(); ++i) r[i] = 1 + i < outs.size() ? merge(shape_only(ctx.in(2 + i)), outs[1 + i]) : TensorInfo();
  for (size_t j = n; j < r.size(); ++j) {
    if (1 + j >= outs.size()) continue;
    const TensorInfo& s = outs[1 + j];
    r[j].dtype = s.dtype;
    if (s.shape) {
      Dims d{Dim::unknown()};
      d.insert(d.end(), s.shape->begin(), s.shape->end());
      r[j].shape = std::move(d);
    }
  }
  return r;
}

std::vector<TensorInfo> infer_scan(const ControlFlowAttrs& a, const InferContext& ctx) {
  const Subgraph& body = *a.subs[0];
  const size_t m = static_cast<size_t>(a.num_scan_inputs), n = a.num_inputs - m;
  std::vector<TensorInfo> args;
  for (size_t i = 0; i < n; ++i) args.push_back(shape_only(ctx.in(i)));
  Dim len = Dim::unknown();
  for (size_t j = 0; j < m; ++j) {
    const TensorInfo& x = ctx.in(n + j);
    TensorInfo s(x.dtype, std::nullopt);
    if (x.shape && !x.shape->empty()) {
      if (auto ax = normalize_axis(a.in_axes[j], static_cast<int64_t>(x.shape->size()))) {
        Dims d = *x.shape;
        if (j == 0) len = d[static_cast<size_t>(*ax)];
        d.erase(d.begin() + *ax);
        s.shape = std::move(d);
      }
    }
    args.push_back(std::move(s));
  }
  std::vector<TensorInfo> outs = infer_or_declared(body, std::move(args), outer_infos(a, ctx_inputs(ctx)));
  std::vector<TensorInfo> r(ctx.num_outputs());
  for (size_t i = 0; i < n && i < r.size() && i < outs.size(); ++i) r[i] = merge(shape_only(ctx.in(i)), outs[i]);
  for (size_t j = n; j < r.size() && j < outs.size(); ++j) {
    const TensorInfo& s = outs[j];
    r[j].dtype = s.dtype;
    if (!s.shape) continue;
    if (auto ax = normalize_axis(a.out_axes[j - n], static_cast<int64_t>(s.shape->size()) + 1)) {
      Dims d = *s.shape;
      d.insert(d.begin() + *ax, len);
      r[j].shape = std::move(d);
    }
  }
  return r;
}

bool is_layer(const onnx::Node& n) {
  if (!normalize_domain(n.domain).empty()) return false;
  const std::string& t = n.op_type;
  return t == "Conv" || t == "ConvTranspose" || t == "Gemm" || t == "MatMul";
}

using InitScope = std::unordered_map<std::string, const Tensor*>;

void collect_node_subgraphs(const onnx::Node& node, const std::string& name, const OpAttrs* attrs,
                            const std::vector<const TensorInfo*>& inputs, const std::string& scope,
                            std::optional<int64_t> repeat, const std::string& branch_of, const std::string& branch,
                            const InitScope& outer_inits, std::vector<SubgraphNode>& out);

/// Appends the nodes of `sg` (prefix `prefix`), then those of subgraphs nested in it, to `out`.
void collect_nodes(const Subgraph& sg, std::vector<TensorInfo> args, const InfoScope& outer, const std::string& prefix,
                   std::optional<int64_t> repeat, const std::string& branch_of, const std::string& branch,
                   const InitScope& outer_inits, std::vector<SubgraphNode>& out) {
  InitScope inits = outer_inits;
  for (const auto& [name, t] : sg.inits) inits[name] = &t;
  for (const auto& [name, why] : sg.bad_inits) inits.erase(name);
  std::vector<std::function<void()>> nested;  // run after the walk, once `env` is complete
  std::unordered_map<std::string, TensorInfo> env;
  auto visit = [&](const SubNode& s, const std::vector<const TensorInfo*>& ins, const std::vector<TensorInfo>& outs) {
    SubgraphNode f;
    f.scope = prefix;
    f.graph = sg.proto;
    f.name = s.name;
    f.node = s.proto;
    f.supported = s.def != nullptr;
    f.attrs = s.attrs;
    f.inputs = s.inputs;
    f.outputs = s.outputs;
    for (size_t k = 0; k < s.inputs.size(); ++k) {
      f.in.push_back(k < ins.size() && ins[k] ? *ins[k] : TensorInfo());
      auto it = inits.find(s.inputs[k]);
      f.init.push_back(it != inits.end() ? it->second : nullptr);
    }
    f.out = outs;
    f.repeat = repeat;
    f.branch_of = branch_of;
    f.branch = branch;
    if (has_subgraphs(*s.proto) && s.attrs) {
      std::vector<TensorInfo> in_copy = f.in;
      const SubNode* sp = &s;
      nested.push_back([&, sp, in_copy]() {
        std::vector<const TensorInfo*> ptrs;
        for (const TensorInfo& t : in_copy) ptrs.push_back(&t);
        collect_node_subgraphs(*sp->proto, sp->name, sp->attrs.get(), ptrs, prefix, repeat, branch_of, branch, inits, out);
      });
    }
    out.push_back(std::move(f));
  };
  try {
    infer_subgraph(sg, std::move(args), outer, &env, visit);
  } catch (const Error&) {
    // Nodes found before the inconsistency keep their facts; the rest are not listed.
  }
  for (auto& f : nested) f();
}

/// The nodes inside the subgraphs of control-flow node `node` (named `name` in the engine), which
/// sits in the graph of prefix `scope` and runs `repeat` times per model run.
void collect_node_subgraphs(const onnx::Node& node, const std::string& name, const OpAttrs* attrs,
                            const std::vector<const TensorInfo*>& inputs, const std::string& scope,
                            std::optional<int64_t> repeat, const std::string& branch_of, const std::string& branch,
                            const InitScope& outer_inits, std::vector<SubgraphNode>& out) {
  const auto* a = dynamic_cast<const ControlFlowAttrs*>(attrs);
  if (!a) return;
  const InfoScope outer = outer_infos(*a, inputs);
  auto in = [&](size_t i) -> TensorInfo { return i < inputs.size() && inputs[i] ? *inputs[i] : TensorInfo(); };
  auto times = [&](std::optional<int64_t> n) -> std::optional<int64_t> {
    if (!n || !repeat) return std::nullopt;
    return checked_mul(*n, *repeat);
  };
  try {
    if (node.op_type == "If") {
      for (const auto& s : a->subs)
        collect_nodes(*s, {}, outer, subgraph_scope(scope, name, s->attr), repeat, branch_of.empty() ? name : branch_of,
                      branch_of.empty() ? s->attr : branch, outer_inits, out);
    } else if (node.op_type == "Loop") {
      std::optional<int64_t> trips;
      const TensorInfo m = in(0);
      if (inputs.size() > 0 && inputs[0] && node.input[0] != "") {
        if (auto v = m.known_ints(); v && v->size() == 1 && (*v)[0] >= 0) trips = (*v)[0];
      }
      // With a condition the loop may stop earlier: the trip count is then an upper bound.
      std::vector<TensorInfo> args{make_info(DataType::Int64, {}), make_info(DataType::Bool, {})};
      for (size_t i = 2; i < a->num_inputs; ++i) args.push_back(shape_only(in(i)));
      collect_nodes(*a->subs[0], std::move(args), outer, subgraph_scope(scope, name, "body"), times(trips), branch_of, branch,
                    outer_inits, out);
    } else if (node.op_type == "Scan") {
      const size_t m = static_cast<size_t>(a->num_scan_inputs), n = a->num_inputs - m;
      std::vector<TensorInfo> args;
      for (size_t i = 0; i < n; ++i) args.push_back(shape_only(in(i)));
      std::optional<int64_t> len;
      for (size_t j = 0; j < m; ++j) {
        const TensorInfo x = in(n + j);
        TensorInfo s(x.dtype, std::nullopt);
        if (x.shape && !x.shape->empty())
          if (auto ax = normalize_axis(a->in_axes[j], static_cast<int64_t>(x.shape->size()))) {
            Dims d = *x.shape;
            if (j == 0) len = d[static_cast<size_t>(*ax)].value;
            d.erase(d.begin() + *ax);
            s.shape = std::move(d);
          }
        args.push_back(std::move(s));
      }
      collect_nodes(*a->subs[0], std::move(args), outer, subgraph_scope(scope, name, "body"), times(len), branch_of, branch,
                    outer_inits, out);
    }
  } catch (const Error&) {
    // inspect must not fail on an odd subgraph: what was found so far is kept.
  }
}

}  // namespace

std::vector<std::string> subgraph_node_names(const onnx::Graph& g) {
  std::set<std::string> taken;
  for (const onnx::Node& n : g.node)
    if (!n.name.empty()) taken.insert(n.name);
  std::set<std::string> given;  // names already given to an earlier node
  std::vector<std::string> names;
  for (size_t i = 0; i < g.node.size(); ++i) {
    std::string name = g.node[i].name;
    // Unnamed: "<op>_<index>"; a name an earlier node has: "<name>_<k>" (paths must be unique).
    const bool repeated = !name.empty() && !given.insert(name).second;
    if (name.empty() || repeated) {
      const std::string base = repeated ? name : g.node[i].op_type + "_" + std::to_string(i);
      name = base;
      for (int k = 1; taken.count(name); ++k) name = base + "_" + std::to_string(k);
      taken.insert(name);
    }
    names.push_back(std::move(name));
  }
  return names;
}

std::string subgraph_scope(const std::string& scope, const std::string& node, const std::string& attr) {
  return scope + node + "/" + attr + "/";
}

bool has_subgraphs(const onnx::Node& node) {
  for (const auto& a : node.attribute)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

std::vector<std::string> subgraph_outer_names(const onnx::Node& node) {
  if (!has_subgraphs(node)) return {};
  std::set<std::string> names;
  for (const auto& a : node.attribute) {
    if (a.g) collect_outer(**a.g, names);
    for (const auto& g : a.graphs) collect_outer(g, names);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::vector<std::string> subgraph_unsupported_ops(const onnx::Node& node, int64_t opset) {
  std::vector<std::string> out;
  for (const auto& a : node.attribute) {
    if (a.g) collect_unsupported(**a.g, opset, out);
    for (const auto& g : a.graphs) collect_unsupported(g, opset, out);
  }
  return out;
}

std::vector<SubgraphNode> subgraph_nodes(const onnx::Node& node, const std::string& name, const OpAttrs* attrs,
                                         const std::vector<const TensorInfo*>& inputs) {
  std::vector<SubgraphNode> out;
  collect_node_subgraphs(node, name, attrs, inputs, "", int64_t{1}, "", "", {}, out);
  return out;
}

std::vector<SubgraphLayer> subgraph_layers(const onnx::Node& node, const OpAttrs* attrs,
                                           const std::vector<const TensorInfo*>& inputs) {
  std::vector<SubgraphLayer> out;
  for (SubgraphNode& f : subgraph_nodes(node, node.name, attrs, inputs)) {
    if (!is_layer(*f.node) || !f.supported) continue;
    SubgraphLayer l;
    l.name = f.scope + f.name;
    l.node = f.node;
    l.attrs = f.attrs;
    if (f.in.size() > 0) l.x = f.in[0];
    if (f.in.size() > 1) l.w = f.in[1];
    if (!f.out.empty()) l.y = f.out[0];
    // (An initializer the engine cannot read still makes the weight constant for inspect.)
    l.weight_constant = f.init.size() > 1 && f.init[1];
    for (const onnx::Tensor& t : f.graph->initializer)
      l.weight_constant = l.weight_constant || (f.node->input.size() > 1 && t.name == f.node->input[1]);
    l.repeat = f.repeat;
    l.branch_of = f.branch_of;
    l.branch = f.branch;
    out.push_back(std::move(l));
  }
  return out;
}

int64_t subgraph_params(const onnx::Node& node) {
  int64_t total = 0;
  auto elements = [](const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n = checked_mul(n, d).value_or(0);
    return n;
  };
  auto is_float = [](int32_t t) { return dtype_is_float(static_cast<DataType>(t)); };
  std::function<void(const onnx::Graph&)> walk = [&](const onnx::Graph& g) {
    for (const onnx::Tensor& t : g.initializer)
      if (is_float(t.data_type)) total += elements(t.dims);
    for (const onnx::SparseTensor& t : g.sparse_initializer)
      if (is_float(t.values.data_type)) total += elements(t.dims);
    for (const onnx::Node& n : g.node) {
      if (n.op_type == "Constant" && normalize_domain(n.domain).empty())
        for (const onnx::Attribute& at : n.attribute) {
          if (at.name == "value" && at.t && is_float(at.t->data_type)) total += elements(at.t->dims);
          else if (at.name == "value_float") total += 1;
          else if (at.name == "value_floats") total += static_cast<int64_t>(at.floats.size());
        }
      for (const auto& at : n.attribute) {
        if (at.g) walk(**at.g);
        for (const auto& sg : at.graphs) walk(sg);
      }
    }
  };
  for (const auto& at : node.attribute) {
    if (at.g) walk(**at.g);
    for (const auto& sg : at.graphs) walk(sg);
  }
  return total;
}

void register_control_flow(OpRegistry& reg) {
  OpDef d;
  d.op_type = "If";
  d.since = 1;
  d.min_inputs = d.max_inputs = 1;
  d.min_outputs = 1;
  d.max_outputs = kVariadic;
  d.parse = typed_parse<ControlFlowAttrs>(parse_if);
  d.infer = typed_infer<ControlFlowAttrs>(infer_if);
  d.run = typed_run<ControlFlowAttrs>(run_if);
  reg.add(d);

  OpDef l;
  l.op_type = "Loop";
  l.since = 1;
  l.min_inputs = 0;  // M and cond may be omitted (""): parse checks that both are there
  l.max_inputs = kVariadic;
  l.min_outputs = 1;
  l.max_outputs = kVariadic;
  l.parse = typed_parse<ControlFlowAttrs>(parse_loop);
  l.infer = typed_infer<ControlFlowAttrs>(infer_loop);
  l.run = typed_run<ControlFlowAttrs>(run_loop);
  reg.add(l);

  OpDef s;
  s.op_type = "Scan";
  s.since = 9;
  s.min_inputs = 1;
  s.max_inputs = kVariadic;
  s.min_outputs = 1;
  s.max_outputs = kVariadic;
  s.parse = typed_parse<ControlFlowAttrs>(parse_scan);
  s.infer = typed_infer<ControlFlowAttrs>(infer_scan);
  s.run = typed_run<ControlFlowAttrs>(run_scan);
  reg.add(s);
}

}  // namespace qm::ops
