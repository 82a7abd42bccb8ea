// External tensor data (TensorProto.data_location == EXTERNAL): resolving `location` files.
#include <filesystem>
#include <map>

#include "core/error.h"
#include "onnx/model_reader.h"
#include "onnx/tensor_data.h"

namespace qm::onnx {
namespace {

/// Calls f(tensor, description) for every tensor in the graph and its subgraphs.
template <class G, class F>
void for_each_tensor(G& g, F&& f) {
  for (auto& t : g.initializer) f(t, "initializer '" + t.name + "'");
  for (auto& s : g.sparse_initializer) {
    f(s.values, "sparse initializer '" + s.values.name + "' (values)");
    f(s.indices, "sparse initializer '" + s.values.name + "' (indices)");
  }
  for (auto& n : g.node) {
    for (auto& a : n.attribute) {
      std::string where = " in attribute '" + a.name + "' of node '" + n.name + "' (" + n.op_type + ")";
      if (a.t) f(*a.t, "tensor '" + a.t->name + "'" + where);
      for (auto& t : a.tensors) f(t, "tensor '" + t.name + "'" + where);
      if (a.sparse_tensor) {
        f(a.sparse_tensor->values, "sparse tensor values" + where);
        f(a.sparse_tensor->indices, "sparse tensor indices" + where);
      }
      for (auto& s : a.sparse_tensors) {
        f(s.values, "sparse tensor values" + where);
        f(s.indices, "sparse tensor indices" + where);
      }
      if (a.g) for_each_tensor(**a.g, f);
      for (auto& sub : a.graphs) for_each_tensor(sub, f);
    }
  }
}

/// A location must stay inside the model's folder: no absolute paths, no "..", no drive letters.
bool safe_location(const std::string& loc) {
  if (loc.empty() || loc[0] == '/' || loc[0] == '\\') return false;
  if (loc.size() >= 2 && loc[1] == ':') return false;
  size_t start = 0;
  while (start <= loc.size()) {
    size_t end = loc.find_first_of("/\\", start);
    if (end == std::string::npos) end = loc.size();
    if (loc.compare(start, end - start, "..") == 0) return false;
    start = end + 1;
  }
  return true;
}

bool parse_size(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

}  // namespace

bool has_external_data(const Model& model) {
  if (!model.graph) return false;
  bool any = false;
  for_each_tensor(*model.graph, [&](const Tensor& t, const std::string&) { any = any || t.is_external(); });
  return any;
}

void load_external_data(Model& model, const ExternalDataSource& source, const std::string& model_name,
                        const std::string& missing_advice) {
  if (!model.graph) return;
  std::map<std::string, Bytes> files;  // each file is fetched once
  for_each_tensor(*model.graph, [&](Tensor& t, const std::string& what) {
    if (!t.is_external()) return;
    auto bad = [&](const std::string& reason) {
      throw Error(ErrorKind::InvalidModel, model_name + ": " + what + ": external data " + reason);
    };
    std::string location;
    uint64_t offset = 0, length = 0;
    bool has_location = false, has_length = false;
    for (const auto& e : t.external_data) {
      if (e.key == "location") {
        location = e.value;
        has_location = true;
      } else if (e.key == "offset") {
        if (!parse_size(e.value, offset)) bad("offset '" + e.value + "' is not a byte count");
      } else if (e.key == "length") {
        if (!parse_size(e.value, length)) bad("length '" + e.value + "' is not a byte count");
        has_length = true;
      }
    }
    if (!has_location) bad("has no 'location'");
    if (!safe_location(location))
      bad("location '" + location + "' leaves the model's folder (expected a relative path without '..')");
    auto it = files.find(location);
    if (it == files.end()) {
      Bytes bytes;
      try {
        bytes = source(location);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Io) throw Error(e.kind(), model_name + ": " + what + ": " + e.what());
        throw Error(e.kind(), model_name + ": " + what + " stores its data in '" + location +
                                  "', which was not given" + (missing_advice.empty() ? "" : " — " + missing_advice) + " (" +
                                  e.what() + ")");
      }
      it = files.emplace(location, std::move(bytes)).first;
    }
    const Bytes& file = it->second;
    if (offset > file.size())
      bad("offset " + std::to_string(offset) + " is past the end of '" + location + "' (" +
          std::to_string(file.size()) + " bytes)");
    if (!has_length) length = file.size() - offset;
    if (length > file.size() - offset)
      bad("range " + std::to_string(offset) + "+" + std::to_string(length) + " is past the end of '" +
          location + "' (" + std::to_string(file.size()) + " bytes)");
    t.raw_data = file.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
    t.wire.mark(9);
    t.external_data.clear();
    t.data_location = 0;
    t.wire.present &= ~(uint64_t{1} << 14);
    try {
      validate_tensor_payload(t);
    } catch (const Error& e) {
      throw Error(e.kind(), model_name + ": " + what + " (external data in '" + location + "'): " + e.what());
    }
  });
}

ExternalDataSource external_data_from_folder(const std::string& folder) {
  return [folder](const std::string& location) {
    std::string path = folder.empty() ? location : folder + "/" + location;
    // The location has no ".." and is relative (safe_location), but a link beside the model may
    // still point anywhere: what is read must resolve inside the model's folder.
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::canonical(folder.empty() ? "." : folder, ec);
    const std::filesystem::path real = ec ? std::filesystem::path() : std::filesystem::canonical(path, ec);
    if (!ec) {
      const auto rel = real.lexically_relative(base);
      if (rel.empty() || *rel.begin() == "..")
        throw Error(ErrorKind::InvalidArgument, "external data file '" + location + "' resolves to " + real.string() +
                                                    ", outside the model's folder (a link pointing out of it is not followed)");
    }
    std::shared_ptr<const std::string> data = read_file_bytes(path);
    std::string_view all(*data);
    return Bytes(std::move(data), all);
  };
}

}  // namespace qm::onnx
