// api/samples + api/image: --preprocess parsing, the pixel -> tensor transform against its closed
// form, resizing against exact averages, and .npy/.npz/image samples conformed to a session.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "api/image.h"
#include "api/npy.h"
#include "api/samples.h"
#include "core/error.h"
#include "test_util.h"

namespace qm {
namespace {

constexpr float kExact = 1e-6f;    // float arithmetic on small integers
constexpr float kResize = 1e-3f;   // stb_image_resize works in float with normalised weights

// A 24-bit BMP written by hand (bottom-up rows, BGR, rows padded to 4 bytes): the decoder under
// test (stb_image) never sees bytes our own code encoded.
std::string bmp24(int w, int h, const std::vector<uint8_t>& rgb) {
  const int row = (w * 3 + 3) / 4 * 4;
  const int size = 54 + row * h;
  std::string b(static_cast<size_t>(size), '\0');
  auto put32 = [&](int at, uint32_t v) {
    for (int k = 0; k < 4; ++k) b[static_cast<size_t>(at + k)] = static_cast<char>((v >> (8 * k)) & 0xff);
  };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, static_cast<uint32_t>(size));
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  b[26] = 1;
  b[28] = 24;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        b[static_cast<size_t>(54 + (h - 1 - y) * row + x * 3 + c)] = static_cast<char>(rgb[static_cast<size_t>((y * w + x) * 3 + 2 - c)]);
  return b;
}

std::unique_ptr<api::Session> relu_session(ops::Dims dims, DataType t = DataType::Float) {
  test::ModelBuilder b(13);
  b.input("image", dims, t);
  b.node("Identity", {"image"}, {"y"});
  b.output("y");
  return std::make_unique<api::Session>(std::move(b.model()));
}

api::IoSpec spec(ops::Dims dims, DataType t = DataType::Float) {
  api::IoSpec s;
  s.name = "image";
  s.dtype = t;
  s.shape = dims;
  return s;
}

// Pixel (x, y, c) of the test pattern: distinct values in every channel.
uint8_t pix(int x, int y, int c) { return static_cast<uint8_t>(17 * x + 53 * y + 91 * c + 3); }

api::Image pattern(int w, int h) {
  api::Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.pixels.push_back(pix(x, y, c));
  return img;
}

}  // namespace

TEST_CASE("api/image: --preprocess parses presets and keys") {
  api::Preprocess p = api::Preprocess::parse("imagenet");
  CHECK(p.scale == doctest::Approx(1.0 / 255));
  REQUIRE(p.mean.size() == 3);
  CHECK(p.mean[1] == doctest::Approx(0.456));
  CHECK(p.std[2] == doctest::Approx(0.225));
  CHECK(p.layout == api::Preprocess::Layout::Nchw);
  p = api::Preprocess::parse("pm1,size=32x48,order=bgr,layout=nhwc,gray=1,filter=area");
  CHECK(p.height == 32);
  CHECK(p.width == 48);
  CHECK(p.bgr);
  CHECK(p.layout == api::Preprocess::Layout::Nhwc);
  CHECK(p.gray == api::Preprocess::Gray::Yes);
  CHECK(p.filter == api::Preprocess::Filter::Area);
  CHECK(p.mean == std::vector<float>{0.5f});
  p = api::Preprocess::parse("scale=0.5,mean=1:2:3,std=2,size=64,keep-aspect=1");
  CHECK(p.scale == 0.5f);
  CHECK(p.mean == std::vector<float>{1, 2, 3});
  CHECK(p.height == 64);
  CHECK(p.width == 0);
  CHECK(p.keep_aspect);
  CHECK(api::Preprocess::parse("unit").scale == doctest::Approx(1.0 / 255));
}

TEST_CASE("api/image: bad preprocessing values name the setting (neutral, or the front end's) and the key") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},          {"foo=1", "unknown key 'foo'"}, {"imagenett", "unknown preset"},
      {"size=0", "size="},    {"size=12x", "size="},          {"size=axb", "size="},
      {"scale=1/0", "scale="}, {"scale=abc", "scale="},       {"mean=1:2:x", "mean="},
      {"std=0", "std=0"},     {"order=rbg", "order=rbg"},     {"layout=chw", "layout=chw"},
      {"gray=2", "gray=2"},   {"keep-aspect=yes", "keep-aspect"}, {"size=3x4,keep-aspect=1", "keep-aspect"},
      {"filter=cubic", "filter=cubic"}, {"mean=1:2:3:4:5", "mean="}};
  for (const auto& item : bad) {
    const std::string specv = item.first, want = item.second;
    CAPTURE(specv);
    try {
      api::Preprocess::parse(specv);
      FAIL("accepted");
    } catch (const Error& e) {
      const std::string msg = e.what();
      CHECK(msg.rfind("preprocessing: ", 0) == 0);
      CHECK(msg.find(want) != std::string::npos);
      CHECK(msg.find('\n') == std::string::npos);
    }
    CHECK_THROWS_WITH_AS(api::Preprocess::parse(specv, "--preprocess"), doctest::Contains("--preprocess: "), Error);
  }
}

TEST_CASE("api/image: nchw rgb with mean/std matches the closed form") {
  const api::Image img = pattern(3, 2);
  const api::Preprocess pp = api::Preprocess::parse("imagenet");
  const Tensor t = api::image_to_tensor(img, spec({1, 3, 2, 3}), pp, "p.bmp");
  REQUIRE(t.shape() == Shape{1, 3, 2, 3});
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x)
        CHECK(t.data<float>()[(c * 2 + y) * 3 + x] == doctest::Approx((pix(x, y, c) / 255.0 - mean[c]) / sd[c]).epsilon(kExact));
}

TEST_CASE("api/image: bgr order, nhwc layout and uint8 inputs") {
  const api::Image img = pattern(3, 2);
  api::Preprocess pp = api::Preprocess::parse("order=bgr,mean=10:20:30,std=2");
  const Tensor t = api::image_to_tensor(img, spec({1, 2, 3, 3}), pp, "p.bmp");  // [N,H,W,C] read as nhwc
  REQUIRE(t.shape() == Shape{1, 2, 3, 3});
  const float mean[3] = {10, 20, 30};
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c)
        CHECK(t.data<float>()[(y * 3 + x) * 3 + c] == doctest::Approx((pix(x, y, 2 - c) - mean[c]) / 2.0).epsilon(kExact));
  // uint8 inputs: raw pixels, no scaling, and nchw chosen explicitly.
  const Tensor u = api::image_to_tensor(img, spec({1, 3, 2, 3}, DataType::Uint8), api::Preprocess{}, "p.bmp");
  REQUIRE(u.dtype() == DataType::Uint8);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 6; ++i) CHECK(u.data<uint8_t>()[c * 6 + i] == pix(i % 3, i / 3, c));
}

TEST_CASE("api/image: a BMP decodes to its pixels; gray inputs use stb's luma") {
  const int w = 5, h = 3;
  const api::Image ref = pattern(w, h);
  const std::string bytes = bmp24(w, h, ref.pixels);
  const api::Image dec = api::decode_image(bytes, "p.bmp", 3);
  REQUIRE(dec.width == w);
  REQUIRE(dec.height == h);
  CHECK(dec.pixels == ref.pixels);
  const Tensor g = api::load_image_tensor(bytes, "p.bmp", spec({1, 1, h, w}), api::Preprocess::parse("unit"));
  REQUIRE(g.shape() == Shape{1, 1, h, w});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int luma = (77 * pix(x, y, 0) + 150 * pix(x, y, 1) + 29 * pix(x, y, 2)) >> 8;
      CHECK(g.data<float>()[y * w + x] == doctest::Approx(luma / 255.0).epsilon(kExact));
    }
  // gray=1 for a 3-channel input replicates the luma.
  const Tensor g3 = api::load_image_tensor(bytes, "p.bmp", spec({1, 3, h, w}), api::Preprocess::parse("gray=1"));
  for (int c = 0; c < 3; ++c) CHECK(g3.data<float>()[c * h * w + 7] == g.data<float>()[7] * 255.0f);
}

TEST_CASE("api/image: a truncated BMP is an error, not rows of zeros") {
  // Found by fuzz_image: stb_image reads past the end of a BMP as zeros, so a 90-byte file whose
  // header declared 3 x 10747907 pixels decoded to 128 MB of black and took a minute to resize.
  const api::Image ref = pattern(5, 3);
  const std::string whole = bmp24(5, 3, ref.pixels);  // rows of 16 bytes at offset 54
  CHECK(api::decode_image(whole, "p.bmp").height == 3);
  CHECK(test::error_of([&] { api::decode_image(whole.substr(0, whole.size() - 1), "p.bmp"); }) ==
        "p.bmp: truncated BMP — 5x3 pixels at 24 bits need 102 bytes, the file has 101");
  std::string tall = whole.substr(0, 90);
  for (int k = 0; k < 4; ++k) tall[static_cast<size_t>(22 + k)] = static_cast<char>((10747907u >> (8 * k)) & 0xff);
  const std::string msg = test::error_of([&] { api::decode_image(tall, "tall.bmp"); });
  CHECK(msg.find("tall.bmp: truncated BMP — 5x10747907 pixels") == 0);
  // A header cut short is truncated too.
  CHECK(test::error_of([&] { api::decode_image(whole.substr(0, 40), "p.bmp"); }).find("p.bmp: ") == 0);
}

TEST_CASE("api/image: a PNG chunk longer than the file is an error before stb allocates it") {
  // Found by fuzz_image: stb_image grows its IDAT buffer to the declared length before reading,
  // so ~100 bytes declaring a chunk of ~1 GiB allocated that much (out of memory).
  const std::string png = api::read_file(std::string(QM_SOURCE_DIR) + "/web/samples/calib/000.png");
  CHECK(api::decode_image(png, "c.png").width == 28);
  std::string huge = png.substr(0, 33);  // signature + IHDR
  huge += std::string("\x40\x00\x00\x00IDAT", 8) + std::string(20, 'x');
  CHECK(test::error_of([&] { api::decode_image(huge, "h.png"); }) ==
        "h.png: truncated PNG — chunk 'IDAT' declares 1073741824 bytes, the file has 20 left");
  CHECK(test::error_of([&] { api::decode_image(png.substr(0, png.size() - 20), "cut.png"); }).find("cut.png: truncated PNG") == 0);
}

TEST_CASE("api/image: a JPEG Huffman table of more than 256 codes is an error before stb reads it") {
  // Found by fuzz_image (UBSan): stb_image 2.27 wrote past its Huffman table arrays when the 16
  // code counts of a DHT segment add up to more than 256 (upstream fixed it in 2.28).
  std::string jpeg = "\xff\xd8\xff\xc4";
  jpeg += '\x10';  // segment length 4099 = 2 + 17 + 4080
  jpeg += '\x03';
  jpeg += '\x00';  // class 0, table 0
  jpeg += std::string(16, '\xff');
  CHECK(test::error_of([&] { api::decode_image(jpeg, "bad.jpg"); }) ==
        "bad.jpg: cannot decode image — corrupt JPEG (Huffman table of 4080 codes at byte 6, at most 256)");
  // The same table after a scan (progressive files put tables between scans) and behind fill bytes.
  const std::string later = std::string("\xff\xd8\xff\xda\x00\x02\x12\xff\x00\x34\xff\xd0\x56\xff\xff\xc4\x10\x03\x10", 19) +
                            std::string(16, '\x20');
  CHECK(test::error_of([&] { api::decode_image(later, "bad.jpg"); }).find("Huffman table of 512 codes") != std::string::npos);
  // stb also takes fill bytes before the SOI marker.
  CHECK(test::error_of([&] { api::decode_image("\xff\xff\xff" + jpeg.substr(1), "bad.jpg"); }).find("Huffman table of 4080 codes") !=
        std::string::npos);
  // Real JPEGs (baseline and progressive, from tests/fuzz/make_seeds.py) still decode.
  for (const char* f : {"rgb.jpg", "progressive.jpg", "gray.jpg"}) {
    const std::string seed = api::read_file(std::string(QM_SOURCE_DIR) + "/tests/data/fuzz_seeds/image/" + f);
    const size_t soi = seed.find("\xff\xd8");
    REQUIRE(soi != std::string::npos);
    CHECK(api::decode_image(seed.substr(soi), f).width > 0);
  }
}

TEST_CASE("api/image: a JPEG scan naming a Huffman table no DHT defined is an error before stb decodes it") {
  // Found by fuzz_image (ASan, not reproducible on re-run): stb decodes such a scan with its
  // uninitialised table memory (an index 944 into a 256-entry table). gray.jpg defines DC 0 and
  // AC 0; its one scan is pointed at AC 1, then at DC 2.
  std::string jpeg = api::read_file(std::string(QM_SOURCE_DIR) + "/tests/data/fuzz_seeds/image/gray.jpg");
  jpeg = jpeg.substr(jpeg.find("\xff\xd8"));
  CHECK(api::decode_image(jpeg, "ok.jpg").width > 0);
  const size_t sos = jpeg.find("\xff\xda");
  REQUIRE(sos != std::string::npos);
  REQUIRE(jpeg[sos + 4] == '\x01');  // one component
  REQUIRE(jpeg[sos + 6] == '\x00');  // tables DC 0 / AC 0
  jpeg[sos + 6] = '\x01';
  CHECK(test::error_of([&] { api::decode_image(jpeg, "bad.jpg"); }) ==
        "bad.jpg: cannot decode image — corrupt JPEG (the scan at byte " + std::to_string(sos) +
            " uses Huffman table AC 1, which no DHT segment before it defines)");
  jpeg[sos + 6] = '\x20';
  CHECK(test::error_of([&] { api::decode_image(jpeg, "bad.jpg"); }).find("uses Huffman table DC 2,") != std::string::npos);
  // A progressive file (DC scans, AC scans, refinements) still decodes: checked above with the seeds.
}

TEST_CASE("api/image: a JPEG cut short is refused, not decoded with zeros for the missing part") {
  // stb_image fills the entropy-coded bits a truncated file lacks with zeros and reports success.
  for (const char* f : {"rgb.jpg", "progressive.jpg", "gray.jpg"}) {
    std::string jpeg = api::read_file(std::string(QM_SOURCE_DIR) + "/tests/data/fuzz_seeds/image/" + f);
    jpeg = jpeg.substr(jpeg.find("\xff\xd8"));
    CHECK(api::decode_image(jpeg, f).width > 0);
    CHECK(api::decode_image(jpeg + "trailing bytes", f).width > 0);  // bytes after the end: still whole
    const size_t last_scan = jpeg.rfind("\xff\xda");
    REQUIRE(last_scan != std::string::npos);
    for (const size_t cut : {jpeg.size() - 2, (last_scan + jpeg.size()) / 2, last_scan + 20}) {
      CAPTURE(f);
      CAPTURE(cut);
      CHECK(test::error_of([&] { api::decode_image(jpeg.substr(0, cut), "cut.jpg"); }) ==
            "cut.jpg: cannot decode image — truncated JPEG (no end-of-image marker after its last scan; the file was cut short: save or "
            "download it again)");
    }
  }
}

TEST_CASE("api/image: a file much smaller than its declared pixels is refused before decoding") {
  // Found by fuzz_image (a timeout): a ~760-byte JPEG declaring 64 M pixels decoded to zeros and
  // took over 10 s to resize. Here a real seed JPEG gets 8192 x 8192 in its frame header.
  std::string jpeg = api::read_file(std::string(QM_SOURCE_DIR) + "/tests/data/fuzz_seeds/image/rgb.jpg");
  jpeg = jpeg.substr(jpeg.find("\xff\xd8"));
  const size_t sof = jpeg.find("\xff\xc0");
  REQUIRE(sof != std::string::npos);
  CHECK(api::decode_image(jpeg, "ok.jpg").width > 0);
  jpeg[sof + 5] = '\x20';  // height 0x2000
  jpeg[sof + 6] = '\x00';
  jpeg[sof + 7] = '\x20';  // width 0x2000
  jpeg[sof + 8] = '\x00';
  CHECK(test::error_of([&] { api::decode_image(jpeg, "bomb.jpg"); }) ==
        "bomb.jpg: cannot decode image — 8192x8192 pixels declared in only " + std::to_string(jpeg.size()) + " bytes (truncated or corrupt)");
}

TEST_CASE("api/image: resizing matches exact averages") {
  // A horizontal ramp p(x) = 10 x, 8 -> 4 wide: the widened triangle filter weighs the four
  // nearest pixels 1/8, 3/8, 3/8, 1/8, so interior outputs are the ramp at the pixel centre.
  api::Image ramp;
  ramp.width = 8;
  ramp.height = 2;
  ramp.channels = 1;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 8; ++x) ramp.pixels.push_back(static_cast<uint8_t>(10 * x));
  const std::vector<float> r = api::resize_image(ramp, 4, 2, api::Preprocess::Filter::Bilinear);
  REQUIRE(r.size() == 8u);
  for (int x = 1; x < 3; ++x) CHECK(r[static_cast<size_t>(x)] == doctest::Approx(10 * (2 * x + 0.5)).epsilon(kResize));
  // Area (box) 4x4 -> 2x2: means of the 2x2 blocks.
  api::Image sq;
  sq.width = sq.height = 4;
  sq.channels = 1;
  for (int i = 0; i < 16; ++i) sq.pixels.push_back(static_cast<uint8_t>(i * i));
  const std::vector<float> a = api::resize_image(sq, 2, 2, api::Preprocess::Filter::Area);
  for (int by = 0; by < 2; ++by)
    for (int bx = 0; bx < 2; ++bx) {
      double s = 0;
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 2; ++x) s += sq.pixels[static_cast<size_t>((2 * by + y) * 4 + 2 * bx + x)];
      CHECK(a[static_cast<size_t>(by * 2 + bx)] == doctest::Approx(s / 4).epsilon(kResize));
    }
  // Default size: the model's static H, W; keep-aspect: width from the aspect ratio.
  const Tensor t = api::image_to_tensor(pattern(8, 4), spec({1, 3, 2, 4}), api::Preprocess{}, "p.bmp");
  CHECK(t.shape() == Shape{1, 3, 2, 4});
  const Tensor k = api::image_to_tensor(pattern(8, 4), spec({1, 3, 2, ops::Dim::sym("W")}), api::Preprocess::parse("size=6,keep-aspect=1"), "p.bmp");
  CHECK(k.shape() == Shape{1, 3, 6, 12});
}

TEST_CASE("api/image: pad=right keeps the aspect and pads the right; pad=center letterboxes") {
  const api::Image img = pattern(8, 4);
  auto at = [](const Tensor& t, int64_t c, int64_t y, int64_t x) {
    return t.data<float>()[(c * t.shape()[2] + y) * t.shape()[3] + x];
  };
  // Oracle: the plain resize of the whole image to the inner rectangle (checked above against
  // exact averages), then the padding value.
  const Tensor inner = api::image_to_tensor(img, spec({1, 3, 2, 4}), api::Preprocess::parse("size=2x4,scale=0.5"), "p.bmp");
  const Tensor right = api::image_to_tensor(img, spec({1, 3, 2, ops::Dim::sym("W")}),
                                            api::Preprocess::parse("size=2x8,pad=right,pad-value=-1,scale=0.5"), "p.bmp");
  REQUIRE(right.shape() == Shape{1, 3, 2, 8});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < 8; ++x) CHECK(at(right, c, y, x) == (x < 4 ? at(inner, c, y, x) : -1.0f));
  // Wider than the width: squeezed to it, nothing padded.
  const Tensor squeezed = api::image_to_tensor(img, spec({1, 3, 4, 4}), api::Preprocess::parse("pad=right"), "p.bmp");
  const Tensor plain = api::image_to_tensor(img, spec({1, 3, 4, 4}), api::Preprocess{}, "p.bmp");
  for (int64_t i = 0; i < plain.numel(); ++i) CHECK(squeezed.data<float>()[i] == plain.data<float>()[i]);
  // Letterbox: 8x4 into 8x8 -> the whole image on rows 2..5, padding above and below.
  const Tensor full = api::image_to_tensor(img, spec({1, 3, 4, 8}), api::Preprocess{}, "p.bmp");
  const Tensor box = api::image_to_tensor(img, spec({1, 3, 8, 8}), api::Preprocess::parse("pad=center,pad-value=0.5"), "p.bmp");
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 8; ++y)
      for (int64_t x = 0; x < 8; ++x) CHECK(at(box, c, y, x) == (y >= 2 && y < 6 ? at(full, c, y - 2, x) : 0.5f));
  // A padded width must be known.
  CHECK_THROWS_WITH_AS(api::image_to_tensor(img, spec({1, 3, 2, ops::Dim::sym("W")}), api::Preprocess::parse("size=2,pad=right"), "p.bmp"),
                       doctest::Contains("preprocessing: pad=right needs the padded width"), Error);
  // The front end's name for the setting, given to parse, starts the image's errors too.
  CHECK_THROWS_WITH_AS(api::image_to_tensor(img, spec({1, 3, 2, ops::Dim::sym("W")}), api::Preprocess::parse("size=2,pad=right", "--preprocess"), "p.bmp"),
                       doctest::Contains("--preprocess: pad=right needs"), Error);
  CHECK_THROWS_WITH_AS(api::Preprocess::parse("pad=left"), doctest::Contains("pad=left"), Error);
}

TEST_CASE("api/samples: .npy, .npz and image samples are conformed; errors name the file") {
  auto s = relu_session({1, 3, 2, 3});
  Tensor x(DataType::Float, {3, 2, 3});
  for (int i = 0; i < 18; ++i) x.data<float>()[i] = static_cast<float>(i);
  std::vector<api::Sample> got = api::load_sample_bytes(*s, "x.npy", api::npy_bytes(x));
  REQUIRE(got.size() == 1u);
  CHECK(got[0][0].shape() == Shape{1, 3, 2, 3});
  CHECK(got[0][0].data<float>()[17] == 17.0f);
  // A stacked .npy: N samples with split_stacked, one conform error without.
  Tensor st(DataType::Float, {4, 3, 2, 3});
  for (int i = 0; i < 72; ++i) st.data<float>()[i] = static_cast<float>(i);
  api::SampleOptions so;
  so.split_stacked = true;
  got = api::load_sample_bytes(*s, "st.npy", api::npy_bytes(st), so);
  REQUIRE(got.size() == 4u);
  CHECK(got[2][0].shape() == Shape{1, 3, 2, 3});
  CHECK(got[2][0].data<float>()[0] == 36.0f);
  const api::Sample batched = api::batch_samples(got, 1, 4);
  CHECK(batched[0].shape() == Shape{3, 3, 2, 3});
  CHECK(batched[0].data<float>()[18] == 36.0f);
  CHECK(api::unbatch_sample(batched).size() == 3u);
  // With a cap, only the rows needed; bytes handed over are freed once parsed (the wasm path).
  so.max_samples = 2;
  std::string owned = api::npy_bytes(st);
  got = api::load_sample_bytes(*s, "st.npy", std::move(owned), so);
  REQUIRE(got.size() == 2u);
  CHECK(got[1][0].data<float>()[0] == 18.0f);
  CHECK(owned.capacity() < 64u);  // not the 300-byte file any more
  so.max_samples = 0;
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(*s, "st.npy", api::npy_bytes(st)), doctest::Contains("st.npy"), Error);
  // Shown as another name (the app's image preprocessed into a .npy): the kind still comes from
  // the name, the error names what the user gave.
  api::SampleOptions shown;
  shown.shown_as = "photo.png";
  try {
    api::load_sample_bytes(*s, "st.npy", api::npy_bytes(st), shown);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("from photo.png:") != std::string::npos);
    CHECK(std::string(e.what()).find("st.npy") == std::string::npos);
  }
  // Images through the same loader.
  const std::string bmp = bmp24(3, 2, pattern(3, 2).pixels);
  so.preprocess = api::Preprocess::parse("unit");
  got = api::load_sample_bytes(*s, "p.BMP", bmp, so);
  CHECK(got[0][0].data<float>()[4] == doctest::Approx(pix(1, 1, 0) / 255.0).epsilon(kExact));
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(*s, "bad.png", "not a png"), doctest::Contains("bad.png: cannot decode image"), Error);
  // An image input the image cannot fill.
  auto s5 = relu_session({1, 5, 2, 7});
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(*s5, "p.bmp", bmp), doctest::Contains("p.bmp: input 'image' [1, 5, 2, 7] has 5 channels"), Error);
  // Its advice names the setting neutrally (no CLI flag in the core's words).
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(*s5, "p.bmp", bmp), doctest::Contains("(preprocessing layout=nchw|nhwc?)"), Error);
  auto si = relu_session({1, 3, 2, 3}, DataType::Int64);
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(*si, "p.bmp", bmp), doctest::Contains("p.bmp: input 'image' is int64"), Error);
}

TEST_CASE("api/samples: multi-input .npz and directories") {
  test::ModelBuilder b(13);
  b.input("a", {1, 2});
  b.input("b", {1, 2});
  b.node("Add", {"a", "b"}, {"y"});
  b.output("y");
  {
    // An input shape for an input the model does not have: named neutrally.
    api::SessionOptions o;
    o.input_shapes["nope"] = {1, 2};
    CHECK_THROWS_WITH_AS(api::Session(b.model(), o), "input shape for 'nope': the model has no input 'nope'", Error);
  }
  api::Session s(std::move(b.model()));
  Tensor ta(DataType::Float, {1, 2}), tb(DataType::Float, {2});
  ta.data<float>()[1] = 5;
  tb.data<float>()[0] = 7;
  // np.savez layout: a stored zip with a.npy and b.npy.
  auto zip = [](const std::vector<std::pair<std::string, std::string>>& files) {
    std::string z;
    auto le = [&](uint32_t v, int n) {
      for (int k = 0; k < n; ++k) z += static_cast<char>((v >> (8 * k)) & 0xff);
    };
    for (const auto& file : files) {
      const std::string& name = file.first;
      const std::string& data = file.second;
      le(0x04034b50, 4);
      le(20, 2);
      le(0, 2);
      le(0, 2);
      le(0, 4);
      le(0, 4);  // crc (not checked by a stored reader)
      le(static_cast<uint32_t>(data.size()), 4);
      le(static_cast<uint32_t>(data.size()), 4);
      le(static_cast<uint32_t>(name.size()), 2);
      le(0, 2);
      z += name + data;
    }
    return z;
  };
  const std::string npz = zip({{"a.npy", api::npy_bytes(ta)}, {"b.npy", api::npy_bytes(tb)}});
  std::vector<api::Sample> got = api::load_sample_bytes(s, "ab.npz", npz);
  REQUIRE(got.size() == 1u);
  CHECK(got[0][0].data<float>()[1] == 5.0f);
  CHECK(got[0][1].shape() == Shape{1, 2});
  CHECK(got[0][1].data<float>()[0] == 7.0f);
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(s, "a.npy", api::npy_bytes(ta)), doctest::Contains("a.npy: the model has 2 inputs"), Error);
  const std::string onlya = zip({{"a.npy", api::npy_bytes(ta)}});
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(s, "a.npz", onlya), doctest::Contains("no tensor for input 'b' (give a file for input 'b', or a .npz with an array 'b')"), Error);
  const std::string extra = zip({{"a.npy", api::npy_bytes(ta)}, {"c.npy", api::npy_bytes(tb)}});
  CHECK_THROWS_WITH_AS(api::load_sample_bytes(s, "c.npz", extra), doctest::Contains("c.npz: array 'c' matches no model input"), Error);
}

TEST_CASE("api/samples: a directory gives its sample files sorted by name") {
  const std::string dir = std::string(QM_TESTDATA_DIR) + "/samples_dir";
  std::remove((dir + "/b.npy").c_str());
  std::remove((dir + "/a.bmp").c_str());
  std::remove((dir + "/notes.txt").c_str());
  std::remove((dir + "/c.npy").c_str());
  std::remove(dir.c_str());
  ::mkdir(QM_TESTDATA_DIR, 0777);
  ::mkdir(dir.c_str(), 0777);
  auto s = relu_session({1, 3, 2, 3});
  Tensor x(DataType::Float, {1, 3, 2, 3});
  x.data<float>()[0] = 42;
  api::write_npy(dir + "/b.npy", x);
  {
    const std::string bmp = bmp24(3, 2, pattern(3, 2).pixels);
    FILE* f = std::fopen((dir + "/a.bmp").c_str(), "wb");
    REQUIRE(f);
    std::fwrite(bmp.data(), 1, bmp.size(), f);
    std::fclose(f);
    f = std::fopen((dir + "/notes.txt").c_str(), "wb");
    std::fclose(f);
  }
  const std::vector<std::string> files = api::expand_sample_paths({dir});
  REQUIRE(files.size() == 2u);
  CHECK(files[0] == dir + "/a.bmp");
  std::vector<api::Sample> got = api::load_samples(*s, {dir});
  REQUIRE(got.size() == 2u);
  CHECK(got[0][0].data<float>()[0] == static_cast<float>(pix(0, 0, 0)));
  CHECK(got[1][0].data<float>()[0] == 42.0f);
  api::SampleOptions one;
  one.max_samples = 1;
  CHECK(api::load_samples(*s, {dir}, one).size() == 1u);
  // The cap counts across files: a stacked file after the first gives only the rows missing.
  Tensor st(DataType::Float, {4, 3, 2, 3});
  st.data<float>()[18] = 7;
  api::write_npy(dir + "/c.npy", st);
  api::SampleOptions three;
  three.split_stacked = true;
  three.max_samples = 3;
  got = api::load_samples(*s, {dir}, three);
  REQUIRE(got.size() == 3u);
  CHECK(got[2][0].data<float>()[0] == 0.0f);
  CHECK(api::load_samples(*s, {dir + "/c.npy"}, three)[1][0].data<float>()[0] == 7.0f);
  std::remove((dir + "/c.npy").c_str());
  CHECK_THROWS_WITH_AS(api::load_samples(*s, {dir + "/missing"}), doctest::Contains("missing: no such file"), Error);
}

}  // namespace qm
