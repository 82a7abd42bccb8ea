// In-memory ONNX ModelProto, lossless.
//
// Every message of onnx.proto that quantmix reads or edits is a plain struct here, with fields
// named as in onnx.proto. What the reader sees but does not interpret (TypeProto's sequence/map/
// optional types, FunctionProto, TrainingInfoProto, quantization annotations, the `segment` of a
// TensorProto, and fields newer than this code) is kept as exact wire bytes in `wire.unknown`, so
// writing a model back loses nothing. `wire` also remembers which fields were present and how
// repeated scalars were encoded, so a canonically encoded file is written back byte for byte.
//
// Large tensor payloads (`raw_data`) are zero-copy views into the loaded file (see Bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qm::onnx {

/// A field this code does not interpret: its number and its exact wire bytes (tag + payload).
struct RawField {
  uint32_t number = 0;
  std::string wire;
};

/// What the reader saw of a message's encoding, so that the writer can reproduce it.
/// Bit n of a mask stands for field number n (every field number used here is below 64).
struct WireInfo {
  uint64_t present = 0;   ///< scalar/string fields that were on the wire (even at default value)
  uint64_t packed = 0;    ///< repeated scalar fields that arrived packed
  uint64_t unpacked = 0;  ///< repeated scalar fields that arrived one element per tag
  std::vector<RawField> unknown;  ///< uninterpreted fields, in wire order

  bool has(uint32_t field) const { return field < 64 && (present >> field & 1u); }
  void mark(uint32_t field) {
    if (field < 64) present |= uint64_t{1} << field;
  }
};

/// Immutable bytes that either point into a shared buffer (the loaded file, or a tensor the
/// engine decoded that holds the same bytes) or own their copy.
class Bytes {
 public:
  Bytes() = default;
  /// A view into a buffer kept alive by `owner` as long as any Bytes refers to it.
  Bytes(std::shared_ptr<const void> owner, std::string_view view)
      : owner_(std::move(owner)), view_(view) {}
  /// Takes ownership of `data`.
  explicit Bytes(std::string data) {
    auto s = std::make_shared<const std::string>(std::move(data));
    view_ = *s;
    owner_ = std::move(s);
  }

  std::string_view view() const { return view_; }
  const char* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  /// A view of `count` bytes from `pos` that shares this buffer's owner (pos + count <= size()).
  Bytes substr(size_t pos, size_t count) const { return Bytes(owner_, view_.substr(pos, count)); }

 private:
  std::shared_ptr<const void> owner_;
  std::string_view view_;
};

/// A heap-allocated value with value semantics (deep copy), for recursive messages.
template <class T>
class Box {
 public:
  Box() : p_(std::make_unique<T>()) {}
  Box(const Box& o) : p_(std::make_unique<T>(*o.p_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    if (this != &o) p_ = std::make_unique<T>(*o.p_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }

 private:
  std::unique_ptr<T> p_;
};

/// StringStringEntryProto: key(1) value(2).
struct StringStringEntry {
  std::string key;    // 1
  std::string value;  // 2
  WireInfo wire;
};

/// OperatorSetIdProto: domain(1) version(2). "" and "ai.onnx" name the same default domain.
struct OperatorSetId {
  std::string domain;   // 1
  int64_t version = 0;  // 2
  WireInfo wire;
};

/// TensorShapeProto.Dimension: dim_value(1) | dim_param(2), denotation(3).
/// Neither value nor param set means an unknown dimension.
struct Dimension {
  std::optional<int64_t> value;  // 1
  std::optional<std::string> param;  // 2
  std::string denotation;  // 3
  WireInfo wire;
};

/// TensorShapeProto: dim(1).
struct TensorShape {
  std::vector<Dimension> dim;  // 1
  WireInfo wire;
};

/// TypeProto. The tensor (1) and sparse_tensor (8) kinds are parsed; sequence (4), map (5) and
/// optional (9) types are kept verbatim in `wire.unknown`.
struct TypeProto {
  enum class Kind { None, Tensor, SparseTensor };
  Kind kind = Kind::None;
  int32_t elem_type = 0;              // Tensor.elem_type(1)
  std::optional<TensorShape> shape;   // Tensor.shape(2); absent means the rank is unknown
  WireInfo tensor_wire;               // encoding of the inner Tensor/SparseTensor message
  std::string denotation;             // 6
  WireInfo wire;
};

/// ValueInfoProto: name(1) type(2) doc_string(3) metadata_props(4).
struct ValueInfo {
  std::string name;                  // 1
  std::optional<TypeProto> type;     // 2
  std::string doc_string;            // 3
  std::vector<StringStringEntry> metadata_props;  // 4
  WireInfo wire;
};

/// TensorProto.DataLocation.
enum class DataLocation : int32_t { Default = 0, External = 1 };

/// TensorProto. `data_type` is a qm::DataType number (kept as int32 so unknown values survive).
/// The payload is in exactly one of raw_data or the typed field that ONNX assigns to the type
/// (float_data, int32_data, ...), or in an external file (data_location == External).
struct Tensor {
  std::vector<int64_t> dims;             // 1
  int32_t data_type = 0;                 // 2
  // segment(3) is kept in wire.unknown.
  std::vector<float> float_data;         // 4, packed
  std::vector<int32_t> int32_data;       // 5, packed
  std::vector<std::string> string_data;  // 6
  std::vector<int64_t> int64_data;       // 7, packed
  std::string name;                      // 8
  Bytes raw_data;                        // 9 (presence: wire.has(9))
  std::vector<double> double_data;       // 10, packed
  std::vector<uint64_t> uint64_data;     // 11, packed
  std::string doc_string;                // 12
  std::vector<StringStringEntry> external_data;  // 13
  int32_t data_location = 0;             // 14
  std::vector<StringStringEntry> metadata_props;  // 16
  WireInfo wire;

  bool has_raw_data() const { return wire.has(9); }
  bool is_external() const { return data_location == static_cast<int32_t>(DataLocation::External); }
};

/// SparseTensorProto: values(1) indices(2) dims(3).
struct SparseTensor {
  Tensor values;               // 1
  Tensor indices;              // 2
  std::vector<int64_t> dims;   // 3
  WireInfo wire;
};

struct Graph;

/// AttributeProto.AttributeType.
enum class AttributeType : int32_t {
  Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7,
  Strings = 8, Tensors = 9, Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13,
  TypeProtos = 14
};

/// AttributeProto. Subgraphs (If/Loop/Scan bodies) are parsed and kept, even where not run.
struct Attribute {
  std::string name;                     // 1
  float f = 0.0f;                       // 2
  int64_t i = 0;                        // 3
  std::string s;                        // 4
  std::optional<Tensor> t;              // 5
  std::optional<Box<Graph>> g;          // 6
  std::vector<float> floats;            // 7
  std::vector<int64_t> ints;            // 8
  std::vector<std::string> strings;     // 9
  std::vector<Tensor> tensors;          // 10
  std::vector<Graph> graphs;            // 11
  std::string doc_string;               // 13
  std::optional<TypeProto> tp;          // 14
  std::vector<TypeProto> type_protos;   // 15
  int32_t type = 0;                     // 20, an AttributeType
  std::string ref_attr_name;            // 21
  std::optional<SparseTensor> sparse_tensor;   // 22
  std::vector<SparseTensor> sparse_tensors;    // 23
  WireInfo wire;

  AttributeType attr_type() const { return static_cast<AttributeType>(type); }
};

/// NodeProto.
struct Node {
  std::vector<std::string> input;   // 1 ("" marks an omitted optional input)
  std::vector<std::string> output;  // 2
  std::string name;                 // 3
  std::string op_type;              // 4
  std::vector<Attribute> attribute; // 5
  std::string doc_string;           // 6
  std::string domain;               // 7
  std::string overload;             // 8
  std::vector<StringStringEntry> metadata_props;  // 9
  WireInfo wire;

  /// The attribute called `name`, or nullptr.
  const Attribute* find_attribute(std::string_view attr_name) const;
};

/// GraphProto. quantization_annotation(14) is kept in wire.unknown.
struct Graph {
  std::vector<Node> node;                      // 1
  std::string name;                            // 2
  std::vector<Tensor> initializer;             // 5
  std::string doc_string;                      // 10
  std::vector<ValueInfo> input;                // 11
  std::vector<ValueInfo> output;               // 12
  std::vector<ValueInfo> value_info;           // 13
  std::vector<SparseTensor> sparse_initializer;  // 15
  std::vector<StringStringEntry> metadata_props;  // 16
  WireInfo wire;
};

/// ModelProto. training_info(20), functions(25) and configuration(26) are kept in wire.unknown.
struct Model {
  int64_t ir_version = 0;                     // 1
  std::string producer_name;                  // 2
  std::string producer_version;               // 3
  std::string domain;                         // 4
  int64_t model_version = 0;                  // 5
  std::string doc_string;                     // 6
  std::optional<Graph> graph;                 // 7
  std::vector<OperatorSetId> opset_import;    // 8
  std::vector<StringStringEntry> metadata_props;  // 14
  WireInfo wire;

  /// The imported opset version of `domain` ("" or "ai.onnx" for the default domain), or 0.
  int64_t opset_version(std::string_view op_domain) const;
};

/// Bytes of a tensor's payload (raw_data, the typed fields, strings): what it stores, not its
/// message's framing.
size_t payload_bytes(const Tensor& t);
/// Payload bytes of every tensor in a graph: initializers, sparse initializers, tensor attributes
/// (Constant nodes' values) and the same inside subgraphs (If/Loop/Scan bodies).
size_t payload_bytes(const Graph& g);

}  // namespace qm::onnx
