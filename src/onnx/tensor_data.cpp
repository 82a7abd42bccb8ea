#include "onnx/tensor_data.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace qm::onnx {
namespace {

std::string quoted_name(const Tensor& t) { return "tensor '" + t.name + "'"; }

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

std::string type_and_dims(const Tensor& t) {
  std::string type = dtype_is_known(t.data_type) ? std::string(dtype_name(static_cast<DataType>(t.data_type)))
                                                 : "data_type " + std::to_string(t.data_type);
  return type + " " + dims_string(t.dims);
}

[[noreturn]] void invalid(const Tensor& t, const std::string& reason) {
  throw Error(ErrorKind::InvalidModel, quoted_name(t) + ": " + reason);
}

/// The typed field onnx.proto assigns to each element type, and how many entries it holds per
/// element (complex types use two; 4-bit types pack two elements in one int32_data entry).
enum class Field { None, Float, Int32, String, Int64, Double, Uint64 };

Field typed_field(DataType d) {
  switch (d) {
    case DataType::Float:
    case DataType::Complex64: return Field::Float;
    case DataType::Uint8:
    case DataType::Int8:
    case DataType::Uint16:
    case DataType::Int16:
    case DataType::Int32:
    case DataType::Bool:
    case DataType::Float16:
    case DataType::Bfloat16:
    case DataType::Float8E4M3FN:
    case DataType::Float8E4M3FNUZ:
    case DataType::Float8E5M2:
    case DataType::Float8E5M2FNUZ:
    case DataType::Uint4:
    case DataType::Int4:
    case DataType::Float4E2M1:
    case DataType::Float8E8M0: return Field::Int32;
    case DataType::String: return Field::String;
    case DataType::Int64: return Field::Int64;
    case DataType::Double:
    case DataType::Complex128: return Field::Double;
    case DataType::Uint32:
    case DataType::Uint64: return Field::Uint64;
    default: return Field::None;
  }
}

const char* field_name(Field f) {
  switch (f) {
    case Field::Float: return "float_data";
    case Field::Int32: return "int32_data";
    case Field::String: return "string_data";
    case Field::Int64: return "int64_data";
    case Field::Double: return "double_data";
    case Field::Uint64: return "uint64_data";
    default: return "none";
  }
}

size_t field_size(const Tensor& t, Field f) {
  switch (f) {
    case Field::Float: return t.float_data.size();
    case Field::Int32: return t.int32_data.size();
    case Field::String: return t.string_data.size();
    case Field::Int64: return t.int64_data.size();
    case Field::Double: return t.double_data.size();
    case Field::Uint64: return t.uint64_data.size();
    default: return 0;
  }
}

constexpr Field kAllFields[] = {Field::Float, Field::Int32, Field::String,
                                Field::Int64, Field::Double, Field::Uint64};

/// Expected entries in the typed field for `n` elements.
int64_t typed_count(DataType d, int64_t n) {
  if (d == DataType::Complex64 || d == DataType::Complex128) return 2 * n;
  if (dtype_bits(d) == 4) return (n + 1) / 2;
  return n;
}

/// Expected raw_data bytes for `n` elements.
int64_t raw_bytes(DataType d, int64_t n) {
  int bits = dtype_bits(d);
  if (bits == 4) return (n + 1) / 2;
  return n * (bits / 8);
}

/// Generic minifloat decode: `e_bits` exponent bits with `bias`, `m_bits` mantissa bits; the
/// caller handles the type's inf/nan encodings first.
float decode_minifloat(uint32_t v, int e_bits, int m_bits, int bias) {
  bool neg = v >> (e_bits + m_bits) & 1u;
  uint32_t e = v >> m_bits & ((1u << e_bits) - 1);
  uint32_t m = v & ((1u << m_bits) - 1);
  float mag = e == 0 ? std::ldexp(static_cast<float>(m), 1 - bias - m_bits)
                     : std::ldexp(static_cast<float>(m | (1u << m_bits)), static_cast<int>(e) - bias - m_bits);
  return neg ? -mag : mag;
}

float decode_float8(DataType d, uint8_t v) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  switch (d) {
    case DataType::Float8E4M3FN:
      if ((v & 0x7F) == 0x7F) return nan;
      return decode_minifloat(v, 4, 3, 7);
    case DataType::Float8E4M3FNUZ:
      if (v == 0x80) return nan;
      return decode_minifloat(v, 4, 3, 8);
    case DataType::Float8E5M2:
      if ((v & 0x7F) > 0x7C) return nan;
      if ((v & 0x7F) == 0x7C) return v & 0x80 ? -inf : inf;
      return decode_minifloat(v, 5, 2, 15);
    case DataType::Float8E5M2FNUZ:
      if (v == 0x80) return nan;
      return decode_minifloat(v, 5, 2, 16);
    case DataType::Float8E8M0:
      if (v == 0xFF) return nan;
      return std::ldexp(1.0f, static_cast<int>(v) - 127);
    default: return nan;
  }
}

float decode_float4(uint8_t nibble) { return decode_minifloat(nibble & 0xF, 2, 1, 1); }

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian on every target (x86-64, wasm32)
  return v;
}

/// Visits every element of a numeric tensor as a double (exact for all integer types up to
/// 2^53; int64/uint64 go through `as_int` to keep full precision).
template <class OnCount, class OnFloat, class OnInt>
void for_each_element(const Tensor& t, OnCount on_count, OnFloat on_float, OnInt on_int) {
  if (t.is_external())
    throw Error(ErrorKind::InvalidModel,
                quoted_name(t) + ": its data is in an external file that was not loaded");
  validate_tensor_payload(t);
  auto d = static_cast<DataType>(t.data_type);
  if (!dtype_is_known(t.data_type) || d == DataType::String || d == DataType::Complex64 ||
      d == DataType::Complex128)
    throw Error(ErrorKind::Unsupported,
                quoted_name(t) + ": cannot convert " + type_and_dims(t) + " to numbers");
  int64_t n = tensor_num_elements(t);
  on_count(n);  // only now: n is backed by a payload of matching size
  auto small_int = [&](int64_t v) {
    switch (d) {
      case DataType::Float16: on_float(half_to_float(static_cast<uint16_t>(v))); break;
      case DataType::Bfloat16: on_float(bfloat16_to_float(static_cast<uint16_t>(v))); break;
      case DataType::Float8E4M3FN:
      case DataType::Float8E4M3FNUZ:
      case DataType::Float8E5M2:
      case DataType::Float8E5M2FNUZ:
      case DataType::Float8E8M0: on_float(decode_float8(d, static_cast<uint8_t>(v))); break;
      case DataType::Bool: on_int(v != 0); break;
      case DataType::Uint8: on_int(static_cast<uint8_t>(v)); break;
      case DataType::Int8: on_int(static_cast<int8_t>(v)); break;
      case DataType::Uint16: on_int(static_cast<uint16_t>(v)); break;
      case DataType::Int16: on_int(static_cast<int16_t>(v)); break;
      default: on_int(static_cast<int32_t>(v)); break;
    }
  };
  auto nibble = [&](uint8_t byte, int64_t i) {
    uint8_t q = (i & 1) ? byte >> 4 : byte & 0xF;
    if (d == DataType::Int4) on_int(q >= 8 ? static_cast<int>(q) - 16 : q);
    else if (d == DataType::Uint4) on_int(q);
    else on_float(decode_float4(q));
  };
  bool four_bit = dtype_bits(d) == 4;
  if (t.has_raw_data()) {
    const char* p = t.raw_data.data();
    for (int64_t i = 0; i < n; ++i) {
      if (four_bit) {
        nibble(static_cast<uint8_t>(p[i / 2]), i);
        continue;
      }
      switch (d) {
        case DataType::Float: on_float(load<float>(p + 4 * i)); break;
        case DataType::Double: on_float(load<double>(p + 8 * i)); break;
        case DataType::Int64: on_int(load<int64_t>(p + 8 * i)); break;
        case DataType::Uint64: on_int(static_cast<int64_t>(load<uint64_t>(p + 8 * i))); break;
        case DataType::Uint32: on_int(load<uint32_t>(p + 4 * i)); break;
        case DataType::Int32: on_int(load<int32_t>(p + 4 * i)); break;
        case DataType::Float16:
        case DataType::Bfloat16:
        case DataType::Int16:
        case DataType::Uint16: small_int(load<uint16_t>(p + 2 * i)); break;
        default: small_int(static_cast<uint8_t>(p[i])); break;  // 8-bit types
      }
    }
    return;
  }
  switch (typed_field(d)) {
    case Field::Float:
      for (float v : t.float_data) on_float(v);
      break;
    case Field::Double:
      for (double v : t.double_data) on_float(v);
      break;
    case Field::Int64:
      for (int64_t v : t.int64_data) on_int(v);
      break;
    case Field::Uint64:
      for (uint64_t v : t.uint64_data) on_int(static_cast<int64_t>(v));
      break;
    case Field::Int32:
      if (four_bit) {
        for (int64_t i = 0; i < n; ++i) nibble(static_cast<uint8_t>(t.int32_data[i / 2]), i);
      } else {
        for (int32_t v : t.int32_data) small_int(v);
      }
      break;
    default: break;
  }
}

}  // namespace

int64_t tensor_num_elements(const Tensor& t) {
  // Bounded so that byte counts (up to 16 bytes per element) cannot overflow int64.
  constexpr int64_t kMaxElements = int64_t{1} << 58;
  int64_t n = 1;
  for (int64_t d : t.dims) {
    if (d < 0) invalid(t, "negative dimension in dims " + dims_string(t.dims));
    if (d != 0 && n > kMaxElements / d)
      invalid(t, "dims " + dims_string(t.dims) + " hold too many elements");
    n *= d;
  }
  return n;
}

void validate_tensor_payload(const Tensor& t) {
  if (t.is_external()) return;
  if (!dtype_is_known(t.data_type)) {
    if (t.data_type == 0 && !t.has_raw_data()) {
      bool any = false;
      for (Field f : kAllFields) any = any || field_size(t, f) != 0;
      if (!any) return;  // an undefined, empty tensor (e.g. a placeholder attribute value)
    }
    if (t.data_type == 0) invalid(t, "data_type is undefined (0) but the tensor holds data");
    return;  // a newer element type: kept as it is, cannot be checked
  }
  auto d = static_cast<DataType>(t.data_type);
  int64_t n = tensor_num_elements(t);
  Field own = typed_field(d);
  if (t.has_raw_data()) {
    if (d == DataType::String) invalid(t, "a string tensor cannot use raw_data (expected string_data)");
    for (Field f : kAllFields)
      if (field_size(t, f) != 0)
        invalid(t, std::string("has both raw_data and ") + field_name(f));
    int64_t want = raw_bytes(d, n);
    if (static_cast<int64_t>(t.raw_data.size()) != want)
      invalid(t, "raw_data has " + std::to_string(t.raw_data.size()) + " bytes, expected " +
                     std::to_string(want) + " (" + type_and_dims(t) + ")");
    return;
  }
  for (Field f : kAllFields)
    if (f != own && field_size(t, f) != 0)
      invalid(t, std::string("has ") + field_name(f) + ", but " + std::string(dtype_name(d)) +
                     " values belong in " + field_name(own));
  int64_t want = typed_count(d, n);
  auto have = static_cast<int64_t>(field_size(t, own));
  if (have != want)
    invalid(t, std::string(field_name(own)) + " has " + std::to_string(have) + " values, expected " +
                   std::to_string(want) + " (" + type_and_dims(t) + ")");
}

std::vector<float> tensor_to_floats(const Tensor& t) {
  std::vector<float> out;
  for_each_element(
      t, [&](int64_t n) { out.reserve(static_cast<size_t>(n)); },
      [&](double v) { out.push_back(static_cast<float>(v)); },
      [&](int64_t v) { out.push_back(static_cast<float>(v)); });
  return out;
}

std::vector<int64_t> tensor_to_int64s(const Tensor& t) {
  std::vector<int64_t> out;
  for_each_element(
      t, [&](int64_t n) { out.reserve(static_cast<size_t>(n)); },
      [&](double v) {
        // Truncate toward zero; NaN becomes 0 and out-of-range values saturate.
        constexpr double kLimit = 9223372036854775807.0;
        if (std::isnan(v)) out.push_back(0);
        else if (v >= kLimit) out.push_back(std::numeric_limits<int64_t>::max());
        else if (v <= -kLimit) out.push_back(std::numeric_limits<int64_t>::min());
        else out.push_back(static_cast<int64_t>(v));
      },
      [&](int64_t v) { out.push_back(v); });
  return out;
}

namespace {

Tensor make_raw_tensor(const std::string& name, DataType dtype, std::vector<int64_t> dims,
                       std::string raw) {
  Tensor t;
  t.name = name;
  t.data_type = static_cast<int32_t>(dtype);
  t.dims = std::move(dims);
  t.raw_data = Bytes(std::move(raw));
  t.wire.mark(9);
  return t;
}

int64_t checked_count(const std::string& name, const std::vector<int64_t>& dims, size_t values) {
  Tensor probe;
  probe.name = name;
  probe.dims = dims;
  int64_t n = tensor_num_elements(probe);
  if (n != static_cast<int64_t>(values))
    throw Error(ErrorKind::InvalidArgument, "tensor '" + name + "': dims " + dims_string(dims) +
                                                " hold " + std::to_string(n) + " elements, got " +
                                                std::to_string(values) + " values");
  return n;
}

}  // namespace

Tensor make_float_tensor(const std::string& name, std::vector<int64_t> dims,
                         const std::vector<float>& values) {
  checked_count(name, dims, values.size());
  std::string raw(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(&raw[0], values.data(), raw.size());
  return make_raw_tensor(name, DataType::Float, std::move(dims), std::move(raw));
}

Tensor make_int64_tensor(const std::string& name, std::vector<int64_t> dims,
                         const std::vector<int64_t>& values) {
  checked_count(name, dims, values.size());
  std::string raw(values.size() * sizeof(int64_t), '\0');
  if (!values.empty()) std::memcpy(&raw[0], values.data(), raw.size());
  return make_raw_tensor(name, DataType::Int64, std::move(dims), std::move(raw));
}

Tensor make_integer_tensor(const std::string& name, DataType dtype, std::vector<int64_t> dims,
                           const std::vector<int32_t>& values) {
  int64_t lo = 0, hi = 0;
  switch (dtype) {
    case DataType::Int4: lo = -8; hi = 7; break;
    case DataType::Uint4: lo = 0; hi = 15; break;
    case DataType::Int8: lo = -128; hi = 127; break;
    case DataType::Uint8: lo = 0; hi = 255; break;
    case DataType::Int16: lo = -32768; hi = 32767; break;
    case DataType::Uint16: lo = 0; hi = 65535; break;
    case DataType::Int32: lo = std::numeric_limits<int32_t>::min(); hi = std::numeric_limits<int32_t>::max(); break;
    default:
      throw Error(ErrorKind::InvalidArgument, "tensor '" + name + "': make_integer_tensor does not support " +
                                                  std::string(dtype_name(dtype)));
  }
  checked_count(name, dims, values.size());
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] < lo || values[i] > hi)
      throw Error(ErrorKind::InvalidArgument,
                  "tensor '" + name + "': value " + std::to_string(values[i]) + " at index " +
                      std::to_string(i) + " does not fit " + std::string(dtype_name(dtype)) +
                      " (expected " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  std::string raw;
  int bits = dtype_bits(dtype);
  if (bits == 4) {
    raw.assign((values.size() + 1) / 2, '\0');
    for (size_t i = 0; i < values.size(); ++i) {
      auto q = static_cast<uint8_t>(values[i] & 0xF);
      raw[i / 2] = static_cast<char>(static_cast<uint8_t>(raw[i / 2]) | (i & 1 ? q << 4 : q));
    }
  } else {
    size_t width = static_cast<size_t>(bits / 8);
    raw.assign(values.size() * width, '\0');
    for (size_t i = 0; i < values.size(); ++i) {
      auto u = static_cast<uint32_t>(values[i]);
      for (size_t b = 0; b < width; ++b) raw[i * width + b] = static_cast<char>(u >> (8 * b) & 0xFF);
    }
  }
  return make_raw_tensor(name, dtype, std::move(dims), std::move(raw));
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = h >> 10 & 0x1F;
  uint32_t m = h & 0x3FF;
  uint32_t bits;
  if (e == 0x1F) {
    bits = sign | 0x7F800000u | (m << 13);  // inf, or nan keeping its payload
  } else if (e == 0) {
    float mag = std::ldexp(static_cast<float>(m), -24);  // zero or subnormal, exact
    std::memcpy(&bits, &mag, sizeof bits);
    bits |= sign;
  } else {
    bits = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  auto sign = static_cast<uint16_t>(x >> 16 & 0x8000u);
  uint32_t e = x >> 23 & 0xFF;
  uint32_t m = x & 0x7FFFFF;
  if (e == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (m ? 0x200u | (m >> 13) : 0u));
  int32_t he = static_cast<int32_t>(e) - 127 + 15;
  if (he >= 0x1F) return static_cast<uint16_t>(sign | 0x7C00u);  // overflow -> inf
  if (he <= 0) {
    // Subnormal half (or zero): shift the full significand, rounding to nearest even.
    if (he < -10) return sign;
    uint32_t sig = m | 0x800000u;
    int shift = 14 - he;
    uint32_t q = sig >> shift;
    uint32_t rem = sig & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t q = (static_cast<uint32_t>(he) << 10) | (m >> 13);
  uint32_t rem = m & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) ++q;  // a carry into the exponent is correct
  return static_cast<uint16_t>(sign | q);
}

float bfloat16_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t float_to_bfloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>(x >> 16 | 0x0040u);  // quiet nan
  uint32_t lsb = x >> 16 & 1u;
  x += 0x7FFFu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace qm::onnx
