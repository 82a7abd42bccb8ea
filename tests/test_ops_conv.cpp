// Shape inference of Conv, ConvTranspose and the pools against the closed forms of the ONNX
// operator spec: out = floor((in + pad_begin + pad_end - ((k - 1) * d + 1)) / s) + 1 (NOTSET),
// ceil(in / s) (SAME_*), floor((in - ((k - 1) * d + 1)) / s) + 1 (VALID).
#include <doctest/doctest.h>

#include "ops/conv.h"
#include "test_util.h"

using qm::DataType;
using qm::ops::Dim;
using qm::ops::Dims;
using qm::test::error_of;
using qm::test::ModelBuilder;
using qm::test::shape_of;

namespace {

/// The closed form of one spatial output size (NOTSET), written out independently of ops/.
int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

std::string conv_shape(ModelBuilder& b) {
  b.output("y");
  return shape_of(b.infer("y"));
}

}  // namespace

TEST_CASE("ops/conv: 7x7 stride 2 pad 3 on 224 gives 112 (ResNet stem)") {
  ModelBuilder b(13);
  b.input("x", {1, 3, 224, 224}).weight("w", {64, 3, 7, 7}).weight("bias", {64});
  b.node("Conv", {"x", "w", "bias"}, {"y"}).ints("strides", {2, 2}).ints("pads", {3, 3, 3, 3});
  const int64_t o = conv_out(224, 7, 2, 1, 3, 3);
  CHECK(o == 112);
  CHECK(conv_shape(b) == "[1, 64, 112, 112]");
}

TEST_CASE("ops/conv: dilation, asymmetric pads, 1-D and 3-D") {
  SUBCASE("dilation 2") {
    ModelBuilder b;
    b.input("x", {2, 4, 17, 17}).weight("w", {8, 4, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}).ints("dilations", {2, 2});
    const std::string want = "[2, 8, " + std::to_string(conv_out(17, 3, 1, 2, 0, 0)) + ", " +
                             std::to_string(conv_out(17, 3, 1, 2, 0, 0)) + "]";
    CHECK(conv_shape(b) == want);
  }
  SUBCASE("asymmetric pads [h_begin, w_begin, h_end, w_end]") {
    ModelBuilder b;
    b.input("x", {1, 1, 10, 10}).weight("w", {1, 1, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}).ints("pads", {0, 1, 2, 3});
    CHECK(conv_shape(b) == "[1, 1, " + std::to_string(conv_out(10, 3, 1, 1, 0, 2)) + ", " +
                               std::to_string(conv_out(10, 3, 1, 1, 1, 3)) + "]");
  }
  SUBCASE("1-D") {
    ModelBuilder b;
    b.input("x", {1, 2, 50}).weight("w", {6, 2, 5});
    b.node("Conv", {"x", "w"}, {"y"}).ints("strides", {3});
    CHECK(conv_shape(b) == "[1, 6, " + std::to_string(conv_out(50, 5, 3, 1, 0, 0)) + "]");
  }
  SUBCASE("3-D with kernel_shape") {
    ModelBuilder b;
    b.input("x", {1, 2, 8, 9, 10}).weight("w", {4, 2, 3, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}).ints("kernel_shape", {3, 3, 3}).ints("pads", {1, 1, 1, 1, 1, 1});
    CHECK(conv_shape(b) == "[1, 4, 8, 9, 10]");
  }
}

TEST_CASE("ops/conv: auto_pad SAME_UPPER, SAME_LOWER and VALID") {
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    CAPTURE(mode);
    ModelBuilder b;
    b.input("x", {1, 3, 17, 16}).weight("w", {5, 3, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}).s("auto_pad", mode).ints("strides", {2, 2});
    CHECK(conv_shape(b) == "[1, 5, 9, 8]");  // ceil(17/2), ceil(16/2)
  }
  ModelBuilder b;
  b.input("x", {1, 3, 17, 16}).weight("w", {5, 3, 3, 3});
  b.node("Conv", {"x", "w"}, {"y"}).s("auto_pad", "VALID").ints("strides", {2, 2}).ints("pads", {5, 5, 5, 5});
  CHECK(conv_shape(b) == "[1, 5, " + std::to_string(conv_out(17, 3, 2, 1, 0, 0)) + ", " +
                             std::to_string(conv_out(16, 3, 2, 1, 0, 0)) + "]");
}

TEST_CASE("ops/conv: SAME pads put the odd padding at the end (UPPER) or start (LOWER)") {
  // in 16, k 3, s 2: out 8, total padding (8-1)*2+3-16 = 1.
  CHECK(qm::ops::same_pads(16, 3, 2, 1, qm::ops::AutoPad::SameUpper) == std::vector<int64_t>{0, 1});
  CHECK(qm::ops::same_pads(16, 3, 2, 1, qm::ops::AutoPad::SameLower) == std::vector<int64_t>{1, 0});
  // in 17, k 3, s 2: out 9, total (9-1)*2+3-17 = 2.
  CHECK(qm::ops::same_pads(17, 3, 2, 1, qm::ops::AutoPad::SameUpper) == std::vector<int64_t>{1, 1});
  // dilation 2 makes the kernel 5 wide: in 10, s 1: total 4.
  CHECK(qm::ops::same_pads(10, 3, 1, 2, qm::ops::AutoPad::SameLower) == std::vector<int64_t>{2, 2});
}

TEST_CASE("ops/conv: groups and depthwise; channel mismatch is an error") {
  ModelBuilder b;
  b.input("x", {1, 32, 10, 10}).weight("w", {32, 1, 3, 3}).weight("w2", {64, 8, 1, 1});
  b.node("Conv", {"x", "w"}, {"h"}).i("group", 32);
  b.node("Conv", {"h", "w2"}, {"y"}).i("group", 4);
  CHECK(conv_shape(b) == "[1, 64, 8, 8]");

  ModelBuilder bad;
  bad.input("x", {1, 32, 10, 10}).weight("w", {32, 2, 3, 3});
  bad.node("Conv", {"x", "w"}, {"y"}, "dw").i("group", 32);
  bad.output("y");
  const std::string e = error_of([&] { bad.build(); });
  CHECK(e.find("'dw' (Conv)") != std::string::npos);
  CHECK(e.find("channels") != std::string::npos);
}

TEST_CASE("ops/conv: symbolic batch and spatial dims") {
  ModelBuilder b;
  b.input("x", {Dim::sym("N"), 3, Dim::sym("H"), Dim::sym("W")}).weight("w1", {8, 3, 1, 1}).weight("w3", {8, 8, 3, 3});
  b.node("Conv", {"x", "w1"}, {"p"});
  b.node("Conv", {"p", "w3"}, {"q"}).s("auto_pad", "SAME_UPPER");
  b.node("Conv", {"q", "w3"}, {"y"});
  b.output("y");
  CHECK(shape_of(b.infer("p")) == "[N, 8, H, W]");  // 1x1: the size cannot change
  CHECK(shape_of(b.infer("q")) == "[N, 8, H, W]");  // SAME, stride 1
  CHECK(shape_of(b.infer("y")) == "[N, 8, ?, ?]");  // 3x3 valid: H-2 is not a symbol we track
}

TEST_CASE("ops/conv: attribute errors name node and attribute") {
  ModelBuilder b;
  b.input("x", {1, 3, 8, 8}).weight("w", {4, 3, 3, 3});
  b.node("Conv", {"x", "w"}, {"y"}, "conv1").ints("kernel_shape", {3, 3}).ints("pads", {1, 1, 1});
  b.output("y");
  const std::string e = error_of([&] { b.build(); });
  CHECK(e == "node 'conv1' (Conv), attribute 'pads': expected 4 values, got 3");

  ModelBuilder b2;
  b2.input("x", {1, 3, 8, 8}).weight("w", {4, 3, 3, 3});
  b2.node("Conv", {"x", "w"}, {"y"}, "conv2").s("auto_pad", "SAME");
  b2.output("y");
  CHECK(error_of([&] { b2.build(); }).find("attribute 'auto_pad'") != std::string::npos);

  ModelBuilder b3;
  b3.input("x", {1, 3, 8, 8}).weight("w", {4, 3, 3, 3});
  b3.node("Conv", {"x", "w"}, {"y"}, "conv3").f("group", 1.0f);
  b3.output("y");
  CHECK(error_of([&] { b3.build(); }) ==
        "node 'conv3' (Conv), attribute 'group': expected type INT, got FLOAT");
}

TEST_CASE("ops/conv_transpose: strides, pads, output_padding, groups, output_shape") {
  // out = s*(in-1) + output_padding + ((k-1)*d+1) - pad_begin - pad_end
  ModelBuilder b;
  b.input("x", {1, 8, 5, 5}).weight("w", {8, 2, 3, 3});
  b.node("ConvTranspose", {"x", "w"}, {"y"}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1})
      .ints("output_padding", {1, 0}).i("group", 2);
  b.node("ConvTranspose", {"x", "w"}, {"z"}).ints("strides", {2, 2}).ints("output_shape", {11, 12}).i("group", 2);
  b.node("ConvTranspose", {"x", "w"}, {"s"}).ints("strides", {3, 3}).s("auto_pad", "SAME_UPPER");
  b.output("y").output("z").output("s");
  CHECK(shape_of(b.infer("y")) == "[1, 4, " + std::to_string(2 * 4 + 1 + 3 - 2) + ", " + std::to_string(2 * 4 + 0 + 3 - 2) + "]");
  CHECK(shape_of(b.infer("z")) == "[1, 4, 11, 12]");
  CHECK(shape_of(b.infer("s")) == "[1, 2, 15, 15]");  // SAME: in * stride
}

TEST_CASE("ops/pool: MaxPool pads, dilations and ceil_mode; AveragePool; indices") {
  SUBCASE("ResNet max pool 3x3 s2 p1 on 112") {
    ModelBuilder b;
    b.input("x", {1, 64, 112, 112});
    b.node("MaxPool", {"x"}, {"y"}).ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1});
    CHECK(conv_shape(b) == "[1, 64, " + std::to_string(conv_out(112, 3, 2, 1, 1, 1)) + ", 56]");
  }
  SUBCASE("ceil_mode rounds up") {
    // floor((6-3)/2)+1 = 2, ceil((6-3)/2)+1 = 3 (torch MaxPool2d(3, 2, ceil_mode=True) gives 3)
    ModelBuilder b;
    b.input("x", {1, 1, 6, 7});
    b.node("MaxPool", {"x"}, {"y"}).ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).i("ceil_mode", 1);
    b.node("MaxPool", {"x"}, {"f"}).ints("kernel_shape", {3, 3}).ints("strides", {2, 2});
    b.output("y").output("f");
    CHECK(shape_of(b.infer("y")) == "[1, 1, 3, 3]");
    CHECK(shape_of(b.infer("f")) == "[1, 1, 2, 3]");
  }
  SUBCASE("ceil_mode drops a window that would start in the right padding") {
    // in 5, k 2, s 2, pads 1/1: ceil((5+2-2)/2)+1 = 4, but window 3 starts at 6 >= 5+1: 3
    // (as torch.nn.MaxPool2d(2, 2, padding=1, ceil_mode=True) gives).
    ModelBuilder b;
    b.input("x", {1, 1, 5, 5});
    b.node("MaxPool", {"x"}, {"y"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1}).i("ceil_mode", 1);
    CHECK(conv_shape(b) == "[1, 1, 3, 3]");
  }
  SUBCASE("dilations and the int64 indices output") {
    ModelBuilder b(12);
    b.input("x", {1, 2, 10, 10});
    b.node("MaxPool", {"x"}, {"y", "idx"}).ints("kernel_shape", {3, 3}).ints("dilations", {2, 2});
    b.output("y").output("idx");
    CHECK(shape_of(b.infer("y")) == "[1, 2, 6, 6]");
    CHECK(b.infer("idx").dtype == DataType::Int64);
    CHECK(shape_of(b.infer("idx")) == "[1, 2, 6, 6]");
  }
  SUBCASE("AveragePool SAME_LOWER and missing kernel_shape") {
    ModelBuilder b;
    b.input("x", {1, 2, 9, 9});
    b.node("AveragePool", {"x"}, {"y"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2}).s("auto_pad", "SAME_LOWER");
    CHECK(conv_shape(b) == "[1, 2, 5, 5]");
    ModelBuilder bad;
    bad.input("x", {1, 2, 9, 9});
    bad.node("AveragePool", {"x"}, {"y"}, "pool");
    bad.output("y");
    CHECK(error_of([&] { bad.build(); }).find("node 'pool' (AveragePool), attribute 'kernel_shape': missing required attribute") == 0);
  }
  SUBCASE("global pools") {
    ModelBuilder b;
    b.input("x", {Dim::sym("N"), 512, 7, 7});
    b.node("GlobalAveragePool", {"x"}, {"y"});
    b.node("GlobalMaxPool", {"x"}, {"z"});
    b.output("y").output("z");
    CHECK(shape_of(b.infer("y")) == "[N, 512, 1, 1]");
    CHECK(shape_of(b.infer("z")) == "[N, 512, 1, 1]");
  }
}
