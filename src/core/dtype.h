// Element types, numbered exactly as ONNX's TensorProto.DataType so that a value read from a file
// is a DataType without translation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qm {

enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  Uint8 = 2,
  Int8 = 3,
  Uint16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  Uint32 = 12,
  Uint64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  Bfloat16 = 16,
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  Uint4 = 21,
  Int4 = 22,
  Float4E2M1 = 23,
  Float8E8M0 = 24,
  kCount
};
static_assert(static_cast<int>(DataType::kCount) == 25, "update the table in dtype.cpp");

/// ONNX spelling of the type, e.g. "float", "int64", "bfloat16"; "undefined" for unknown values.
std::string_view dtype_name(DataType t);

/// Parses dtype_name() back; nullopt if unknown.
std::optional<DataType> dtype_from_name(std::string_view name);

/// Storage bits of one element (4 for int4/uint4/float4, 0 for string and undefined).
int dtype_bits(DataType t);

/// True for the integer types (bool excluded).
bool dtype_is_integer(DataType t);

/// True for float, double, float16, bfloat16 and the float8/float4 family.
bool dtype_is_float(DataType t);

/// True if `value` is a known DataType number (1..24).
bool dtype_is_known(int32_t value);

}  // namespace qm
