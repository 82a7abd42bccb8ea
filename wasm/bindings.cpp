// Embind bindings: the only code that includes Emscripten. Every function returns a plain
// {ok, kind, error, value} object and never throws across the boundary (a C++ exception escaping
// into JS would leave the module in an unknown state); web/engine.js turns ok=false into a thrown
// ModelError.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api/inspect.h"
#include "core/error.h"

namespace {

using emscripten::val;

/// What every binding returns. `value` is JSON (or plain text for version()).
struct Result {
  bool ok = false;
  std::string kind;   ///< error kind ("invalid model", "unsupported", ...), empty when ok
  std::string error;  ///< one-line message, empty when ok
  std::string value;
};

Result success(std::string value) {
  Result r;
  r.ok = true;
  r.value = std::move(value);
  return r;
}

Result failure(std::string kind, std::string message) {
  Result r;
  r.kind = std::move(kind);
  r.error = std::move(message);
  return r;
}

/// Runs `fn` (returning the value string) and turns every C++ exception into ok=false.
template <typename Fn>
Result guarded(Fn&& fn) {
  try {
    return success(fn());
  } catch (const qm::Error& e) {
    return failure(qm::error_kind_name(e.kind()), e.what());
  } catch (const std::bad_alloc&) {
    return failure("out of memory",
                   "out of memory: the model does not fit in this tab's WebAssembly memory "
                   "(at most 4 GB)");
  } catch (const std::exception& e) {
    return failure("internal error", std::string("internal error: ") + e.what());
  } catch (...) {
    return failure("internal error", "internal error: unknown exception");
  }
}

bool is_uint8_array(const val& v) { return v.instanceof(val::global("Uint8Array")); }

/// Copies a JS Uint8Array into a new string with a single copy: the string is sized first, then
/// the browser copies straight into its bytes through a typed-array view of the wasm heap.
/// (convertJSArrayToNumberVector would go element by element through JS.)
std::shared_ptr<const std::string> copy_bytes(const val& array, const std::string& what) {
  if (!is_uint8_array(array)) {
    throw qm::Error(qm::ErrorKind::InvalidArgument,
                    "reading " + what + ": expected a Uint8Array, got " +
                        array.typeOf().as<std::string>());
  }
  const size_t size = array["length"].as<size_t>();
  auto bytes = std::make_shared<std::string>(size, '\0');
  if (size > 0) {
    // The view is made after the allocation: the resize may have grown (and moved) the heap.
    val heap_view(emscripten::typed_memory_view(size, reinterpret_cast<uint8_t*>(bytes->data())));
    heap_view.call<void>("set", array);
  }
  return bytes;
}

/// External data files: a plain object or a Map, name -> Uint8Array. undefined/null = none.
qm::api::ExternalFiles copy_external_files(const val& files) {
  qm::api::ExternalFiles out;
  if (files.isUndefined() || files.isNull()) return out;
  val entries = files.instanceof(val::global("Map"))
                    ? val::global("Array").call<val>("from", files.call<val>("entries"))
                    : val::global("Object").call<val>("entries", files);
  const size_t n = entries["length"].as<size_t>();
  for (size_t i = 0; i < n; ++i) {
    const val entry = entries[i];
    const std::string name = entry[0].as<std::string>();
    out[name] = copy_bytes(entry[1], "external data file '" + name + "'");
  }
  return out;
}

/// Input shapes: a string "x=1x3x224x224;y=1x16" (';' or newlines between inputs), or an object
/// {x: [1, 3, 224, 224]} / {x: "1x3x224x224"}. Empty string / undefined / null = none.
qm::api::InputShapes parse_input_shapes(const val& shapes) {
  qm::api::InputShapes out;
  if (shapes.isUndefined() || shapes.isNull()) return out;
  auto add = [&out](const std::string& spec) {
    const size_t begin = spec.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return;
    const size_t end = spec.find_last_not_of(" \t\r\n");
    auto parsed = qm::api::parse_input_shape(spec.substr(begin, end - begin + 1));
    out[parsed.first] = std::move(parsed.second);
  };
  if (shapes.isString()) {
    const std::string text = shapes.as<std::string>();
    size_t start = 0;
    while (start <= text.size()) {
      size_t stop = text.find_first_of(";\n", start);
      if (stop == std::string::npos) stop = text.size();
      add(text.substr(start, stop - start));
      start = stop + 1;
    }
    return out;
  }
  val entries = val::global("Object").call<val>("entries", shapes);
  const size_t n = entries["length"].as<size_t>();
  for (size_t i = 0; i < n; ++i) {
    const val entry = entries[i];
    const std::string name = entry[0].as<std::string>();
    const val dims = entry[1];
    std::string spec;
    if (dims.isString()) {
      spec = dims.as<std::string>();
    } else if (val::global("Array").call<bool>("isArray", dims)) {
      spec = dims.call<std::string>("join", std::string("x"));
    } else {
      throw qm::Error(qm::ErrorKind::InvalidArgument,
                      "input shape for '" + name +
                          "': expected an array of dimensions or a string like 1x3x224x224, got " +
                          dims.typeOf().as<std::string>());
    }
    add(name + "=" + spec);
  }
  return out;
}

/// inspect(modelBytes, fileName, externalFiles, inputShapes) -> {ok, kind, error, value: JSON}.
Result inspect(val model_bytes, std::string file_name, val external_files, val input_shapes) {
  return guarded([&] {
    auto bytes = copy_bytes(model_bytes, "'" + file_name + "'");
    const auto external = copy_external_files(external_files);
    const auto shapes = parse_input_shapes(input_shapes);
    return qm::api::inspect_to_json(qm::api::inspect_model(bytes, file_name, external, shapes));
  });
}

std::string version() { return "0.1.0"; }

}  // namespace

EMSCRIPTEN_BINDINGS(quantmix) {
  emscripten::value_object<Result>("Result")
      .field("ok", &Result::ok)
      .field("kind", &Result::kind)
      .field("error", &Result::error)
      .field("value", &Result::value);
  emscripten::function("inspect", &inspect);
  emscripten::function("version", &version);
}
