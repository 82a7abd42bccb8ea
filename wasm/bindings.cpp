// Embind bindings: the only code that includes Emscripten. Every function returns a plain
// {ok, error, value} object and never throws across the boundary; web/engine.js turns ok=false
// into a thrown Error.
#include <emscripten/bind.h>

#include <string>

#include "core/error.h"

namespace {

std::string version() { return "0.1.0"; }

}  // namespace

EMSCRIPTEN_BINDINGS(quantmix) {
  emscripten::function("version", &version);
}
