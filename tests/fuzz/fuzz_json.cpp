// libFuzzer entry: the two JSON readers users feed files to. Every input goes to both, and must
// end in success or a qm::Error:
//   - the hardware profile reader (api/options.h, `quantize --profile FILE.json`):
//     an accepted profile is queried for a few op types and bit-widths;
//   - the encodings reader (quant/encodings_json.h, `run --encodings ENC.json`) for a small Conv
//     -> Relu -> MatMul -> Softmax model (fuzz_util.h): accepted encodings are written back
//     (the text must read again) and drive one simulated forward pass, as `run --encodings` does.
// The bytes are also given to parse_candidates (the --candidates flag).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/options.h"
#include "core/error.h"
#include "core/tensor.h"
#include "fuzz_util.h"
#include "mixed_precision/profile.h"
#include "quant/calibration.h"
#include "quant/encodings_json.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"

namespace {

struct Fixture {
  std::unique_ptr<qm::api::Session> session = qm::fuzz::small_session(false);
  qm::quant::QuantModel model{session->plan()};
  std::vector<qm::Tensor> inputs;
  Fixture() {
    qm::Tensor x(qm::DataType::Float, {1, 3, 4, 4});
    const std::vector<float> v = qm::fuzz::ramp(48, 0.25f);
    for (size_t i = 0; i < v.size(); ++i) x.data<float>()[i] = v[i];
    inputs.push_back(x);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void profile(const std::string& text) {
  try {
    const qm::mp::Profile p = qm::api::parse_profile_json(text, "fuzz.json");
    for (const char* op : {"Conv", "Conv.depthwise", "MatMul", "Softmax", "Add", ""})
      for (int bits : {2, 4, 8, 16}) {
        (void)p.supports_layer(op, qm::mp::Candidate{bits, 8});
        (void)p.supports_output(op, bits);
        (void)p.supports_input(op, bits);
      }
  } catch (const qm::Error&) {
  }
}

void encodings(const std::string& text) {
  Fixture& f = fixture();
  try {
    qm::quant::Encodings enc(f.model);
    const qm::quant::QuantConfig config = qm::quant::encodings_from_json(text, f.model, enc, "fuzz.json");
    const std::string again = qm::quant::encodings_to_json(f.model, enc, config);
    try {
      qm::quant::Encodings enc2(f.model);
      (void)qm::quant::encodings_from_json(again, f.model, enc2, "again.json");
    } catch (const qm::Error&) {
      __builtin_trap();  // what the writer wrote must read back
    }
    qm::quant::Simulator sim(f.model, enc, f.session->executor());
    (void)sim.run(config, f.inputs);
  } catch (const qm::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qm::set_max_tensor_bytes(size_t{64} << 20);
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  profile(text);
  encodings(text);
  try {
    (void)qm::api::parse_candidates(text);
  } catch (const qm::Error&) {
  }
  return 0;
}
