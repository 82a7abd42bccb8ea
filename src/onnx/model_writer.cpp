#include "onnx/model_writer.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <protozero/pbf_writer.hpp>

#include "core/error.h"
#include "onnx/model_reader.h"

namespace qm::onnx {
namespace {

using W = protozero::pbf_writer;

/// Declared encoding of a repeated scalar, overridden by what the reader saw.
bool use_packed(const WireInfo& w, uint32_t n, bool declared_packed) {
  if (w.packed >> n & 1u) return true;
  if (w.unpacked >> n & 1u) return false;
  return declared_packed;
}

bool float_is_default(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits == 0;
}

/// Writes one message. Known fields go out in field-number order; before each, the uninterpreted
/// fields with smaller numbers are re-inserted verbatim. They are appended straight to the output
/// string: protozero's nested writers only remember positions, so the enclosing lengths stay right.
class MessageWriter {
 public:
  MessageWriter(std::string& out, W& w, const WireInfo& info) : out_(out), w_(w), info_(info) {
    if (!info.unknown.empty()) {
      order_.resize(info.unknown.size());
      for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
      std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
        return info.unknown[a].number < info.unknown[b].number;
      });
    }
  }

  /// Emits pending unknown fields numbered below `n`.
  void at(uint32_t n) {
    while (next_ < order_.size() && info_.unknown[order_[next_]].number < n)
      out_.append(info_.unknown[order_[next_++]].wire);
  }
  void finish() {
    while (next_ < order_.size()) out_.append(info_.unknown[order_[next_++]].wire);
  }

  void str(uint32_t n, const std::string& s) {
    at(n);
    if (info_.has(n) || !s.empty()) w_.add_bytes(n, s);
  }
  void int64(uint32_t n, int64_t v) {
    at(n);
    if (info_.has(n) || v != 0) w_.add_int64(n, v);
  }
  void int32(uint32_t n, int32_t v) {
    at(n);
    if (info_.has(n) || v != 0) w_.add_int32(n, v);
  }
  void flt(uint32_t n, float v) {
    at(n);
    if (info_.has(n) || !float_is_default(v)) w_.add_float(n, v);
  }
  void strings(uint32_t n, const std::vector<std::string>& v) {
    at(n);
    for (const std::string& s : v) w_.add_bytes(n, s);
  }
  void int64s(uint32_t n, const std::vector<int64_t>& v, bool declared_packed) {
    at(n);
    if (use_packed(info_, n, declared_packed)) {
      w_.add_packed_int64(n, v.begin(), v.end());
    } else {
      for (int64_t x : v) w_.add_int64(n, x);
    }
  }
  void int32s(uint32_t n, const std::vector<int32_t>& v, bool declared_packed) {
    at(n);
    if (use_packed(info_, n, declared_packed)) {
      w_.add_packed_int32(n, v.begin(), v.end());
    } else {
      for (int32_t x : v) w_.add_int32(n, x);
    }
  }
  void uint64s(uint32_t n, const std::vector<uint64_t>& v, bool declared_packed) {
    at(n);
    if (use_packed(info_, n, declared_packed)) {
      w_.add_packed_uint64(n, v.begin(), v.end());
    } else {
      for (uint64_t x : v) w_.add_uint64(n, x);
    }
  }
  void floats(uint32_t n, const std::vector<float>& v, bool declared_packed) {
    at(n);
    if (use_packed(info_, n, declared_packed)) {
      w_.add_packed_float(n, v.begin(), v.end());
    } else {
      for (float x : v) w_.add_float(n, x);
    }
  }
  void doubles(uint32_t n, const std::vector<double>& v, bool declared_packed) {
    at(n);
    if (use_packed(info_, n, declared_packed)) {
      w_.add_packed_double(n, v.begin(), v.end());
    } else {
      for (double x : v) w_.add_double(n, x);
    }
  }

  /// Writes a submessage with `f(writer)`. protozero drops empty submessages; an empty one is
  /// meaningful here (e.g. the shape of a scalar), so it is written as tag + zero length.
  template <class F>
  void msg(uint32_t n, F&& f) {
    at(n);
    size_t before = out_.size();
    {
      W sub(w_, n);
      f(sub);
    }
    if (out_.size() == before) w_.add_message(n, "", 0);
  }

  std::string& out() { return out_; }

 private:
  std::string& out_;
  W& w_;
  const WireInfo& info_;
  std::vector<size_t> order_;
  size_t next_ = 0;
};

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void model(W& w, const Model& x) {
    MessageWriter m(out_, w, x.wire);
    m.int64(1, x.ir_version);
    m.str(2, x.producer_name);
    m.str(3, x.producer_version);
    m.str(4, x.domain);
    m.int64(5, x.model_version);
    m.str(6, x.doc_string);
    if (x.graph) m.msg(7, [&](W& s) { graph(s, *x.graph); });
    for (const auto& o : x.opset_import) m.msg(8, [&](W& s) { opset(s, o); });
    for (const auto& e : x.metadata_props) m.msg(14, [&](W& s) { entry(s, e); });
    m.finish();
  }

  void graph(W& w, const Graph& x) {
    MessageWriter m(out_, w, x.wire);
    for (const auto& n : x.node) m.msg(1, [&](W& s) { node(s, n); });
    m.str(2, x.name);
    for (const auto& t : x.initializer) m.msg(5, [&](W& s) { tensor(s, t); });
    m.str(10, x.doc_string);
    for (const auto& v : x.input) m.msg(11, [&](W& s) { value_info(s, v); });
    for (const auto& v : x.output) m.msg(12, [&](W& s) { value_info(s, v); });
    for (const auto& v : x.value_info) m.msg(13, [&](W& s) { value_info(s, v); });
    for (const auto& t : x.sparse_initializer) m.msg(15, [&](W& s) { sparse(s, t); });
    for (const auto& e : x.metadata_props) m.msg(16, [&](W& s) { entry(s, e); });
    m.finish();
  }

  void node(W& w, const Node& x) {
    MessageWriter m(out_, w, x.wire);
    m.strings(1, x.input);
    m.strings(2, x.output);
    m.str(3, x.name);
    m.str(4, x.op_type);
    for (const auto& a : x.attribute) m.msg(5, [&](W& s) { attribute(s, a); });
    m.str(6, x.doc_string);
    m.str(7, x.domain);
    m.str(8, x.overload);
    for (const auto& e : x.metadata_props) m.msg(9, [&](W& s) { entry(s, e); });
    m.finish();
  }

  void attribute(W& w, const Attribute& x) {
    MessageWriter m(out_, w, x.wire);
    m.str(1, x.name);
    m.flt(2, x.f);
    m.int64(3, x.i);
    m.str(4, x.s);
    if (x.t) m.msg(5, [&](W& s) { tensor(s, *x.t); });
    if (x.g) m.msg(6, [&](W& s) { graph(s, **x.g); });
    m.floats(7, x.floats, false);
    m.int64s(8, x.ints, false);
    m.strings(9, x.strings);
    for (const auto& t : x.tensors) m.msg(10, [&](W& s) { tensor(s, t); });
    for (const auto& g : x.graphs) m.msg(11, [&](W& s) { graph(s, g); });
    m.str(13, x.doc_string);
    if (x.tp) m.msg(14, [&](W& s) { type(s, *x.tp); });
    for (const auto& t : x.type_protos) m.msg(15, [&](W& s) { type(s, t); });
    m.int32(20, x.type);
    m.str(21, x.ref_attr_name);
    if (x.sparse_tensor) m.msg(22, [&](W& s) { sparse(s, *x.sparse_tensor); });
    for (const auto& t : x.sparse_tensors) m.msg(23, [&](W& s) { sparse(s, t); });
    m.finish();
  }

  void tensor(W& w, const Tensor& x) {
    MessageWriter m(out_, w, x.wire);
    m.int64s(1, x.dims, false);
    m.int32(2, x.data_type);
    m.floats(4, x.float_data, true);
    m.int32s(5, x.int32_data, true);
    m.strings(6, x.string_data);
    m.int64s(7, x.int64_data, true);
    m.str(8, x.name);
    m.at(9);
    if (x.has_raw_data() || !x.raw_data.empty()) w.add_bytes(9, x.raw_data.data(), x.raw_data.size());
    m.doubles(10, x.double_data, true);
    m.uint64s(11, x.uint64_data, true);
    m.str(12, x.doc_string);
    for (const auto& e : x.external_data) m.msg(13, [&](W& s) { entry(s, e); });
    m.int32(14, x.data_location);
    for (const auto& e : x.metadata_props) m.msg(16, [&](W& s) { entry(s, e); });
    m.finish();
  }

  void sparse(W& w, const SparseTensor& x) {
    MessageWriter m(out_, w, x.wire);
    m.msg(1, [&](W& s) { tensor(s, x.values); });
    m.msg(2, [&](W& s) { tensor(s, x.indices); });
    m.int64s(3, x.dims, false);
    m.finish();
  }

  void value_info(W& w, const ValueInfo& x) {
    MessageWriter m(out_, w, x.wire);
    m.str(1, x.name);
    if (x.type) m.msg(2, [&](W& s) { type(s, *x.type); });
    m.str(3, x.doc_string);
    for (const auto& e : x.metadata_props) m.msg(4, [&](W& s) { entry(s, e); });
    m.finish();
  }

  void type(W& w, const TypeProto& x) {
    MessageWriter m(out_, w, x.wire);
    if (x.kind == TypeProto::Kind::Tensor) m.msg(1, [&](W& s) { type_tensor(s, x); });
    m.str(6, x.denotation);
    if (x.kind == TypeProto::Kind::SparseTensor) m.msg(8, [&](W& s) { type_tensor(s, x); });
    m.finish();
  }

  void type_tensor(W& w, const TypeProto& x) {
    MessageWriter m(out_, w, x.tensor_wire);
    m.int32(1, x.elem_type);
    if (x.shape) m.msg(2, [&](W& s) { shape(s, *x.shape); });
    m.finish();
  }

  void shape(W& w, const TensorShape& x) {
    MessageWriter m(out_, w, x.wire);
    for (const auto& d : x.dim) m.msg(1, [&](W& s) { dim(s, d); });
    m.finish();
  }

  void dim(W& w, const Dimension& x) {
    MessageWriter m(out_, w, x.wire);
    m.at(1);
    if (x.value) w.add_int64(1, *x.value);
    m.at(2);
    if (x.param) w.add_bytes(2, *x.param);
    m.str(3, x.denotation);
    m.finish();
  }

  void opset(W& w, const OperatorSetId& x) {
    MessageWriter m(out_, w, x.wire);
    m.str(1, x.domain);
    m.int64(2, x.version);
    m.finish();
  }

  void entry(W& w, const StringStringEntry& x) {
    MessageWriter m(out_, w, x.wire);
    m.str(1, x.key);
    m.str(2, x.value);
    m.finish();
  }

 private:
  std::string& out_;
};

}  // namespace

std::string write_model(const Model& model) {
  std::string out;
  // Large models are mostly tensor payload: reserving it, with room for the rest (nodes, names,
  // shapes; generously), up front saves the copies of repeated string growth. A string that
  // outgrows its reservation doubles, holding both buffers at once: a 62 MiB export of ViT-B/16
  // whose reservation was short by its nodes briefly took 186 MiB.
  if (model.graph) {
    const Graph& g = *model.graph;
    const size_t messages = g.node.size() + g.initializer.size() + g.value_info.size() + g.input.size() + g.output.size();
    out.reserve(payload_bytes(g) + 512 * messages + (size_t{1} << 20));
  }
  {
    W w(out);
    Writer(out).model(w, model);
  }
  if (out.size() > kMaxModelBytes)
    throw Error(ErrorKind::Unsupported, "write model: the result has " + std::to_string(out.size()) +
                                            " bytes, over the 2 GiB protobuf limit — store large "
                                            "tensors as external data");
  return out;
}

void write_model_file(const Model& model, const std::string& path) {
  std::string bytes = write_model(model);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(ErrorKind::Io, path + ": cannot open file for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw Error(ErrorKind::Io, path + ": write failed");
}

}  // namespace qm::onnx
