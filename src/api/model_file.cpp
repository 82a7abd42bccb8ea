#include "api/model_file.h"

#include "core/error.h"
#include "onnx/model_reader.h"
#include "onnx/model_writer.h"

namespace qm::api {

onnx::Model read_model_file(const std::string& path) {
  onnx::Model model = onnx::read_model_file(path);
  if (onnx::has_external_data(model)) {
    const size_t slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    onnx::load_external_data(model, onnx::external_data_from_folder(folder), path, "put it beside the model");
  }
  return model;
}

onnx::Model read_model_bytes(std::shared_ptr<const std::string> bytes, const std::string& file_name,
                             const ExternalFiles& external, const std::string& missing_advice) {
  onnx::Model model = onnx::read_model(std::move(bytes), file_name);
  if (onnx::has_external_data(model)) {
    onnx::load_external_data(
        model,
        [&](const std::string& location) -> onnx::Bytes {
          auto it = external.find(location);
          if (it == external.end() || !it->second)
            throw Error(ErrorKind::Io, "external data file '" + location + "' was not provided");
          return onnx::Bytes(it->second, std::string_view(*it->second));
        },
        file_name, missing_advice);
  }
  return model;
}

std::shared_ptr<const std::string> read_file_bytes(const std::string& path) { return onnx::read_file_bytes(path); }

void write_model_file(const onnx::Model& model, const std::string& path) { onnx::write_model_file(model, path); }

}  // namespace qm::api
