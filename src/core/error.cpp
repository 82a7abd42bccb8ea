#include "core/error.h"

namespace qm {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidModel: return "invalid model";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::InvalidArgument: return "invalid argument";
    case ErrorKind::Io: return "i/o";
    case ErrorKind::kCount: break;
  }
  return "unknown";
}

Error with_context(const Error& e, const std::string& context) {
  return Error(e.kind(), context + ": " + e.what());
}

}  // namespace qm
