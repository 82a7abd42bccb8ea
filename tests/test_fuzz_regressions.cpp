// What the libFuzzer targets (tests/fuzz) found in the ops, as values: each of these was undefined
// behaviour (signed overflow, out-of-range float -> int) reported by UBSan on a seed of
// fuzz_model_run. The fuzz build (ASan + UBSan, reports fatal) is what fails on the old code;
// natively these check that the defined results are the intended ones.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "graph/executor.h"
#include "graph/plan.h"
#include "kernels/conv.h"
#include "kernels/pool.h"
#include "test_util.h"

using qm::DataType;
using qm::Tensor;
using qm::ops::Dim;
using qm::test::error_of;
using qm::test::ModelBuilder;

namespace {

std::vector<Tensor> run(ModelBuilder& b, const std::vector<Tensor>& inputs) {
  b.build();
  qm::graph::Plan plan(b.graph());
  qm::graph::Executor ex(plan);
  return ex.run(inputs);
}

template <class T>
Tensor tensor(DataType t, std::vector<T> v) {
  Tensor x(t, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) x.data<T>()[i] = v[i];
  return x;
}

}  // namespace

TEST_CASE("fuzz/ops: Slice with steps of +-2^63 takes one element (no overflow)") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  // A dynamic input: the run path (shape_ops_run.cpp), not constant folding.
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N")});
  b.int64s("s1", {1}).int64s("e1", {kMax}).int64s("a", {0}).int64s("p1", {kMax});
  b.int64s("s2", {3}).int64s("e2", {kMin}).int64s("p2", {kMin});
  b.node("Slice", {"x", "s1", "e1", "a", "p1"}, {"fwd"});
  b.node("Slice", {"x", "s2", "e2", "a", "p2"}, {"back"});
  b.output("fwd").output("back");
  const auto out = run(b, {tensor<float>(DataType::Float, {10, 11, 12, 13, 14})});
  REQUIRE(out[0].shape() == qm::Shape{1});
  CHECK(out[0].data<float>()[0] == 11);
  REQUIRE(out[1].shape() == qm::Shape{1});
  CHECK(out[1].data<float>()[0] == 13);
  // Known ints (shape inference propagates them): Shape -> Slice [0::2^63-1].
  ModelBuilder s(13);
  s.input("x", {2, 3, 4, 5});
  s.int64s("st", {1}).int64s("en", {kMax}).int64s("ax", {0}).int64s("sp", {kMax});
  s.node("Shape", {"x"}, {"sh"});
  s.node("Slice", {"sh", "st", "en", "ax", "sp"}, {"y"});
  s.output("y");
  CHECK(qm::test::shape_of(s.infer("y")) == "[1]");
}

TEST_CASE("fuzz/ops: integer Add, Sub and Mul wrap in two's complement") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  ModelBuilder b(13);
  b.input("a", {2}, DataType::Int64).input("b", {2}, DataType::Int64);
  b.input("c", {2}, DataType::Int32).input("d", {2}, DataType::Int32);
  b.node("Add", {"a", "b"}, {"sum"});
  b.node("Sub", {"b", "a"}, {"diff"});
  b.node("Mul", {"a", "a"}, {"prod"});
  b.node("Mul", {"c", "d"}, {"prod32"});
  b.output("sum").output("diff").output("prod").output("prod32");
  const auto out = run(b, {tensor<int64_t>(DataType::Int64, {kMax, kMin}), tensor<int64_t>(DataType::Int64, {1, -1}),
                           tensor<int32_t>(DataType::Int32, {65536, std::numeric_limits<int32_t>::min()}),
                           tensor<int32_t>(DataType::Int32, {65537, -1})});
  CHECK(out[0].data<int64_t>()[0] == kMin);
  CHECK(out[0].data<int64_t>()[1] == kMax);
  CHECK(out[1].data<int64_t>()[0] == kMin + 2);  // 1 - INT64_MAX
  CHECK(out[1].data<int64_t>()[1] == kMax);      // -1 - INT64_MIN
  CHECK(out[2].data<int64_t>()[0] == 1);         // (2^63 - 1)^2 mod 2^64
  CHECK(out[2].data<int64_t>()[1] == 0);
  CHECK(out[3].data<int32_t>()[0] == 65536);  // 2^32 + 2^16 mod 2^32
  CHECK(out[3].data<int32_t>()[1] == std::numeric_limits<int32_t>::min());
}

TEST_CASE("fuzz/ops: out-of-range float -> integer conversions give INT64_MIN, not undefined behaviour") {
  // Pow on int64 (computed in double), and an int64 initializer holding INT64_MAX (read
  // through double first, 2^63 does not fit).
  ModelBuilder b(13);
  b.input("x", {2}, DataType::Int64);
  b.int64s("big", {std::numeric_limits<int64_t>::max(), 3});
  b.node("Pow", {"x", "big"}, {"y"});
  b.node("Add", {"x", "big"}, {"z"});
  b.output("y").output("z");
  const auto out = run(b, {tensor<int64_t>(DataType::Int64, {10, 2})});
  CHECK(out[0].data<int64_t>()[0] == std::numeric_limits<int64_t>::min());  // 10^(2^63): inf
  CHECK(out[0].data<int64_t>()[1] == 8);
  CHECK(out[1].data<int64_t>()[0] == std::numeric_limits<int64_t>::min() + 9);  // the initializer is exact
}

TEST_CASE("fuzz/ops: Conv pads and Resize scales out of range are errors naming the node") {
  // Dynamic dims: shape inference cannot check them, the run must. An empty batch lets a
  // spatial dim of 2^62 through (the sum with the pads overflowed).
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N"), 1, Dim::sym("H"), Dim::sym("W")});
  b.weight("w", {1, 1, 3, 3});
  b.node("Conv", {"x", "w"}, {"y"}, "conv").ints("pads", {1, 1, 1, 1});
  b.output("y");
  const std::string err = error_of([&] { run(b, {Tensor(DataType::Float, {0, 1, int64_t{1} << 62, 4})}); });
  CHECK(err.find("'conv' (Conv)") != std::string::npos);
  CHECK(err.find("out of range") != std::string::npos);

  ModelBuilder r(13);
  r.input("x", {1, 1, Dim::sym("H"), 2});
  r.floats("sc", {4}, {1, 1, 1e30f, 1});
  r.node("Resize", {"x", "", "sc"}, {"y"}, "resize");
  r.output("y");
  const std::string err2 = error_of([&] { run(r, {Tensor(DataType::Float, {1, 1, 4, 2})}); });
  CHECK(err2.find("'resize' (Resize)") != std::string::npos);
  CHECK(err2.find("out of range") != std::string::npos);
}

TEST_CASE("fuzz/ops: Tile repeats whose product overflows are an error naming the node") {
  // Found by fuzz_model_run: 2 x 4638707611896643585 (a dynamic input, so inference could not
  // check it; an empty tensor lets the dimension be that large).
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N"), Dim::sym("M")});
  b.int64s("reps", {int64_t{4638707611896643585}, 1});
  b.node("Tile", {"x", "reps"}, {"y"}, "tile");
  b.output("y");
  const std::string err = error_of([&] { run(b, {Tensor(DataType::Float, {2, 0})}); });
  CHECK(err.find("'tile' (Tile)") != std::string::npos);
  CHECK(err.find("out of range") != std::string::npos);
}

TEST_CASE("fuzz/ops: Resize to an empty output builds no index tables; an empty input dim cannot grow") {
  // Found by fuzz_model_run (timeout): sizes [1, 0, 2^31] made the nearest path build a table of
  // 2^31 source indices before allocating the (empty) output.
  ModelBuilder b(13);
  b.input("x", {1, Dim::sym("C"), Dim::sym("W")});
  b.int64s("sizes", {1, 0, int64_t{1} << 31});
  b.node("Resize", {"x", "", "", "sizes"}, {"y"}, "resize").s("mode", "nearest");
  b.output("y");
  const auto out = run(b, {Tensor(DataType::Float, {1, 2, 3})});
  CHECK(out[0].shape() == qm::Shape{1, 0, int64_t{1} << 31});
  // An axis of size 0 resized to 3 would read index -1 (nearest and linear alike).
  for (const char* mode : {"nearest", "linear"}) {
    ModelBuilder e(13);
    e.input("x", {1, Dim::sym("C"), 4});
    e.int64s("sizes", {1, 3, 4});
    e.node("Resize", {"x", "", "", "sizes"}, {"y"}, "resize").s("mode", mode);
    e.output("y");
    const std::string err = error_of([&] { run(e, {Tensor(DataType::Float, {1, 0, 4})}); });
    CHECK(err.find("'resize' (Resize)") != std::string::npos);
    CHECK(err.find("cannot resize an empty dimension 1 to 3") != std::string::npos);
  }
}

TEST_CASE("fuzz/ops: Pad amounts whose sum with the dimension overflows are an error naming the node") {
  // Found by fuzz_model_run: 8453642811407859713 + 4611686018427387906 on an empty tensor.
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N"), Dim::sym("M")});
  b.int64s("pads", {0, int64_t{1} << 62, 0, int64_t{1} << 62});
  b.node("Pad", {"x", "pads"}, {"y"}, "pad");
  b.output("y");
  const std::string err = error_of([&] { run(b, {Tensor(DataType::Float, {0, int64_t{1} << 62})}); });
  CHECK(err.find("'pad' (Pad)") != std::string::npos);
  CHECK(err.find("out of range") != std::string::npos);
}

TEST_CASE("fuzz/ops: a Reshape target whose element count overflows is an error naming the node") {
  // Found by fuzz_model_run (UBSan: 1246382084558094337 * 8 in Reshape's count of the known
  // dims); the target comes from a dynamic input's value, so inference cannot check it.
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N")});
  b.input("s", {3}, DataType::Int64);
  b.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  b.output("y");
  const std::string err =
      error_of([&] { run(b, {Tensor(DataType::Float, {0}), tensor<int64_t>(DataType::Int64, {1246382084558094337, 8, -1})}); });
  CHECK(err.find("'reshape' (Reshape)") != std::string::npos);
  CHECK(err.find("more elements than int64 can count") != std::string::npos);
}

TEST_CASE("fuzz/ops: Range from INT64_MIN counts its span without overflow") {
  // Found by the fuzz_model_run smoke run (UBSan: 10 - INT64_MIN in Range's element count).
  ModelBuilder b(11);
  b.input("s", {}, DataType::Int64);
  b.input("l", {}, DataType::Int64);
  b.input("d", {}, DataType::Int64);
  b.node("Range", {"s", "l", "d"}, {"y"}, "range");
  b.output("y");
  auto scalar = [](int64_t v) {
    Tensor t(DataType::Int64, {});
    t.data<int64_t>()[0] = v;
    return t;
  };
  const std::string err = error_of([&] { run(b, {scalar(std::numeric_limits<int64_t>::min()), scalar(10), scalar(3)}); });
  CHECK(err.find("'range' (Range)") != std::string::npos);
  CHECK(err.find("too long") != std::string::npos);
  // A short range whose next step would overflow: the values, no overflow.
  ModelBuilder b2(11);
  b2.input("s", {}, DataType::Int64);
  b2.input("l", {}, DataType::Int64);
  b2.input("d", {}, DataType::Int64);
  b2.node("Range", {"s", "l", "d"}, {"y"}, "range");
  b2.output("y");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<Tensor> y = run(b2, {scalar(kMax - 1), scalar(kMax), scalar(5)});
  REQUIRE(y[0].numel() == 1);
  CHECK(y[0].data<int64_t>()[0] == kMax - 1);
}

TEST_CASE("fuzz/ops: GridSample with NaN or huge grid coordinates samples a defined pixel") {
  // x [1, 1, 2, 3] = 0..5. Bilinear, border padding, align_corners: a NaN coordinate is taken as
  // pixel 0; +-1e30 is clamped far outside, then the border gives the edge pixel.
  ModelBuilder b(16);
  b.input("x", {1, 1, 2, 3});
  b.input("g", {1, 1, 2, 2});
  b.node("GridSample", {"x", "g"}, {"y"}).i("align_corners", 1).s("padding_mode", "border");
  b.output("y");
  Tensor x(DataType::Float, {1, 1, 2, 3});
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = static_cast<float>(i);
  Tensor g(DataType::Float, {1, 1, 2, 2});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float v[] = {nan, nan, 1e30f, -1e30f};
  std::copy(v, v + 4, g.data<float>());
  const auto out = run(b, {x, g});
  REQUIRE(out[0].numel() == 2);
  CHECK(out[0].data<float>()[0] == 0.0f);  // pixel (0, 0)
  CHECK(out[0].data<float>()[1] == 2.0f);  // x at the right edge, y at the top edge: (0, 2)
}

TEST_CASE("fuzz/ops: GatherElements indices wider than the data off the axis are an error naming the node") {
  // Found by fuzz_model_run (a heap over-read under ASan): indices [2, 5] over data [2, 3] on
  // axis 0 read data column 3 and 4, which do not exist. ONNX Runtime refuses it as well.
  ModelBuilder b(13);
  b.input("x", {Dim::sym("N"), Dim::sym("M")});
  b.input("i", {Dim::sym("P"), Dim::sym("Q")}, DataType::Int64);
  b.node("GatherElements", {"x", "i"}, {"y"}, "ge");
  b.output("y");
  Tensor idx(DataType::Int64, {2, 5});
  for (int64_t j = 0; j < idx.numel(); ++j) idx.data<int64_t>()[j] = 0;
  const std::string err = error_of([&] { run(b, {Tensor(DataType::Float, {2, 3}), idx}); });
  CHECK(err.find("'ge' (GatherElements)") != std::string::npos);
  CHECK(err.find("indices dimension 1 (5) is larger than the data's (3)") != std::string::npos);
}

TEST_CASE("fuzz/ops: a depthwise Conv with a stride far above its plane runs without a plane-sized buffer") {
  // Found by fuzz_model_run's smoke run (CI, 1bdb21d): the direct depthwise kernel pads each plane
  // into a buffer spanning every output window, 2.3 GB for a tiny model. For such shapes the
  // kernel runs its scalar reference (kernels/simd/window.h padded_plane_fits); the values are
  // x[c, 0, j * stride] * w[c].
  constexpr int64_t kStride = 100000, kW = kStride + 1;
  ModelBuilder b(13);
  b.input("x", {1, 2, 1, kW});
  b.floats("w", {2, 1, 1, 1}, {2.0f, 3.0f});
  b.node("Conv", {"x", "w"}, {"y"}, "dw").i("group", 2).ints("strides", {1, kStride});
  b.output("y");
  Tensor x(DataType::Float, {1, 2, 1, kW});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 7) + 0.5f;
  const std::vector<Tensor> y = run(b, {x});
  REQUIRE(y[0].shape() == qm::Shape{1, 2, 1, 2});
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t j = 0; j < 2; ++j)
      CHECK(y[0].data<float>()[c * 2 + j] == (c == 0 ? 2.0f : 3.0f) * x.data<float>()[c * kW + j * kStride]);
}

TEST_CASE("fuzz/ops: MaxPool and AvgPool with a stride far above the plane run without a plane-sized buffer") {
  // The pooling kernels pad planes as the depthwise Conv above did (the same unbounded buffer);
  // they take the same fallback. A 1x1 window picks x[c, 0, j * stride], for max and average.
  constexpr int64_t kStride = 100000, kW = kStride + 1;
  for (const char* op : {"MaxPool", "AveragePool"}) {
    CAPTURE(op);
    ModelBuilder b(13);
    b.input("x", {1, 2, 1, kW});
    b.node(op, {"x"}, {"y"}, "pool").ints("kernel_shape", {1, 1}).ints("strides", {1, kStride});
    b.output("y");
    Tensor x(DataType::Float, {1, 2, 1, kW});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 7) - 2.5f;
    const std::vector<Tensor> y = run(b, {x});
    REQUIRE(y[0].shape() == qm::Shape{1, 2, 1, 2});
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t j = 0; j < 2; ++j) CHECK(y[0].data<float>()[c * 2 + j] == x.data<float>()[c * kW + j * kStride]);
  }
}

TEST_CASE("fuzz/kernels: depthwise Conv and pooling windows 2^33 (wasm: 2^30) apart need no buffer of that span") {
  // Two output columns 2^33 input columns apart (the end padding of a hostile model): the padded
  // plane the vector kernels build would be that many floats; they must fall back (such a new float[]
  // throws std::bad_alloc or exhausts memory). The first window sees x[0], the second only padding.
  qm::kernels::Conv2dShape s;
  s.in_channels = 1;
  s.in_h = 1;
  s.in_w = 1;
  s.out_h = 1;
  s.out_w = 2;
  s.stride_w = size_t{1} << (sizeof(size_t) == 8 ? 33 : 30);  // wasm32: 2^30 floats = 4 GiB
  const float x = 3.5f, w = 2.0f;
  float y[2] = {-1.0f, -1.0f};
  qm::kernels::DepthwiseParams dp;
  qm::kernels::f32_dwconv2d(s, &x, &w, y, dp);
  CHECK(y[0] == 7.0f);
  CHECK(y[1] == 0.0f);
  qm::kernels::f32_max_pool2d(s, &x, y);
  CHECK(y[0] == 3.5f);
  CHECK(y[1] == -std::numeric_limits<float>::infinity());
  qm::kernels::f32_avg_pool2d(s, &x, y, qm::kernels::AvgPoolParams{});
  CHECK(y[0] == 3.5f);
  CHECK(y[1] == 0.0f);
}

TEST_CASE("fuzz/ops: EyeLike with a diagonal offset near INT64_MAX or INT64_MIN sets nothing") {
  // Found by fuzz_model_run (UBSan, 2 + 9223372036854775806 overflowed): row + k is now only
  // computed for a diagonal inside the matrix. k = 1 is the superdiagonal, in closed form.
  for (const int64_t k : {std::numeric_limits<int64_t>::max() - 1, std::numeric_limits<int64_t>::min() + 1, int64_t{5}, int64_t{-5}, int64_t{1}}) {
    CAPTURE(k);
    ModelBuilder b(13);
    b.input("x", {5, 5});
    b.node("EyeLike", {"x"}, {"y"}, "eye").i("k", k);
    b.output("y");
    const std::vector<Tensor> y = run(b, {Tensor(DataType::Float, {5, 5})});
    REQUIRE(y[0].shape() == qm::Shape{5, 5});
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 5; ++j) CHECK(y[0].data<float>()[i * 5 + j] == (k == 1 && j == i + 1 ? 1.0f : 0.0f));
  }
}

TEST_CASE("fuzz/ops: OneHot with a float depth or index outside int64's range") {
  // Found by fuzz_model_run (UBSan: 4.58e27 cast to int64): depth and indices go through
  // trunc_to_int64 (out of range: INT64_MIN), so such a depth is refused by name and such an index
  // is out of range (all "off").
  for (const float depth : {4.58e27f, 3.0f}) {
    CAPTURE(depth);
    ModelBuilder b(11);
    b.input("i", {2});
    b.floats("depth", {1}, {depth});
    b.floats("values", {2}, {-1.0f, 2.5f});
    b.node("OneHot", {"i", "depth", "values"}, {"y"}, "oh").i("axis", -1);
    b.output("y");
    Tensor idx(DataType::Float, {2});
    idx.data<float>()[0] = 1e30f;
    idx.data<float>()[1] = 1.0f;
    if (depth > 3.0f) {
      const std::string err = error_of([&] { run(b, {idx}); });
      CHECK(err.find("'oh' (OneHot)") != std::string::npos);
      CHECK(err.find("depth must be >= 1") != std::string::npos);
      continue;
    }
    const std::vector<Tensor> y = run(b, {idx});
    REQUIRE(y[0].shape() == qm::Shape{2, 3});
    const std::vector<float> want = {-1, -1, -1, -1, 2.5f, -1};
    for (size_t k = 0; k < want.size(); ++k) CHECK(y[0].data<float>()[k] == want[k]);
  }
}

TEST_CASE("fuzz/ops: integer ReduceLogSumExp / ReduceLogSum of an empty or zero set gives INT64_MIN, not an undefined cast") {
  // Found by fuzz_model_run (UBSan: -inf cast to int64, ReduceLogSumExp over an axis of length 0).
  // log of an empty sum is -inf; for int64 the result is INT64_MIN (trunc_to_int64, what x86
  // gives), and log(sum) of {1, 2} is trunc(log(3)) = 1.
  for (const char* op : {"ReduceLogSumExp", "ReduceLogSum"}) {
    CAPTURE(op);
    ModelBuilder b(13);
    b.input("x", {2, 0}, DataType::Int64);
    b.node(op, {"x"}, {"y"}, "r").ints("axes", {1}).i("keepdims", 0);
    b.output("y");
    const std::vector<Tensor> y = run(b, {Tensor(DataType::Int64, {2, 0})});
    REQUIRE(y[0].shape() == qm::Shape{2});
    CHECK(y[0].data<int64_t>()[0] == std::numeric_limits<int64_t>::min());
  }
  ModelBuilder b(13);
  b.input("x", {1, 2}, DataType::Int64);
  b.node("ReduceLogSum", {"x"}, {"y"}, "r").ints("axes", {1}).i("keepdims", 0);
  b.output("y");
  Tensor x(DataType::Int64, {1, 2});
  x.data<int64_t>()[0] = 1;
  x.data<int64_t>()[1] = 2;
  CHECK(run(b, {x})[0].data<int64_t>()[0] == 1);
}
