#include "api/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace qm::api {
namespace {

[[noreturn]] void bad(const std::string& name, const std::string& why) {
  throw Error(ErrorKind::InvalidArgument, name + ": " + why);
}

/// Value of `key` in a Python dict literal header ("'descr': '<f4'").
std::string header_value(const std::string& h, const std::string& key, const std::string& name) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) bad(name, "not a valid .npy file (header has no '" + key + "')");
  size_t p = h.find(':', k);
  if (p == std::string::npos) bad(name, "not a valid .npy file (bad header)");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) bad(name, "not a valid .npy file (bad header)");
  if (h[p] == '\'' || h[p] == '"') {
    const size_t e = h.find(h[p], p + 1);
    if (e == std::string::npos) bad(name, "not a valid .npy file (bad header)");
    return h.substr(p + 1, e - p - 1);
  }
  if (h[p] == '(') {
    const size_t e = h.find(')', p);
    if (e == std::string::npos) bad(name, "not a valid .npy file (bad header)");
    return h.substr(p, e - p + 1);
  }
  size_t e = p;
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  return h.substr(p, e - p);
}

struct NpyType {
  const char* descr;
  DataType dtype;
};
const NpyType kTypes[] = {
    {"f4", DataType::Float}, {"f8", DataType::Double}, {"i8", DataType::Int64}, {"i4", DataType::Int32},
    {"i2", DataType::Int16}, {"u2", DataType::Uint16}, {"i1", DataType::Int8}, {"u1", DataType::Uint8},
    {"b1", DataType::Bool},
};

uint32_t le32(const unsigned char* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::Io, "cannot open '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(ErrorKind::Io, "cannot read '" + path + "'");
  return ss.str();
}

Tensor parse_npy(const std::string& b, const std::string& name) {
  const auto* u = reinterpret_cast<const unsigned char*>(b.data());
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) bad(name, "not a .npy file (no \\x93NUMPY magic)");
  const int major = u[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = le16(u + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) bad(name, "truncated .npy header");
    hlen = le32(u + 8);
    hstart = 12;
  } else {
    bad(name, "unsupported .npy format version " + std::to_string(major));
  }
  if (hstart + hlen > b.size()) bad(name, "truncated .npy header");
  const std::string h = b.substr(hstart, hlen);
  std::string descr = header_value(h, "descr", name);
  const std::string fortran = header_value(h, "fortran_order", name);
  const std::string shape_s = header_value(h, "shape", name);
  if (fortran.find("True") != std::string::npos) bad(name, "Fortran-order arrays are not supported (save a C-order array: np.ascontiguousarray)");
  if (descr.size() < 2) bad(name, "unsupported dtype '" + descr + "'");
  const char order = descr[0];
  if (order == '>' && descr.substr(1) != "i1" && descr.substr(1) != "u1" && descr.substr(1) != "b1")
    bad(name, "big-endian dtype '" + descr + "' is not supported");
  const std::string code = (order == '<' || order == '>' || order == '|' || order == '=') ? descr.substr(1) : descr;
  DataType dtype = DataType::Undefined;
  for (const NpyType& t : kTypes)
    if (code == t.descr) dtype = t.dtype;
  if (dtype == DataType::Undefined)
    bad(name, "unsupported dtype '" + descr + "' (expected float32, float64, int64, int32, int16, uint16, int8, uint8 or bool)");
  Shape shape;
  {
    std::string s = shape_s;
    if (s.empty() || s.front() != '(' || s.back() != ')') bad(name, "bad shape in .npy header: " + s);
    s = s.substr(1, s.size() - 2);
    size_t p = 0;
    while (p < s.size()) {
      while (p < s.size() && (s[p] == ' ' || s[p] == ',')) ++p;
      if (p >= s.size()) break;
      size_t e = p;
      while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
      if (e == p) bad(name, "bad shape in .npy header: (" + s + ")");
      if (e - p > 15) bad(name, "dimension " + s.substr(p, e - p) + " in the .npy header is too large");
      shape.push_back(std::stoll(s.substr(p, e - p)));
      p = e;
    }
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d > 0 && n > (int64_t{1} << 40) / d) bad(name, "array too large");
    n *= d;
  }
  // In 64 bits: a 32-bit size_t (WebAssembly) would wrap for 2^30 floats and pass the check.
  const uint64_t es = tensor_element_size(dtype);
  const size_t data_start = hstart + hlen;
  const uint64_t need = static_cast<uint64_t>(n) * es;
  if (static_cast<uint64_t>(b.size() - data_start) < need)
    bad(name, "truncated data: " + std::to_string(b.size() - data_start) + " bytes, expected " + std::to_string(need) +
                  " for shape " + shape_to_string(shape));
  Tensor t(dtype, shape);
  if (need) std::memcpy(t.raw(), b.data() + data_start, static_cast<size_t>(need));
  if (dtype == DataType::Bool) {
    auto* p = static_cast<uint8_t*>(t.raw());
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] ? 1 : 0;
  }
  return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string npy_bytes(const Tensor& t) {
  const char* descr = nullptr;
  DataType dt = t.dtype();
  if (dt == DataType::Int4) dt = DataType::Int8;
  if (dt == DataType::Uint4) dt = DataType::Uint8;
  for (const NpyType& k : kTypes)
    if (k.dtype == dt) descr = k.descr;
  if (!descr) throw Error(ErrorKind::Unsupported, std::string("cannot write element type ") + std::string(dtype_name(t.dtype())) + " to .npy");
  const bool one_byte = tensor_element_size(dt) == 1;
  // "(3,)" for 1-D, "(2, 3)" otherwise, "()" for a scalar, as NumPy writes them.
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (i) shape += ", ";
    shape += std::to_string(t.shape()[i]);
  }
  if (t.shape().size() == 1) shape += ",";
  shape += ")";
  std::string h = std::string("{'descr': '") + (one_byte ? "|" : "<") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  out += h;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  const std::string b = npy_bytes(t);
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::Io, "cannot write '" + path + "'");
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
  if (!f) throw Error(ErrorKind::Io, "cannot write '" + path + "'");
}

std::vector<std::pair<std::string, Tensor>> parse_npz(const std::string& b, const std::string& name) {
  // Walk the local file headers (PK\3\4). np.savez writes sizes in the local header (or in a
  // zip64 extra field for large arrays); entries with a data descriptor are not produced by it.
  std::vector<std::pair<std::string, Tensor>> out;
  const auto* u = reinterpret_cast<const unsigned char*>(b.data());
  size_t p = 0;
  if (b.size() < 4 || std::memcmp(b.data(), "PK", 2) != 0) bad(name, "not a .npz file (not a zip archive)");
  while (p + 30 <= b.size() && le32(u + p) == 0x04034b50) {
    const uint16_t flags = le16(u + p + 6), method = le16(u + p + 8);
    uint64_t csize = le32(u + p + 18), usize = le32(u + p + 22);
    const uint16_t nlen = le16(u + p + 26), xlen = le16(u + p + 28);
    if (p + 30 + nlen + xlen > b.size()) bad(name, "truncated zip entry header");
    std::string entry = b.substr(p + 30, nlen);
    if (csize == 0xffffffffu || usize == 0xffffffffu) {
      // zip64 extra field (id 1): uncompressed then compressed size.
      size_t q = p + 30 + nlen, e = q + xlen;
      while (q + 4 <= e) {
        const uint16_t id = le16(u + q), sz = le16(u + q + 2);
        if (q + 4 + sz > e) bad(name, "zip entry '" + entry + "': extra field runs past its header");
        if (id == 1 && sz >= 16) {
          usize = le32(u + q + 4) | (static_cast<uint64_t>(le32(u + q + 8)) << 32);
          csize = le32(u + q + 12) | (static_cast<uint64_t>(le32(u + q + 16)) << 32);
        }
        q += 4 + sz;
      }
    }
    if (method == 8) bad(name, "compressed .npz not supported: save with np.savez, not savez_compressed");
    if (method != 0) bad(name, "zip entry '" + entry + "' uses compression method " + std::to_string(method) + " (only stored entries are supported)");
    if (flags & 0x8) bad(name, "zip entry '" + entry + "' has a data descriptor (not written by np.savez)");
    const size_t data = p + 30 + nlen + xlen;
    // Compared without adding: a zip64 size near 2^64 would wrap the sum (and the next offset)
    // back into the file, and the walk would never end.
    if (csize > b.size() - data) bad(name, "truncated zip entry '" + entry + "'");
    std::string key = entry;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    out.emplace_back(key, parse_npy(b.substr(data, static_cast<size_t>(csize)), name + ":" + entry));
    p = data + static_cast<size_t>(csize);
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path) { return parse_npz(read_file(path), path); }

}  // namespace qm::api
