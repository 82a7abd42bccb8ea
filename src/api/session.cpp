#include "api/session.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "api/model_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "onnx/model_reader.h"
#include "quant/encodings_json.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"

namespace qm::api {
namespace {

// A graph input's or output's name, dtype and shape as the file declares them.
IoSpec declared_spec(const graph::Value& val) {
  const ops::TensorInfo info = ops::info_from_type(val.declared && val.declared->type ? &*val.declared->type : nullptr);
  return IoSpec{val.name, info.dtype, info.shape};
}

}  // namespace

Session::Session(onnx::Model model, const SessionOptions& options)
    : model_(std::make_unique<onnx::Model>(std::move(model))) {
  if (!model_->graph) throw Error(ErrorKind::InvalidModel, "model has no graph");
  graph_ = std::make_unique<graph::Graph>(*model_);
  for (graph::ValueId v : graph_->inputs()) {
    IoSpec s = declared_spec(graph_->value(v));
    auto it = options.input_shapes.find(s.name);
    if (it != options.input_shapes.end()) s.shape = it->second;
    inputs_.push_back(std::move(s));
  }
  for (const auto& kv : options.input_shapes)
    if (input_index(kv.first) < 0) throw Error(ErrorKind::InvalidArgument, "input shape for '" + kv.first + "': the model has no input '" + kv.first + "'");
  for (graph::ValueId v : graph_->outputs()) outputs_.push_back(declared_spec(graph_->value(v)));
  plan_ = std::make_unique<graph::Plan>(*graph_, options.prepare);
  share_initializer_bytes();
  pool_ = std::make_unique<ThreadPool>(options.threads);
  executor_ = std::make_unique<graph::Executor>(*plan_, pool_.get());
}

Session::~Session() = default;

namespace {

/// Gives `t` its own copy of its bytes (tensors that still view the file's buffer).
void own_bytes(onnx::Tensor& t) {
  if (t.has_raw_data() && !t.raw_data.empty()) t.raw_data = onnx::Bytes(std::string(t.raw_data.view()));
}

/// own_bytes for every tensor of `g` (node attributes, sparse initializers, subgraphs) except
/// the initializers marked in `skip`.
void own_bytes(onnx::Graph& g, const std::vector<bool>& skip) {
  for (size_t i = 0; i < g.initializer.size(); ++i)
    if (i >= skip.size() || !skip[i]) own_bytes(g.initializer[i]);
  for (onnx::SparseTensor& st : g.sparse_initializer) {
    own_bytes(st.values);
    own_bytes(st.indices);
  }
  for (onnx::Node& n : g.node)
    for (onnx::Attribute& a : n.attribute) {
      if (a.t) own_bytes(*a.t);
      for (onnx::Tensor& t : a.tensors) own_bytes(t);
      if (a.sparse_tensor) {
        own_bytes(a.sparse_tensor->values);
        own_bytes(a.sparse_tensor->indices);
      }
      for (onnx::SparseTensor& st : a.sparse_tensors) {
        own_bytes(st.values);
        own_bytes(st.indices);
      }
      if (a.g) own_bytes(**a.g, {});
      for (onnx::Graph& sg : a.graphs) own_bytes(sg, {});
    }
}

}  // namespace

void Session::share_initializer_bytes() {
  std::vector<onnx::Tensor>& inits = model_->graph->initializer;
  std::vector<bool> shared(inits.size(), false);
  for (size_t v = 0; v < graph_->values().size(); ++v) {
    const graph::Value& val = graph_->values()[v];
    if (val.kind != graph::ValueKind::Initializer || !val.initializer) continue;
    if (val.initializer < inits.data() || val.initializer >= inits.data() + inits.size()) continue;  // sparse
    onnx::Tensor& init = inits[static_cast<size_t>(val.initializer - inits.data())];
    const Tensor* t = plan_->constant(static_cast<graph::ValueId>(v));
    if (!t || !init.has_raw_data() || init.raw_data.size() != t->nbytes() || t->nbytes() == 0) continue;
    if (std::memcmp(init.raw_data.data(), t->raw(), t->nbytes()) != 0) continue;  // decoded differently
    init.raw_data = onnx::Bytes(t->shared_buffer(), std::string_view(static_cast<const char*>(t->raw()), t->nbytes()));
    shared[static_cast<size_t>(&init - inits.data())] = true;
  }
  // The rest (Constant nodes' tensors, initializers the plan keeps in another form) is copied
  // out, so that nothing refers to the file's buffer any more and it is freed.
  own_bytes(*model_->graph, shared);
}

size_t default_memory_limit(size_t weight_bytes, size_t extra) {
  const size_t cap = std::numeric_limits<size_t>::max();
  const size_t scaled = weight_bytes > cap / 4 ? cap : 4 * weight_bytes;
  const size_t base = std::max(kMinDefaultMemoryLimit, scaled);
  return base > cap - extra ? cap : base + extra;
}

size_t stored_weight_bytes(const onnx::Model& model) {
  return model.graph ? onnx::payload_bytes(*model.graph) : 0;
}

std::unique_ptr<Session> Session::load(const std::string& path, const SessionOptions& options) {
  onnx::Model model = read_model_file(path);
  if (options.memory_limit)
    set_memory_limit(options.memory_limit == kAutoMemoryLimit
                         ? default_memory_limit(stored_weight_bytes(model), options.memory_extra)
                         : options.memory_limit);
  try {
    return std::make_unique<Session>(std::move(model), options);
  } catch (const Error& e) {
    throw with_context(e, path);
  }
}

size_t Session::threads() const { return pool_->size(); }

int Session::input_index(const std::string& name) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i].name == name) return static_cast<int>(i);
  return -1;
}

Tensor Session::conform_input(size_t i, Tensor t, const std::string& source) const {
  const IoSpec& s = inputs_[i];
  const std::string where = "input '" + s.name + "' from " + source;
  if (s.dtype != DataType::Undefined && t.dtype() != s.dtype) {
    if (s.dtype == DataType::Float && t.dtype() == DataType::Double) {
      Tensor f(DataType::Float, t.shape());
      for (int64_t k = 0; k < t.numel(); ++k) f.data<float>()[k] = static_cast<float>(t.data<double>()[k]);
      t = std::move(f);
    } else {
      throw Error(ErrorKind::InvalidArgument, where + ": expected element type " + std::string(dtype_name(s.dtype)) +
                                                  ", got " + std::string(dtype_name(t.dtype())));
    }
  }
  if (!s.shape) return t;
  const ops::Dims& d = *s.shape;
  auto matches = [&](const Shape& sh) {
    if (sh.size() != d.size()) return false;
    for (size_t k = 0; k < d.size(); ++k)
      if (d[k].known() && *d[k].value != sh[k]) return false;
    return true;
  };
  if (matches(t.shape())) return t;
  if (t.rank() + 1 == static_cast<int64_t>(d.size()) && !d.empty() && (!d[0].known() || d[0].is(1))) {
    Shape sh = t.shape();
    sh.insert(sh.begin(), 1);
    if (matches(sh)) return t.reshaped(sh);
  }
  throw Error(ErrorKind::InvalidArgument, where + ": expected shape " + ops::dims_to_string(d) + ", got " + shape_to_string(t.shape()));
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs, const graph::ValueHook& hook) {
  if (simulator_) {
    if (hook) throw Error(ErrorKind::InvalidArgument, "run: a value hook cannot be combined with simulated encodings");
    return simulator_->run(*qconfig_, inputs);
  }
  return executor_->run(inputs, hook);
}

void Session::simulate_encodings(const std::string& json, const std::string& source) {
  auto qmodel = std::make_unique<quant::QuantModel>(*plan_);
  auto encodings = std::make_unique<quant::Encodings>(*qmodel);
  auto config = std::make_unique<quant::QuantConfig>(quant::encodings_from_json(json, *qmodel, *encodings, source));
  simulator_.reset();
  simulator_ = std::make_unique<quant::Simulator>(*qmodel, *encodings, *executor_);
  qmodel_ = std::move(qmodel);
  encodings_ = std::move(encodings);
  qconfig_ = std::move(config);
}

}  // namespace qm::api
