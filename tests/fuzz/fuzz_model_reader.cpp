// libFuzzer entry: the ONNX reader must reject any byte string with qm::Error, never crash, and
// whatever it accepts must survive a write/read round trip.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "onnx/model_reader.h"
#include "onnx/model_writer.h"
#include "onnx/tensor_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::make_shared<const std::string>(reinterpret_cast<const char*>(data), size);
  try {
    qm::onnx::Model model = qm::onnx::read_model(bytes, "fuzz.onnx");
    // Accepted input: writing it back must give bytes the reader accepts again, and a second
    // write must be stable (the first write canonicalises field order and encodings).
    std::string once = qm::onnx::write_model(model);
    qm::onnx::Model again = qm::onnx::read_model(std::make_shared<const std::string>(once), "again.onnx");
    std::string twice = qm::onnx::write_model(again);
    if (once != twice) __builtin_trap();
    // Exercise payload decoding of every initializer.
    for (const auto& t : model.graph->initializer) {
      try {
        (void)qm::onnx::tensor_to_floats(t);
      } catch (const qm::Error&) {
      }
    }
  } catch (const qm::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
