// Errors for bad input. Programmer invariants use assert(); everything a user can cause (a
// malformed file, an unsupported op, a bad flag) becomes a qm::Error with a kind and a one-line
// message of the form "<what failed>: <where> — <reason> (expected X, got Y)".
// Library code throws qm::Error and never exits or aborts; the front ends (cli/, api/) catch it.
#pragma once

#include <stdexcept>
#include <string>

namespace qm {

/// What kind of bad input an Error reports. The CLI maps every kind to exit status 1.
enum class ErrorKind {
  InvalidModel,     ///< the file is not a well-formed ONNX model (truncated, corrupt, dangling names)
  Unsupported,      ///< well-formed, but uses something quantmix does not implement
  InvalidArgument,  ///< a flag, option or sample does not fit the model
  Io,               ///< a file could not be opened or read
  kCount
};
static_assert(static_cast<int>(ErrorKind::kCount) == 4, "update error_kind_name()");

/// Lower-case name of an ErrorKind, e.g. "invalid model".
const char* error_kind_name(ErrorKind kind);

/// The one exception type that crosses module boundaries inside the core.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

/// Returns a copy of `e` whose message is prefixed with `context: ` (context stacks outward).
Error with_context(const Error& e, const std::string& context);

}  // namespace qm
