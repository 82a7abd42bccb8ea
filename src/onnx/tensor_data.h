// Decoding and encoding TensorProto payloads for every element type: raw_data (little-endian,
// 4-bit types two per byte, low nibble first) and the typed fields (float16/bfloat16 bits live
// in int32_data, and so on, as onnx.proto specifies).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "onnx/model.h"

namespace qm::onnx {

/// Number of elements given by dims (1 for a scalar). Error(InvalidModel) on negative dims or
/// overflow, naming the tensor.
int64_t tensor_num_elements(const Tensor& t);

/// Checks that the payload matches dims and data_type (raw_data byte count, or typed field
/// length). Error(InvalidModel) naming the tensor: "tensor 'w': raw_data has 10 bytes, expected 12
/// (float [3])". External tensors are not checked here.
void validate_tensor_payload(const Tensor& t);

/// Converts any numeric or bool tensor to float (float16/bfloat16/float8 decoded, int4 unpacked).
/// Error(Unsupported) for string/complex types; Error(InvalidModel) for external data not loaded.
std::vector<float> tensor_to_floats(const Tensor& t);

/// Converts any integer or bool tensor to int64 (floats are truncated toward zero).
std::vector<int64_t> tensor_to_int64s(const Tensor& t);

/// A float tensor with raw_data.
Tensor make_float_tensor(const std::string& name, std::vector<int64_t> dims,
                         const std::vector<float>& values);

/// An int64 tensor with raw_data.
Tensor make_int64_tensor(const std::string& name, std::vector<int64_t> dims,
                         const std::vector<int64_t>& values);

/// A tensor of integer type `dtype` (int4/uint4/int8/uint8/int16/uint16/int32) with raw_data;
/// 4-bit values are packed two per byte, low nibble first. Values must fit the type.
Tensor make_integer_tensor(const std::string& name, DataType dtype, std::vector<int64_t> dims,
                           const std::vector<int32_t>& values);

/// IEEE half and bfloat16 conversions (round to nearest even).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bfloat16_to_float(uint16_t b);
uint16_t float_to_bfloat16(float f);

}  // namespace qm::onnx
