#include "core/dtype.h"

namespace qm {
namespace {

struct DtypeTraits {
  std::string_view name;
  int bits;
  bool is_integer;
  bool is_float;
};

constexpr DtypeTraits kTraits[] = {
    {"undefined", 0, false, false},    {"float", 32, false, true},
    {"uint8", 8, true, false},         {"int8", 8, true, false},
    {"uint16", 16, true, false},       {"int16", 16, true, false},
    {"int32", 32, true, false},        {"int64", 64, true, false},
    {"string", 0, false, false},       {"bool", 8, false, false},
    {"float16", 16, false, true},      {"double", 64, false, true},
    {"uint32", 32, true, false},       {"uint64", 64, true, false},
    {"complex64", 64, false, false},   {"complex128", 128, false, false},
    {"bfloat16", 16, false, true},     {"float8e4m3fn", 8, false, true},
    {"float8e4m3fnuz", 8, false, true}, {"float8e5m2", 8, false, true},
    {"float8e5m2fnuz", 8, false, true}, {"uint4", 4, true, false},
    {"int4", 4, true, false},          {"float4e2m1", 4, false, true},
    {"float8e8m0", 8, false, true},
};
static_assert(sizeof(kTraits) / sizeof(kTraits[0]) == static_cast<size_t>(DataType::kCount),
              "one row per DataType");

const DtypeTraits& traits(DataType t) {
  auto i = static_cast<int32_t>(t);
  return dtype_is_known(i) ? kTraits[i] : kTraits[0];
}

}  // namespace

std::string_view dtype_name(DataType t) { return traits(t).name; }

std::optional<DataType> dtype_from_name(std::string_view name) {
  for (int32_t i = 1; i < static_cast<int32_t>(DataType::kCount); ++i)
    if (kTraits[i].name == name) return static_cast<DataType>(i);
  return std::nullopt;
}

int dtype_bits(DataType t) { return traits(t).bits; }
bool dtype_is_integer(DataType t) { return traits(t).is_integer; }
bool dtype_is_float(DataType t) { return traits(t).is_float; }
bool dtype_is_known(int32_t value) {
  return value > 0 && value < static_cast<int32_t>(DataType::kCount);
}

}  // namespace qm
