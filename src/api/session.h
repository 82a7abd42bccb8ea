// A plain C++ facade over the FP32 engine: load a model once, run it many times. Used by the CLI
// (`quantmix run`) and, later, the wasm bindings. Owns the model, its validated graph, the
// prepared plan, the executor (with its cached packed weights) and the thread pool.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "onnx/model.h"
#include "ops/tensor_info.h"

namespace qm {
class ThreadPool;
namespace quant {
class QuantModel;
class Encodings;
class Simulator;
struct QuantConfig;
}  // namespace quant
}

namespace qm::api {

/// SessionOptions::memory_limit: derive the limit from the model (default_memory_limit).
inline constexpr size_t kAutoMemoryLimit = ~size_t{0};
/// The least default memory limit, whatever the model's size.
inline constexpr size_t kMinDefaultMemoryLimit = size_t{512} << 20;

struct SessionOptions {
  size_t threads = 0;                       ///< 0: hardware concurrency (1 in wasm)
  graph::PrepareOptions prepare;
  std::map<std::string, ops::Dims> input_shapes;  ///< overrides of declared input shapes
  /// Session::load sets the process-wide memory limit for tensors (core/tensor.h
  /// set_memory_limit) once the file is read, before anything is decoded or folded: 0 leaves it
  /// alone, kAutoMemoryLimit derives it from the model, any other value is the limit in bytes.
  size_t memory_limit = 0;
  size_t memory_extra = 0;  ///< added to a derived limit (e.g. the search's memory budget)
};

/// The default memory limit for a model whose weights are stored in `weight_bytes`:
/// max(kMinDefaultMemoryLimit, 4 x weight_bytes) + extra. Bounds what a hostile file can make
/// the engine allocate by the model's size, with room for real models' activations.
size_t default_memory_limit(size_t weight_bytes, size_t extra = 0);
/// The bytes the model's tensors store (raw and typed payloads): initializers, Constant nodes'
/// and other tensor attributes, and the same inside subgraphs (If/Loop/Scan bodies).
size_t stored_weight_bytes(const onnx::Model& model);

/// A model input or output as declared.
struct IoSpec {
  std::string name;
  DataType dtype = DataType::Undefined;
  std::optional<ops::Dims> shape;  ///< nullopt: rank unknown
};

class Session {
 public:
  /// Takes the model; validates and prepares it. Afterwards every initializer whose bytes the
  /// plan decoded unchanged (float32 and integer raw_data) views the plan's tensor, and the
  /// model's other tensors get their own copies, so the file's buffer is freed: the weights are
  /// held once, not twice. Throws qm::Error.
  explicit Session(onnx::Model model, const SessionOptions& options = {});
  /// Reads MODEL.onnx (external data from beside it) and prepares it.
  static std::unique_ptr<Session> load(const std::string& path, const SessionOptions& options = {});
  ~Session();

  const std::vector<IoSpec>& inputs() const { return inputs_; }
  const std::vector<IoSpec>& outputs() const { return outputs_; }
  /// Index of the input called `name`, or -1.
  int input_index(const std::string& name) const;

  /// Checks `t` against input i and adapts it: float64 -> float32 for float inputs, a missing
  /// leading batch dimension of 1 added. `source` names where it came from in errors:
  /// "input 'image' from x.npy: expected shape [1, 1, 28, 28], got [28, 29]".
  Tensor conform_input(size_t i, Tensor t, const std::string& source) const;

  /// One forward pass; inputs in inputs() order (already conformed). Outputs in outputs() order.
  /// After simulate_encodings(), the quantization simulation (then `hook` must be empty).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const graph::ValueHook& hook = {});

  /// From now on run() simulates the quantization that AIMET-style encodings describe (`json`,
  /// the file's text; `source` names it in errors): the quantizers they list at their bit-widths,
  /// every other one off: the simulation the search ranks configurations by. Throws qm::Error.
  void simulate_encodings(const std::string& json, const std::string& source);

  const graph::Graph& graph() const { return *graph_; }
  const graph::Plan& plan() const { return *plan_; }
  graph::Executor& executor() { return *executor_; }
  size_t threads() const;

 private:
  void share_initializer_bytes();

  std::unique_ptr<onnx::Model> model_;
  std::unique_ptr<graph::Graph> graph_;
  std::unique_ptr<graph::Plan> plan_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<graph::Executor> executor_;
  std::vector<IoSpec> inputs_, outputs_;
  // simulate_encodings()
  std::unique_ptr<quant::QuantModel> qmodel_;
  std::unique_ptr<quant::Encodings> encodings_;
  std::unique_ptr<quant::QuantConfig> qconfig_;
  std::unique_ptr<quant::Simulator> simulator_;
};

}  // namespace qm::api
