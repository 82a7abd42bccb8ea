// The quantization workspace (src/api/workspace.h): what it keeps and what it recomputes. The
// oracle is always a fresh, stateless api::quantize() of the same model, samples and options:
// the workspace must give the same selection, numbers and exported bytes while skipping work.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "api/options.h"
#include "api/quantize.h"
#include "api/session.h"
#include "api/workspace.h"
#include "core/error.h"
#include "core/json_reader.h"
#include "onnx/model_reader.h"
#include "onnx/model_writer.h"
#include "test_util.h"

namespace qm::api {
namespace {

using test::pseudo;

// conv+relu, conv+relu, conv, global pool, gemm: enough groups for a front of several points.
onnx::Model conv_net() {
  test::ModelBuilder b{13};
  b.input("x", {1, 3, 8, 8});
  b.floats("w1", {8, 3, 3, 3}, pseudo(216, 2, 1.0f));
  b.floats("w2", {8, 8, 3, 3}, pseudo(576, 3, 0.5f));
  b.floats("w3", {8, 8, 3, 3}, pseudo(576, 5, 0.5f));
  b.floats("g", {5, 8}, pseudo(40, 4, 1.0f));
  b.node("Conv", {"x", "w1"}, {"c1"}, "conv1").ints("pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.node("Conv", {"r1", "w2"}, {"c2"}, "conv2").ints("pads", {1, 1, 1, 1});
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  b.node("Conv", {"r2", "w3"}, {"c3"}, "conv3").ints("pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"c3"}, {"p"}, "gap");
  b.node("Flatten", {"p"}, {"f"}, "flat");
  b.node("Gemm", {"f", "g"}, {"y"}, "fc").i("transB", 1);
  b.output("y");
  b.build();
  return b.model();
}

std::vector<Sample> samples(size_t n, uint32_t seed = 7) {
  std::vector<Sample> out;
  for (size_t i = 0; i < n; ++i) {
    Tensor t(DataType::Float, {1, 3, 8, 8});
    const auto v = pseudo(192, seed + static_cast<uint32_t>(i), 4.0f);
    std::copy(v.begin(), v.end(), t.data<float>());
    out.push_back({t});
  }
  return out;
}

QuantizeOptions search_options(const std::string& target) {
  QuantizeOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  o.target = parse_target(target);
  o.model_sha256 = "x";
  return o;
}

std::vector<std::string> reused(const std::string& report) {
  std::vector<std::string> out;
  const size_t p = report.find("\"reused\": [");
  REQUIRE(p != std::string::npos);
  const std::string list = report.substr(p, report.find(']', p) - p);
  for (const char* k : {"calibration", "search"})
    if (list.find(k) != std::string::npos) out.push_back(k);
  return out;
}

std::unique_ptr<Workspace> workspace(const std::vector<Sample>& s) {
  auto ws = std::make_unique<Workspace>(std::make_unique<Session>(conv_net()));
  ws->set_samples(s);
  return ws;
}

TEST_CASE("api/workspace: a new target, a front point and overrides reuse calibration and search") {
  const auto cal = samples(6);
  auto ws = workspace(cal);
  const QuantizeResult first = quantize(*ws, search_options("bops=0.8"));
  CHECK(reused(first.report_json).empty());
  const QuantizeResult fresh_first = quantize(conv_net(), cal, search_options("bops=0.8"));
  CHECK(first.model_bytes == fresh_first.model_bytes);
  CHECK(first.sqnr_db == fresh_first.sqnr_db);

  // Another target: only phase 3, on the stored front; same answer as a fresh run.
  for (const char* target : {"bops=0.6", "sqnr=25", "bops=1.5", "bops=0.8"}) {
    CAPTURE(target);
    const QuantizeResult r = quantize(*ws, search_options(target));
    CHECK(reused(r.report_json) == std::vector<std::string>{"calibration", "search"});
    CHECK(r.report_json.find("\"phase1\": 0,") == std::string::npos);  // timings are the stored search's
    const QuantizeResult fresh = quantize(conv_net(), cal, search_options(target));
    CHECK(r.model_bytes == fresh.model_bytes);
    CHECK(r.sqnr_db == fresh.sqnr_db);
    CHECK(r.rel_bops == fresh.rel_bops);
    CHECK(r.config == fresh.config);
  }
  const mp::SearchResult* sr = ws->search_result();
  REQUIRE(sr);
  REQUIRE(sr->pareto.size() >= 3);

  // A front point: its measured numbers, no evaluation (the workspace cache answers).
  const mp::Point& pt = sr->pareto[2];
  QuantizeOptions po = search_options("bops=0.8");
  for (size_t gi = 0; gi < sr->groups.size(); ++gi)
    po.config.push_back(sr->groups[gi].group.candidates[static_cast<size_t>(pt.choice[gi])]);
  size_t evaluate_ticks = 0;
  const QuantizeResult point = quantize(*ws, po, [&](const std::string& phase, size_t, size_t) {
    if (phase == "evaluate" || phase == "phase1" || phase == "calibration") ++evaluate_ticks;
    return true;
  });
  CHECK(evaluate_ticks == 0);
  CHECK(point.sqnr_db == pt.eval.sqnr_db);
  CHECK(point.rel_bops == doctest::Approx(pt.cost.rel_bops));
  CHECK(point.report_json.find("\"final\"") != std::string::npos);

  // Overrides compose with the given configuration: the point's bits plus the override, and the
  // result equals a fresh stateless run with the same config and overrides.
  po.layer_bits["conv1"] = parse_candidate("W8A16");
  const QuantizeResult over = quantize(*ws, po);
  const QuantizeResult fresh_over = quantize(conv_net(), cal, po);
  CHECK(over.model_bytes == fresh_over.model_bytes);
  CHECK(over.sqnr_db == fresh_over.sqnr_db);
  for (const LayerRow& l : over.layers) {
    if (l.name == "conv1") {
      CHECK(l.w_bits == 8);
      CHECK(l.a_bits == 16);
    }
  }
  size_t differs = 0;
  for (size_t i = 0; i < over.layers.size(); ++i)
    differs += over.layers[i].w_bits != point.layers[i].w_bits || over.layers[i].a_bits != point.layers[i].a_bits;
  CHECK(differs <= 1);

  // Bad configurations name the option.
  po.config.pop_back();
  CHECK_THROWS_WITH_AS(quantize(*ws, po), doctest::Contains("config"), Error);

  // Other candidates: the search runs again.
  QuantizeOptions other = search_options("bops=0.8");
  other.candidates = parse_candidates("W4A8,W8A8");
  CHECK(reused(quantize(*ws, other).report_json) == std::vector<std::string>{"calibration"});
  // Another phase-1 aggregation: the search runs again (the sensitivities differ).
  other.phase1_aggregate = mp::Phase1Aggregate::Median;
  CHECK(reused(quantize(*ws, other).report_json) == std::vector<std::string>{"calibration"});
  // Other range options: calibration runs again.
  other.act_range.kind = quant::ActRange::MinMax;
  CHECK(reused(quantize(*ws, other).report_json).empty());
}

TEST_CASE("api/workspace: with a subset of the front measured, a point evaluated by a click is not measured again by phase 3") {
  auto ws = workspace(samples(6));
  QuantizeOptions o = search_options("bops=0.8");
  o.front_points = 2;  // the first and last points only
  quantize(*ws, o);
  const mp::SearchResult* sr = ws->search_result();
  REQUIRE(sr);
  size_t q = 0;
  for (size_t i = 1; i + 1 < sr->pareto.size() && !q; ++i)
    if (!sr->pareto[i].evaluated) q = i;
  REQUIRE(q > 0);
  const double q_bops = sr->pareto[q].cost.rel_bops;
  QuantizeOptions click = o;
  for (size_t gi = 0; gi < sr->groups.size(); ++gi)
    click.config.push_back(sr->groups[gi].group.candidates[static_cast<size_t>(sr->pareto[q].choice[gi])]);
  const QuantizeResult clicked = quantize(*ws, click);
  // A target whose budget makes point q the first within it: phase 3 picks q from the click's
  // measurement, measuring nothing.
  QuantizeOptions pick = o;
  pick.target.value = q_bops;
  const size_t evaluations = ws->search_result()->timing.evaluations;
  const QuantizeResult picked = quantize(*ws, pick);
  REQUIRE(ws->search_result());
  CHECK(ws->search_result()->timing.evaluations == evaluations);
  CHECK(ws->search_result()->pareto[q].evaluated);
  CHECK(ws->search_result()->pareto[q].eval.sqnr_db == clicked.sqnr_db);
  CHECK(picked.rel_bops <= q_bops + 1e-9);
}

TEST_CASE("api/workspace: new samples drop everything; wrong samples are named") {
  auto ws = workspace(samples(4));
  const QuantizeResult a = quantize(*ws, search_options("bops=0.8"));
  const auto other = samples(4, 99);
  ws->set_samples(other);
  const QuantizeResult b = quantize(*ws, search_options("bops=0.8"));
  CHECK(reused(b.report_json).empty());
  const QuantizeResult fresh = quantize(conv_net(), other, search_options("bops=0.8"));
  CHECK(b.model_bytes == fresh.model_bytes);
  CHECK(b.sqnr_db == fresh.sqnr_db);

  Tensor wrong(DataType::Float, {1, 3, 9, 8});
  CHECK_THROWS_WITH_AS(ws->set_samples({{wrong}}, {"bad.npy"}), doctest::Contains("'bad.npy'"), Error);
  CHECK_THROWS_WITH_AS(ws->set_samples({{wrong, wrong}}, {"two.npz"}), doctest::Contains("'two.npz' has 2 tensors"), Error);
  // A failed set_samples keeps nothing half-done: the workspace still quantizes its last samples.
  ws->set_samples(other);
  CHECK(quantize(*ws, search_options("bops=0.8")).model_bytes == fresh.model_bytes);

  // Homogeneous mode on the same workspace: evaluate + export, no search.
  QuantizeOptions h;
  h.bits = parse_candidate("W8A8");
  const QuantizeResult hw = quantize(*ws, h);
  h.model_sha256 = "x";
  CHECK(hw.sqnr_db == quantize(conv_net(), other, h).sqnr_db);
}

TEST_CASE("api/workspace: samples spread over threads give the numbers of one thread") {
  // Sums are kept per sample and merged in sample order, so the thread count changes nothing
  // (the oracle is the one-thread run, which spreads nothing).
  const auto cal = samples(5);
  std::vector<QuantizeResult> runs;
  for (size_t threads : {1, 2, 3}) {
    CAPTURE(threads);
    SessionOptions so;
    so.threads = threads;
    Workspace ws(std::make_unique<Session>(conv_net(), so));
    ws.set_samples(cal);
    runs.push_back(quantize(ws, search_options("bops=0.7")));
    QuantizeOptions h;
    h.bits = parse_candidate("W4A8");
    h.model_sha256 = "x";
    runs.push_back(quantize(ws, h));
  }
  for (size_t i = 2; i < runs.size(); ++i) {
    CAPTURE(i);
    const QuantizeResult& ref = runs[i % 2];
    CHECK(runs[i].sqnr_db == ref.sqnr_db);
    CHECK(runs[i].model_bytes == ref.model_bytes);
    // The whole front (every point's measured SQNR) is in the report: equal text but timings.
    const auto strip = [](const std::string& r) { return r.substr(0, r.find("\"export\"")); };
    CHECK(strip(runs[i].report_json) == strip(ref.report_json));
  }
}

TEST_CASE("api/quantize: on_front gets the predicted front as JSON after phase 1, then every point measured as in the report") {
  const auto cal = samples(4);
  auto ws = workspace(cal);
  QuantizeOptions o = search_options("bops=0.7");
  std::vector<JsonValue> events;
  std::vector<std::string> order;  // progress phases and front events, in the order they came
  o.on_front = [&](const std::string& json) {
    events.push_back(parse_json(json, "front update"));
    order.push_back(events.back().get("event")->str);
  };
  const QuantizeResult r = quantize(*ws, o, [&](const std::string& phase, size_t, size_t) {
    if (order.empty() || order.back() != phase) order.push_back(phase);
    return true;
  });
  const mp::SearchResult* sr = ws->search_result();
  REQUIRE(sr);
  REQUIRE(events.size() >= 2);
  // The predicted front comes between phase 1 and phase 2.
  const auto at = [&](const std::string& what) { return std::find(order.begin(), order.end(), what) - order.begin(); };
  CHECK(at("phase1") < at("front"));
  CHECK(at("front") < at("phase2"));
  // Measured points follow the predicted front. (Not necessarily a "phase2" progress event: the
  // evaluator reports progress from the calling thread only, and worker threads may take every
  // sample of the first part.)
  CHECK(at("points") > at("front"));

  const auto config_of = [&](const mp::Point& p) {
    std::vector<std::string> names;
    for (size_t gi = 0; gi < sr->groups.size(); ++gi)
      names.push_back(mp::candidate_name(sr->groups[gi].group.candidates[static_cast<size_t>(p.choice[gi])]));
    return names;
  };
  const auto names_of = [](const JsonValue& v) {
    std::vector<std::string> out;
    for (const JsonValue& x : v.items) out.push_back(x.str);
    return out;
  };
  const JsonValue& front = events[0];
  CHECK(front.get("order")->str == "paper");
  CHECK(front.get("baselines")->items.size() == 3);
  const auto& predicted = front.get("pareto")->items;
  REQUIRE(predicted.size() == sr->pareto.size());
  for (size_t i = 0; i < predicted.size(); ++i) {
    CAPTURE(i);
    CHECK(predicted[i].get("measured")->b == false);
    CHECK(predicted[i].get("sqnr_db")->kind == JsonValue::Null);
    CHECK(predicted[i].get("predicted_sqnr_db")->num == doctest::Approx(sr->pareto[i].predicted_sqnr_db).epsilon(1e-12));
    CHECK(predicted[i].get("rel_bops")->num == doctest::Approx(sr->pareto[i].cost.rel_bops).epsilon(1e-12));
    CHECK(names_of(*predicted[i].get("config")) == config_of(sr->pareto[i]));
  }
  std::vector<size_t> seen;
  for (size_t k = 1; k < events.size(); ++k) {
    CHECK(events[k].get("event")->str == "points");
    for (const JsonValue& p : events[k].get("points")->items) {
      const size_t i = static_cast<size_t>(p.get("index")->num);
      CAPTURE(i);
      REQUIRE(i < sr->pareto.size());
      seen.push_back(i);
      CHECK(p.get("measured")->b);
      CHECK(p.get("sqnr_db")->num == doctest::Approx(sr->pareto[i].eval.sqnr_db).epsilon(1e-12));
      CHECK(p.get("rel_bops")->num == doctest::Approx(sr->pareto[i].cost.rel_bops).epsilon(1e-12));
      CHECK(names_of(*p.get("config")) == config_of(sr->pareto[i]));
    }
  }
  CHECK(seen.size() == sr->pareto.size());
  for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i);
  // The last update's dominated list is the report's (nothing else was measured after it).
  std::vector<size_t> dominated;
  for (size_t i = 0; i < sr->pareto.size(); ++i)
    if (sr->pareto[i].dominated) dominated.push_back(i);
  std::vector<size_t> last;
  for (const JsonValue& v : events.back().get("dominated")->items) last.push_back(static_cast<size_t>(v.num));
  CHECK(last == dominated);

  // The callback changes nothing in the result.
  const QuantizeResult plain = quantize(conv_net(), cal, search_options("bops=0.7"));
  CHECK(r.model_bytes == plain.model_bytes);
  CHECK(r.sqnr_db == plain.sqnr_db);
  // A reused search (another target) has no front updates: nothing is measured.
  events.clear();
  o.target = parse_target("bops=0.9");
  quantize(*ws, o);
  CHECK(events.empty());
}

}  // namespace
}  // namespace qm::api

namespace qm::api {

TEST_CASE("api/session: the model's weights are held once; the file's buffer is freed and the model is unchanged") {
  for (const std::string file : {std::string(QM_SOURCE_DIR) + "/web/samples/fashion_cnn.onnx", std::string()}) {
    CAPTURE(file);
    std::shared_ptr<const std::string> bytes =
        file.empty() ? std::make_shared<const std::string>(onnx::write_model(conv_net())) : onnx::read_file_bytes(file);
    onnx::Model model = onnx::read_model(bytes, "m.onnx");
    const std::string canonical = onnx::write_model(model);
    CHECK(bytes.use_count() > 1);  // the initializers view the file's buffer
    Session session(std::move(model));
    CHECK(bytes.use_count() == 1);  // ... and no longer do
    CHECK(onnx::write_model(session.plan().graph().model()) == canonical);
  }
}

}  // namespace qm::api

namespace qm {

TEST_CASE("api/options: sizes parse to bytes; sizes size_t cannot hold are refused, not wrapped") {
  CHECK(api::parse_size("512M", "--max-memory") == size_t{512} << 20);
  CHECK(api::parse_size("1.5K", "--max-memory") == 1536);
  CHECK(api::parse_size("0", "--max-memory") == 0);
  CHECK_THROWS_WITH_AS(api::parse_size("-5M", "--max-memory"), doctest::Contains("negative"), Error);
  CHECK_THROWS_WITH_AS(api::parse_size("1e3", "--max-memory"), doctest::Contains("unknown unit"), Error);
  CHECK_THROWS_WITH_AS(api::parse_size("99999999999999999999", "--max-memory"), doctest::Contains("too large"), Error);
  // 8 GiB: fine with a 64-bit size_t; in wasm (32 bits) it would wrap to 0, so it is refused.
  if (sizeof(size_t) >= 8) {
    CHECK(api::parse_size("8G", "--max-memory") == size_t{8} << 30);
  } else {
    CHECK_THROWS_WITH_AS(api::parse_size("8G", "--max-memory"), doctest::Contains("too large"), Error);
    CHECK_THROWS_WITH_AS(api::parse_size("4G", "--max-memory"), doctest::Contains("too large"), Error);
  }
}

}  // namespace qm
