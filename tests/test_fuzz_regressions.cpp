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

// ---------------------------------------------------------------------------------------------
// Sweep of src/ops for unchecked float -> int casts and overflowing sums (issue 12): the sites
// below were undefined behaviour for hostile values; each now has a defined, closed-form result.

namespace {

template <class T>
Tensor scalar_of(DataType t, T v) {
  Tensor x(t, {});
  x.data<T>()[0] = v;
  return x;
}

}  // namespace

TEST_CASE("fuzz/ops: Range with a limit far on the wrong side of start is empty (no cast of -1e30 or -inf)") {
  // count = ceil((limit - start) / delta) was cast to int64 before taking max(0, .): -1e30, -inf
  // (float) and -1.8e19 (int64 from INT64_MAX down to INT64_MIN) are out of its range.
  ModelBuilder f(11);
  f.input("s", {}).input("l", {}).input("d", {});
  f.node("Range", {"s", "l", "d"}, {"y"}, "range");
  f.output("y");
  f.build();
  const float inf = std::numeric_limits<float>::infinity();
  for (const float start : {1e30f, inf}) {
    CAPTURE(start);
    qm::graph::Plan plan(f.graph());
    qm::graph::Executor ex(plan);
    const auto y = ex.run({scalar_of(DataType::Float, start), scalar_of(DataType::Float, 0.0f), scalar_of(DataType::Float, 1.0f)});
    CHECK(y[0].shape() == qm::Shape{0});
  }
  ModelBuilder i(11);
  i.input("s", {}, DataType::Int64).input("l", {}, DataType::Int64).input("d", {}, DataType::Int64);
  i.node("Range", {"s", "l", "d"}, {"y"}, "range");
  i.output("y");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  const auto y = run(i, {scalar_of(DataType::Int64, kMax), scalar_of(DataType::Int64, kMin), scalar_of(DataType::Int64, int64_t{1})});
  CHECK(y[0].shape() == qm::Shape{0});
}

TEST_CASE("fuzz/ops: Range of known int64 values near INT64_MAX folds the run's count, without overflow") {
  // Shape inference took limit - start in doubles: (2^63) - (2^63 - 2048) = 2048 for a true
  // span of 1599, so 3 values of step 800 instead of 2, and folding the third overflowed.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  ModelBuilder b(11);
  b.int64s("s", {kMax - 1599}, true).int64s("l", {kMax}, true).int64s("d", {800}, true);
  b.node("Range", {"s", "l", "d"}, {"y"}, "range");
  b.output("y");
  const qm::ops::TensorInfo info = b.infer("y");
  CHECK(qm::test::shape_of(info) == "[2]");
  const auto v = info.known_ints();
  REQUIRE(v.has_value());
  CHECK(*v == std::vector<int64_t>{kMax - 1599, kMax - 799});
  const auto y = run(b, {});
  REQUIRE(y[0].shape() == qm::Shape{2});
  CHECK(y[0].data<int64_t>()[1] == kMax - 799);
}

TEST_CASE("fuzz/ops: Clip's opset-6 float bounds on an integer input saturate to its type") {
  // min/max attributes of -1e30, 1e30 or 300 cast to int32/int8 were undefined; they bound at
  // the type's limits (no clipping), NaN bounds nothing, in-range values truncate as before.
  ModelBuilder b(6);
  b.input("a", {4}, DataType::Int32).input("c", {2}, DataType::Int8);
  b.node("Clip", {"a"}, {"y1"}, "clip1").f("min", -1e30f).f("max", 2.5f);
  b.node("Clip", {"a"}, {"y2"}, "clip2").f("min", -3.0f).f("max", 1e30f);
  b.node("Clip", {"c"}, {"y3"}, "clip3").f("min", -1e10f).f("max", 300.0f);
  b.node("Clip", {"c"}, {"y4"}, "clip4").f("min", std::numeric_limits<float>::quiet_NaN()).f("max", 5.0f);
  b.output("y1").output("y2").output("y3").output("y4");
  Tensor a(DataType::Int32, {4});
  const int32_t av[] = {-5, 0, 2, 7};
  std::copy(av, av + 4, a.data<int32_t>());
  Tensor c(DataType::Int8, {2});
  c.data<int8_t>()[0] = -128;
  c.data<int8_t>()[1] = 127;
  const auto y = run(b, {a, c});
  const int32_t w1[] = {-5, 0, 2, 2}, w2[] = {-3, 0, 2, 7};
  for (int k = 0; k < 4; ++k) {
    CHECK(y[0].data<int32_t>()[k] == w1[k]);
    CHECK(y[1].data<int32_t>()[k] == w2[k]);
  }
  CHECK(y[2].data<int8_t>()[0] == -128);
  CHECK(y[2].data<int8_t>()[1] == 127);
  CHECK(y[3].data<int8_t>()[0] == -128);
  CHECK(y[3].data<int8_t>()[1] == 5);
}

TEST_CASE("fuzz/ops: NonMaxSuppression's max_output_boxes_per_class of INT64_MAX, 1e30 or NaN") {
  // Read through a double: INT64_MAX became 2^63 and a float tensor may hold 1e30 or NaN, all
  // undefined to cast. Beyond int64 is no limit (both disjoint boxes kept); NaN keeps none.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    DataType t;
    double v;
    int64_t want;
  };
  for (const Case& k : {Case{DataType::Int64, 9223372036854775807.0, 2}, Case{DataType::Float, 1e30, 2},
                        Case{DataType::Float, static_cast<double>(nan), 0}, Case{DataType::Int64, 1.0, 1}}) {
    CAPTURE(k.v);
    ModelBuilder b(11);
    b.floats("boxes", {1, 2, 4}, {0, 0, 1, 1, 2, 2, 3, 3});
    b.floats("scores", {1, 1, 2}, {0.9f, 0.8f});
    b.input("m", {1}, k.t);
    b.node("NonMaxSuppression", {"boxes", "scores", "m"}, {"sel"}, "nms");
    b.output("sel");
    Tensor m(k.t, {1});
    if (k.t == DataType::Int64) m.data<int64_t>()[0] = k.v >= 9e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(k.v);
    else m.data<float>()[0] = static_cast<float>(k.v);
    const auto y = run(b, {m});
    REQUIRE(y[0].shape() == qm::Shape{k.want, 3});
    for (int64_t j = 0; j < k.want; ++j) CHECK(y[0].data<int64_t>()[j * 3 + 2] == j);  // box j, by score
  }
}

TEST_CASE("fuzz/ops: DequantizeLinear of int32 wraps x - zero point; a float zero point of 1e30 is not cast unchecked") {
  // INT32_MIN - 1 overflowed int32 (it wraps to INT32_MAX, as ONNX Runtime on x86); a float zero
  // point of 1e30 (a hostile model) was cast to int32 unchecked: it is out of range, so 0.
  ModelBuilder b(13);
  b.input("x", {2}, DataType::Int32).input("zp", {}, DataType::Int32).input("u", {1}, DataType::Uint8).input("fz", {});
  b.floats("s", {}, {1.0f}).floats("h", {}, {0.5f});
  b.node("DequantizeLinear", {"x", "s", "zp"}, {"y"}, "dq");
  b.node("DequantizeLinear", {"u", "h", "fz"}, {"z"}, "dq2");
  b.output("y").output("z");
  Tensor x(DataType::Int32, {2});
  x.data<int32_t>()[0] = std::numeric_limits<int32_t>::min();
  x.data<int32_t>()[1] = 5;
  Tensor u(DataType::Uint8, {1});
  u.data<uint8_t>()[0] = 3;
  const auto y = run(b, {x, scalar_of(DataType::Int32, int32_t{1}), u, scalar_of(DataType::Float, 1e30f)});
  CHECK(y[0].data<float>()[0] == 2147483648.0f);  // float(INT32_MAX)
  CHECK(y[0].data<float>()[1] == 4.0f);
  CHECK(y[1].data<float>()[0] == 1.5f);
}

TEST_CASE("fuzz/ops: Split sizes from an input that overflow or are negative are errors naming the node") {
  // Shape inference checks known sizes; a dynamic one summed {INT64_MAX, 2} with overflow.
  for (const auto& sizes : {std::vector<int64_t>{std::numeric_limits<int64_t>::max(), 2}, std::vector<int64_t>{-1, 2}}) {
    ModelBuilder b(13);
    b.input("x", {Dim::sym("N")}).input("sp", {2}, DataType::Int64);
    b.node("Split", {"x", "sp"}, {"a", "b"}, "split");
    b.output("a").output("b");
    const std::string err = error_of([&] { run(b, {Tensor(DataType::Float, {1}), tensor<int64_t>(DataType::Int64, sizes)}); });
    CHECK(err.find("'split' (Split)") != std::string::npos);
    CHECK(err.find(sizes[0] < 0 ? "must not be negative" : "overflow") != std::string::npos);
  }
}

TEST_CASE("fuzz/ops: DepthToSpace/SpaceToDepth block sizes whose products overflow are refused") {
  // blocksize^2 overflowed for 2^32; for a block of 2^24 an empty input may still have a channel
  // count of 2^40, which times 2^48 overflowed.
  ModelBuilder p(13);
  p.input("x", {1, 4, 1, 1});
  p.node("DepthToSpace", {"x"}, {"y"}, "d2s").i("blocksize", int64_t{1} << 32);
  p.output("y");
  const std::string err = error_of([&] { p.build(); });
  CHECK(err.find("'d2s' (DepthToSpace), attribute 'blocksize'") != std::string::npos);
  ModelBuilder b(13);
  b.input("x", {1, Dim::sym("C"), Dim::sym("H"), Dim::sym("W")});
  b.node("SpaceToDepth", {"x"}, {"y"}, "s2d").i("blocksize", int64_t{1} << 24);
  b.output("y");
  const std::string err2 = error_of([&] { run(b, {Tensor(DataType::Float, {1, int64_t{1} << 40, 0, 0})}); });
  CHECK(err2.find("'s2d' (SpaceToDepth)") != std::string::npos);
  CHECK(err2.find("out of range") != std::string::npos);
}

TEST_CASE("fuzz/ops: GridSample of an empty image: zeros padding gives zeros, border and reflection are refused") {
  // Border and reflection clamped taps into [0, -1] and read before the (empty) image.
  for (const char* pad : {"zeros", "border", "reflection"}) {
    CAPTURE(pad);
    ModelBuilder b(16);
    b.input("x", {1, 1, Dim::sym("H"), 3});
    b.input("g", {1, 1, 2, 2});
    b.node("GridSample", {"x", "g"}, {"y"}, "gs").s("padding_mode", pad);
    b.output("y");
    Tensor g(DataType::Float, {1, 1, 2, 2});
    std::fill(g.data<float>(), g.data<float>() + 4, 0.25f);
    if (std::string(pad) == "zeros") {
      const auto y = run(b, {Tensor(DataType::Float, {1, 1, 0, 3}), g});
      REQUIRE(y[0].shape() == qm::Shape{1, 1, 1, 2});
      CHECK(y[0].data<float>()[0] == 0.0f);
      CHECK(y[0].data<float>()[1] == 0.0f);
    } else {
      const std::string err = error_of([&] { run(b, {Tensor(DataType::Float, {1, 1, 0, 3}), g}); });
      CHECK(err.find("'gs' (GridSample)") != std::string::npos);
      CHECK(err.find("empty image") != std::string::npos);
    }
  }
}

TEST_CASE("fuzz/ops: integer sums and products that overflow wrap (CumSum, Reduce*, ScatterElements add, PRelu)") {
  // Each was signed overflow (UBSan in fuzz_model_run on int64 initializers); natively it wrapped
  // to the same values, which these check. ReduceLogSumExp over int32 differs natively:
  // INT32_MIN - INT32_MAX wrapped to 1 in int32 arithmetic and gave INT32_MIN; the exact
  // difference gives log(e^-(2^32-1) + 1) + INT32_MAX = INT32_MAX.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  ModelBuilder b(16);
  b.input("x", {2}, DataType::Int64).input("i32", {2}, DataType::Int32).input("s", {2}, DataType::Int64);
  b.int64s("axis", {0}, true);
  b.node("CumSum", {"x", "axis"}, {"cs"});
  b.node("ReduceSum", {"x"}, {"sum"}).i("keepdims", 0);
  b.node("ReduceL1", {"x"}, {"l1"}).i("keepdims", 0);
  b.node("ReduceLogSumExp", {"i32"}, {"lse"}).i("keepdims", 0);
  b.node("PRelu", {"s", "x"}, {"pr"});
  b.output("cs").output("sum").output("l1").output("lse").output("pr");
  Tensor i32(DataType::Int32, {2});
  i32.data<int32_t>()[0] = std::numeric_limits<int32_t>::min();
  i32.data<int32_t>()[1] = std::numeric_limits<int32_t>::max();
  const auto y = run(b, {tensor<int64_t>(DataType::Int64, {kMax, 1}), i32, tensor<int64_t>(DataType::Int64, {-2, 3})});
  CHECK(y[0].data<int64_t>()[0] == kMax);
  CHECK(y[0].data<int64_t>()[1] == kMin);              // INT64_MAX + 1
  CHECK(y[1].data<int64_t>()[0] == kMin);              // the same sum
  CHECK(y[2].data<int64_t>()[0] == kMin);              // |INT64_MAX| + |1|
  CHECK(y[3].data<int32_t>()[0] == std::numeric_limits<int32_t>::max());
  CHECK(y[4].data<int64_t>()[0] == 2);                 // -2 * INT64_MAX = 2 - 2^64
  CHECK(y[4].data<int64_t>()[1] == 3);
  // |INT64_MIN| is itself (its negation wraps), and a scatter-add past INT64_MAX wraps too.
  ModelBuilder m(16);
  m.input("x", {2}, DataType::Int64);
  m.node("ReduceL1", {"x"}, {"l1"}).i("keepdims", 0);
  m.int64s("at", {1}).int64s("one", {1});
  m.node("ScatterElements", {"x", "at", "one"}, {"sc"}).s("reduction", "add");
  m.output("l1").output("sc");
  const auto z = run(m, {tensor<int64_t>(DataType::Int64, {kMin, kMax})});
  CHECK(z[0].data<int64_t>()[0] == kMin + kMax);       // INT64_MIN + INT64_MAX = -1, wrapped
  CHECK(z[1].data<int64_t>()[0] == kMin);
  CHECK(z[1].data<int64_t>()[1] == kMin);              // INT64_MAX + 1
}

TEST_CASE("fuzz/ops: Pow of an int64 base with a float exponent folds 10^100 to INT64_MIN, as it runs") {
  // Shape inference folded the integer result in doubles and cast 1e100 to int64 unchecked; it
  // goes through trunc_to_int64 like the run (INT64_MIN, what x86 gives).
  ModelBuilder b(15);
  b.int64s("a", {10, 10});
  b.floats("e", {2}, {100.0f, 2.0f});
  b.node("Pow", {"a", "e"}, {"y"}, "pow");
  b.output("y");
  const auto v = b.infer("y").known_ints();
  REQUIRE(v.has_value());
  CHECK(*v == std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 100});
  const auto y = run(b, {});
  CHECK(y[0].data<int64_t>()[0] == std::numeric_limits<int64_t>::min());
  CHECK(y[0].data<int64_t>()[1] == 100);
}
