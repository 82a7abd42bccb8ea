// Embind bindings: the only code that includes Emscripten. Every function returns a plain
// {ok, kind, error, value} object and never throws across the boundary (a C++ exception escaping
// into JS would leave the module in an unknown state); web/engine.js turns ok=false into a thrown
// ModelError.
#include <emscripten/bind.h>
#include <emscripten/em_asm.h>
#include <emscripten/em_js.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>
#ifdef __EMSCRIPTEN_PTHREADS__
#include <emscripten/threading.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "api/inspect.h"
#include "api/model_file.h"
#include "api/npy.h"
#include "api/options.h"
#include "api/samples.h"
#include "api/session.h"
#include "core/error.h"
#include "api/quantize.h"
#include "api/workspace.h"

/// Calls score(outputs, sample) synchronously. A JS exception must not unwind through wasm (with
/// -fexceptions only C++ exceptions are caught; the workspace would be left mid-search), so the
/// call is made inside a JS try/catch: returns {value: number} or {error: text}.
EM_JS(emscripten::EM_VAL, qm_call_score, (emscripten::EM_VAL fn, emscripten::EM_VAL outputs, double sample), {
  try {
    var v = Emval.toValue(fn)(Emval.toValue(outputs), sample);
    if (typeof v === "number") return Emval.toHandle({value: v});
    return Emval.toHandle({error: "returned " + (v === null ? "null" : typeof v) + " (expected a number)"});
  } catch (e) {
    return Emval.toHandle({error: "threw: " + (e && e.message ? e.message : String(e))});
  }
});

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

/// Bytes of the model the current call works on (the file and its external data), for the
/// out-of-memory message. Set where a model is read and by the calls on the workspace's model.
size_t g_model_bytes = 0;
// The tensors' memory limit (core/tensor.h), as the CLI's default (api/session.h
// default_memory_limit): from the larger of the model being read and the open workspace's model
// (which stays loaded), plus the largest search memory budget asked for, so a hostile file gets
// one error line instead of growing the heap to the tab's limit.
size_t g_ws_weight_bytes = 0;  // the open workspace's model's stored weights (0: none)
size_t g_memory_budget = qm::api::kDefaultMemoryBudget;
void set_tensor_memory_limit(size_t weight_bytes) {
  qm::set_memory_limit(qm::api::default_memory_limit(std::max(weight_bytes, g_ws_weight_bytes), g_memory_budget));
}

/// "12.3 MiB" (one decimal; KiB below 0.1 MiB).
std::string mib_text(double bytes) {
  char buf[48];
  if (bytes < 0.1 * 1048576.0) {
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  }
  return buf;
}

/// The most this module's memory may grow to, in MiB (-sMAXIMUM_MEMORY; 4 GB is 64 KiB short of
/// 4096 MiB in wasm32, rounded).
uint64_t max_memory_mib() { return (static_cast<uint64_t>(emscripten_get_heap_max()) + 524288) / 1048576; }

/// The one line a failed allocation becomes: the model's size and the most this module's
/// memory may grow to (-sMAXIMUM_MEMORY, qm_options in CMakeLists.txt). `detail`: where, if known.
std::string out_of_memory_message(const std::string& detail = "") {
  std::string m = "out of memory: the model (" + mib_text(static_cast<double>(g_model_bytes)) +
                  ") and its working copies need more than the " +
                  std::to_string(max_memory_mib()) + " MiB this tab can use";
  if (!detail.empty()) m += " (" + detail + ")";
  return m + "; try fewer samples or a smaller model";
}

/// A core error that reports a failed allocation (RunContext::alloc names the node and says
/// "out of memory") is reported as one.
bool is_out_of_memory(const qm::Error& e) {
  return std::string(e.what()).find("out of memory") != std::string::npos;
}

/// Runs `fn` and turns every C++ exception into `fail(kind, message)`: the one place where the
/// core's errors become a failed result's kind and one-line message (guarded, guarded_val).
template <typename Fn, typename Fail>
auto catch_errors(Fn&& fn, Fail&& fail) -> decltype(fn()) {
  try {
    return fn();
  } catch (const qm::Error& e) {
    if (is_out_of_memory(e)) return fail("out of memory", out_of_memory_message(e.what()));
    return fail(qm::error_kind_name(e.kind()), e.what());
  } catch (const std::bad_alloc&) {
    return fail("out of memory", out_of_memory_message());
  } catch (const std::exception& e) {
    return fail("internal error", std::string("internal error: ") + e.what());
  } catch (...) {
    return fail("internal error", "internal error: unknown exception");
  }
}

/// Runs `fn` (returning the value string) and turns every C++ exception into ok=false.
template <typename Fn>
Result guarded(Fn&& fn) {
  return catch_errors([&] { return success(fn()); }, failure);
}

/// Threads (the calling one included) for a call that asks for `requested` (0: the browser's core
/// count, at most kMaxDefaultThreads). 1 in the module without wasm threads. In the one with them
/// (quantmix-mt.mjs), never more than the pool's ready Workers + 1: the module's thread is a Web
/// Worker busy in this call, its event loop cannot run, so a pthread without a ready Worker would
/// never start and joining it would hang.
size_t usable_threads(size_t requested) {
#ifdef __EMSCRIPTEN_PTHREADS__
  // Beyond 4 the layers of typical in-browser models are too small to gain, and the tab keeps
  // cores for the page.
  constexpr size_t kMaxDefaultThreads = 4;
  const size_t ready = static_cast<size_t>(EM_ASM_INT({ return PThread.unusedWorkers.length; }));
  const size_t cores = static_cast<size_t>(std::max(1, emscripten_num_logical_cores()));
  const size_t wanted = requested > 0 ? requested : std::min(kMaxDefaultThreads, cores);
  return std::max<size_t>(1, std::min(wanted, ready + 1));
#else
  (void)requested;
  return 1;
#endif
}

/// options.threads if it is a positive number, else 0 (the default).
size_t requested_threads(const val& options) {
  const val v = options["threads"];
  return v.isNumber() && v.as<double>() >= 1 ? static_cast<size_t>(v.as<double>()) : 0;
}

bool is_uint8_array(const val& v) { return v.instanceof(val::global("Uint8Array")); }

/// Copies a JS Uint8Array into a new string with a single copy: the string is sized first, then
/// the browser copies straight into its bytes through a typed-array view of the wasm heap.
/// (convertJSArrayToNumberVector would go element by element through JS.)
std::string bytes_of(const val& array, const std::string& what) {
  if (!is_uint8_array(array)) {
    throw qm::Error(qm::ErrorKind::InvalidArgument,
                    "reading " + what + ": expected a Uint8Array, got " +
                        array.typeOf().as<std::string>());
  }
  const size_t size = array["length"].as<size_t>();
  std::string bytes(size, '\0');
  if (size > 0) {
    // The view is made after the allocation: the resize may have grown (and moved) the heap.
    val heap_view(emscripten::typed_memory_view(size, reinterpret_cast<uint8_t*>(bytes.data())));
    heap_view.call<void>("set", array);
  }
  return bytes;
}

std::shared_ptr<const std::string> copy_bytes(const val& array, const std::string& what) {
  return std::make_shared<const std::string>(bytes_of(array, what));
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

/// The input-shape setting in the app's words (its "Input shapes" field), for the core's input
/// shape errors and inspect's warning.
const qm::api::ShapeWording kShapeWording{"Input shape", "set Input shapes to", ""};

/// Input shapes: a string "x=1x3x224x224;y=1x16" (';' or newlines between inputs), or an object
/// {x: [1, 3, 224, 224]} / {x: "1x3x224x224"}. Empty string / undefined / null = none.
qm::api::InputShapes parse_input_shapes(const val& shapes) {
  qm::api::InputShapes out;
  if (shapes.isUndefined() || shapes.isNull()) return out;
  auto add = [&out](const std::string& spec) {
    const size_t begin = spec.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return;
    const size_t end = spec.find_last_not_of(" \t\r\n");
    auto parsed = qm::api::parse_input_shape(spec.substr(begin, end - begin + 1), kShapeWording);
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

/// Reads a model and its external data files (a missing one: "... which was not given — select
/// it together with the model (...)").
qm::onnx::Model read_model_with_external(const val& model_bytes, const std::string& file_name,
                                         const val& external_files) {
  auto bytes = copy_bytes(model_bytes, "'" + file_name + "'");
  const auto external = copy_external_files(external_files);
  g_model_bytes = bytes->size();
  for (const auto& file : external) g_model_bytes += file.second ? file.second->size() : 0;
  qm::onnx::Model model = qm::api::read_model_bytes(bytes, file_name, external, "select it together with the model");
  set_tensor_memory_limit(qm::api::stored_weight_bytes(model));
  return model;
}

/// inspect(modelBytes, fileName, externalFiles, inputShapes) -> {ok, kind, error, value: JSON}.
Result inspect(val model_bytes, std::string file_name, val external_files, val input_shapes) {
  return guarded([&] {
    const auto shapes = parse_input_shapes(input_shapes);
    const qm::onnx::Model model = read_model_with_external(model_bytes, file_name, external_files);
    return qm::api::inspect_to_json(qm::api::inspect_loaded_model(model, file_name, shapes, kShapeWording));
  });
}

/// Copies a string's bytes out of the wasm heap into a fresh Uint8Array (the view into the heap
/// would go stale as soon as memory grows, so JS never sees it).
val bytes_to_js(const std::string& bytes) {
  val view(emscripten::typed_memory_view(bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data())));
  return view.call<val>("slice");
}

/// The samples' cap when the options give none (api/quantize.cpp kDefaultMaxSamples).
constexpr size_t kDefaultMaxSamples = 64;

/// Samples from JS: an array of {name, bytes}, read by the core's one sample loader
/// (api/samples.h) by the extension of `name`: .npy for a single-input model, .npz keyed by input
/// name, an image with default preprocessing; a stacked array ([N, ...] where the input wants
/// batch 1) gives N samples. Every tensor is conformed to `session`'s inputs. At most `cap`
/// samples: files after the cap are not copied into the module nor decoded, and a stacked file
/// is split only as far as needed. `names` (optional) gets each sample's file name.
std::vector<qm::api::Sample> load_samples_js(const qm::api::Session& session, const val& samples, size_t cap,
                                             std::vector<std::string>* names = nullptr) {
  std::vector<qm::api::Sample> out;
  if (samples.isUndefined() || samples.isNull()) return out;
  qm::api::SampleOptions options;
  options.split_stacked = true;
  const size_t n = samples["length"].as<size_t>();
  for (size_t i = 0; i < n && out.size() < cap; ++i) {
    const val item = samples[i];
    const std::string name = item["name"].as<std::string>();
    // `source`: the file the user gave, when the page turned it into `name` (an image it
    // preprocessed into a .npy); errors and sample names say it.
    const val source = item["source"];
    options.shown_as = source.isString() ? source.as<std::string>() : std::string();
    const std::string& shown = options.shown_as.empty() ? name : options.shown_as;
    options.max_samples = cap - out.size();
    for (auto& sample : qm::api::load_sample_bytes(session, name, bytes_of(item["bytes"], "sample '" + shown + "'"), options)) {
      out.push_back(std::move(sample));
      if (names) names->push_back(shown);
    }
  }
  return out;
}

std::vector<std::string> string_list(const val& list) {
  std::vector<std::string> out;
  if (list.isUndefined() || list.isNull()) return out;
  const size_t n = list["length"].as<size_t>();
  for (size_t i = 0; i < n; ++i) out.push_back(list[i].as<std::string>());
  return out;
}

/// A Result-like object that can also carry bytes: {ok, kind, error, value, model?, encodings?}.
val js_failure(const std::string& kind, const std::string& message) {
  val r = val::object();
  r.set("ok", false);
  r.set("kind", kind);
  r.set("error", message);
  return r;
}

/// guarded() for the calls that return a val (`fn` returns the whole result object).
template <typename Fn>
val guarded_val(Fn&& fn) {
  return catch_errors(fn, js_failure);
}

/// run(modelBytes, fileName, externalFiles, inputs: [{name, bytes(.npy)}]) ->
/// {ok, value: [{name, dtype, shape, data: Float32Array}]}. One FP32 forward pass in our engine.
val run(val model_bytes, std::string file_name, val external_files, val inputs) {
  return guarded_val([&] {
    qm::api::SessionOptions session_options;
    session_options.threads = usable_threads(0);
    qm::api::Session session(read_model_with_external(model_bytes, file_name, external_files),
                             session_options);
    const size_t n = inputs["length"].as<size_t>();
    if (n != session.inputs().size()) {
      throw qm::Error(qm::ErrorKind::InvalidArgument,
                      "run: the model has " + std::to_string(session.inputs().size()) +
                          " inputs, got " + std::to_string(n));
    }
    std::vector<qm::Tensor> tensors(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string name = inputs[i]["name"].as<std::string>();
      const int index = session.input_index(name);
      if (index < 0) {
        throw qm::Error(qm::ErrorKind::InvalidArgument, "run: the model has no input '" + name + "'");
      }
      const auto bytes = copy_bytes(inputs[i]["bytes"], "input '" + name + "'");
      tensors[index] = session.conform_input(index, qm::api::parse_npy(*bytes, name), name);
    }
    const auto outputs = session.run(tensors);
    val list = val::array();
    for (size_t i = 0; i < outputs.size(); ++i) {
      const qm::Tensor& t = outputs[i];
      val o = val::object();
      o.set("name", session.outputs()[i].name);
      o.set("dtype", std::string(qm::dtype_name(t.dtype())));
      val shape = val::array();
      for (int64_t d : t.shape()) shape.call<void>("push", static_cast<double>(d));
      o.set("shape", shape);
      if (t.dtype() == qm::DataType::Float) {
        o.set("data", val(emscripten::typed_memory_view(static_cast<size_t>(t.numel()),
                                                         t.data<float>())).call<val>("slice"));
      }
      list.call<void>("push", o);
    }
    val r = val::object();
    r.set("ok", true);
    r.set("value", list);
    return r;
  });
}

/// layerBits {layer: "W4A8"} into opts.layer_bits.
void set_layer_bits(qm::api::QuantizeOptions& opts, const val& layer_bits) {
  if (layer_bits.isUndefined() || layer_bits.isNull()) return;
  val entries = val::global("Object").call<val>("entries", layer_bits);
  const size_t n = entries["length"].as<size_t>();
  for (size_t i = 0; i < n; ++i) {
    const std::string layer = entries[i][0].as<std::string>();
    opts.layer_bits[layer] = qm::api::parse_candidate(entries[i][1].as<std::string>(), "layer '" + layer + "'");
  }
}

/// onProgress(phase, done, total) from JS as a ProgressFn (false from it cancels).
qm::api::ProgressFn js_progress(const val& on_progress) {
  if (on_progress.isUndefined() || on_progress.isNull()) return {};
  return [on_progress](const std::string& phase, size_t done, size_t total) {
    const val keep = on_progress(phase, static_cast<double>(done), static_cast<double>(total));
    return !keep.isFalse();
  };
}

/// onFront(json) from JS: each front update of the search as JSON text (api::QuantizeOptions::
/// on_front), called synchronously like onProgress.
std::function<void(const std::string&)> js_front(const val& on_front) {
  if (on_front.isUndefined() || on_front.isNull()) return {};
  return [on_front](const std::string& json) { on_front(json); };
}

// ---- the user's score function (options.score; the JS API's scoreModule) ----

/// A tensor's values as a fresh Float32Array (other numeric types converted element by element;
/// a copy, never a view into the heap).
val float32_array_of(const qm::Tensor& t) {
  const size_t n = static_cast<size_t>(t.numel());
  if (t.dtype() == qm::DataType::Float)
    return val(emscripten::typed_memory_view(n, t.data<float>())).call<val>("slice");
  std::vector<float> v(n);
  auto convert = [&](const auto* p) {
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(p[i]);
  };
  switch (t.dtype()) {
    case qm::DataType::Double: convert(t.data<double>()); break;
    case qm::DataType::Int64: convert(t.data<int64_t>()); break;
    case qm::DataType::Int32: convert(t.data<int32_t>()); break;
    case qm::DataType::Int16: convert(t.data<int16_t>()); break;
    case qm::DataType::Uint16: convert(t.data<uint16_t>()); break;
    case qm::DataType::Int8: convert(t.data<int8_t>()); break;
    case qm::DataType::Uint8: convert(t.data<uint8_t>()); break;
    case qm::DataType::Bool: convert(t.data<bool>()); break;
    default:
      throw qm::Error(qm::ErrorKind::Unsupported, "score: an output of type " + std::string(qm::dtype_name(t.dtype())) +
                                                      " cannot be given to the score function");
  }
  return val(emscripten::typed_memory_view(n, v.data())).call<val>("slice");
}

/// {name: {data: Float32Array, dims: number[]}} of one sample's outputs.
val outputs_to_js(const std::vector<qm::Tensor>& outputs, const std::vector<std::string>& names) {
  val o = val::object();
  for (size_t i = 0; i < outputs.size(); ++i) {
    val dims = val::array();
    for (int64_t d : outputs[i].shape()) dims.call<void>("push", static_cast<double>(d));
    val t = val::object();
    t.set("data", float32_array_of(outputs[i]));
    t.set("dims", dims);
    o.set(i < names.size() ? names[i] : "output_" + std::to_string(i), t);
  }
  return o;
}

/// Names a JS score function for the workspace's reuse check: the same function as the last one
/// (strict equality: a module imported twice gives the same function) keeps its id, another gets
/// a new one, so the workspace searches again only when the function changes.
std::string score_identity(const val& fn) {
  static val last = val::undefined();
  static unsigned generation = 0;
  if (!fn.strictlyEquals(last)) {
    last = fn;
    ++generation;
  }
  return "js-score-" + std::to_string(generation);
}

/// options.score (a JS function (outputs, sampleIndex) -> number, higher is better) as the
/// core's ScoreFn, called synchronously on this thread (the core calls it on the calling thread
/// only). `session` gives the output names. undefined/null = no score.
void set_score(qm::api::QuantizeOptions& opts, const val& options, const qm::api::Session& session) {
  const val fn = options["score"];
  if (fn.isUndefined() || fn.isNull()) return;
  if (fn.typeOf().as<std::string>() != "function") {
    throw qm::Error(qm::ErrorKind::InvalidArgument, "score: expected a function (outputs, sampleIndex) => number, got " +
                                                        fn.typeOf().as<std::string>());
  }
  std::vector<std::string> names;
  for (const auto& o : session.outputs()) names.push_back(o.name);
  opts.score_id = score_identity(fn);
  opts.score = [fn, names](const std::vector<qm::Tensor>& outputs, size_t sample) -> double {
    const val r = val::take_ownership(qm_call_score(fn.as_handle(), outputs_to_js(outputs, names).as_handle(),
                                                    static_cast<double>(sample)));
    const val error = r["error"];
    if (!error.isUndefined()) {
      // The core says which sample (SimEvaluator::score_of).
      throw qm::Error(qm::ErrorKind::InvalidArgument, "the score function " + error.as<std::string>());
    }
    return r["value"].as<double>();
  };
}

/// {ok: true, value: report JSON, model: Uint8Array, encodings: JSON text, samplesUsed}.
val quantize_result_js(const qm::api::QuantizeResult& r) {
  val out = val::object();
  out.set("ok", true);
  out.set("value", r.report_json);
  out.set("model", bytes_to_js(r.model_bytes));
  out.set("encodings", r.encodings_json);
  out.set("samplesUsed", static_cast<double>(r.samples_used));
  return out;
}

/// QuantizeOptions from the JS options object (see quantize() below).
qm::api::QuantizeOptions quantize_options(const val& options) {
  qm::api::QuantizeOptions opts;
  auto str = [&](const char* key, std::string& dst) {
    const val v = options[key];
    if (v.isUndefined() || v.isNull()) return false;
    dst = v.as<std::string>();
    return true;
  };
  // Each option's text is parsed here, once (api/options.h); an error names the option by its JS
  // name. An empty string is the option's default, as when it is left out.
  std::string text;
  if (str("bits", text) && !text.empty()) opts.bits = qm::api::parse_candidate(text, "bits");
  if (str("profile", text) && !text.empty()) opts.profile = qm::api::parse_profile(text, "profile");
  if (str("target", text)) opts.target = qm::api::parse_target(text, "target");
  if (str("weightRange", text)) opts.weight_range = qm::api::parse_weight_range(text, "weightRange");
  if (str("weightRounding", text)) opts.weight_rounding = qm::api::parse_weight_rounding(text, "weightRounding");
  if (str("actRange", text)) opts.act_range = qm::api::parse_act_range(text, "actRange");
  if (str("phase1Aggregate", text)) opts.phase1_aggregate = qm::api::parse_aggregate(text, "phase1Aggregate");
  // frontPoints: a number (0 = every point) or "all".
  const val front = options["frontPoints"];
  if (!front.isUndefined() && !front.isNull())
    opts.front_points = qm::api::parse_front_points(val::global("String")(front).as<std::string>(), "frontPoints");
  for (const std::string& c : string_list(options["candidates"])) opts.candidates.push_back(qm::api::parse_candidate(c, "candidates"));
  if (options["maxSamples"].isNumber()) opts.max_samples = options["maxSamples"].as<size_t>();
  if (options["seed"].isNumber()) opts.seed = static_cast<uint64_t>(options["seed"].as<double>());
  if (options["recalibrate"].isTrue()) opts.recalibrate = true;
  if (options["biasCorrection"].isFalse()) opts.bias_correction = false;
  for (const auto& [name, dims] : parse_input_shapes(options["inputShapes"])) {
    opts.input_shapes[name] = qm::ops::Dims(dims.begin(), dims.end());
  }
  set_layer_bits(opts, options["layerBits"]);
  // Search options: order ("paper" | "ratio" | "both"), labels (Int32Array or array: one class
  // per sample used, in order; top-1 becomes the metric), memoryBudgetMB (phase-1 cache).
  if (str("order", text)) opts.order = qm::api::parse_order(text, "order");
  const val budget = options["memoryBudgetMB"];
  if (!budget.isUndefined() && !budget.isNull()) {
    const double mb = budget.isNumber() ? budget.as<double>() : -1;
    if (!(mb >= 0 && mb < 1e9)) {
      throw qm::Error(qm::ErrorKind::InvalidArgument,
                      "memoryBudgetMB: expected a number of megabytes >= 0 (e.g. 512), got " +
                          val::global("String")(budget).as<std::string>());
    }
    const double bytes = mb * 1048576.0;
    opts.memory_budget_bytes = bytes >= static_cast<double>(SIZE_MAX) ? SIZE_MAX : static_cast<size_t>(bytes);
    // A larger budget raises the tensors' memory limit with it.
    if (opts.memory_budget_bytes > g_memory_budget) {
      g_memory_budget = opts.memory_budget_bytes;
      set_tensor_memory_limit(0);
    }
  }
  const val labels = options["labels"];
  if (!labels.isUndefined() && !labels.isNull()) {
    const val list = val::global("Array").call<val>("from", labels);
    const size_t n = list["length"].as<size_t>();
    for (size_t i = 0; i < n; ++i) {
      const double d = list[i].isNumber() ? list[i].as<double>() : 0.5;
      if (!(d > -9e15 && d < 9e15) || static_cast<double>(static_cast<int64_t>(d)) != d) {
        throw qm::Error(qm::ErrorKind::InvalidArgument,
                        "labels: entry " + std::to_string(i) + " is not an integer class (got " +
                            val::global("String")(list[i]).as<std::string>() + ")");
      }
      opts.labels.push_back(static_cast<int64_t>(d));
    }
  }
  for (const std::string& c : string_list(options["config"])) opts.config.push_back(qm::api::parse_candidate(c, "config"));
  return opts;
}

/// quantize(modelBytes, fileName, externalFiles, samples, inputNames, options, onProgress) ->
/// {ok, kind, error, value: report JSON, model: Uint8Array, encodings: JSON text, layers JSON}.
/// options: {bits, candidates: [..], profile, target, maxSamples, weightRange, actRange,
/// biasCorrection (default true), recalibrate, seed, inputShapes, layerBits: {layer: "W4A8"}, threads (default: capabilities().threads;
/// capped by the thread pool), score: (outputs, sampleIndex) => number (the user's metric, replacing
/// SQNR and top-1 in phases 0, 2 and 3 and in the report; outputs = {name: {data: Float32Array,
/// dims}} of one sample; called synchronously, like onProgress)}. onProgress(phase, done, total)
/// is called synchronously from inside the search (the worker forwards it to the page).
val quantize(val model_bytes, std::string file_name, val external_files, val samples,
             val input_names, val options, val on_progress) {
  return guarded_val([&] {
    qm::onnx::Model model = read_model_with_external(model_bytes, file_name, external_files);
    qm::api::QuantizeOptions opts = quantize_options(options);
    // The samples are read against a session of the same model (shapes, input names), so a
    // wrong sample is refused by file name before calibration starts.
    qm::api::SessionOptions session_options;
    session_options.input_shapes = opts.input_shapes;
    session_options.threads = 1;
    const qm::api::Session session(model, session_options);
    const auto parsed = load_samples_js(session, samples, opts.max_samples ? opts.max_samples : kDefaultMaxSamples);
    opts.model_file = file_name;
    opts.threads = usable_threads(requested_threads(options));
    set_score(opts, options, session);
    return quantize_result_js(qm::api::quantize(std::move(model), parsed, opts, js_progress(on_progress)));
  });
}

// ---- the workspace: one per module instance (= per Web Worker), web/worker_protocol.js ----

/// The worker's workspace and what the page calls it by.
struct WorkerWorkspace {
  std::unique_ptr<qm::api::Workspace> ws;
  std::string file_name;
  std::string sha256;
  size_t samples_given = 0;
  size_t model_bytes = 0;  ///< the model file and its external data, for out-of-memory messages
  std::optional<qm::api::QuantizeOptions> last;  ///< of the last wsQuantize, for wsExport
};
WorkerWorkspace& workspace_state() {
  static WorkerWorkspace state;
  return state;
}
qm::api::Workspace& workspace() {
  WorkerWorkspace& st = workspace_state();
  if (!st.ws) throw qm::Error(qm::ErrorKind::InvalidArgument, "quantize: open a model first");
  g_model_bytes = st.model_bytes;
  return *st.ws;
}


/// wsLoad(modelBytes, fileName, externalFiles, {inputShapes, threads}) -> {ok, value: JSON
/// {"layers": N, "quantizers": N}}. Parses and plans the model once and places its quantizers;
/// replaces the worker's workspace (its samples and search go).
Result ws_load(val model_bytes, std::string file_name, val external_files, val options) {
  return guarded([&] {
    WorkerWorkspace& st = workspace_state();
    st.ws.reset();  // free the old model before reading the new one
    g_ws_weight_bytes = 0;
    g_memory_budget = qm::api::kDefaultMemoryBudget;
    qm::api::SessionOptions so;
    const val shapes = options.isUndefined() || options.isNull() ? val::undefined() : options["inputShapes"];
    for (const auto& [name, dims] : parse_input_shapes(shapes)) so.input_shapes[name] = qm::ops::Dims(dims.begin(), dims.end());
    so.threads = usable_threads(options.isUndefined() || options.isNull() ? 0 : requested_threads(options));
    qm::onnx::Model model = read_model_with_external(model_bytes, file_name, external_files);
    g_ws_weight_bytes = qm::api::stored_weight_bytes(model);  // its limit holds while it is open
    auto session = std::make_unique<qm::api::Session>(std::move(model), so);
    st.ws = std::make_unique<qm::api::Workspace>(std::move(session), so.input_shapes);
    st.file_name = file_name;
    st.model_bytes = g_model_bytes;
    st.sha256.clear();
    st.samples_given = 0;
    st.last.reset();
    const auto& m = st.ws->model();
    return "{\"layers\": " + std::to_string(m.layers().size()) + ", \"quantizers\": " +
           std::to_string(m.quantizers().size()) + "}";
  });
}

/// wsSetSamples(samples: [{name, bytes}], {maxSamples}) -> {ok, value: JSON {"count": files
/// given, "used": samples kept}}. Samples are decoded in order and checked against the model's
/// inputs now (an error names the file); decoding stops at the cap (maxSamples, default 64).
Result ws_set_samples(val samples, val options) {
  return guarded([&] {
    qm::api::Workspace& ws = workspace();
    size_t cap = kDefaultMaxSamples;
    if (!options.isUndefined() && !options.isNull() && options["maxSamples"].isNumber() &&
        options["maxSamples"].as<double>() >= 1)
      cap = static_cast<size_t>(options["maxSamples"].as<double>());
    std::vector<std::string> names;
    std::vector<qm::api::Sample> parsed = load_samples_js(ws.session(), samples, cap, &names);
    const size_t n = samples.isUndefined() || samples.isNull() ? 0 : samples["length"].as<size_t>();
    const size_t used = parsed.size();
    ws.set_samples(std::move(parsed), names);
    workspace_state().samples_given = n;
    return "{\"count\": " + std::to_string(n) + ", \"used\": " + std::to_string(used) + "}";
  });
}

/// wsQuantize(options, onProgress, onFront) -> {ok, value: report JSON (no "export" key)}.
/// quantize()'s options plus config: [candidate per group] and layerBits on top of it (report
/// "final"). Does only what changed since the last call (report timing_s.reused); see
/// api::quantize. onFront (or null): called with the JSON text of each front update while the
/// search runs (api::QuantizeOptions::on_front: the predicted front after phase 1, then the
/// points phase 2 measures). The configuration is kept for wsExport().
Result ws_quantize(val options, val on_progress, val on_front) {
  return guarded([&] {
    qm::api::Workspace& ws = workspace();
    if (ws.samples().empty()) throw qm::Error(qm::ErrorKind::InvalidArgument, "quantize: add at least one calibration sample first");
    qm::api::QuantizeOptions opts = quantize_options(options);
    set_score(opts, options, ws.session());
    WorkerWorkspace& st = workspace_state();
    opts.model_file = st.file_name;
    opts.export_model = false;
    st.last = opts;
    opts.on_front = js_front(on_front);  // this call's only (not kept for wsExport)
    const qm::api::QuantizeResult r = qm::api::quantize(ws, opts, js_progress(on_progress));
    return r.report_json;
  });
}

/// wsExport() -> {ok, value: report JSON, model: Uint8Array, encodings: JSON text} of the last
/// wsQuantize configuration.
val ws_export() {
  return guarded_val([&] {
    qm::api::Workspace& ws = workspace();
    WorkerWorkspace& st = workspace_state();
    if (!st.last) throw qm::Error(qm::ErrorKind::InvalidArgument, "export: run the quantization first");
    qm::api::QuantizeOptions opts = *st.last;
    opts.export_model = true;
    return quantize_result_js(qm::api::quantize(ws, opts, {}));
  });
}

/// What this build can do, as JSON: {"quantize": bool, "layerBits": bool, "run": true,
/// "threads": N (kernel threads a call uses by default; 1 without wasm threads), "maxMemoryMiB":
/// the most the module's memory may grow to}.
std::string capabilities() {
  return std::string("{\"quantize\": true, \"layerBits\": true, \"workspace\": true, \"run\": true") +
         ", \"threads\": " + std::to_string(usable_threads(0)) +
         ", \"maxMemoryMiB\": " + std::to_string(max_memory_mib()) + "}";
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
  emscripten::function("run", &run);
  emscripten::function("quantize", &quantize);
  emscripten::function("wsLoad", &ws_load);
  emscripten::function("wsSetSamples", &ws_set_samples);
  emscripten::function("wsQuantize", &ws_quantize);
  emscripten::function("wsExport", &ws_export);
  emscripten::function("capabilities", &capabilities);
  emscripten::function("version", &version);
}
