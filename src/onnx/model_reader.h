// Reads an ONNX ModelProto from bytes with protozero. Every malformed input (truncated file,
// random bytes, a protobuf that is not a model, wrong wire types, payload sizes that do not match
// dims) throws qm::Error(InvalidModel) whose one-line message names the file and the byte offset
// or the tensor/node at fault. Never aborts.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "onnx/model.h"

namespace qm::onnx {

/// Largest model file accepted: protobuf messages are limited to 2 GiB.
constexpr uint64_t kMaxModelBytes = (uint64_t{1} << 31) - 1;

/// Parses `bytes` as a ModelProto. `file_name` only appears in error messages.
/// Tensor raw_data stays a zero-copy view into `bytes`.
/// Checks the wire format and the payload size of every tensor; it does not check the graph
/// (see graph/ for dangling names and cycles).
Model read_model(std::shared_ptr<const std::string> bytes, const std::string& file_name);

/// Reads a file into memory and parses it; external data is not resolved here.
/// Throws Error(Io) if the file cannot be read, Error(InvalidModel) if it is over kMaxModelBytes.
Model read_model_file(const std::string& path);

/// Reads the whole file at `path` (Error(Io) naming the path on failure).
std::shared_ptr<const std::string> read_file_bytes(const std::string& path);

/// Returns the bytes of an external data file, given its `location` as written in the model
/// (relative to the model's folder). Throws qm::Error if it is not available.
using ExternalDataSource = std::function<Bytes(const std::string& location)>;

/// True if any tensor (initializers, Constant nodes, subgraphs) stores its data externally.
bool has_external_data(const Model& model);

/// Moves every external tensor's data into raw_data (and clears external_data/data_location),
/// so the model becomes self-contained. Error(InvalidModel/Io) naming the tensor and the file if
/// a file is missing or an offset/length is out of range. A file the source cannot give (an Io
/// error) reads "M: T stores its data in 'F', which was not given — <missing_advice> (<source's
/// reason>)", without the advice when it is empty (the front end says what its user should do).
void load_external_data(Model& model, const ExternalDataSource& source, const std::string& model_name,
                        const std::string& missing_advice = "");

/// An ExternalDataSource that reads files in `folder` (used by the CLI for files beside the model).
ExternalDataSource external_data_from_folder(const std::string& folder);

}  // namespace qm::onnx
