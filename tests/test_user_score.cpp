// The user's own metric (QuantizeOptions::score, the JS API's score module; AIMET's eval
// callback) on the real simulator. The model has two independent branches, each a Conv on its
// own input to its own output:
//   A: weights k * s with integers |k| <= 7 and 7 in every channel, exact on a 4-bit grid
//      (minmax range: scale = max|w| / 7), so W4A16 gives branch A only 16-bit activation
//      noise, and W8A8 gives it 8-bit weight and activation noise;
//   B: pseudo-random weights, so W4A16 gives branch B 4-bit weight noise, far above W8A8's.
// Candidates W8A8 and W4A16 cost the same BOPs, so with no target the selection is the start
// point, the baseline with the best metric. Closed forms: a score that sees only output A
// (minus its squared error against the float model) selects W4A16; one that sees only output B
// selects W8A8, as does SQNR (averaged noise-to-signal ratios are dominated by B's 4-bit noise).
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/options.h"
#include "api/quantize.h"
#include "api/session.h"
#include "api/workspace.h"
#include "core/error.h"
#include "core/json_reader.h"
#include "test_util.h"

namespace qm::api {
namespace {

using test::pseudo;

onnx::Model two_branches() {
  test::ModelBuilder b{13};
  b.input("xa", {1, 2, 6, 6});
  b.input("xb", {1, 2, 6, 6});
  // A's weights: integers in [-7, 7] times 0.05, with a 7 (or -7) in each of the 4 channels.
  std::vector<float> wa(4 * 2 * 3 * 3);
  for (size_t i = 0; i < wa.size(); ++i) wa[i] = 0.05f * static_cast<float>(static_cast<int>((i * 5 + 3) % 15) - 7);
  for (size_t c = 0; c < 4; ++c) wa[c * 18] = (c % 2 ? -7.0f : 7.0f) * 0.05f;
  b.floats("wa", {4, 2, 3, 3}, wa);
  b.floats("wb", {4, 2, 3, 3}, pseudo(72, 11, 1.0f));
  b.node("Conv", {"xa", "wa"}, {"ya"}, "conv_a").ints("pads", {1, 1, 1, 1});
  b.node("Conv", {"xb", "wb"}, {"yb"}, "conv_b").ints("pads", {1, 1, 1, 1});
  b.output("ya");
  b.output("yb");
  b.build();
  return b.model();
}

std::vector<Sample> samples(size_t n) {
  std::vector<Sample> out;
  for (size_t i = 0; i < n; ++i) {
    Sample s;
    for (uint32_t k = 0; k < 2; ++k) {
      Tensor t(DataType::Float, {1, 2, 6, 6});
      const auto v = pseudo(72, 100 + 7 * static_cast<uint32_t>(i) + k, 4.0f);
      std::copy(v.begin(), v.end(), t.data<float>());
      s.push_back(t);
    }
    out.push_back(s);
  }
  return out;
}

// Float outputs of every sample (the scores' references), from a plain session.
std::vector<std::vector<Tensor>> float_outputs(const std::vector<Sample>& cal) {
  Session session(two_branches());
  std::vector<std::vector<Tensor>> out;
  for (const Sample& s : cal) out.push_back(session.run(s));
  return out;
}

// Minus the squared error of output `which` against the float model (0 = perfect).
mp::ScoreFn minus_error_of(size_t which, const std::vector<std::vector<Tensor>>& ref, size_t* calls = nullptr,
                           std::vector<std::thread::id>* threads = nullptr) {
  return [which, &ref, calls, threads](const std::vector<Tensor>& outputs, size_t sample) {
    if (calls) ++*calls;
    if (threads) threads->push_back(std::this_thread::get_id());
    REQUIRE(outputs.size() == 2);
    REQUIRE(sample < ref.size());
    const Tensor& y = outputs[which];
    const Tensor& r = ref[sample][which];
    REQUIRE(y.numel() == r.numel());
    double e = 0;
    for (int64_t i = 0; i < y.numel(); ++i) {
      const double d = static_cast<double>(y.data<float>()[i]) - static_cast<double>(r.data<float>()[i]);
      e += d * d;
    }
    return -e;
  };
}

QuantizeOptions options() {
  QuantizeOptions o;
  o.candidates = parse_candidates("W8A8,W4A16");
  o.weight_range = quant::WeightRange::MinMax;
  o.model_sha256 = "x";
  return o;
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST_CASE("api/score: the user's score picks the configuration; SQNR and another score pick another") {
  const auto cal = samples(4);
  const auto ref = float_outputs(cal);

  const QuantizeResult by_sqnr = quantize(two_branches(), cal, options());
  QuantizeOptions oa = options();
  oa.score = minus_error_of(0, ref);
  oa.score_id = "a";
  const QuantizeResult by_a = quantize(two_branches(), cal, oa);
  QuantizeOptions ob = options();
  ob.score = minus_error_of(1, ref);
  ob.score_id = "b";
  const QuantizeResult by_b = quantize(two_branches(), cal, ob);

  CHECK(by_sqnr.config == "W8A8");
  CHECK(by_a.config == "W4A16");  // only output A counts, and W4 is exact for its weights
  CHECK(by_b.config == "W8A8");
  CHECK(!by_sqnr.score);
  REQUIRE(by_a.score);
  REQUIRE(by_b.score);
  CHECK(*by_a.score <= 0);
  CHECK(*by_b.score < *by_a.score);  // B's 8-bit weight noise (random weights) vs A's 16-bit activations
  // The FP model's score is the reference: the float outputs themselves, error 0 up to rounding.
  REQUIRE(by_a.float_score);
  CHECK(std::abs(*by_a.float_score) < 1e-9);

  // The report says which metric chose, with the reference and every point's score.
  CHECK(has(by_a.report_json, "\"metric\": \"score\""));
  CHECK(has(by_a.report_json, "\"float_score\": "));
  CHECK(has(by_a.report_json, "\"score\": "));
  CHECK(has(by_sqnr.report_json, "\"metric\": \"sqnr\""));
  CHECK(!has(by_sqnr.report_json, "\"score\""));

  // Homogeneous bits: the configuration's score and the reference, no search.
  QuantizeOptions h = oa;
  h.bits = parse_candidate("W8A8");
  const QuantizeResult hr = quantize(two_branches(), cal, h);
  REQUIRE(hr.score);
  CHECK(*hr.score < *by_a.score);  // W8A8 is worse than W4A16 for output A
  CHECK(has(hr.report_json, "\"float_score\": "));
}

TEST_CASE("api/score: the workspace searches again when the score changes, and only then") {
  const auto cal = samples(4);
  const auto ref = float_outputs(cal);
  Workspace ws(std::make_unique<Session>(two_branches()));
  ws.set_samples(cal);
  size_t calls_a = 0, calls_b = 0;
  QuantizeOptions oa = options();
  oa.score = minus_error_of(0, ref, &calls_a);
  oa.score_id = "a";
  CHECK(quantize(ws, oa).config == "W4A16");
  CHECK(calls_a > 0);

  // The same function (same id) for another target: phase 3 on the stored front, no call.
  calls_a = 0;
  QuantizeOptions again = oa;
  again.target = parse_target("bops=1.0");
  const QuantizeResult r2 = quantize(ws, again);
  CHECK(calls_a == 0);
  CHECK(has(r2.report_json, "\"reused\": [\"calibration\", \"search\"]"));

  // Another score: searched again (calibration kept), and it decides.
  QuantizeOptions ob = options();
  ob.score = minus_error_of(1, ref, &calls_b);
  ob.score_id = "b";
  const QuantizeResult rb = quantize(ws, ob);
  CHECK(rb.config == "W8A8");
  CHECK(calls_b > 0);
  CHECK(has(rb.report_json, "\"reused\": [\"calibration\"]"));

  // No score: SQNR again, searched again.
  const QuantizeResult rs = quantize(ws, options());
  CHECK(rs.config == "W8A8");
  CHECK(!rs.score);
  CHECK(has(rs.report_json, "\"metric\": \"sqnr\""));
  CHECK(has(rs.report_json, "\"reused\": [\"calibration\"]"));
}

TEST_CASE("api/score: a non-finite score is an error naming the calibration sample") {
  const auto cal = samples(3);
  QuantizeOptions o = options();
  o.score_id = "nan";
  o.score = [](const std::vector<Tensor>&, size_t s) { return s == 1 ? std::nan("") : 0.5; };
  try {
    quantize(two_branches(), cal, o);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "score: calibration sample 1 of the float model scored NaN (the score must be a "
                                   "finite number, higher is better)");
  }
  // Finite on the float model, infinite on a quantized one: named too.
  size_t n = 0;
  o.score_id = "inf";
  o.score = [&n](const std::vector<Tensor>&, size_t s) { return ++n > 3 && s == 2 ? -HUGE_VAL : 0.5; };
  try {
    quantize(two_branches(), cal, o);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "score: calibration sample 2 scored -Infinity (the score must be a finite number, "
                                   "higher is better)");
  }
  // Samples set with names (the files the user gave): the message says the name beside the
  // index the score function got, and a score that throws is wrapped the same way.
  Workspace ws(std::make_unique<Session>(two_branches()));
  ws.set_samples(cal, {"a.npy", "b.png", "c.npy"});
  o.score_id = "throws";
  o.score = [](const std::vector<Tensor>&, size_t s) -> double {
    if (s == 1) throw Error(ErrorKind::InvalidArgument, "the score function threw: no label");
    return 0.5;
  };
  try {
    quantize(ws, o);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "score: calibration sample 1 ('b.png') of the float model: the score function threw: no label");
  }
}

TEST_CASE("api/score: with threads the score runs on the calling thread and gives the one-thread numbers") {
  const auto cal = samples(5);
  const auto ref = float_outputs(cal);
  std::vector<std::string> reports;
  for (size_t threads : {1, 3}) {
    CAPTURE(threads);
    SessionOptions so;
    so.threads = threads;
    Workspace ws(std::make_unique<Session>(two_branches(), so));
    ws.set_samples(cal);
    std::vector<std::thread::id> seen;
    QuantizeOptions o = options();
    o.score = minus_error_of(0, ref, nullptr, &seen);
    o.score_id = "a";
    const QuantizeResult r = quantize(ws, o);
    CHECK(r.config == "W4A16");
    REQUIRE(!seen.empty());
    size_t elsewhere = 0;
    for (const auto& id : seen) elsewhere += id == std::this_thread::get_id() ? 0 : 1;
    CHECK(elsewhere == 0);
    reports.push_back(r.report_json.substr(0, r.report_json.find("\"timing_s\"")));
  }
  CHECK(reports[0] == reports[1]);
}

}  // namespace
}  // namespace qm::api

namespace qm::api {

TEST_CASE("api/score: a score that ties on every configuration falls back to SQNR, as a tied top-1 does") {
  // Character accuracy is often 1.0 for every baseline: the start point and the front must then
  // come from the SQNR, not collapse to the cheapest baseline (one front point).
  const auto cal = samples(3);
  QuantizeOptions o = options();
  o.candidates = parse_candidates("W8A16,W8A8,W4A8");
  o.score_id = "constant";
  o.score = [](const std::vector<Tensor>&, size_t) { return 1.0; };
  const QuantizeResult tied = quantize(two_branches(), cal, o);
  QuantizeOptions s = options();
  s.candidates = o.candidates;
  const QuantizeResult by_sqnr = quantize(two_branches(), cal, s);
  const JsonValue a = parse_json(tied.report_json, "tied"), b = parse_json(by_sqnr.report_json, "sqnr");
  REQUIRE(a.get("pareto"));
  CHECK(a.get("pareto")->items.size() == b.get("pareto")->items.size());
  CHECK(a.get("pareto")->items.size() > 1);
  CHECK(a.get("selected")->get("config")->str == b.get("selected")->get("config")->str);
}

}  // namespace qm::api
