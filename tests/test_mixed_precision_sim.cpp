// The search on the real simulator, on a small MobileNetV2-like chain (inverted residual blocks:
// 1x1 expand + Clip(0,6), depthwise 3x3 + Clip, 1x1 project, residual Add; then global pooling
// and a Gemm head). Oracles: phase-1 sensitivities from cached FP activations equal full
// simulated passes of the same single-group configurations; the cost of phase 1, counted in
// forward-pass equivalents, is at most half of the naive groups x candidates full passes.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "api/options.h"
#include "api/session.h"
#include "mixed_precision/search.h"
#include "mixed_precision/sim_evaluator.h"
#include "quant/calibration.h"
#include "quant/metrics.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"
#include "test_util.h"

namespace qm::mp {
namespace {

using api::builtin_profile;
using api::parse_candidates;
using api::parse_target;

constexpr double kSensitivityTolDb = 1e-6;  // same computation, different resume point

// Deterministic pseudo-random weights (no RNG state shared with other tests).
std::vector<float> pseudo(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& f : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f = scale * (static_cast<float>(x % 20001) / 10000.0f - 1.0f);
  }
  return v;
}

struct MobileNetLike {
  std::unique_ptr<api::Session> session;
  std::vector<std::vector<Tensor>> samples;
};

// MobileNetV2's shape in miniature: a stride-2 stem, inverted residual blocks (expansion 4) whose
// stride-2 blocks halve the resolution as channels grow, residual Adds where shapes allow, a 1x1
// conv to a wide feature, global pooling and a Gemm head. `hw` x `hw` RGB input.
MobileNetLike mobilenet_like(int64_t hw, size_t nsamples) {
  test::ModelBuilder b(13);
  uint32_t seed = 1;
  auto conv = [&](const std::string& name, const std::string& in, const std::string& out, int64_t cin, int64_t cout,
                  int64_t k, int64_t group, int64_t stride) {
    const size_t n = static_cast<size_t>(cout * (cin / group) * k * k);
    const float scale = 1.5f / std::sqrt(static_cast<float>((cin / group) * k * k));
    b.floats(name + ".w", {cout, cin / group, k, k}, pseudo(n, seed++, scale));
    b.floats(name + ".b", {cout}, pseudo(static_cast<size_t>(cout), seed++, 0.1f));
    b.node("Conv", {in, name + ".w", name + ".b"}, {out}, name)
        .ints("kernel_shape", {k, k})
        .ints("strides", {stride, stride})
        .ints("pads", {k / 2, k / 2, k / 2, k / 2})
        .i("group", group);
  };
  auto relu6 = [&](const std::string& in, const std::string& out) {
    b.node("Clip", {in, "zero", "six"}, {out});
  };
  b.floats("zero", {}, {0.0f});
  b.floats("six", {}, {6.0f});
  b.input("x", {1, 3, hw, hw});
  conv("stem", "x", "s0", 3, 8, 3, 1, 2);
  relu6("s0", "a0");
  std::string cur = "a0";
  struct Block {
    int64_t cin, cout, stride;
  };
  const Block blocks[] = {{8, 8, 1}, {8, 12, 2}, {12, 12, 1}, {12, 16, 2}, {16, 16, 1}, {16, 24, 1}};
  int i = 0;
  for (const auto& bl : blocks) {
    const std::string p = "b" + std::to_string(i++);
    const int64_t e = 4 * bl.cin;
    conv(p + ".expand", cur, p + ".e", bl.cin, e, 1, 1, 1);
    relu6(p + ".e", p + ".er");
    conv(p + ".dw", p + ".er", p + ".d", e, e, 3, e, bl.stride);
    relu6(p + ".d", p + ".dr");
    conv(p + ".project", p + ".dr", p + ".p", e, bl.cout, 1, 1, 1);
    if (bl.stride == 1 && bl.cin == bl.cout) {
      b.node("Add", {cur, p + ".p"}, {p + ".out"});
      cur = p + ".out";
    } else {
      cur = p + ".p";
    }
  }
  conv("last", cur, "l", 24, 64, 1, 1, 1);
  relu6("l", "lr");
  b.node("GlobalAveragePool", {"lr"}, {"gap"});
  b.node("Flatten", {"gap"}, {"flat"});
  b.floats("fc.w", {10, 64}, pseudo(static_cast<size_t>(10 * 64), seed++, 0.3f));
  b.floats("fc.b", {10}, pseudo(10, seed++, 0.1f));
  b.node("Gemm", {"flat", "fc.w", "fc.b"}, {"logits"}, "fc").i("transB", 1);
  b.output("logits");

  MobileNetLike m;
  api::SessionOptions so;
  so.threads = 1;
  m.session = std::make_unique<api::Session>(std::move(b.model()), so);
  for (size_t s = 0; s < nsamples; ++s) {
    Tensor t(DataType::Float, {1, 3, hw, hw});
    const auto v = pseudo(static_cast<size_t>(t.numel()), 1000 + static_cast<uint32_t>(s), 1.0f);
    std::copy(v.begin(), v.end(), t.data<float>());
    m.samples.push_back({t});
  }
  return m;
}

TEST_CASE("mixed_precision/sim: phase 1 from cached activations equals full passes and costs <= half") {
  auto m = mobilenet_like(32, 3);
  quant::QuantModel qm(m.session->plan());
  quant::Encodings enc = quant::calibrate(qm, m.session->executor(), m.samples);
  quant::Simulator sim(qm, enc, m.session->executor());

  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  o.target = parse_target("bops=0.5");
  const SearchResult r = search(qm, sim, m.samples, o);

  // Groups: stem, 3 per block, last conv, head; plus activation-only ones (Add outputs, logits).
  size_t weighted = 0;
  for (const auto& g : r.groups) weighted += g.group.activation_only() ? 0 : 1;
  CHECK(weighted == 1 + 3 * 6 + 2);
  // Depthwise detection reaches the profile: the npu profile keeps depthwise groups at W8.
  const auto npu_groups = build_groups(qm.quantizers(), qm.layers(), builtin_profile("npu"),
                                       parse_candidates("W4A8,W8A8"), layer_traits(qm));
  for (const auto& g : npu_groups)
    for (int li : g.layers)
      if (qm.layers()[static_cast<size_t>(li)].name.find(".dw") != std::string::npos)
        CHECK(g.candidates == std::vector<Candidate>{{8, 8}});

  // Oracle: each phase-1 number recomputed with full simulated passes.
  std::vector<Group> groups;
  for (const auto& g : r.groups) groups.push_back(g.group);
  std::vector<std::vector<Tensor>> fp;
  for (const auto& s : m.samples) fp.push_back(sim.run(qm.off(), s));
  size_t checked = 0;
  for (size_t gi = 0; gi < r.groups.size(); ++gi) {
    for (size_t ci = 0; ci < r.groups[gi].sensitivity_db.size(); ++ci) {
      if (!r.groups[gi].sensitivity_db[ci]) continue;
      const auto cfg = single_group_config(groups, static_cast<int>(gi), static_cast<int>(ci), qm.quantizers().size());
      std::vector<std::vector<Tensor>> q;
      for (const auto& s : m.samples) q.push_back(sim.run(cfg, s));
      CHECK(*r.groups[gi].sensitivity_db[ci] == doctest::Approx(quant::sqnr_db(fp, q)).epsilon(kSensitivityTolDb));
      ++checked;
    }
  }
  CHECK(checked == static_cast<size_t>(r.timing.phase1_naive_fpe));
  MESSAGE("phase 1: " << r.timing.phase1_ops_fpe << " forward-pass equivalents counted by MACs/elements, "
                      << r.timing.phase1_fpe << " by measured step times, " << r.timing.phase1_time_fpe
                      << " by wall clock (naive: " << r.timing.phase1_naive_fpe << " full passes)");
  CHECK(r.timing.phase1_cached);
  // The deterministic count (the timed ones depend on the machine's load).
  CHECK(r.timing.phase1_ops_fpe <= 0.5 * r.timing.phase1_naive_fpe);
  // The selection meets the budget, and every front point's SQNR is a true evaluation.
  CHECK(r.target_met);
  CHECK(r.selected.cost.rel_bops <= 0.5 + 1e-9);
  const auto sel_cfg = r.selected_config;
  std::vector<std::vector<Tensor>> q;
  for (const auto& s : m.samples) q.push_back(sim.run(sel_cfg, s));
  CHECK(r.selected.eval.sqnr_db == doctest::Approx(quant::sqnr_db(fp, q)).epsilon(kSensitivityTolDb));

  // A memory budget too small for one sample's activations: phase 1 falls back (checkpoints or
  // recomputation) and gives the same numbers.
  SearchOptions tiny = o;
  tiny.memory_budget_bytes = 1024;
  const SearchResult rt = search(qm, sim, m.samples, tiny);
  CHECK_FALSE(rt.timing.phase1_cached);
  for (size_t gi = 0; gi < r.groups.size(); ++gi)
    for (size_t ci = 0; ci < r.groups[gi].sensitivity_db.size(); ++ci)
      if (r.groups[gi].sensitivity_db[ci])
        CHECK(*rt.groups[gi].sensitivity_db[ci] == doctest::Approx(*r.groups[gi].sensitivity_db[ci]).epsilon(kSensitivityTolDb));
  CHECK(rt.selected.choice == r.selected.choice);
}

TEST_CASE("mixed_precision/sim: phase 2 reported in parts (on_front) gives the same front for a little more work") {
  auto m = mobilenet_like(16, 3);
  quant::QuantModel qm(m.session->plan());
  quant::Encodings enc = quant::calibrate(qm, m.session->executor(), m.samples);
  quant::Simulator sim(qm, enc, m.session->executor());
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  o.target = parse_target("bops=0.5");
  // One evaluator for both searches: the same step weights count their work.
  const auto groups = build_groups(qm.quantizers(), qm.layers(), o.profile, o.candidates, layer_traits(qm));
  prepare_candidates(groups, sim);
  SimEvaluator ev(qm, sim, m.samples, {}, o.memory_budget_bytes);
  const SearchResult one_walk = search_groups(groups, qm.quantizers(), qm.layers(), ev.evaluator(), o);

  std::vector<std::vector<size_t>> parts;
  size_t built = 0;
  o.on_front = [&](const FrontUpdate& u) {
    if (u.built) {
      ++built;
      for (const Point& p : *u.points) CHECK_FALSE(p.evaluated);
      return;
    }
    parts.push_back(u.measured);
  };
  const SearchResult r = search_groups(groups, qm.quantizers(), qm.layers(), ev.evaluator(), o);
  CHECK(built == 1);
  REQUIRE(r.pareto.size() == one_walk.pareto.size());
  REQUIRE(r.pareto.size() >= 40);  // 21 weighted groups, two cheaper candidates each
  CHECK(parts.size() == std::min<size_t>(o.front_updates, r.pareto.size() / kMinFrontPart));
  size_t next = 0;
  for (const auto& part : parts)
    for (size_t i : part) CHECK(i == next++);
  CHECK(next == r.pareto.size());
  // A part's first point runs from the first step instead of resuming: the same numbers.
  for (size_t i = 0; i < r.pareto.size(); ++i) {
    CAPTURE(i);
    CHECK(r.pareto[i].choice == one_walk.pareto[i].choice);
    CHECK(r.pareto[i].eval.sqnr_db == one_walk.pareto[i].eval.sqnr_db);
    CHECK(r.pareto[i].dominated == one_walk.pareto[i].dominated);
  }
  CHECK(r.selected.choice == one_walk.selected.choice);
  // ... and at most one more FP pass per extra part.
  MESSAGE("phase 2: " << one_walk.timing.phase2_fpe << " FPE in one walk, " << r.timing.phase2_fpe << " in "
                      << parts.size() << " parts");
  CHECK(r.timing.phase2_fpe >= one_walk.timing.phase2_fpe);
  CHECK(r.timing.phase2_fpe <= one_walk.timing.phase2_fpe + static_cast<double>(parts.size() - 1) + 1e-9);
}

}  // namespace
}  // namespace qm::mp
