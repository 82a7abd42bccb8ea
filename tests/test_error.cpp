#include <doctest/doctest.h>

#include "core/error.h"

TEST_CASE("core/error: exceptions cross functions in both builds, context stacks outward") {
  auto fail = [] { throw qm::Error(qm::ErrorKind::InvalidModel, "node 'conv1' (Conv): bad pads"); };
  try {
    try {
      fail();
    } catch (const qm::Error& e) {
      throw qm::with_context(e, "Loading m.onnx");
    }
    FAIL("not thrown");
  } catch (const qm::Error& e) {
    CHECK(std::string(e.what()) == "Loading m.onnx: node 'conv1' (Conv): bad pads");
    CHECK(e.kind() == qm::ErrorKind::InvalidModel);
  }
  CHECK_THROWS_AS(fail(), qm::Error);
}
