// NumPy .npy and .npz files <-> Tensors, for `quantmix run` samples and outputs.
//
// .npy: format versions 1-3, C order, little-endian (or byte-order-free) element types float32,
// float64, int64, int32, int16, uint16, int8, uint8, bool. .npz: a zip of .npy entries, stored
// (uncompressed) only: np.savez writes those; np.savez_compressed (deflate) is rejected with a
// message saying so. Errors are qm::Error(InvalidArgument or Io) naming the file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace qm::api {

/// Parses .npy bytes; `name` is the file named in errors.
Tensor parse_npy(const std::string& bytes, const std::string& name);
/// Reads a .npy file.
Tensor read_npy(const std::string& path);
/// Serialises a tensor as .npy (version 1.0). int4/uint4 are written as int8/uint8.
std::string npy_bytes(const Tensor& t);
/// Writes a .npy file (Error(Io) if it cannot be written).
void write_npy(const std::string& path, const Tensor& t);

/// Reads every array of a .npz file, in archive order, keyed by entry name without ".npy".
std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path);
/// Parses .npz bytes (stored entries only).
std::vector<std::pair<std::string, Tensor>> parse_npz(const std::string& bytes, const std::string& name);

/// Reads a whole file (Error(Io) naming it if it cannot be read).
std::string read_file(const std::string& path);

}  // namespace qm::api
