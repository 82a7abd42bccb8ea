// inspect: MACs per sample against closed forms (Conv, depthwise, ConvTranspose, Gemm, MatMul
// with token dims, batch > 1, symbolic batch), params, weight shapes, --input-shape handling,
// warnings, and the JSON/text output (the JSON writer's escaping checked against hand-written
// strings).
#include <doctest/doctest.h>

#include <cmath>

#include "api/inspect.h"
#include "core/json.h"
#include "onnx/model_writer.h"
#include "test_util.h"

using qm::ErrorKind;
using qm::api::inspect_loaded_model;
using qm::api::InspectReport;
using qm::ops::Dim;
using qm::test::ModelBuilder;

namespace {
InspectReport inspect(ModelBuilder& b, qm::api::InputShapes shapes = {}) {
  return inspect_loaded_model(b.model(), "m.onnx", shapes);
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("inspect/macs: Conv, depthwise Conv and ConvTranspose closed forms") {
  ModelBuilder b(13);
  b.input("x", {1, 3, 32, 32}).weight("w", {16, 3, 3, 3}).weight("dw", {16, 1, 3, 3}).weight("wt", {16, 4, 2, 2});
  b.node("Conv", {"x", "w"}, {"a"}, "conv").ints("pads", {1, 1, 1, 1});
  b.node("Conv", {"a", "dw"}, {"d"}, "depthwise").ints("pads", {1, 1, 1, 1}).i("group", 16);
  b.node("ConvTranspose", {"d", "wt"}, {"y"}, "up").ints("strides", {2, 2});
  b.output("y");
  const InspectReport r = inspect(b);
  REQUIRE(r.layers.size() == 3);
  // Conv: output elements x (C_in/group) x kH x kW
  CHECK(r.layers[0].macs == int64_t{16 * 32 * 32} * 3 * 3 * 3);
  CHECK(r.layers[0].weight_shape == std::vector<int64_t>{16, 3, 3, 3});
  CHECK(r.layers[1].macs == int64_t{16 * 32 * 32} * 1 * 3 * 3);
  // ConvTranspose: input elements x (C_out/group) x kH x kW
  CHECK(r.layers[2].macs == int64_t{16 * 32 * 32} * 4 * 2 * 2);
  CHECK(r.macs == *r.layers[0].macs + *r.layers[1].macs + *r.layers[2].macs);
  CHECK(r.params == 16 * 27 + 16 * 9 + 16 * 16);
  CHECK(r.warnings.empty());
}

TEST_CASE("inspect/macs: Gemm and MatMul count every token dimension, per sample") {
  ModelBuilder b(13);
  b.input("tokens", {4, 50, 64}).weight("wq", {64, 128}).weight("fc", {10, 128});
  b.node("MatMul", {"tokens", "wq"}, {"q"}, "proj");              // 4 x 50 x 64 x 128
  b.node("Transpose", {"q"}, {"qt"}).ints("perm", {0, 2, 1});
  b.node("MatMul", {"q", "qt"}, {"att"}, "scores");               // 4 x 50 x 50 x 128
  b.node("ReduceMean", {"q"}, {"pooled"}).ints("axes", {1}).i("keepdims", 0);
  b.node("Gemm", {"pooled", "fc"}, {"y"}, "head").i("transB", 1); // M=4, N=10, K=128
  b.output("y").output("att");
  const InspectReport r = inspect(b);
  REQUIRE(r.layers.size() == 3);
  CHECK(r.batch == 4);
  CHECK(r.layers[0].macs == int64_t{50} * 64 * 128);
  CHECK(r.layers[0].weight_shape == std::vector<int64_t>{64, 128});
  CHECK(r.layers[1].macs == int64_t{50} * 50 * 128);
  CHECK(r.layers[1].weight_shape.empty());  // both operands are activations
  CHECK(r.layers[2].macs == int64_t{10} * 128);
  CHECK(r.macs == int64_t{50} * 64 * 128 + 50 * 50 * 128 + 10 * 128);
}

TEST_CASE("inspect/macs: a symbolic batch counts as 1; --input-shape with batch 4 gives the same per sample") {
  auto make = [](ModelBuilder& b) {
    b.input("x", {Dim::sym("batch"), 3, 16, 16}).weight("w", {8, 3, 3, 3}).weight("fc", {8, 10});
    b.int64s("zero", {0}, true).int64s("minus1", {-1}).int64s("axes", {0});
    b.node("Conv", {"x", "w"}, {"c"}, "conv");
    b.node("GlobalAveragePool", {"c"}, {"g"});
    b.node("Shape", {"g"}, {"s"});
    b.node("Gather", {"s", "zero"}, {"n"});
    b.node("Unsqueeze", {"n", "axes"}, {"n1"});
    b.node("Concat", {"n1", "minus1"}, {"t"}).i("axis", 0);
    b.node("Reshape", {"g", "t"}, {"flat"});
    b.node("MatMul", {"flat", "fc"}, {"y"}, "fc");
    b.output("y");
  };
  const int64_t conv = int64_t{8 * 14 * 14} * 27, fc = 8 * 10;
  ModelBuilder b(13);
  make(b);
  const InspectReport r = inspect(b);
  CHECK_FALSE(r.batch.has_value());
  CHECK(r.macs == conv + fc);
  CHECK(r.warnings.empty());
  REQUIRE(r.outputs[0].shape);
  CHECK((*r.outputs[0].shape)[0].symbol == "batch");
  CHECK((*r.outputs[0].shape)[1].value == 10);

  ModelBuilder b4(13);
  make(b4);
  const InspectReport r4 = inspect(b4, {{"x", {4, 3, 16, 16}}});
  CHECK(r4.batch == 4);
  CHECK(r4.macs == conv + fc);
  CHECK(r4.layers[0].macs == conv);
  CHECK((*r4.inputs[0].shape)[0].value == 4);
}

TEST_CASE("inspect/macs: unknown spatial dims give null MACs and a warning with the shapes to give, in the front end's words") {
  ModelBuilder b(13);
  b.input("img", {Dim::sym("N"), 3, Dim::sym("H"), Dim::sym("W")}).weight("w", {8, 3, 3, 3});
  b.node("Conv", {"img", "w"}, {"y"}, "conv");
  b.output("y");
  const InspectReport r = inspect(b);
  CHECK_FALSE(r.macs.has_value());
  CHECK_FALSE(r.layers[0].macs.has_value());
  REQUIRE(r.warnings.size() == 1);
  CHECK(has(r.warnings[0], "'conv'"));
  CHECK(has(r.warnings[0], "input shapes are not fully known; fix them, e.g. img=1x3xHxW with numbers in place of the symbols"));
  CHECK(!has(r.warnings[0], "--"));
  const InspectReport cli = inspect_loaded_model(b.model(), "m.onnx", {}, {"--input-shape", "pass", "--input-shape "});
  REQUIRE(cli.warnings.size() == 1);
  CHECK(has(cli.warnings[0], "; pass --input-shape img=1x3xHxW with numbers"));
  CHECK(has(r.warnings[0], "batch dimension 'N' is counted as 1"));
  const InspectReport fixed = inspect(b, {{"img", {1, 3, 10, 12}}});
  CHECK(fixed.macs == int64_t{8 * 8 * 10} * 27);
}

TEST_CASE("inspect/input-shape: unknown name, wrong rank, malformed values") {
  ModelBuilder b(13);
  b.input("x", {1, 3, 8, 8}).weight("w", {4, 3, 3, 3});
  b.node("Conv", {"x", "w"}, {"y"});
  b.output("y");
  auto err = [&](qm::api::InputShapes s) -> std::pair<ErrorKind, std::string> {
    try {
      inspect(b, s);
    } catch (const qm::Error& e) {
      return {e.kind(), e.what()};
    }
    return {ErrorKind::kCount, ""};
  };
  const auto e1 = err({{"nope", {1, 3, 8, 8}}});
  CHECK(e1.first == ErrorKind::InvalidArgument);
  CHECK(e1.second == "input shape 'nope=1x3x8x8': 'nope' is not an input of m.onnx (inputs: 'x')");
  const auto e2 = err({{"x", {1, 3, 8}}});
  CHECK(e2.first == ErrorKind::InvalidArgument);
  CHECK(has(e2.second, "input 'x' has rank 4"));
  CHECK(has(e2.second, "got 3 dimensions"));
  // An initializer is not an input even if listed as one.
  const auto e3 = err({{"w", {4, 3, 3, 3}}});
  CHECK(e3.first == ErrorKind::InvalidArgument);

  CHECK(qm::api::parse_input_shape("input=1x3x224x224") ==
        std::pair<std::string, std::vector<int64_t>>{"input", {1, 3, 224, 224}});
  CHECK(qm::api::parse_input_shape("a=b=7").first == "a=b");
  for (const char* bad : {"x", "x=", "=1x2", "x=1xAx3", "x=1x-3", "x=1x0", "x=1xx2", "x=99999999999999999"}) {
    CAPTURE(bad);
    std::string msg = qm::test::error_of([&] { qm::api::parse_input_shape(bad); });
    CHECK(has(msg, "input shape '" + std::string(bad) + "'"));
    // A front end names the setting in its own words.
    const std::string cli = qm::test::error_of([&] { qm::api::parse_input_shape(bad, {"--input-shape", "pass", "--input-shape "}); });
    CHECK(cli.rfind("--input-shape '" + std::string(bad) + "': ", 0) == 0);
  }
  const qm::api::ShapeWording flag{"--input-shape", "pass", "--input-shape "};
  CHECK(qm::test::error_of([&] { inspect_loaded_model(b.model(), "m.onnx", {{"nope", {1, 3, 8, 8}}}, flag); }) ==
        "--input-shape 'nope=1x3x8x8': 'nope' is not an input of m.onnx (inputs: 'x')");
}

TEST_CASE("inspect/params: float initializers and float Constant tensors count; integer ones do not") {
  ModelBuilder b(13);
  b.input("x", {1, 4}).weight("w", {3, 4}).int64s("shape", {1, 3});
  b.node("Constant", {}, {"bias"}).tensor("value", qm::onnx::make_float_tensor("b", {3}, {1, 2, 3}));
  b.node("Constant", {}, {"s"}).f("value_float", 2.0f);
  b.node("Constant", {}, {"i"}).ints("value_ints", {1, 2});
  b.node("Gemm", {"x", "w", "bias"}, {"g"}, "fc").i("transB", 1);
  b.node("Reshape", {"g", "shape"}, {"r"});
  b.node("Mul", {"r", "s"}, {"y"});
  b.output("y");
  const InspectReport r = inspect(b);
  CHECK(r.params == 12 + 3 + 1);
  CHECK(r.ops == std::vector<std::pair<std::string, int64_t>>{{"Constant", 3}, {"Gemm", 1}, {"Reshape", 1}, {"Mul", 1}});
  CHECK(r.layers[0].weight_shape == std::vector<int64_t>{3, 4});
}

TEST_CASE("inspect/model: bytes in, external data from the map, file name in graph errors") {
  ModelBuilder b(13);
  b.input("x", {1, 2}).weight("w", {2, 3});
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  b.output("y");
  auto bytes = std::make_shared<const std::string>(qm::onnx::write_model(b.model()));
  const InspectReport r = qm::api::inspect_model(bytes, "tiny.onnx", {}, {});
  CHECK(r.file == "tiny.onnx");
  CHECK(r.macs == 6);

  ModelBuilder bad(13);
  bad.input("x", {1, 2});
  bad.node("Add", {"x", "ghost"}, {"y"}, "add");
  bad.output("y");
  auto bad_bytes = std::make_shared<const std::string>(qm::onnx::write_model(bad.model()));
  const std::string msg = qm::test::error_of([&] { qm::api::inspect_model(bad_bytes, "bad.onnx", {}, {}); });
  CHECK(msg.rfind("bad.onnx: node 'add' (Add): input 'ghost'", 0) == 0);
}

TEST_CASE("inspect/json: keys, nulls for unknown values, symbols as strings") {
  ModelBuilder b(13);
  b.input("x\"q", {Dim::sym("N"), 4}).weight("w", {4, 2});
  b.node("MatMul", {"x\"q", "w"}, {"y"}, "mm\n1");
  b.node("Relu", {"y"}, {"z"});
  b.output("z");
  const std::string j = qm::api::inspect_to_json(inspect(b));
  CHECK(has(j, R"("inputs": [)"));
  CHECK(has(j, R"({"name": "x\"q", "dtype": "float", "shape": ["N", 4]})"));
  CHECK(has(j, R"({"name": "mm\n1", "op": "MatMul", "weight_shape": [4, 2], "macs": 8})"));
  CHECK(has(j, R"("opsets": {"": 13})"));
  CHECK(has(j, R"("ops": {"MatMul": 1, "Relu": 1})"));
  CHECK(has(j, R"("macs": 8,)"));
  CHECK(has(j, R"("batch": null)"));
  CHECK(has(j, R"("unsupported": [])"));
  const std::string t = qm::api::inspect_to_text(inspect(b));
  CHECK(has(t, "MACs         8 per sample"));
}

TEST_CASE("core/json: escaping, invalid UTF-8, numbers, nesting") {
  CHECK(qm::json_quote("a\"b\\c\n\t\x01") == R"("a\"b\\c\n\t\u0001")");
  CHECK(qm::json_quote("caf\xC3\xA9") == "\"caf\xC3\xA9\"");  // valid UTF-8 kept
  CHECK(qm::json_quote("bad\xFF\xC3") == "\"bad\xEF\xBF\xBD\xEF\xBF\xBD\"");  // each bad byte -> U+FFFD
  CHECK(qm::json_quote("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  CHECK(qm::json_number(0.1) == "0.1");
  CHECK(qm::json_number(1e300) == "1e+300");
  CHECK(qm::json_number(3.0) == "3");
  CHECK(qm::json_number(std::nan("")) == "null");
  qm::JsonWriter w;
  w.begin_object().key("a").begin_array().value(1).value("x").null().value(true).end_array();
  w.key("b").begin_object().end_object().key("c").value(-2.5).end_object();
  CHECK(w.str() == R"({"a":[1,"x",null,true],"b":{},"c":-2.5})");
  qm::JsonWriter p(2);
  p.begin_object().key("s").begin_array(true).value(1).value(2).end_array().key("e").begin_array().end_array().end_object();
  CHECK(p.str() == "{\n  \"s\": [1, 2],\n  \"e\": []\n}");
}
