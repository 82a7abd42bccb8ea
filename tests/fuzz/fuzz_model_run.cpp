// libFuzzer entry: the whole path a user's model takes in `quantmix run` and `quantize`: read,
// validate (graph), prepare (plan: constant folding, fusion), one forward pass on a tiny
// deterministic input, then a homogeneous W8A8 quantization (calibration on that one input,
// export) of what ran. Any byte string must end in success or a qm::Error (core/error.h: library
// code throws qm::Error and never exits or aborts); a crash, a sanitizer report, a hang or another
// exception escaping is a bug.
//
// Bounds that keep the fuzzer from measuring the machine instead of the code: one tensor may take
// at most 64 MiB (core/tensor.h max_tensor_bytes, an Error above it), an input is skipped when it
// would exceed kMaxInputElements, and a forward pass stops with an Error at the first value
// produced after kDeadline (a hook between ops; a single slow op is left to libFuzzer -timeout).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/options.h"
#include "api/quantize.h"
#include "api/session.h"
#include "api/workspace.h"
#include "core/error.h"
#include "core/tensor.h"
#include "onnx/model_reader.h"

namespace {

constexpr int64_t kMaxInputElements = 1 << 16;
constexpr auto kDeadline = std::chrono::seconds(2);

// Dynamic dimensions: 1 for the first (batch), 2 elsewhere; rank unknown: a vector of 2.
qm::Shape tiny_shape(const qm::api::IoSpec& in) {
  if (!in.shape) return {2};
  qm::Shape sh;
  for (size_t k = 0; k < in.shape->size(); ++k) {
    const qm::ops::Dim& d = (*in.shape)[k];
    sh.push_back(d.known() ? *d.value : k == 0 ? 1 : 2);
  }
  return sh;
}

// Deterministic values: floats in [-2, 2), small integers (valid as indices into most axes),
// alternating booleans. Other element types keep the zeros Tensor starts with.
void fill(qm::Tensor& t) {
  uint32_t x = 12345;
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    const float f = 4.0f * ((x >> 8) / float(1u << 24) - 0.5f);
    const int64_t k = static_cast<int64_t>(i % 3);
    switch (t.dtype()) {
      case qm::DataType::Float: t.data<float>()[i] = f; break;
      case qm::DataType::Double: t.data<double>()[i] = f; break;
      case qm::DataType::Int64: t.data<int64_t>()[i] = k; break;
      case qm::DataType::Int32: t.data<int32_t>()[i] = static_cast<int32_t>(k); break;
      case qm::DataType::Int16: t.data<int16_t>()[i] = static_cast<int16_t>(k); break;
      case qm::DataType::Uint16: t.data<uint16_t>()[i] = static_cast<uint16_t>(k); break;
      case qm::DataType::Int8: t.data<int8_t>()[i] = static_cast<int8_t>(k); break;
      case qm::DataType::Uint8: t.data<uint8_t>()[i] = static_cast<uint8_t>(k); break;
      case qm::DataType::Bool: t.data<bool>()[i] = (i & 1) != 0; break;
      default: return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qm::set_max_tensor_bytes(size_t{64} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::make_shared<const std::string>(reinterpret_cast<const char*>(data), size);
  try {
    qm::onnx::Model model = qm::onnx::read_model(bytes, "fuzz.onnx");
    // External data would be read from files beside the model: not this target's business.
    if (qm::onnx::has_external_data(model)) return 0;
    qm::api::SessionOptions opt;
    opt.threads = 1;
    auto session = std::make_unique<qm::api::Session>(std::move(model), opt);

    std::vector<qm::Tensor> inputs;
    for (size_t i = 0; i < session->inputs().size(); ++i) {
      const qm::api::IoSpec& in = session->inputs()[i];
      const qm::Shape sh = tiny_shape(in);
      if (qm::shape_numel(sh) > kMaxInputElements) return 0;
      const qm::DataType dt = in.dtype == qm::DataType::Undefined ? qm::DataType::Float : in.dtype;
      qm::Tensor t(dt, sh);
      fill(t);
      inputs.push_back(session->conform_input(i, std::move(t), "fuzz input"));
    }

    const auto start = std::chrono::steady_clock::now();
    auto deadline = [&](qm::graph::ValueId, const qm::Tensor&) -> std::optional<qm::Tensor> {
      if (std::chrono::steady_clock::now() - start > kDeadline)
        throw qm::Error(qm::ErrorKind::InvalidArgument, "fuzz: forward pass over the time budget");
      return std::nullopt;
    };
    const std::vector<qm::Tensor> outputs = session->run(inputs, deadline);
    if (outputs.size() != session->outputs().size()) __builtin_trap();

    // W8A8 with the cheap range settings: calibration on the one input, evaluation, export.
    qm::api::Workspace ws(std::move(session));
    ws.set_samples({inputs});
    qm::api::QuantizeOptions q;
    q.bits = qm::api::parse_candidate("W8A8");
    q.weight_range = qm::api::parse_weight_range("minmax");
    q.act_range = qm::api::parse_act_range("minmax");
    q.threads = 1;
    q.model_sha256 = "0";
    (void)qm::api::quantize(ws, q);
  } catch (const qm::Error&) {
    // Rejected with a message: the expected outcome for malformed or unsupported input.
  }
  return 0;
}
