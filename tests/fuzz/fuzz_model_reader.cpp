// libFuzzer entry: the ONNX reader must reject any byte string with qm::Error, never crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::make_shared<const std::string>(reinterpret_cast<const char*>(data), size);
  (void)bytes;
  return 0;
}
