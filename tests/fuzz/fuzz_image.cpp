// libFuzzer entry: an image sample through --preprocess (api/image.h): the --preprocess text,
// decoding (PNG, JPEG, BMP via stb_image), resizing and the tensor for an image input. Every input
// must end in success or a qm::Error.
//
// Input layout: byte 0 picks the input's rank, element type and layout, bytes 1-3 its channel,
// height and width dims (from a table with dynamic, 0, small, odd and huge values), then an
// optional --preprocess value ended by '\n' (at most 96 bytes; without a '\n' there the
// preprocess is the default), then the image file's bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "api/image.h"
#include "api/session.h"
#include "core/error.h"
#include "core/tensor.h"

namespace {

constexpr int64_t kDims[] = {-1, 0, 1, 2, 3, 4, 5, 7, 16, 28, 224, 20000, int64_t{1} << 40, -1, 1, 3};
constexpr qm::DataType kTypes[] = {qm::DataType::Float, qm::DataType::Uint8, qm::DataType::Undefined, qm::DataType::Int64};

qm::ops::Dim dim(uint8_t b) {
  const int64_t v = kDims[b % 16];
  return v < 0 ? qm::ops::Dim::sym("N") : qm::ops::Dim(v);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qm::set_max_tensor_bytes(size_t{64} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t sel = data[0];
  qm::api::IoSpec in;
  in.name = "image";
  in.dtype = kTypes[(sel >> 3) & 3];
  const int rank = 1 + (sel & 7) % 5;  // 1..5, mostly the image ranks 2..4
  const bool nhwc = (sel & 0x20) != 0;
  if ((sel & 0xc0) != 0xc0) {  // else: rank unknown
    const qm::ops::Dim c = dim(data[1]), h = dim(data[2]), w = dim(data[3]);
    const qm::ops::Dim n = (sel & 0x40) ? qm::ops::Dim::sym("N") : qm::ops::Dim(1);
    switch (rank) {
      case 1: in.shape = qm::ops::Dims{w}; break;
      case 2: in.shape = qm::ops::Dims{h, w}; break;
      case 3: in.shape = nhwc ? qm::ops::Dims{h, w, c} : qm::ops::Dims{c, h, w}; break;
      case 4: in.shape = nhwc ? qm::ops::Dims{n, h, w, c} : qm::ops::Dims{n, c, h, w}; break;
      default: in.shape = qm::ops::Dims{n, c, h, w, qm::ops::Dim(1)}; break;
    }
  }
  size_t pos = 4;
  std::string spec;
  const void* nl = std::memchr(data + pos, '\n', std::min<size_t>(size - pos, 97));
  if (nl) {
    const size_t end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - data);
    spec.assign(reinterpret_cast<const char*>(data + pos), end - pos);
    pos = end + 1;
  }
  const std::string bytes(reinterpret_cast<const char*>(data + pos), size - pos);
  try {
    const qm::api::Preprocess pp = spec.empty() ? qm::api::Preprocess() : qm::api::Preprocess::parse(spec);
    const qm::Tensor t = qm::api::load_image_tensor(bytes, "fuzz.png", in, pp);
    if (t.dtype() != qm::DataType::Float && t.dtype() != qm::DataType::Uint8) __builtin_trap();
  } catch (const qm::Error&) {
    // Rejected with a message: the expected outcome.
  }
  return 0;
}
