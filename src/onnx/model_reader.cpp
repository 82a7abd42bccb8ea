#include "onnx/model_reader.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>
#include <utility>

#include "core/error.h"
#include "onnx/tensor_data.h"

namespace qm::onnx {
namespace {

using protozero::pbf_reader;
using WT = protozero::pbf_wire_type;

/// Subgraphs (If/Loop/Scan bodies) nest through Graph -> Node -> Attribute -> Graph; crafted input
/// could nest them until the stack overflows, so the reader stops here. Real models nest a few levels.
constexpr int kMaxGraphDepth = 64;

uint64_t bit(uint32_t field) { return field < 64 ? uint64_t{1} << field : 0; }

const char* wire_type_name(WT t) {
  switch (t) {
    case WT::varint: return "varint";
    case WT::fixed64: return "fixed64";
    case WT::length_delimited: return "length-delimited";
    case WT::fixed32: return "fixed32";
    default: return "unknown";
  }
}

/// One ModelProto parse. Field offsets and the message path are tracked so that every error can
/// say where it happened; the path is pushed/popped by hand (not RAII) so that when a protozero
/// exception unwinds to read(), path_ still describes the innermost message.
class Reader {
  // Record structs allowed per byte of the file, plus a fixed allowance for tiny models. Real
  // models spend tens of bytes and more per record (names, op types, data).
  static constexpr size_t kMaxRecordBytesPerFileByte = 64;
  static constexpr size_t kRecordSlackBytes = size_t{16} << 20;

 public:
  Reader(std::shared_ptr<const std::string> buf, const std::string& file)
      : buf_(std::move(buf)), base_(buf_->data()), file_(file) {}

  Model read() {
    if (buf_->empty()) throw Error(ErrorKind::InvalidModel, file_ + ": empty file, not an ONNX model");
    if (buf_->size() > kMaxModelBytes)
      throw Error(ErrorKind::InvalidModel, file_ + ": file of " + std::to_string(buf_->size()) +
                                               " bytes is over the 2 GiB protobuf limit");
    Model model;
    field_start_ = base_;
    try {
      read_model(pbf_reader(buf_->data(), buf_->size()), model);
    } catch (const protozero::end_of_buffer_exception&) {
      fail("truncated protobuf", "a field runs past the end of its message");
    } catch (const protozero::varint_too_long_exception&) {
      fail("malformed protobuf", "varint longer than 10 bytes");
    } catch (const protozero::unknown_pbf_wire_type_exception&) {
      fail("malformed protobuf", "unsupported wire type (groups or 6/7)");
    } catch (const protozero::invalid_tag_exception&) {
      fail("malformed protobuf", "invalid field number");
    } catch (const protozero::invalid_length_exception&) {
      fail("malformed protobuf", "packed field length is not a multiple of the element size");
    } catch (const protozero::exception& e) {
      fail("malformed protobuf", e.what());
    }
    if (!model.graph)
      throw Error(ErrorKind::InvalidModel, file_ + ": not an ONNX model (no graph found)");
    if (!model.wire.has(1))
      throw Error(ErrorKind::InvalidModel, file_ + ": not an ONNX model (no ir_version)");
    return model;
  }

 private:
  struct Frame {
    const char* name;
    int64_t index;  // -1 for a singular field
  };

  size_t offset(const char* p) const { return static_cast<size_t>(p - base_); }

  std::string path_string() const {
    // Deeply nested input would make a huge path: keep the outer and inner ends.
    constexpr size_t kEnds = 4;
    std::string s;
    for (size_t i = 0; i < path_.size(); ++i) {
      if (path_.size() > 2 * kEnds + 1 && i == kEnds) {
        s += ".…";
        i = path_.size() - kEnds - 1;
        continue;
      }
      if (i) s += '.';
      s += path_[i].name;
      if (path_[i].index >= 0) s += "[" + std::to_string(path_[i].index) + "]";
    }
    return s;
  }

  std::string where() const {
    std::string s = " at byte " + std::to_string(offset(field_start_));
    if (!path_.empty()) s += " (in " + path_string() + ")";
    return s;
  }

  [[noreturn]] void fail(const std::string& what, const std::string& reason) const {
    throw Error(ErrorKind::InvalidModel, file_ + ": " + what + where() + " — " + reason);
  }

  bool next(pbf_reader& m) {
    field_start_ = m.data().data();
    if (!m.next()) return false;
    if (m.wire_type() == WT::length_delimited) check_length(m);
    return true;
  }

  /// protozero 1.7.1 reads lengths as uint32 and compares them as ptrdiff_t: on wasm32 a length
  /// of 2^31 or more passes its bounds check and moves the read pointer out of the buffer, and
  /// on 64-bit hosts a length of 2^32 + n is taken as n. So every length is checked here first,
  /// decoded with protozero's own varint decoder, before protozero skips over it.
  static void check_length(const pbf_reader& m) {
    protozero::data_view rest = m.data();
    const char* p = rest.data();
    const char* end = rest.data() + rest.size();
    uint64_t len = protozero::decode_varint(&p, end);
    if (len > static_cast<uint64_t>(end - p)) throw protozero::end_of_buffer_exception{};
  }

  void expect(const pbf_reader& m, WT wt, const char* field) const {
    if (m.wire_type() == wt) return;
    std::string reason = "field " + std::to_string(m.tag()) + " '" + field + "' (expected " +
                         wire_type_name(wt) + ", got " + wire_type_name(m.wire_type()) + ")";
    if (path_.empty()) fail("not an ONNX model: wrong wire type", reason);
    fail("wrong wire type", reason);
  }

  std::string get_string(pbf_reader& m, const char* field) {
    expect(m, WT::length_delimited, field);
    auto v = m.get_view();
    return std::string(v.data(), v.size());
  }
  int64_t get_int64(pbf_reader& m, const char* field) {
    expect(m, WT::varint, field);
    return m.get_int64();
  }
  int32_t get_int32(pbf_reader& m, const char* field) {
    expect(m, WT::varint, field);
    return m.get_int32();
  }

  void keep_unknown(pbf_reader& m, WireInfo& w) {
    const char* start = field_start_;
    m.skip();
    w.unknown.push_back(RawField{m.tag(), std::string(start, m.data().data())});
  }

  // Repeated scalars: packed (one length-delimited record) or one record per element.
  template <class T, class Packed, class One>
  void repeated(pbf_reader& m, WireInfo& w, std::vector<T>& out, WT elem, const char* field,
                Packed packed, One one) {
    if (m.wire_type() == WT::length_delimited) {
      w.packed |= bit(m.tag());
      auto r = (m.*packed)();
      out.insert(out.end(), r.begin(), r.end());
    } else {
      expect(m, elem, field);
      w.unpacked |= bit(m.tag());
      out.push_back(static_cast<T>((m.*one)()));
    }
  }
  void int64s(pbf_reader& m, WireInfo& w, std::vector<int64_t>& out, const char* field) {
    repeated(m, w, out, WT::varint, field, &pbf_reader::get_packed_int64, &pbf_reader::get_int64);
  }
  void int32s(pbf_reader& m, WireInfo& w, std::vector<int32_t>& out, const char* field) {
    repeated(m, w, out, WT::varint, field, &pbf_reader::get_packed_int32, &pbf_reader::get_int32);
  }
  void uint64s(pbf_reader& m, WireInfo& w, std::vector<uint64_t>& out, const char* field) {
    repeated(m, w, out, WT::varint, field, &pbf_reader::get_packed_uint64, &pbf_reader::get_uint64);
  }
  void floats(pbf_reader& m, WireInfo& w, std::vector<float>& out, const char* field) {
    repeated(m, w, out, WT::fixed32, field, &pbf_reader::get_packed_float, &pbf_reader::get_float);
  }
  void doubles(pbf_reader& m, WireInfo& w, std::vector<double>& out, const char* field) {
    repeated(m, w, out, WT::fixed64, field, &pbf_reader::get_packed_double, &pbf_reader::get_double);
  }

  /// Parses the submessage in the current field with `f`, tracking the path.
  template <class F>
  void sub(pbf_reader& m, const char* field, int64_t index, F&& f) {
    expect(m, WT::length_delimited, field);
    pbf_reader inner = m.get_message();
    path_.push_back(Frame{field, index});
    f(inner);
    path_.pop_back();
  }
  template <class T, class F>
  void sub_push(pbf_reader& m, const char* field, std::vector<T>& list, F&& f) {
    // Each record becomes a whole struct however few bytes carry it (an empty AttributeProto is
    // 2 bytes, its struct ~2 KB): bound the structs by the bytes of the file, so a small hostile
    // file cannot make gigabytes of them.
    record_bytes_ += sizeof(T);
    if (record_bytes_ > kMaxRecordBytesPerFileByte * buf_->size() + kRecordSlackBytes)
      fail("malformed protobuf", "more " + std::string(field) + " records than a file of " +
                                     std::to_string(buf_->size()) + " bytes can describe");
    list.emplace_back();
    sub(m, field, static_cast<int64_t>(list.size() - 1), [&](pbf_reader& in) { f(in, list.back()); });
  }

  void read_model(pbf_reader m, Model& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.ir_version = get_int64(m, "ir_version"); x.wire.mark(1); break;
        case 2: x.producer_name = get_string(m, "producer_name"); x.wire.mark(2); break;
        case 3: x.producer_version = get_string(m, "producer_version"); x.wire.mark(3); break;
        case 4: x.domain = get_string(m, "domain"); x.wire.mark(4); break;
        case 5: x.model_version = get_int64(m, "model_version"); x.wire.mark(5); break;
        case 6: x.doc_string = get_string(m, "doc_string"); x.wire.mark(6); break;
        case 7:
          if (!x.graph) x.graph.emplace();
          sub(m, "graph", -1, [&](pbf_reader& in) { read_graph(in, *x.graph); });
          break;
        case 8:
          sub_push(m, "opset_import", x.opset_import, [&](pbf_reader& in, OperatorSetId& o) { read_opset(in, o); });
          break;
        case 14:
          sub_push(m, "metadata_props", x.metadata_props, [&](pbf_reader& in, StringStringEntry& e) { read_entry(in, e); });
          break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_graph(pbf_reader m, Graph& x) {
    if (++graph_depth_ > kMaxGraphDepth)
      fail("subgraphs nested too deeply", "more than " + std::to_string(kMaxGraphDepth) + " levels");
    while (next(m)) {
      switch (m.tag()) {
        case 1: sub_push(m, "node", x.node, [&](pbf_reader& in, Node& n) { read_node(in, n); }); break;
        case 2: x.name = get_string(m, "name"); x.wire.mark(2); break;
        case 5:
          sub_push(m, "initializer", x.initializer, [&](pbf_reader& in, Tensor& t) { read_tensor(in, t); });
          break;
        case 10: x.doc_string = get_string(m, "doc_string"); x.wire.mark(10); break;
        case 11: sub_push(m, "input", x.input, [&](pbf_reader& in, ValueInfo& v) { read_value_info(in, v); }); break;
        case 12: sub_push(m, "output", x.output, [&](pbf_reader& in, ValueInfo& v) { read_value_info(in, v); }); break;
        case 13:
          sub_push(m, "value_info", x.value_info, [&](pbf_reader& in, ValueInfo& v) { read_value_info(in, v); });
          break;
        case 15:
          sub_push(m, "sparse_initializer", x.sparse_initializer,
                   [&](pbf_reader& in, SparseTensor& s) { read_sparse(in, s); });
          break;
        case 16:
          sub_push(m, "metadata_props", x.metadata_props, [&](pbf_reader& in, StringStringEntry& e) { read_entry(in, e); });
          break;
        default: keep_unknown(m, x.wire);
      }
    }
    --graph_depth_;
  }

  void read_node(pbf_reader m, Node& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.input.push_back(get_string(m, "input")); break;
        case 2: x.output.push_back(get_string(m, "output")); break;
        case 3: x.name = get_string(m, "name"); x.wire.mark(3); break;
        case 4: x.op_type = get_string(m, "op_type"); x.wire.mark(4); break;
        case 5:
          sub_push(m, "attribute", x.attribute, [&](pbf_reader& in, Attribute& a) { read_attribute(in, a); });
          break;
        case 6: x.doc_string = get_string(m, "doc_string"); x.wire.mark(6); break;
        case 7: x.domain = get_string(m, "domain"); x.wire.mark(7); break;
        case 8: x.overload = get_string(m, "overload"); x.wire.mark(8); break;
        case 9:
          sub_push(m, "metadata_props", x.metadata_props, [&](pbf_reader& in, StringStringEntry& e) { read_entry(in, e); });
          break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_attribute(pbf_reader m, Attribute& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.name = get_string(m, "name"); x.wire.mark(1); break;
        case 2:
          expect(m, WT::fixed32, "f");
          x.f = m.get_float();
          x.wire.mark(2);
          break;
        case 3: x.i = get_int64(m, "i"); x.wire.mark(3); break;
        case 4: x.s = get_string(m, "s"); x.wire.mark(4); break;
        case 5:
          x.t.emplace();
          sub(m, "t", -1, [&](pbf_reader& in) { read_tensor(in, *x.t); });
          break;
        case 6:
          x.g.emplace();
          sub(m, "g", -1, [&](pbf_reader& in) { read_graph(in, **x.g); });
          break;
        case 7: floats(m, x.wire, x.floats, "floats"); break;
        case 8: int64s(m, x.wire, x.ints, "ints"); break;
        case 9: x.strings.push_back(get_string(m, "strings")); break;
        case 10: sub_push(m, "tensors", x.tensors, [&](pbf_reader& in, Tensor& t) { read_tensor(in, t); }); break;
        case 11: sub_push(m, "graphs", x.graphs, [&](pbf_reader& in, Graph& g) { read_graph(in, g); }); break;
        case 13: x.doc_string = get_string(m, "doc_string"); x.wire.mark(13); break;
        case 14:
          x.tp.emplace();
          sub(m, "tp", -1, [&](pbf_reader& in) { read_type(in, *x.tp); });
          break;
        case 15:
          sub_push(m, "type_protos", x.type_protos, [&](pbf_reader& in, TypeProto& t) { read_type(in, t); });
          break;
        case 20: x.type = get_int32(m, "type"); x.wire.mark(20); break;
        case 21: x.ref_attr_name = get_string(m, "ref_attr_name"); x.wire.mark(21); break;
        case 22:
          x.sparse_tensor.emplace();
          sub(m, "sparse_tensor", -1, [&](pbf_reader& in) { read_sparse(in, *x.sparse_tensor); });
          break;
        case 23:
          sub_push(m, "sparse_tensors", x.sparse_tensors,
                   [&](pbf_reader& in, SparseTensor& s) { read_sparse(in, s); });
          break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_tensor(pbf_reader m, Tensor& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: int64s(m, x.wire, x.dims, "dims"); break;
        case 2: x.data_type = get_int32(m, "data_type"); x.wire.mark(2); break;
        case 4: floats(m, x.wire, x.float_data, "float_data"); break;
        case 5: int32s(m, x.wire, x.int32_data, "int32_data"); break;
        case 6: x.string_data.push_back(get_string(m, "string_data")); break;
        case 7: int64s(m, x.wire, x.int64_data, "int64_data"); break;
        case 8: x.name = get_string(m, "name"); x.wire.mark(8); break;
        case 9: {
          expect(m, WT::length_delimited, "raw_data");
          auto v = m.get_view();
          x.raw_data = Bytes(buf_, std::string_view(v.data(), v.size()));
          x.wire.mark(9);
          break;
        }
        case 10: doubles(m, x.wire, x.double_data, "double_data"); break;
        case 11: uint64s(m, x.wire, x.uint64_data, "uint64_data"); break;
        case 12: x.doc_string = get_string(m, "doc_string"); x.wire.mark(12); break;
        case 13:
          sub_push(m, "external_data", x.external_data, [&](pbf_reader& in, StringStringEntry& e) { read_entry(in, e); });
          break;
        case 14: x.data_location = get_int32(m, "data_location"); x.wire.mark(14); break;
        case 16:
          sub_push(m, "metadata_props", x.metadata_props, [&](pbf_reader& in, StringStringEntry& e) { read_entry(in, e); });
          break;
        default: keep_unknown(m, x.wire);
      }
    }
    try {
      validate_tensor_payload(x);
    } catch (const Error& e) {
      std::string msg = file_ + ": " + e.what();
      if (!path_.empty()) msg += " (in " + path_string() + ")";
      throw Error(e.kind(), msg);
    }
  }

  void read_sparse(pbf_reader m, SparseTensor& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: sub(m, "values", -1, [&](pbf_reader& in) { read_tensor(in, x.values); }); break;
        case 2: sub(m, "indices", -1, [&](pbf_reader& in) { read_tensor(in, x.indices); }); break;
        case 3: int64s(m, x.wire, x.dims, "dims"); break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_value_info(pbf_reader m, ValueInfo& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.name = get_string(m, "name"); x.wire.mark(1); break;
        case 2:
          if (!x.type) x.type.emplace();
          sub(m, "type", -1, [&](pbf_reader& in) { read_type(in, *x.type); });
          break;
        case 3: x.doc_string = get_string(m, "doc_string"); x.wire.mark(3); break;
        case 4:
          sub_push(m, "metadata_props", x.metadata_props, [&](pbf_reader& in, StringStringEntry& e) { read_entry(in, e); });
          break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_type(pbf_reader m, TypeProto& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1:
          x.kind = TypeProto::Kind::Tensor;
          sub(m, "tensor_type", -1, [&](pbf_reader& in) { read_type_tensor(in, x); });
          break;
        case 8:
          x.kind = TypeProto::Kind::SparseTensor;
          sub(m, "sparse_tensor_type", -1, [&](pbf_reader& in) { read_type_tensor(in, x); });
          break;
        case 6: x.denotation = get_string(m, "denotation"); x.wire.mark(6); break;
        default: keep_unknown(m, x.wire);  // sequence(4), map(5), optional(9), newer kinds
      }
    }
  }

  void read_type_tensor(pbf_reader m, TypeProto& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.elem_type = get_int32(m, "elem_type"); x.tensor_wire.mark(1); break;
        case 2:
          if (!x.shape) x.shape.emplace();
          sub(m, "shape", -1, [&](pbf_reader& in) { read_shape(in, *x.shape); });
          break;
        default: keep_unknown(m, x.tensor_wire);
      }
    }
  }

  void read_shape(pbf_reader m, TensorShape& x) {
    while (next(m)) {
      if (m.tag() == 1) {
        sub_push(m, "dim", x.dim, [&](pbf_reader& in, Dimension& d) { read_dim(in, d); });
      } else {
        keep_unknown(m, x.wire);
      }
    }
  }

  void read_dim(pbf_reader m, Dimension& x) {
    while (next(m)) {
      switch (m.tag()) {
        // dim_value and dim_param are a oneof: the last one on the wire wins.
        case 1: x.value = get_int64(m, "dim_value"); x.param.reset(); x.wire.mark(1); break;
        case 2: x.param = get_string(m, "dim_param"); x.value.reset(); x.wire.mark(2); break;
        case 3: x.denotation = get_string(m, "denotation"); x.wire.mark(3); break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_opset(pbf_reader m, OperatorSetId& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.domain = get_string(m, "domain"); x.wire.mark(1); break;
        case 2: x.version = get_int64(m, "version"); x.wire.mark(2); break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  void read_entry(pbf_reader m, StringStringEntry& x) {
    while (next(m)) {
      switch (m.tag()) {
        case 1: x.key = get_string(m, "key"); x.wire.mark(1); break;
        case 2: x.value = get_string(m, "value"); x.wire.mark(2); break;
        default: keep_unknown(m, x.wire);
      }
    }
  }

  std::shared_ptr<const std::string> buf_;
  size_t record_bytes_ = 0;  // bytes of the record structs made so far (sub_push)
  const char* base_;
  const std::string& file_;
  const char* field_start_ = nullptr;
  std::vector<Frame> path_;
  int graph_depth_ = 0;
};

}  // namespace

Model read_model(std::shared_ptr<const std::string> bytes, const std::string& file_name) {
  if (!bytes) throw Error(ErrorKind::InvalidModel, file_name + ": no data");
  return Reader(std::move(bytes), file_name).read();
}

namespace {

/// ifstream opens a folder on Linux and reports a size of 2^63 - 1 for it.
void reject_folder(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(ErrorKind::Io, path + ": is a folder, not a file");
}

}  // namespace

std::shared_ptr<const std::string> read_file_bytes(const std::string& path) {
  reject_folder(path);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(ErrorKind::Io, path + ": cannot open file");
  std::streamoff size = f.tellg();
  if (size < 0) throw Error(ErrorKind::Io, path + ": cannot determine the file size");
  auto data = std::make_shared<std::string>();
  try {
    data->resize(static_cast<size_t>(size));
  } catch (const std::exception&) {  // bad_alloc / length_error: over the address space (wasm32)
    throw Error(ErrorKind::Io, path + ": file of " + std::to_string(size) + " bytes does not fit in memory");
  }
  f.seekg(0);
  if (size > 0 && !f.read(&(*data)[0], size))
    throw Error(ErrorKind::Io, path + ": read failed");
  return data;
}

Model read_model_file(const std::string& path) {
  reject_folder(path);
  {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw Error(ErrorKind::Io, path + ": cannot open file");
    std::streamoff size = f.tellg();
    if (size >= 0 && static_cast<uint64_t>(size) > kMaxModelBytes)
      throw Error(ErrorKind::InvalidModel, path + ": file of " + std::to_string(size) +
                                               " bytes is over the 2 GiB protobuf limit");
  }
  return read_model(read_file_bytes(path), path);
}

}  // namespace qm::onnx
