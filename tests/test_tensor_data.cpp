// TensorProto payload decoding against closed-form values (IEEE half/bfloat16 bit patterns,
// float8 tables from the ONNX spec, int4 nibble order) and external data loading.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "core/error.h"
#include "onnx/model_reader.h"
#include "onnx/model_writer.h"
#include "onnx/tensor_data.h"

using namespace qm;
using namespace qm::onnx;

namespace {

Tensor raw_tensor(DataType d, std::vector<int64_t> dims, std::string raw, const std::string& name = "t") {
  Tensor t;
  t.name = name;
  t.data_type = static_cast<int32_t>(d);
  t.dims = std::move(dims);
  t.raw_data = Bytes(std::move(raw));
  t.wire.mark(9);
  return t;
}

Tensor typed_tensor(DataType d, std::vector<int64_t> dims, const std::string& name = "t") {
  Tensor t;
  t.name = name;
  t.data_type = static_cast<int32_t>(d);
  t.dims = std::move(dims);
  return t;
}

float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("onnx/tensor_data: float16 conversions match IEEE binary16 bit patterns") {
  CHECK(float_to_half(1.0f) == 0x3C00);
  CHECK(float_to_half(-2.0f) == 0xC000);
  CHECK(float_to_half(65504.0f) == 0x7BFF);           // largest finite half
  CHECK(float_to_half(65519.0f) == 0x7BFF);           // below the halfway point to 65536
  CHECK(float_to_half(65520.0f) == 0x7C00);           // tie, rounds to even = infinity
  CHECK(float_to_half(1e10f) == 0x7C00);
  CHECK(float_to_half(-std::numeric_limits<float>::infinity()) == 0xFC00);
  CHECK(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);  // tie between 0 and 2^-24 -> even (0)
  CHECK(float_to_half(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);  // tie between 1 and 2 ulps -> even
  CHECK(float_to_half(std::ldexp(1023.0f, -24)) == 0x03FF);  // largest subnormal
  CHECK(float_to_half(-0.0f) == 0x8000);
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie -> even mantissa 0
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie -> even mantissa 2
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)) == 0x3C01);
  uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  CHECK((nan & 0x7C00) == 0x7C00);
  CHECK((nan & 0x03FF) != 0);

  CHECK(half_to_float(0x3C00) == 1.0f);
  CHECK(half_to_float(0x7BFF) == 65504.0f);
  CHECK(half_to_float(0x3555) == 0.333251953125f);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(half_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(half_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(half_to_float(0x7E00)));
  CHECK(std::signbit(half_to_float(0x8000)));

  // Every non-NaN half survives half -> float -> half.
  int mismatches = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;
    if (float_to_half(half_to_float(static_cast<uint16_t>(h))) != h) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("onnx/tensor_data: bfloat16 conversions round to nearest even") {
  CHECK(float_to_bfloat16(1.0f) == 0x3F80);
  CHECK(float_to_bfloat16(-1.0f) == 0xBF80);
  CHECK(float_to_bfloat16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);      // tie -> even
  CHECK(float_to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);  // tie -> even
  CHECK(float_to_bfloat16(bits_to_float(0x3F808001)) == 0x3F81);        // just above the tie
  CHECK(float_to_bfloat16(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(float_to_bfloat16(bits_to_float(0x7F7FFFFF)) == 0x7F80);  // FLT_MAX rounds to inf
  uint16_t nan = float_to_bfloat16(bits_to_float(0x7F800001));    // signalling NaN stays NaN
  CHECK((nan & 0x7F80) == 0x7F80);
  CHECK((nan & 0x007F) != 0);
  CHECK(bfloat16_to_float(0x4049) == 3.140625f);
  CHECK(bfloat16_to_float(0x0001) == bits_to_float(0x00010000));  // subnormal
}

TEST_CASE("onnx/tensor_data: float8 and float4 decode per the ONNX spec tables") {
  auto decode = [](DataType d, std::vector<uint8_t> bytes) {
    std::string raw(bytes.begin(), bytes.end());
    int64_t n = dtype_bits(d) == 4 ? static_cast<int64_t>(bytes.size()) * 2 : static_cast<int64_t>(bytes.size());
    return tensor_to_floats(raw_tensor(d, {n}, raw));
  };
  auto e4m3 = decode(DataType::Float8E4M3FN, {0x38, 0x7E, 0x01, 0xFE, 0x7F, 0x00, 0x80});
  CHECK(e4m3[0] == 1.0f);
  CHECK(e4m3[1] == 448.0f);
  CHECK(e4m3[2] == std::ldexp(1.0f, -9));
  CHECK(e4m3[3] == -448.0f);
  CHECK(std::isnan(e4m3[4]));
  CHECK(e4m3[5] == 0.0f);
  CHECK(std::signbit(e4m3[6]));
  auto e4m3uz = decode(DataType::Float8E4M3FNUZ, {0x40, 0x7F, 0x80, 0x01});
  CHECK(e4m3uz[0] == 1.0f);
  CHECK(e4m3uz[1] == 240.0f);
  CHECK(std::isnan(e4m3uz[2]));
  CHECK(e4m3uz[3] == std::ldexp(1.0f, -10));
  auto e5m2 = decode(DataType::Float8E5M2, {0x3C, 0x7B, 0x7C, 0xFC, 0x7D, 0x01});
  CHECK(e5m2[0] == 1.0f);
  CHECK(e5m2[1] == 57344.0f);
  CHECK(e5m2[2] == std::numeric_limits<float>::infinity());
  CHECK(e5m2[3] == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(e5m2[4]));
  CHECK(e5m2[5] == std::ldexp(1.0f, -16));
  auto e5m2uz = decode(DataType::Float8E5M2FNUZ, {0x40, 0x7F, 0x80});
  CHECK(e5m2uz[0] == 1.0f);
  CHECK(e5m2uz[1] == 57344.0f);
  CHECK(std::isnan(e5m2uz[2]));
  auto e8m0 = decode(DataType::Float8E8M0, {127, 128, 0, 0xFF});
  CHECK(e8m0[0] == 1.0f);
  CHECK(e8m0[1] == 2.0f);
  CHECK(e8m0[2] == std::ldexp(1.0f, -127));
  CHECK(std::isnan(e8m0[3]));
  // float4 e2m1: two per byte, low nibble first; magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6.
  auto f4 = decode(DataType::Float4E2M1, {0x21, 0xF7, 0x9C});
  CHECK(f4 == std::vector<float>{0.5f, 1.0f, 6.0f, -6.0f, -2.0f, -0.5f});
}

TEST_CASE("onnx/tensor_data: int4/uint4 pack two per byte, low nibble first") {
  Tensor s = make_integer_tensor("q", DataType::Int4, {3}, {-8, 7, -1});
  REQUIRE(s.raw_data.size() == 2);
  CHECK(static_cast<uint8_t>(s.raw_data.data()[0]) == 0x78);
  CHECK(static_cast<uint8_t>(s.raw_data.data()[1]) == 0x0F);
  CHECK(tensor_to_int64s(s) == std::vector<int64_t>{-8, 7, -1});
  CHECK(tensor_to_floats(s) == std::vector<float>{-8.0f, 7.0f, -1.0f});

  Tensor u = make_integer_tensor("q", DataType::Uint4, {2, 2}, {1, 15, 2, 0});
  REQUIRE(u.raw_data.size() == 2);
  CHECK(static_cast<uint8_t>(u.raw_data.data()[0]) == 0xF1);
  CHECK(static_cast<uint8_t>(u.raw_data.data()[1]) == 0x02);
  CHECK(tensor_to_int64s(u) == std::vector<int64_t>{1, 15, 2, 0});

  // Typed form: each int32_data entry holds one packed byte (two elements).
  Tensor typed = typed_tensor(DataType::Int4, {3});
  typed.int32_data = {0x78, 0x0F};
  CHECK(tensor_to_int64s(typed) == std::vector<int64_t>{-8, 7, -1});

  Tensor i8 = make_integer_tensor("b", DataType::Int8, {3}, {-128, 0, 127});
  CHECK(i8.raw_data.view() == std::string("\x80\x00\x7f", 3));
  Tensor u16 = make_integer_tensor("h", DataType::Uint16, {1}, {0xBEEF});
  CHECK(u16.raw_data.view() == std::string("\xef\xbe", 2));
  CHECK(error_of([] { make_integer_tensor("q", DataType::Int4, {1}, {8}); }) ==
        "tensor 'q': value 8 at index 0 does not fit int4 (expected -8..7)");
  CHECK(error_of([] { make_integer_tensor("q", DataType::Int8, {2}, {1}); }) ==
        "tensor 'q': dims [2] hold 2 elements, got 1 values");
}

TEST_CASE("onnx/tensor_data: typed fields and raw_data decode to the same values") {
  SUBCASE("float16 bits in int32_data") {
    Tensor t = typed_tensor(DataType::Float16, {3});
    t.int32_data = {0x3C00, 0xC000, 0x7BFF};
    CHECK(tensor_to_floats(t) == std::vector<float>{1.0f, -2.0f, 65504.0f});
    Tensor r = raw_tensor(DataType::Float16, {3}, std::string("\x00\x3c\x00\xc0\xff\x7b", 6));
    CHECK(tensor_to_floats(r) == tensor_to_floats(t));
  }
  SUBCASE("bfloat16 bits in int32_data") {
    Tensor t = typed_tensor(DataType::Bfloat16, {2});
    t.int32_data = {0x3F80, 0x4049};
    CHECK(tensor_to_floats(t) == std::vector<float>{1.0f, 3.140625f});
  }
  SUBCASE("int8, uint8, int16, uint16, bool in int32_data") {
    Tensor i8 = typed_tensor(DataType::Int8, {2});
    i8.int32_data = {-128, 127};
    CHECK(tensor_to_int64s(i8) == std::vector<int64_t>{-128, 127});
    Tensor u8 = typed_tensor(DataType::Uint8, {2});
    u8.int32_data = {0, 255};
    CHECK(tensor_to_int64s(u8) == std::vector<int64_t>{0, 255});
    Tensor i16 = typed_tensor(DataType::Int16, {1});
    i16.int32_data = {-32768};
    CHECK(tensor_to_int64s(i16) == std::vector<int64_t>{-32768});
    Tensor u16 = typed_tensor(DataType::Uint16, {1});
    u16.int32_data = {65535};
    CHECK(tensor_to_int64s(u16) == std::vector<int64_t>{65535});
    Tensor b = typed_tensor(DataType::Bool, {3});
    b.int32_data = {1, 0, 1};
    CHECK(tensor_to_floats(b) == std::vector<float>{1.0f, 0.0f, 1.0f});
    Tensor br = raw_tensor(DataType::Bool, {2}, std::string("\x01\x00", 2));
    CHECK(tensor_to_int64s(br) == std::vector<int64_t>{1, 0});
  }
  SUBCASE("uint32 and uint64 in uint64_data") {
    Tensor u32 = typed_tensor(DataType::Uint32, {1});
    u32.uint64_data = {4294967295u};
    CHECK(tensor_to_int64s(u32) == std::vector<int64_t>{4294967295});
    Tensor u32r = raw_tensor(DataType::Uint32, {1}, std::string("\xff\xff\xff\xff", 4));
    CHECK(tensor_to_int64s(u32r) == std::vector<int64_t>{4294967295});
  }
  SUBCASE("int64, double, float fields") {
    Tensor i64 = typed_tensor(DataType::Int64, {2});
    i64.int64_data = {-1, int64_t{1} << 40};
    CHECK(tensor_to_int64s(i64) == std::vector<int64_t>{-1, int64_t{1} << 40});
    Tensor d = typed_tensor(DataType::Double, {2});
    d.double_data = {0.5, -2.75};
    CHECK(tensor_to_floats(d) == std::vector<float>{0.5f, -2.75f});
    Tensor f = typed_tensor(DataType::Float, {2});
    f.float_data = {-1.7f, 2.9f};
    CHECK(tensor_to_int64s(f) == std::vector<int64_t>{-1, 2});  // truncation toward zero
    Tensor fr = make_float_tensor("f", {2}, {-1.7f, 2.9f});
    CHECK(tensor_to_floats(fr) == f.float_data);
    Tensor ir = make_int64_tensor("i", {2}, {-1, int64_t{1} << 40});
    CHECK(tensor_to_int64s(ir) == i64.int64_data);
  }
  SUBCASE("scalar and empty tensors") {
    CHECK(tensor_num_elements(typed_tensor(DataType::Float, {})) == 1);
    CHECK(tensor_num_elements(typed_tensor(DataType::Float, {3, 0})) == 0);
    CHECK(tensor_to_floats(make_float_tensor("e", {0}, {})).empty());
  }
}

TEST_CASE("onnx/tensor_data: payload checks name the tensor and the mismatch") {
  struct Case {
    const char* what;
    Tensor t;
    const char* message;
  };
  Tensor both = make_float_tensor("w", {1}, {1.0f});
  both.float_data = {1.0f};
  Tensor wrong_field = typed_tensor(DataType::Float, {1}, "w");
  wrong_field.int64_data = {1};
  Tensor short_typed = typed_tensor(DataType::Float, {2, 2}, "w");
  short_typed.float_data = {1, 2, 3};
  Tensor strings = raw_tensor(DataType::String, {1}, "abc", "s");
  Tensor negative = typed_tensor(DataType::Float, {2, -1}, "n");
  Tensor huge = typed_tensor(DataType::Float, {int64_t{1} << 40, int64_t{1} << 40}, "h");
  Tensor undefined = raw_tensor(DataType::Undefined, {1}, "abcd", "u");
  Case cases[] = {
      {"raw size", raw_tensor(DataType::Float, {3}, std::string(10, '\0'), "w"),
       "tensor 'w': raw_data has 10 bytes, expected 12 (float [3])"},
      {"int4 raw size", raw_tensor(DataType::Int4, {3}, std::string(1, '\0'), "q"),
       "tensor 'q': raw_data has 1 bytes, expected 2 (int4 [3])"},
      {"both", both, "tensor 'w': has both raw_data and float_data"},
      {"wrong field", wrong_field, "tensor 'w': has int64_data, but float values belong in float_data"},
      {"typed count", short_typed, "tensor 'w': float_data has 3 values, expected 4 (float [2, 2])"},
      {"string raw", strings, "tensor 's': a string tensor cannot use raw_data (expected string_data)"},
      {"negative dim", negative, "tensor 'n': negative dimension in dims [2, -1]"},
      {"overflow", huge, "tensor 'h': dims [1099511627776, 1099511627776] hold too many elements"},
      {"undefined", undefined, "tensor 'u': data_type is undefined (0) but the tensor holds data"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.what));
    CHECK(error_of([&] { validate_tensor_payload(c.t); }) == c.message);
  }
  Tensor complex = typed_tensor(DataType::Complex64, {1});
  complex.float_data = {1, 2};
  CHECK_NOTHROW(validate_tensor_payload(complex));
  try {
    tensor_to_floats(complex);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Unsupported);
  }
  Tensor ext = typed_tensor(DataType::Float, {4}, "x");
  ext.data_location = 1;
  CHECK_NOTHROW(validate_tensor_payload(ext));
  CHECK(error_of([&] { tensor_to_floats(ext); }) ==
        "tensor 'x': its data is in an external file that was not loaded");
}

namespace {

/// A model whose single initializer lives in `location` at `offset`.
Model external_model(const std::string& location, const std::string& offset, const std::string& length) {
  Model m;
  m.ir_version = 8;
  m.wire.mark(1);
  m.graph.emplace();
  Tensor w = typed_tensor(DataType::Float, {2, 2}, "fc.weight");
  w.data_location = 1;
  for (auto [k, v] : {std::pair<const char*, std::string>{"location", location}, {"offset", offset},
                      {"length", length}}) {
    if (v.empty()) continue;
    StringStringEntry e;
    e.key = k;
    e.value = v;
    w.external_data.push_back(e);
  }
  m.graph->initializer.push_back(w);
  Node n;
  n.op_type = "Identity";
  n.input = {"fc.weight"};
  n.output = {"y"};
  m.graph->node.push_back(n);
  return m;
}

}  // namespace

TEST_CASE("onnx/external_data: a model written with a data file loads back the same values") {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(QM_TESTDATA_DIR) / "onnx_external";
  fs::create_directories(dir);
  const std::vector<float> values = {1.0f, -2.5f, 3.25f, 4.0f};
  {
    std::ofstream f(dir / "m.onnx.data", std::ios::binary | std::ios::trunc);
    f.write("HEADER..", 8);
    f.write(reinterpret_cast<const char*>(values.data()), 16);
  }
  write_model_file(external_model("m.onnx.data", "8", "16"), (dir / "m.onnx").string());

  Model m = read_model_file((dir / "m.onnx").string());
  CHECK(has_external_data(m));
  load_external_data(m, external_data_from_folder(dir.string()), "m.onnx");
  CHECK_FALSE(has_external_data(m));
  const Tensor& w = m.graph->initializer[0];
  CHECK(w.has_raw_data());
  CHECK(w.external_data.empty());
  CHECK(tensor_to_floats(w) == values);
  // Written back, the model is self-contained: no data_location field, raw_data inline.
  Model again = read_model(std::make_shared<const std::string>(write_model(m)), "again.onnx");
  CHECK_FALSE(again.graph->initializer[0].wire.has(14));
  CHECK(tensor_to_floats(again.graph->initializer[0]) == values);

  // Without a length the data runs to the end of the file.
  Model no_length = external_model("m.onnx.data", "8", "");
  load_external_data(no_length, external_data_from_folder(dir.string()), "m.onnx");
  CHECK(tensor_to_floats(no_length.graph->initializer[0]) == values);
}

TEST_CASE("onnx/external_data: a model saved by python onnx resolves its data file") {
  // tests/data/fuzz_seeds/external.onnx comes from tests/fuzz/make_seeds.py (onnx.numpy_helper).
  std::string folder = std::string(QM_SOURCE_DIR) + "/tests/data/fuzz_seeds";
  Model m = read_model_file(folder + "/external.onnx");
  REQUIRE(m.graph->initializer.size() == 1);
  CHECK(m.graph->initializer[0].is_external());
  load_external_data(m, external_data_from_folder(folder), "external.onnx");
  CHECK(tensor_to_floats(m.graph->initializer[0]) == std::vector<float>{1.0f, -2.5f, 3.25f, 4.0f});
}

TEST_CASE("onnx/external_data: missing files, bad ranges and path traversal are refused") {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(QM_TESTDATA_DIR) / "onnx_external_bad";
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "short.bin", std::ios::binary | std::ios::trunc);
    f.write("0123456789", 10);
  }
  auto source = external_data_from_folder(dir.string());
  auto load = [&](Model m) { return error_of([&] { load_external_data(m, source, "m.onnx"); }); };

  std::string missing = load(external_model("m.onnx.data", "0", "16"));
  CHECK(missing.rfind("m.onnx: initializer 'fc.weight' stores its data in 'm.onnx.data', which was not given (", 0) == 0);
  // The front end's advice, when it gives one, comes before the source's reason.
  Model advised = external_model("m.onnx.data", "0", "16");
  CHECK(error_of([&] { load_external_data(advised, source, "m.onnx", "put it beside the model"); })
            .rfind("m.onnx: initializer 'fc.weight' stores its data in 'm.onnx.data', which was not given "
                   "— put it beside the model (",
                   0) == 0);
  CHECK(load(external_model("../secret.bin", "0", "16")) ==
        "m.onnx: initializer 'fc.weight': external data location '../secret.bin' leaves the model's folder "
        "(expected a relative path without '..')");
  CHECK(load(external_model("/etc/passwd", "0", "16")).find("leaves the model's folder") != std::string::npos);
  CHECK(load(external_model("a/../../b", "0", "16")).find("leaves the model's folder") != std::string::npos);
  CHECK(load(external_model("short.bin", "4", "16")) ==
        "m.onnx: initializer 'fc.weight': external data range 4+16 is past the end of 'short.bin' (10 bytes)");
  CHECK(load(external_model("short.bin", "11", "")) ==
        "m.onnx: initializer 'fc.weight': external data offset 11 is past the end of 'short.bin' (10 bytes)");
  CHECK(load(external_model("short.bin", "-1", "4")) ==
        "m.onnx: initializer 'fc.weight': external data offset '-1' is not a byte count");
  CHECK(load(external_model("short.bin", "0", "8")) ==
        "m.onnx: initializer 'fc.weight' (external data in 'short.bin'): tensor 'fc.weight': raw_data has 8 "
        "bytes, expected 16 (float [2, 2])");
  CHECK(load(external_model("", "0", "16")) == "m.onnx: initializer 'fc.weight': external data has no 'location'");
}
