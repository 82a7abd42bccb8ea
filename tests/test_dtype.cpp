#include <doctest/doctest.h>

#include "core/dtype.h"

using qm::DataType;

TEST_CASE("core/dtype: numbers match onnx.proto TensorProto.DataType") {
  // Values from onnx.proto, written out independently of the enum.
  CHECK(static_cast<int>(DataType::Float) == 1);
  CHECK(static_cast<int>(DataType::Int64) == 7);
  CHECK(static_cast<int>(DataType::Float16) == 10);
  CHECK(static_cast<int>(DataType::Bfloat16) == 16);
  CHECK(static_cast<int>(DataType::Uint4) == 21);
  CHECK(static_cast<int>(DataType::Int4) == 22);
}

TEST_CASE("core/dtype: names round-trip and bits") {
  for (int i = 1; i < static_cast<int>(DataType::kCount); ++i) {
    auto t = static_cast<DataType>(i);
    auto back = qm::dtype_from_name(qm::dtype_name(t));
    REQUIRE(back.has_value());
    CHECK(*back == t);
  }
  CHECK(qm::dtype_bits(DataType::Int4) == 4);
  CHECK(qm::dtype_bits(DataType::Float16) == 16);
  CHECK(qm::dtype_is_integer(DataType::Uint16));
  CHECK_FALSE(qm::dtype_is_integer(DataType::Bool));
  CHECK(qm::dtype_name(static_cast<DataType>(99)) == "undefined");
}
