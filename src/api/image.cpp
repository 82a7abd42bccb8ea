#include "api/image.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <memory>

#include "core/error.h"

#include "api/stb.h"

namespace qm::api {
namespace {

// Guards against decompression bombs: 2^26 pixels is 8192 x 8192, far beyond any model input.
constexpr int64_t kMaxPixels = int64_t{1} << 26;
constexpr int64_t kMaxSide = 16384;
// Pixels a compressed file can hold per byte (decode_image): 2048, twice deflate's best.
constexpr int64_t kMaxPixelsPerByte = 2048;

// What is wrong with a preprocessing spec; Preprocess::parse adds the setting's name.
struct BadSpec {
  std::string why;
};

[[noreturn]] void bad_flag(const std::string& why) { throw BadSpec{why}; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t q = 0;
  while (true) {
    const size_t e = s.find(sep, q);
    out.push_back(s.substr(q, e == std::string::npos ? std::string::npos : e - q));
    if (e == std::string::npos) break;
    q = e + 1;
  }
  return out;
}

bool parse_float(const std::string& s, float& out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = static_cast<float>(v);
  return true;
}

float parse_number(const std::string& key, const std::string& v) {
  // "1/255" as well as "0.0039".
  const size_t slash = v.find('/');
  float a = 0, b = 1;
  bool ok = slash == std::string::npos ? parse_float(v, a)
                                       : parse_float(v.substr(0, slash), a) && parse_float(v.substr(slash + 1), b) && b != 0;
  if (!ok) bad_flag(key + "=" + v + ": expected a number such as 0.5 or 1/255");
  return a / b;
}

std::vector<float> parse_list(const std::string& key, const std::string& v) {
  std::vector<float> out;
  for (const std::string& part : split(v, ':')) out.push_back(parse_number(key, part));
  if (out.size() > 4) bad_flag(key + "=" + v + ": expected 1 to 4 values separated by ':' (e.g. 0.485:0.456:0.406)");
  return out;
}

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  bad_flag(key + "=" + v + ": expected 0 or 1");
}

int64_t parse_side(const std::string& key, const std::string& v, const std::string& whole) {
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
    bad_flag(key + "=" + whole + ": expected H or HxW with positive integers (e.g. 224 or 256x320)");
  const int64_t n = std::stoll(v);
  if (n < 1 || n > kMaxSide) bad_flag(key + "=" + whole + ": sides must be 1.." + std::to_string(kMaxSide));
  return n;
}

void apply_preset(Preprocess& p, const std::string& name) {
  if (name == "imagenet") {
    p.scale = 1.0f / 255.0f;
    p.mean = {0.485f, 0.456f, 0.406f};
    p.std = {0.229f, 0.224f, 0.225f};
    p.bgr = false;
    p.layout = Preprocess::Layout::Nchw;
  } else if (name == "pm1") {
    p.scale = 1.0f / 255.0f;
    p.mean = {0.5f};
    p.std = {0.5f};
  } else if (name == "unit") {
    p.scale = 1.0f / 255.0f;
    p.mean.clear();
    p.std.clear();
  } else {
    bad_flag("unknown preset or key '" + name + "' (expected KEY=VAL with keys size, keep-aspect, scale, mean, std, order, "
             "layout, gray, filter, or a preset imagenet, pm1, unit)");
  }
}

bool has_ext(const std::string& path, const char* ext) {
  const std::string e(ext);
  return path.size() >= e.size() && lower(path.substr(path.size() - e.size())) == e;
}

std::string dims_text(const IoSpec& in) { return in.shape ? ops::dims_to_string(*in.shape) : std::string("[?]"); }

// Where the channel, height and width dims sit in an image input of rank `rank`.
struct Geometry {
  bool nhwc = false;
  int rank = 4;
  int c_axis = -1, h_axis = 0, w_axis = 1;  ///< c_axis -1: no channel axis (rank 2)
  int64_t channels = 0, height = 0, width = 0;  ///< 0: dynamic
};

Geometry geometry(const IoSpec& in, const Preprocess& pp, const std::string& name) {
  Geometry g;
  const ops::Dims* d = in.shape ? &*in.shape : nullptr;
  g.rank = d ? static_cast<int>(d->size()) : 4;
  if (g.rank < 2 || g.rank > 4)
    throw Error(ErrorKind::InvalidArgument, name + ": input '" + in.name + "' " + dims_text(in) +
                                                " is not an image input (expected rank 4 [N,C,H,W] or [N,H,W,C])");
  auto known = [&](int axis) -> int64_t { return d && (*d)[static_cast<size_t>(axis)].known() ? *(*d)[static_cast<size_t>(axis)].value : 0; };
  auto is_channels = [](int64_t v) { return v == 1 || v == 3 || v == 4; };
  if (g.rank == 2) {
    g.h_axis = 0;
    g.w_axis = 1;
    g.channels = 1;
  } else {
    const int first = g.rank - 3;  // channel axis if nchw
    if (pp.layout == Preprocess::Layout::Nhwc) g.nhwc = true;
    else if (pp.layout == Preprocess::Layout::Nchw) g.nhwc = false;
    else g.nhwc = !is_channels(known(first)) && is_channels(known(g.rank - 1));
    g.c_axis = g.nhwc ? g.rank - 1 : first;
    g.h_axis = g.nhwc ? first : first + 1;
    g.w_axis = g.h_axis + 1;
    g.channels = known(g.c_axis);
  }
  g.height = known(g.h_axis);
  g.width = known(g.w_axis);
  if (g.channels != 0 && !is_channels(g.channels))
    throw Error(ErrorKind::InvalidArgument, name + ": input '" + in.name + "' " + dims_text(in) + " has " + std::to_string(g.channels) +
                                                " channels in " + (g.nhwc ? "nhwc" : "nchw") +
                                                " layout; an image gives 1, 3 or 4 (" + pp.setting + " layout=nchw|nhwc?)");
  if (g.channels == 0) g.channels = pp.gray == Preprocess::Gray::Yes ? 1 : 3;
  if (g.channels == 1 && pp.gray == Preprocess::Gray::No)
    throw Error(ErrorKind::InvalidArgument, name + ": gray=0 but input '" + in.name + "' " + dims_text(in) + " has 1 channel");
  return g;
}

uint32_t le32(const unsigned char* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }

// stb_image reads past the end of a truncated BMP as zeros, so a 90-byte file declaring 3 x 10^7
// pixels decoded to 128 MB of black (and its resize took a minute). The rows of an uncompressed
// BMP (stb decodes no other kind) must be in the file: offset + stride * height bytes, with rows
// padded to 4 bytes. `w` x `h` are stbi_info's (already bounded by kMaxPixels).
void check_bmp_rows(const std::string& bytes, const std::string& name, int w, int h) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 18 || u[0] != 'B' || u[1] != 'M') return;
  const uint64_t offset = le32(u + 10), header = le32(u + 14);  // stbi_info took header 12, 40, 56, 108 or 124
  uint64_t bpp = 0, compression = 0;
  if (bytes.size() >= 14 + header && header >= 12) {
    bpp = header == 12 ? (u[24] | (u[25] << 8)) : (u[28] | (u[29] << 8));
    compression = header == 12 ? 0 : le32(u + 30);
    if (compression != 0 && compression != 3 && compression != 6) return;  // RLE: stb refuses it
  }
  const uint64_t need = std::max<uint64_t>(14 + header, offset + (static_cast<uint64_t>(w) * bpp + 31) / 32 * 4 * static_cast<uint64_t>(h));
  if (need > bytes.size())
    throw Error(ErrorKind::InvalidArgument, name + ": truncated BMP — " + std::to_string(w) + "x" + std::to_string(h) + " pixels at " +
                                                std::to_string(bpp) + " bits need " + std::to_string(need) + " bytes, the file has " +
                                                std::to_string(bytes.size()));
}

// stb_image grows its buffer for a PNG's IDAT chunk to the length the chunk declares before
// reading the data, so a 100-byte file declaring a 1 GiB chunk allocated 1 GiB (fuzz_image,
// out of memory). Every chunk's data must be in the file; the walk stops at IEND.
void check_png_chunks(const std::string& bytes, const std::string& name) {
  static const unsigned char kSig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSig, 8) != 0) return;
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  auto be32 = [&](size_t at) {
    return uint64_t{u[at]} << 24 | uint64_t{u[at + 1]} << 16 | uint64_t{u[at + 2]} << 8 | uint64_t{u[at + 3]};
  };
  for (size_t pos = 8; pos + 8 <= bytes.size();) {
    const uint64_t len = be32(pos);
    std::string type(bytes.data() + pos + 4, 4);
    for (char& ch : type)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '?';
    const uint64_t left = bytes.size() - pos - 8;
    if (len > left)
      throw Error(ErrorKind::InvalidArgument, name + ": truncated PNG — chunk '" + type + "' declares " +
                                                  std::to_string(len) + " bytes, the file has " + std::to_string(left) + " left");
    if (type == "IEND") return;
    pos += static_cast<size_t>(len) + 12;  // length, type, data, CRC
  }
}

// stb_image 2.27 (Debian's libstb-dev) builds a JPEG Huffman table from 16 code counts without
// checking that they add up to at most 256 (fixed upstream in 2.28): larger sums write past the
// table's arrays inside its decoder state (found by fuzz_image with UBSan). Every DHT segment stb
// could parse is checked first, and so is every scan's use of a table never defined. stb parses
// markers where 0xFF (fill 0xFFs skipped) is followed by the marker byte, outside the
// length-delimited segments it skips; this walk visits every such place (a superset: it keeps
// going where stb would stop at an error).
// A file cut short is refused too: stb decodes the missing entropy-coded bits as zeros without
// an error (a grey or smeared lower part), so a scan must be followed by the end-of-image marker.
void check_jpeg_structure(const std::string& bytes, const std::string& name) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  // SOI, which stb also finds behind fill bytes (0xFF 0xFF ... 0xD8).
  size_t pos = 1;
  while (pos < size && u[pos] == 0xff) ++pos;
  if (size < 2 || u[0] != 0xff || pos >= size || u[pos] != 0xd8) return;
  auto at = [&](size_t i) -> unsigned { return i < size ? u[i] : 0u; };  // stb reads 0 past the end
  bool defined[2][4] = {};  // [DC, AC][table id] defined by a DHT so far
  bool frame = false, progressive = false;  // an SOF seen; it was SOF2
  bool scan = false, ended = false;          // an SOS seen; an EOI after the last one
  ++pos;
  while (pos < size) {
    if (u[pos] != 0xff) {
      ++pos;
      continue;
    }
    size_t j = pos + 1;
    while (j < size && u[j] == 0xff) ++j;
    if (j >= size) break;
    const unsigned m = u[j];
    // Stuffed 0x00, RSTn, TEM, SOI, EOI: no segment follows.
    if (m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd9)) {
      if (m == 0xd9 && scan) ended = true;
      pos = j + 1;
      continue;
    }
    const size_t len = (at(j + 1) << 8) | at(j + 2);
    if (m == 0xc0 || m == 0xc1 || m == 0xc2) {  // stb's SOF markers
      frame = true;
      progressive = m == 0xc2;
    }
    if (m == 0xc4) {
      size_t q = j + 3, end = j + 1 + len;
      while (q < end) {
        size_t n = 0;
        for (size_t k = 1; k <= 16; ++k) n += at(q + k);
        if (n > 256)
          throw Error(ErrorKind::InvalidArgument, name + ": cannot decode image — corrupt JPEG (Huffman table of " + std::to_string(n) +
                                                      " codes at byte " + std::to_string(q) + ", at most 256)");
        const unsigned tc = at(q) >> 4, th = at(q) & 15;
        if (tc <= 1 && th <= 3) defined[tc][th] = true;
        q += 17 + n;
      }
    }
    if (m == 0xda) {
      scan = true;
      ended = false;
    }
    const unsigned ns = at(j + 3);  // an SOS segment's component count
    if (m == 0xda && frame && ns >= 1 && ns <= 4 && len == 6 + 2 * ns) {  // else stb refuses it
      // A scan decodes with the tables its components name; stb does not check that a DHT
      // defined them and would decode with its uninitialised table memory (fuzz_image: an index
      // 944 into a 256-entry table). A progressive DC refinement scan uses no table, other DC
      // scans the DC one, AC scans the AC one; a baseline scan both.
      const unsigned ss = at(j + 4 + 2 * ns), ah = at(j + 6 + 2 * ns) >> 4;
      const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss != 0;
      for (unsigned i = 0; i < ns; ++i) {
        const unsigned q = at(j + 5 + 2 * i), td = q >> 4, ta = q & 15;
        if (td > 3 || ta > 3) continue;  // stb refuses these itself
        if ((uses_dc && !defined[0][td]) || (uses_ac && !defined[1][ta]))
          throw Error(ErrorKind::InvalidArgument, name + ": cannot decode image — corrupt JPEG (the scan at byte " + std::to_string(j - 1) +
                                                      " uses Huffman table " + (uses_dc && !defined[0][td] ? "DC " + std::to_string(td) : "AC " + std::to_string(ta)) +
                                                      ", which no DHT segment before it defines)");
      }
    }
    pos = j + 1 + std::max<size_t>(len, 2);
  }
  if (frame && scan && !ended)
    throw Error(ErrorKind::InvalidArgument, name + ": cannot decode image — truncated JPEG (no end-of-image marker after its last scan; "
                                                "the file was cut short: save or download it again)");
}

}  // namespace

Preprocess Preprocess::parse(const std::string& spec, const std::string& setting) {
  try {
    Preprocess p = parse_spec(spec);
    p.setting = setting;
    return p;
  } catch (const BadSpec& b) {
    throw Error(ErrorKind::InvalidArgument, setting + ": " + b.why);
  }
}

Preprocess Preprocess::parse_spec(const std::string& spec) {
  Preprocess p;
  if (spec.empty()) bad_flag("empty value (expected KEY=VAL[,KEY=VAL...] or a preset imagenet, pm1, unit)");
  bool have_size = false;
  for (const std::string& tok : split(spec, ',')) {
    const size_t eq = tok.find('=');
    if (eq == std::string::npos) {
      apply_preset(p, tok);
      continue;
    }
    const std::string key = tok.substr(0, eq), v = tok.substr(eq + 1);
    if (key == "size") {
      const size_t x = lower(v).find('x');
      p.height = parse_side(key, x == std::string::npos ? v : v.substr(0, x), v);
      p.width = x == std::string::npos ? 0 : parse_side(key, v.substr(x + 1), v);
      have_size = true;
    } else if (key == "keep-aspect") {
      p.keep_aspect = parse_bool(key, v);
    } else if (key == "pad") {
      if (v != "right" && v != "center" && v != "none") bad_flag("pad=" + v + ": expected right, center or none");
      p.pad = v == "right" ? Pad::Right : v == "center" ? Pad::Center : Pad::None;
    } else if (key == "pad-value") {
      p.pad_value = parse_number(key, v);
    } else if (key == "scale") {
      p.scale = parse_number(key, v);
    } else if (key == "mean") {
      p.mean = parse_list(key, v);
    } else if (key == "std") {
      p.std = parse_list(key, v);
      for (float s : p.std)
        if (s == 0) bad_flag("std=" + v + ": values must not be 0");
    } else if (key == "order") {
      if (v != "rgb" && v != "bgr") bad_flag("order=" + v + ": expected rgb or bgr");
      p.bgr = v == "bgr";
    } else if (key == "layout") {
      if (v != "nchw" && v != "nhwc") bad_flag("layout=" + v + ": expected nchw or nhwc");
      p.layout = v == "nchw" ? Layout::Nchw : Layout::Nhwc;
    } else if (key == "gray") {
      p.gray = parse_bool(key, v) ? Gray::Yes : Gray::No;
    } else if (key == "filter") {
      if (v != "bilinear" && v != "area") bad_flag("filter=" + v + ": expected bilinear or area");
      p.filter = v == "area" ? Filter::Area : Filter::Bilinear;
    } else {
      bad_flag("unknown key '" + key + "' (expected size, keep-aspect, pad, pad-value, scale, mean, std, order, layout, gray, filter, "
               "or a preset imagenet, pm1, unit)");
    }
  }
  if (p.keep_aspect && have_size && p.width != 0 && p.pad == Pad::None)
    bad_flag("keep-aspect=1 takes size=H (a height only), got a width too (pad=right|center keep the aspect within HxW)");
  if (p.pad != Pad::None) p.keep_aspect = false;  // the pad modes keep the aspect themselves
  return p;
}

bool is_image_file(const std::string& path) {
  return has_ext(path, ".png") || has_ext(path, ".jpg") || has_ext(path, ".jpeg") || has_ext(path, ".bmp");
}

Image decode_image(const std::string& bytes, const std::string& name, int channels) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) throw Error(ErrorKind::InvalidArgument, name + ": image file too large");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  check_jpeg_structure(bytes, name);  // before stb parses any header
  check_png_chunks(bytes, name);
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &n))
    throw Error(ErrorKind::InvalidArgument, name + ": cannot decode image — " + std::string(stbi_failure_reason()) +
                                                " (expected a PNG, JPEG or BMP file)");
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > kMaxPixels)
    throw Error(ErrorKind::InvalidArgument, name + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                                                " pixels (expected at most " + std::to_string(kMaxPixels) + " pixels)");
  check_bmp_rows(bytes, name, w, h);
  // A file far smaller than its declared pixels can hold is truncated: stb fills the rest with
  // zeros, and decoding and resizing the zeros took over 10 s (fuzz_image: a 760-byte JPEG that
  // declared 64 M pixels). Real images stay far below this ratio: deflate tops out at ~1032:1,
  // and a JPEG needs bits for every 8x8 block.
  if (static_cast<int64_t>(w) * h > kMaxPixelsPerByte * static_cast<int64_t>(bytes.size()))
    throw Error(ErrorKind::InvalidArgument, name + ": cannot decode image — " + std::to_string(w) + "x" + std::to_string(h) +
                                                " pixels declared in only " + std::to_string(bytes.size()) + " bytes (truncated or corrupt)");
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, len, &w, &h, &n, channels), stbi_image_free);
  if (!px)
    throw Error(ErrorKind::InvalidArgument, name + ": cannot decode image — " + std::string(stbi_failure_reason()));
  Image img;
  img.width = w;
  img.height = h;
  img.channels = channels ? channels : n;
  // stb returns gray+alpha as 2 channels: drop the alpha, a model never wants it.
  const size_t count = static_cast<size_t>(w) * static_cast<size_t>(h);
  if (img.channels == 2) {
    img.channels = 1;
    img.pixels.resize(count);
    for (size_t i = 0; i < count; ++i) img.pixels[i] = px.get()[2 * i];
  } else {
    img.pixels.assign(px.get(), px.get() + count * static_cast<size_t>(img.channels));
  }
  return img;
}

std::vector<float> resize_image(const Image& img, int width, int height, Preprocess::Filter filter) {
  std::vector<float> src(img.pixels.begin(), img.pixels.end());
  if (width == img.width && height == img.height) return src;
  std::vector<float> dst(static_cast<size_t>(width) * static_cast<size_t>(height) * static_cast<size_t>(img.channels));
  const int ok = stbir_resize_float_generic(src.data(), img.width, img.height, 0, dst.data(), width, height, 0, img.channels,
                                            STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                            filter == Preprocess::Filter::Area ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE,
                                            STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) throw Error(ErrorKind::InvalidArgument, "image resize to " + std::to_string(width) + "x" + std::to_string(height) + " failed");
  return dst;
}

Tensor image_to_tensor(const Image& img, const IoSpec& input, const Preprocess& pp, const std::string& name) {
  const Geometry g = geometry(input, pp, name);
  const int64_t C = g.channels;
  if (input.dtype != DataType::Float && input.dtype != DataType::Uint8 && input.dtype != DataType::Undefined)
    throw Error(ErrorKind::InvalidArgument, name + ": input '" + input.name + "' is " + std::string(dtype_name(input.dtype)) +
                                                "; an image gives float32 or uint8");
  for (const auto* list : {&pp.mean, &pp.std})
    if (list->size() > 1 && static_cast<int64_t>(list->size()) != C)
      throw Error(ErrorKind::InvalidArgument, pp.setting + ": " + std::string(list == &pp.mean ? "mean" : "std") + " has " +
                                                  std::to_string(list->size()) + " values but input '" + input.name + "' " +
                                                  dims_text(input) + " has " + std::to_string(C) + " channels (" + name + ")");
  // Target size: the flag, else the input's static dims, else the image's own.
  int64_t H = pp.height ? pp.height : g.height ? g.height : img.height;
  int64_t W = pp.width ? pp.width : pp.height && !pp.keep_aspect ? pp.height : g.width ? g.width : img.width;
  if (pp.keep_aspect) W = std::max<int64_t>(1, std::llround(static_cast<double>(img.width) * static_cast<double>(H) / img.height));
  if (H > kMaxSide || W > kMaxSide || H * W > kMaxPixels)
    throw Error(ErrorKind::InvalidArgument, name + ": resize target " + std::to_string(H) + "x" + std::to_string(W) + " is too large");
  if (pp.pad != Preprocess::Pad::None && !pp.width && !g.width)
    throw Error(ErrorKind::InvalidArgument, pp.setting + ": pad=" + std::string(pp.pad == Preprocess::Pad::Right ? "right" : "center") +
                                                " needs the padded width: give size=HxW (input '" + input.name + "' " +
                                                dims_text(input) + " has no static width; " + name + ")");
  // The image's own rectangle inside H x W (the rest is padding).
  int64_t ih = H, iw = W, top = 0, left = 0;
  if (pp.pad == Preprocess::Pad::Right) {
    iw = std::clamp<int64_t>(std::llround(static_cast<double>(img.width) * static_cast<double>(H) / img.height), 1, W);
  } else if (pp.pad == Preprocess::Pad::Center) {
    const double s = std::min(static_cast<double>(H) / img.height, static_cast<double>(W) / img.width);
    ih = std::clamp<int64_t>(std::llround(img.height * s), 1, H);
    iw = std::clamp<int64_t>(std::llround(img.width * s), 1, W);
    top = (H - ih) / 2;
    left = (W - iw) / 2;
  }

  // Gray images for gray inputs; a gray source for a colour input is replicated (stb does it).
  Image src = img;
  if (C == 1 && img.channels != 1) {
    src.channels = 1;
    src.pixels.resize(static_cast<size_t>(img.width) * static_cast<size_t>(img.height));
    for (size_t i = 0; i < src.pixels.size(); ++i) {
      const uint8_t* p = &img.pixels[i * static_cast<size_t>(img.channels)];
      src.pixels[i] = static_cast<uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    }
  }
  const std::vector<float> px = resize_image(src, static_cast<int>(iw), static_cast<int>(ih), pp.filter);
  const int64_t sc = src.channels;

  Shape shape(static_cast<size_t>(g.rank));
  if (g.rank == 4) shape[0] = 1;
  if (g.c_axis >= 0) shape[static_cast<size_t>(g.c_axis)] = C;
  shape[static_cast<size_t>(g.h_axis)] = H;
  shape[static_cast<size_t>(g.w_axis)] = W;
  const bool as_u8 = input.dtype == DataType::Uint8;
  Tensor t(as_u8 ? DataType::Uint8 : DataType::Float, shape);
  std::vector<float> mul(static_cast<size_t>(C)), add(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const float m = pp.mean.empty() ? 0.0f : pp.mean[pp.mean.size() == 1 ? 0 : static_cast<size_t>(c)];
    const float s = pp.std.empty() ? 1.0f : pp.std[pp.std.size() == 1 ? 0 : static_cast<size_t>(c)];
    mul[static_cast<size_t>(c)] = s;
    add[static_cast<size_t>(c)] = m;
  }
  const int64_t HW = H * W;
  for (int64_t c = 0; c < C; ++c) {
    // Source channel: gray replicated; bgr swaps the first three.
    int64_t s = sc == 1 ? 0 : c;
    if (pp.bgr && sc >= 3 && c < 3) s = 2 - c;
    const float m = add[static_cast<size_t>(c)], sd = mul[static_cast<size_t>(c)];
    for (int64_t i = 0; i < HW; ++i) {
      const int64_t y = i / W - top, x = i % W - left;
      const bool inside = y >= 0 && y < ih && x >= 0 && x < iw;
      const float v = inside ? (px[static_cast<size_t>((y * iw + x) * sc + s)] * pp.scale - m) / sd : pp.pad_value;
      const int64_t at = g.nhwc ? i * C + c : c * HW + i;
      if (as_u8) t.data<uint8_t>()[at] = static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
      else t.data<float>()[at] = v;
    }
  }
  return t;
}

Tensor load_image_tensor(const std::string& bytes, const std::string& name, const IoSpec& input, const Preprocess& pp) {
  const Geometry g = geometry(input, pp, name);
  // Decode straight to the channel count needed (stb converts), except gray for colour inputs,
  // which image_to_tensor replicates.
  const int want = g.channels == 4 ? 4 : (g.channels == 1 || pp.gray == Preprocess::Gray::Yes) ? 1 : 3;
  return image_to_tensor(decode_image(bytes, name, want), input, pp, name);
}

}  // namespace qm::api
