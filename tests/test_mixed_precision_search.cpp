// The mixed-precision search against closed forms: candidates and profiles, groups on synthetic
// quantizer graphs, BOPs by hand, and phases 0-3 with an additive-noise evaluator (noise of
// quantizer q at b bits = k_q * 4^-b, summed), whose optimal configurations are known by brute
// force.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "api/options.h"
#include "core/error.h"
#include "core/json.h"
#include "mixed_precision/search.h"

namespace qm::mp {
namespace {

// The text forms of candidates, targets and profiles are parsed at the api boundary.
using api::builtin_profile;
using api::parse_candidate;
using api::parse_candidates;
using api::parse_profile_json;
using api::parse_target;

constexpr double kTol = 1e-9;

// A synthetic quantizer graph (what quant::QuantModel produces, without a model).
struct Synth {
  std::vector<quant::Quantizer> qs;
  std::vector<quant::Layer> ls;

  int act(const std::string& tensor, const std::string& producer, std::vector<std::string> consumers = {}) {
    quant::Quantizer q;
    q.id = static_cast<int>(qs.size());
    q.kind = quant::QuantizerKind::Activation;
    q.tensor = tensor;
    q.producer_op = producer;
    q.consumer_ops = std::move(consumers);
    qs.push_back(q);
    return q.id;
  }
  // A layer reading activation `in` (weight quantizer created unless `shared_weight` >= 0).
  int layer(const std::string& name, const std::string& op, int in, int64_t macs, int64_t welems,
            int shared_weight = -1) {
    quant::Layer l;
    l.name = name;
    l.op = op;
    l.input_quantizer = in;
    l.macs = macs;
    l.weight_elements = welems;
    if (shared_weight >= 0) {
      l.weight_quantizer = shared_weight;
    } else {
      quant::Quantizer q;
      q.id = static_cast<int>(qs.size());
      q.kind = quant::QuantizerKind::Weight;
      q.tensor = name + ".weight";
      q.layer = static_cast<int>(ls.size());
      qs.push_back(q);
      l.weight_quantizer = q.id;
    }
    if (in >= 0) {
      qs[static_cast<size_t>(in)].consumer_layers.push_back(static_cast<int>(ls.size()));
      qs[static_cast<size_t>(in)].consumer_ops.push_back(op);
    }
    ls.push_back(l);
    return static_cast<int>(ls.size()) - 1;
  }
};

// NSR(config) = sum over quantizers that are on of k_q * 4^-bits: additive by construction.
struct AdditiveNoise {
  std::vector<double> k;
  size_t calls = 0;
  double nsr(const quant::QuantConfig& c) const {
    double n = 0;
    for (size_t q = 0; q < c.bits.size(); ++q)
      if (c.bits[q] > 0) n += k[q] * std::pow(4.0, -c.bits[q]);
    return n;
  }
  Evaluator evaluator() {
    Evaluator e;
    e.evaluate = [this](const quant::QuantConfig& c) {
      ++calls;
      Eval r;
      r.nsr = nsr(c);
      r.sqnr_db = -10 * std::log10(r.nsr);
      return r;
    };
    return e;
  }
};

// A chain input -> conv0 -> ... -> conv{n-1} -> output, each conv with its own MACs.
Synth chain(const std::vector<int64_t>& macs) {
  Synth s;
  int a = s.act("input", "");
  for (size_t i = 0; i < macs.size(); ++i) {
    s.layer("conv" + std::to_string(i), "Conv", a, macs[i], macs[i] / 10);
    a = s.act("t" + std::to_string(i), "Relu");
  }
  return s;  // the last activation is the model output: an activation-only group
}

TEST_CASE("mixed_precision/candidates: parse, names, widest-first order") {
  CHECK(candidate_name(parse_candidate("w4a16")) == "W4A16");
  CHECK(parse_candidates("W4A8, W8A8,W4A8").size() == 2);
  CHECK_THROWS_AS(parse_candidate("W1A8"), Error);
  CHECK_THROWS_AS(parse_candidate("W8"), Error);
  CHECK_THROWS_AS(parse_candidates("W8A8,,W4A8"), Error);
  auto c = parse_candidates("W4A8,W16A16,W8A8,W4A16,W8A16");
  sort_widest_first(c);
  std::string names;
  for (const auto& x : c) names += candidate_name(x) + " ";
  CHECK(names == "W16A16 W8A16 W4A16 W8A8 W4A8 ");
}

TEST_CASE("mixed_precision/profile: built-ins and JSON, with readable errors") {
  const Profile g = builtin_profile("generic");
  CHECK(g.candidates.size() == 4);
  CHECK(g.supports_layer("Conv", Candidate{16, 16}));
  const Profile npu = builtin_profile("npu");
  CHECK_FALSE(npu.supports_layer("Conv", Candidate{16, 16}));
  CHECK_FALSE(npu.supports_output("Softmax", 8));
  CHECK(npu.supports_output("Softmax", 16));
  CHECK_FALSE(npu.supports_layer("Conv.depthwise", Candidate{4, 8}));
  CHECK_THROWS_WITH_AS(builtin_profile("tpu"), doctest::Contains("generic, npu"), Error);

  const Profile p = parse_profile_json(R"({"name": "mine", "candidates": ["W8A8", "W8A16"],
      "ops": {"Softmax": {"output_bits": [16]}, "Gemm": {"candidates": ["W8A16"]}}})", "mine.json");
  CHECK(p.name == "mine");
  CHECK(p.supports_layer("Conv", Candidate{8, 8}));
  CHECK_FALSE(p.supports_layer("Gemm", Candidate{8, 8}));
  CHECK_FALSE(p.supports_output("Softmax", 8));
  CHECK(p.supports_input("Add", 16));
  CHECK_FALSE(p.supports_input("Add", 4));
  CHECK(api::parse_profile("").name == "generic");
  CHECK(api::parse_profile(" {\"candidates\": [\"W4A8\"]}").candidates.size() == 1);
  CHECK_THROWS_WITH_AS(api::parse_profile("tpu", "--profile"), doctest::Contains("--profile: unknown profile 'tpu'"), Error);

  struct Bad {
    const char* text;
    const char* expect;
  };
  const Bad bad[] = {
      {"{\"candidates\": [\"W8A8\"], \"opz\": 1}", "unknown key 'opz'"},
      {"{\"ops\": {}}", "missing key 'candidates'"},
      {"{\"candidates\": [\"W8X8\"]}", "bad candidate 'W8X8'"},
      {"{\"candidates\": [\"W8A8\"], \"ops\": {\"Softmax\": {\"output_bits\": [1]}}}", "op 'Softmax'"},
      {"{\"candidates\": [\"W8A8\"]", "malformed JSON at byte"},
      {"[1, 2]", "expected a JSON object"},
  };
  for (const auto& b : bad) {
    CAPTURE(b.text);
    CHECK_THROWS_WITH_AS(parse_profile_json(b.text, "p.json"), doctest::Contains(b.expect), Error);
  }
}

TEST_CASE("mixed_precision/groups: shared input tensor, activation-only groups, shared weights") {
  Synth s;
  const int x = s.act("x", "");
  const int l0 = s.layer("convA", "Conv", x, 100, 10);
  s.layer("convB", "Conv", x, 300, 30);  // reads x too: same group as convA
  const int a = s.act("a", "Relu");
  s.layer("gemm", "Gemm", a, 50, 5);
  const int b = s.act("b", "Add", {"Softmax"});  // read by no layer: activation-only
  (void)b;
  s.layer("convC", "Conv", s.act("c", "Relu"), 20, 2, s.ls[static_cast<size_t>(l0)].weight_quantizer);
  const auto groups = build_groups(s.qs, s.ls, builtin_profile("generic"), parse_candidates("W4A8,W8A8,W8A16"));
  // convC shares convA's weight, so x, c, convA, convB, convC are one group.
  REQUIRE(groups.size() == 3);
  CHECK(groups[0].layers == std::vector<int>{0, 1, 3});
  CHECK(groups[0].activations.size() == 2);
  CHECK(groups[0].macs == 420);
  CHECK(groups[1].layers == std::vector<int>{2});
  CHECK(groups[2].activation_only());
  // widest first; activation-only: one candidate per activation width.
  CHECK(groups[0].candidates == std::vector<Candidate>{{8, 16}, {8, 8}, {4, 8}});
  CHECK(groups[2].candidates == std::vector<Candidate>{{8, 16}, {8, 8}});
  // BOPs by hand: 420 MACs at W4A8 = 420 * 32; everything at W8A8 = 470 * 64.
  CHECK(group_bops(groups[0], {4, 8}) == doctest::Approx(420.0 * 32));
  const Cost c = choice_cost(groups, Choice{2, 1, 0});
  CHECK(c.bops == doctest::Approx(420.0 * 32 + 50.0 * 64));
  CHECK(c.rel_bops == doctest::Approx((420.0 * 32 + 50.0 * 64) / (470.0 * 64)));
  CHECK(c.size_bytes == doctest::Approx(40 * 0.5 + 5 * 1.0));  // convC's weight is convA's: stored once
  CHECK(nearest_candidate(groups[2], {4, 8}) == 1);
  CHECK(nearest_candidate(groups[0], {16, 16}) == 0);
}

TEST_CASE("mixed_precision/groups: an empty intersection names the group, its ops and the candidates") {
  Synth s;
  const int x = s.act("x", "");
  s.layer("fc", "MatMul", x, 10, 10);
  const int p = s.act("probs", "Softmax");
  s.layer("head", "Gemm", p, 10, 10);
  CHECK_THROWS_WITH_AS(build_groups(s.qs, s.ls, builtin_profile("npu"), parse_candidates("W4A8,W8A8")),
                       doctest::Contains("quantizer group 1 ['probs' (Softmax output), 'head' (Gemm)]"), Error);
  try {
    build_groups(s.qs, s.ls, builtin_profile("npu"), parse_candidates("W4A8,W8A8"));
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("tried W8A8, W4A8") != std::string::npos);
    CHECK(m.find("Softmax output 'probs' cannot be A8") != std::string::npos);
    CHECK(m.find("profile 'npu'") != std::string::npos);
  }
  // W8A16 is fine for both; the MatMul group keeps W4A8 out (npu MatMul: no W4A8).
  const auto g = build_groups(s.qs, s.ls, builtin_profile("npu"), parse_candidates("W4A8,W8A8,W8A16"));
  CHECK(g[0].candidates == std::vector<Candidate>{{8, 16}, {8, 8}});
  CHECK(g[1].candidates == std::vector<Candidate>{{8, 16}});
  // Depthwise convolutions: W8 only in the npu profile.
  Synth d;
  d.layer("dw", "Conv", d.act("x", ""), 10, 10);
  LayerTraits t;
  t.depthwise = {true};
  const auto gd = build_groups(d.qs, d.ls, builtin_profile("npu"), parse_candidates("W4A8,W8A8"), t);
  CHECK(gd[0].candidates == std::vector<Candidate>{{8, 8}});
}

// Brute force: the lowest NSR over every choice with rel_bops <= budget.
double brute_best_nsr(const std::vector<Group>& groups, size_t nq, const AdditiveNoise& noise, double budget) {
  double best = 1e300;
  Choice c(groups.size(), 0);
  for (;;) {
    if (choice_cost(groups, c).rel_bops <= budget + 1e-12) best = std::min(best, noise.nsr(choice_config(groups, c, nq)));
    size_t i = 0;
    while (i < c.size() && ++c[i] == static_cast<int>(groups[i].candidates.size())) c[i++] = 0;
    if (i == c.size()) return best;
  }
}

TEST_CASE("mixed_precision/search: phases 0-3 with an additive-noise model match the closed form") {
  // Six equal convs: every W8A8 -> W4A8 flip saves the same BOPs, so the optimal configuration
  // at k flips is the k least noisy flips, i.e. exactly the paper order.
  Synth s = chain({1000, 1000, 1000, 1000, 1000, 1000});
  AdditiveNoise noise;
  noise.k.assign(s.qs.size(), 1.0);
  const double wk[] = {5, 1, 80, 3, 20, 0.5};
  for (size_t i = 0; i < s.ls.size(); ++i) noise.k[static_cast<size_t>(s.ls[i].weight_quantizer)] = wk[i] * 1e3;
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
  REQUIRE(groups.size() == 7);
  Evaluator ev = noise.evaluator();
  const SearchResult r = search_groups(groups, s.qs, s.ls, ev, o);

  // Phase 0: two baselines; W8A8 is the more accurate: the start point.
  REQUIRE(r.baselines.size() == 2);
  CHECK(candidate_name(r.baselines[static_cast<size_t>(r.start_baseline)].config) == "W8A8");
  CHECK(r.baselines[1].point.cost.rel_bops == doctest::Approx(0.5));
  // Phase 1: each group alone at W4A8, closed form.
  for (size_t gi = 0; gi + 1 < r.groups.size(); ++gi) {
    const auto& gr = r.groups[gi];
    REQUIRE(gr.sensitivity_db[1]);
    const double n = noise.k[static_cast<size_t>(gr.group.activations[0])] * std::pow(4.0, -8) +
                     noise.k[static_cast<size_t>(gr.group.weights[0])] * std::pow(4.0, -4);
    CHECK(*gr.sensitivity_db[1] == doctest::Approx(-10 * std::log10(n)).epsilon(kTol));
  }
  CHECK_FALSE(r.groups.back().sensitivity_db[0]);  // output group: activation-only, no flips
  // Phase 2: start + 6 flips, least sensitive first, true SQNR, optimal at each cost.
  REQUIRE(r.pareto.size() == 7);
  const int expect_order[] = {5, 1, 3, 0, 4, 2};
  for (size_t i = 1; i < r.pareto.size(); ++i) {
    CHECK(r.pareto[i].flip_group == expect_order[i - 1]);
    CHECK(r.pareto[i].cost.rel_bops < r.pareto[i - 1].cost.rel_bops);
    const double truth = noise.nsr(choice_config(groups, r.pareto[i].choice, s.qs.size()));
    CHECK(r.pareto[i].eval.nsr == doctest::Approx(truth).epsilon(kTol));
    CHECK(r.pareto[i].eval.nsr ==
          doctest::Approx(brute_best_nsr(groups, s.qs.size(), noise, r.pareto[i].cost.rel_bops)).epsilon(kTol));
  }
  CHECK(r.selected_index == 0);  // no target
  CHECK(r.layers.size() == 6);
  CHECK(r.timing.phase1_naive_fpe == 6);

  // Determinism: the same inputs give the same front.
  Evaluator ev2 = noise.evaluator();
  const SearchResult r2 = search_groups(groups, s.qs, s.ls, ev2, o);
  for (size_t i = 0; i < r.pareto.size(); ++i) CHECK(r2.pareto[i].choice == r.pareto[i].choice);
}

TEST_CASE("mixed_precision/search: targets, binary search and the no-feasible-point case") {
  Synth s = chain({4000, 1000, 2000, 500, 3000, 1500, 800, 2500});
  AdditiveNoise noise;
  // Start (W8A16) near 49 dB, everything at W4A8 near 20 dB.
  noise.k.assign(s.qs.size(), 1e-2);
  for (size_t i = 0; i < s.ls.size(); ++i)
    noise.k[static_cast<size_t>(s.ls[i].weight_quantizer)] = 0.1 * (1 + static_cast<double>((i * 7) % 5));
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);

  auto run = [&](const std::string& target, bool full, size_t* calls = nullptr) {
    SearchOptions oo = o;
    oo.target = parse_target(target);
    oo.full_front = full;
    AdditiveNoise n2 = noise;
    Evaluator ev = n2.evaluator();
    SearchResult r = search_groups(groups, s.qs, s.ls, ev, oo);
    if (calls) *calls = n2.calls;
    return r;
  };

  // Start: W8A16 everywhere (the most accurate baseline).
  const SearchResult full = run("bops=0.6", true);
  CHECK(candidate_name(full.baselines[static_cast<size_t>(full.start_baseline)].config) == "W8A16");
  CHECK(full.pareto[0].cost.rel_bops == doctest::Approx(2.0));
  // bops: the best SQNR among points with rel_bops <= 0.6.
  double best = -1e300;
  for (const auto& p : full.pareto)
    if (p.cost.rel_bops <= 0.6) best = std::max(best, p.eval.sqnr_db);
  CHECK(full.target_met);
  CHECK(full.selected.cost.rel_bops <= 0.6);
  CHECK(full.selected.eval.sqnr_db == doctest::Approx(best));
  // Flips that would not lower cost were skipped: costs strictly fall along the front.
  for (size_t i = 1; i < full.pareto.size(); ++i) CHECK(full.pareto[i].cost.rel_bops < full.pareto[i - 1].cost.rel_bops);
  CHECK(full.pareto.back().cost.rel_bops == doctest::Approx(0.5));

  // Without the full front, the same selection from a handful of evaluations. Along the front
  // SQNR falls monotonically (additive noise), so the bisection is exact.
  size_t calls_full = 0, calls_bin = 0;
  const SearchResult f2 = run("sqnr=40", true, &calls_full);
  const SearchResult b2 = run("sqnr=40", false, &calls_bin);
  CHECK(f2.target_met);
  CHECK(b2.selected_index == f2.selected_index);
  CHECK(b2.selected.eval.sqnr_db >= 40);
  if (static_cast<size_t>(f2.selected_index) + 1 < f2.pareto.size())
    CHECK(f2.pareto[static_cast<size_t>(f2.selected_index) + 1].eval.sqnr_db < 40);
  const size_t n = f2.pareto.size();
  const size_t log2n = static_cast<size_t>(std::ceil(std::log2(static_cast<double>(n)))) + 1;
  const size_t fixed = o.candidates.size() + full.timing.phase1_naive_fpe;  // phases 0 and 1
  CHECK(calls_bin <= fixed + log2n);
  CHECK(calls_full >= fixed + n - 1);
  const SearchResult b3 = run("bops=0.6", false);
  CHECK(b3.selected.cost.rel_bops <= 0.6);
  CHECK(b3.selected.eval.sqnr_db == doctest::Approx(full.selected.eval.sqnr_db));
  // An even subset of the front (the UI's view) plus bisection next to the target.
  for (const char* target : {"sqnr=40", "sqnr=30", "bops=0.6", "sqnr-drop=10"}) {
    CAPTURE(target);
    SearchOptions so = o;
    so.target = parse_target(target);
    so.front_points = 5;
    AdditiveNoise n3 = noise;
    Evaluator ev = n3.evaluator();
    const SearchResult sub = search_groups(groups, s.qs, s.ls, ev, so);
    const SearchResult ref = run(target, true);
    CHECK(sub.selected_index == ref.selected_index);
    size_t evaluated = 0;
    for (const auto& p : sub.pareto) evaluated += p.evaluated ? 1 : 0;
    CHECK(evaluated <= 5 + log2n);
    CHECK(evaluated < sub.pareto.size());
  }

  // sqnr-drop: relative to the start point.
  const SearchResult d = run("sqnr-drop=3", true);
  CHECK(d.selected.eval.sqnr_db >= d.pareto[0].eval.sqnr_db - 3);
  // size: a weight-size budget; only flips that lower weight bytes are taken (W8A16 -> W8A8 is not).
  const SearchResult sz = run("size=0.75", true);
  CHECK(sz.selected.cost.rel_size <= 0.75);
  for (const auto& p : sz.pareto)
    if (p.flip_group >= 0) CHECK(p.flip_to.w_bits == 4);

  // Infeasible: say so, return the start point.
  const SearchResult no = run("sqnr=200", false);
  CHECK_FALSE(no.target_met);
  CHECK(no.selected_index == 0);
  CHECK(no.message.find("no point meets sqnr=200") != std::string::npos);
  const SearchResult no2 = run("bops=0.1", true);
  CHECK_FALSE(no2.target_met);
  CHECK(no2.selected.choice == no2.pareto[0].choice);

  // The option's name as the caller's users know it, neutral by default.
  CHECK_THROWS_WITH_AS(parse_target("bops"), "target: bad target 'bops' — missing '=' (expected bops=X, size=X, sqnr=DB or sqnr-drop=DB)", Error);
  CHECK_THROWS_WITH_AS(parse_target("bops", "--target"), doctest::Contains("--target: bad target"), Error);
  CHECK_THROWS_WITH_AS(parse_target("speed=2"), doctest::Contains("unknown kind 'speed'"), Error);
}

TEST_CASE("mixed_precision/search: re-selection on a stored front equals a new search, without evaluating") {
  Synth s = chain({4000, 1000, 2000, 500, 3000, 1500, 800, 2500});
  AdditiveNoise noise;
  noise.k.assign(s.qs.size(), 1e-2);
  for (size_t i = 0; i < s.ls.size(); ++i)
    noise.k[static_cast<size_t>(s.ls[i].weight_quantizer)] = 0.1 * (1 + static_cast<double>((i * 7) % 5));
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
  AdditiveNoise n1 = noise;
  Evaluator ev = n1.evaluator();
  SearchResult stored = search_groups(groups, s.qs, s.ls, ev, o);  // no target, full front
  const size_t calls = n1.calls;
  for (const char* target : {"bops=0.6", "bops=1.1", "sqnr=40", "sqnr-drop=3", "bops=0.1", "sqnr=200", "size=0.8"}) {
    CAPTURE(target);
    reselect(stored, s.qs, s.ls, ev, parse_target(target));
    SearchOptions oo = o;
    oo.target = parse_target(target);
    AdditiveNoise n2 = noise;
    Evaluator ev2 = n2.evaluator();
    const SearchResult fresh = search_groups(groups, s.qs, s.ls, ev2, oo);
    CHECK(n1.calls == calls);  // the stored front answers: no evaluation
    CHECK(stored.target_met == fresh.target_met);
    if (std::string(target).rfind("size", 0) == 0) {
      // The stored front was built lowering BOPs, a size search lowers bytes: both meet the
      // budget with the best SQNR their own front offers.
      CHECK(stored.selected.cost.rel_size <= 0.8);
      continue;
    }
    CHECK(stored.selected_index == fresh.selected_index);
    CHECK(stored.selected.choice == fresh.selected.choice);
    CHECK(stored.message == fresh.message);
    CHECK(stored.selected_config.bits == fresh.selected_config.bits);
    CHECK(target_name(stored.target) == target);
  }

  // Every point carries the phase-1 prediction: with additive noise, the true noise plus the
  // start candidate's noise of every flipped group (the prediction counts the start as noiseless).
  const Choice& start = stored.pareto[0].choice;
  for (const Point& p : stored.pareto) {
    double extra = 0;
    for (size_t gi = 0; gi < groups.size(); ++gi)
      if (p.choice[gi] != start[gi])
        extra += noise.nsr(single_group_config(groups, static_cast<int>(gi), start[gi], s.qs.size()));
    CHECK(p.predicted_sqnr_db == doctest::Approx(-10 * std::log10(p.eval.nsr + extra)).epsilon(1e-9));
  }
  // Dominated: exactly the measured points another point or a baseline beats (brute force).
  for (const Point& p : stored.pareto) {
    bool dom = false;
    std::vector<const Point*> others;
    for (const Point& q : stored.pareto) others.push_back(&q);
    for (const Baseline& b : stored.baselines) others.push_back(&b.point);
    for (const Point* q : others)
      if (q != &p && q->cost.rel_bops <= p.cost.rel_bops && q->eval.sqnr_db >= p.eval.sqnr_db &&
          (q->cost.rel_bops < p.cost.rel_bops || q->eval.sqnr_db > p.eval.sqnr_db))
        dom = true;
    CHECK(p.dominated == dom);
  }

  // A stored front measured only partly: re-selection measures what the decision needs.
  SearchOptions po = o;
  po.target = parse_target("bops=1.1");
  po.full_front = false;
  AdditiveNoise n3 = noise;
  Evaluator ev3 = n3.evaluator();
  SearchResult partial = search_groups(groups, s.qs, s.ls, ev3, po);
  const size_t before = n3.calls;
  reselect(partial, s.qs, s.ls, ev3, parse_target("sqnr=40"));
  CHECK(n3.calls > before);
  CHECK(partial.selected.eval.sqnr_db >= 40);
  CHECK_THROWS_WITH_AS(reselect(partial, s.qs, s.ls, ev3, Target{}), doctest::Contains("target"), Error);

  // choice_of: one candidate per group, each supported.
  std::vector<Candidate> config;
  for (const auto& gr : stored.groups) config.push_back(gr.group.candidates.back());
  const Choice c = choice_of(stored, config, "config");
  for (size_t gi = 0; gi < c.size(); ++gi) CHECK(c[gi] == static_cast<int>(groups[gi].candidates.size()) - 1);
  CHECK_THROWS_WITH_AS(choice_of(stored, {Candidate{8, 8}}, "config"), doctest::Contains("config: 1 candidates given"), Error);
  config[0] = Candidate{2, 2};
  CHECK_THROWS_WITH_AS(choice_of(stored, config, "config"), doctest::Contains("group 0 does not support W2A2"), Error);
}

TEST_CASE("mixed_precision/search: ratio order, both orders compared, baselines take the nearest candidate") {
  // Unequal MACs: the ratio order (noise per BOPs saved) takes the big cheap-to-quantize layer
  // first; the paper order the least noisy one.
  Synth s = chain({100, 10000});
  AdditiveNoise noise;
  noise.k.assign(s.qs.size(), 1.0);
  noise.k[static_cast<size_t>(s.ls[0].weight_quantizer)] = 100;
  noise.k[static_cast<size_t>(s.ls[1].weight_quantizer)] = 200;
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
  AdditiveNoise n1 = noise;
  Evaluator e1 = n1.evaluator();
  const SearchResult paper = search_groups(groups, s.qs, s.ls, e1, o);
  CHECK(paper.pareto[1].flip_group == 0);
  o.order = FlipOrder::Ratio;
  Evaluator e2 = n1.evaluator();
  const SearchResult ratio = search_groups(groups, s.qs, s.ls, e2, o);
  CHECK(ratio.pareto[1].flip_group == 1);
  o.order = FlipOrder::Both;
  Evaluator e3 = n1.evaluator();
  const SearchResult both = search_groups(groups, s.qs, s.ls, e3, o);
  CHECK(both.order_used == FlipOrder::Ratio);  // reaches low BOPs with less noise
  CHECK(both.front_score > both.front_score_other);
  CHECK(both.pareto_other.size() == 3);

  // A group that lacks the baseline's candidate takes its nearest one: W16A16 is not in "npu".
  Synth t = chain({100});
  SearchOptions on;
  on.profile = builtin_profile("npu");
  on.candidates = parse_candidates("W8A8,W16A16");
  // npu lacks W16A16 for Conv; the output group (Relu) can be A16.
  const auto gn = build_groups(t.qs, t.ls, on.profile, on.candidates);
  CHECK(gn[0].candidates == std::vector<Candidate>{{8, 8}});
  CHECK(gn[1].candidates == std::vector<Candidate>{{16, 16}, {8, 8}});
  AdditiveNoise nn;
  nn.k.assign(t.qs.size(), 1.0);
  Evaluator en = nn.evaluator();
  const SearchResult rn = search_groups(gn, t.qs, t.ls, en, on);
  REQUIRE(rn.baselines.size() == 2);
  CHECK(rn.baselines[0].point.choice == Choice{0, 0});  // W16A16: conv stays W8A8, output A16
  CHECK(rn.baselines[1].point.choice == Choice{0, 1});
}

TEST_CASE("mixed_precision/search: progress, cancel, and the report.json pieces") {
  Synth s = chain({100, 200, 300});
  AdditiveNoise noise;
  noise.k.assign(s.qs.size(), 50.0);
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
  std::map<std::string, size_t> last;
  o.progress = [&](const std::string& phase, size_t done, size_t total) {
    last[phase] = done;
    CHECK(done <= total);
    return true;
  };
  o.target = parse_target("bops=0.8");
  Evaluator ev = noise.evaluator();
  const SearchResult r = search_groups(groups, s.qs, s.ls, ev, o);
  CHECK(last["phase0"] == 2);
  CHECK(last["phase1"] == 3);
  CHECK(last["phase2"] == 4);

  JsonWriter w;
  w.begin_object();
  write_search_json(w, r);
  w.key("timing_s").begin_object();
  write_timing_fields(w, r.timing);
  w.end_object();
  w.end_object();
  const std::string j = w.str();
  for (const char* key : {"\"groups\":", "\"baselines\":", "\"pareto\":", "\"selected\":", "\"sensitivity_db\":{\"W4A8\":",
                          "\"layers\":[\"conv0\"]", "\"config\":[\"W8A8\"", "\"phase1\":", "\"w_bits\":"})
    CHECK_MESSAGE(j.find(key) != std::string::npos, key);

  o.progress = [](const std::string& phase, size_t, size_t) { return phase != "phase1"; };
  Evaluator ev2 = noise.evaluator();
  CHECK_THROWS_WITH_AS(search_groups(groups, s.qs, s.ls, ev2, o), doctest::Contains("cancelled"), Error);
}

}  // namespace
}  // namespace qm::mp

namespace qm::mp {
namespace {

TEST_CASE("mixed_precision/search: a homogeneous baseline within the budget is never beaten by a worse front point") {
  // Random additive-noise chains; for bops=1.0 the selection must be at least as good as W8A8
  // everywhere (which costs exactly 1.0), and for sqnr=<W8A8's SQNR> at most as costly.
  int beaten_front = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::vector<int64_t> macs;
    unsigned x = seed * 2654435761u;
    auto next = [&x]() { x = x * 1664525u + 1013904223u; return x >> 8; };
    for (int i = 0; i < 6; ++i) macs.push_back(100 + static_cast<int64_t>(next() % 5000));
    Synth s = chain(macs);
    AdditiveNoise noise;
    noise.k.assign(s.qs.size(), 0);
    for (auto& k : noise.k) k = std::pow(10.0, -3.0 + static_cast<double>(next() % 4000) / 1000.0);
    SearchOptions o;
    o.candidates = parse_candidates("W4A8,W8A8,W8A16");
    o.order = FlipOrder::Paper;
    const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
    for (const char* target : {"bops=1.0", "sqnr"}) {
      SearchOptions oo = o;
      AdditiveNoise n2 = noise;
      Evaluator ev = n2.evaluator();
      const SearchResult probe = search_groups(groups, s.qs, s.ls, ev, oo);
      const Point* w8a8 = nullptr;
      for (const auto& b : probe.baselines)
        if (candidate_name(b.config) == "W8A8") w8a8 = &b.point;
      REQUIRE(w8a8 != nullptr);
      oo.target = std::string(target) == "sqnr" ? parse_target("sqnr=" + std::to_string(w8a8->eval.sqnr_db - 1e-3))
                                                 : parse_target(target);
      AdditiveNoise n3 = noise;
      Evaluator ev3 = n3.evaluator();
      const SearchResult r = search_groups(groups, s.qs, s.ls, ev3, oo);
      REQUIRE(r.target_met);
      if (std::string(target) == "sqnr") {
        CHECK(r.selected.cost.rel_bops <= w8a8->cost.rel_bops + kTol);
      } else {
        CHECK(r.selected.eval.sqnr_db >= w8a8->eval.sqnr_db - kTol);
      }
      if (r.selected_index < 0) ++beaten_front;
    }
  }
  MESSAGE("searches where a baseline beat the front: " << beaten_front);
}

}  // namespace
}  // namespace qm::mp

namespace qm::mp {
namespace {

// Best metric among the evaluated points of `pts` within a relative-BOPs budget (-inf: none).
double best_within(const std::vector<Point>& pts, double budget) {
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& p : pts)
    if (p.evaluated && p.cost.rel_bops <= budget * (1 + 1e-12)) best = std::max(best, p.eval.metric());
  return best;
}

TEST_CASE("mixed_precision/search: --order both selects from the union of the two fronts") {
  // Random additive-noise chains with unequal MACs, so the paper and ratio fronts cross: the
  // front with the better mean (kept as `pareto`) need not hold the best point at a given
  // budget. The selection of `both` must be at least as good as each single order's, and at
  // least once it must come from the other front (without the union this fails).
  int from_other = 0, searches = 0;
  for (unsigned seed = 1; seed <= 30; ++seed) {
    std::vector<int64_t> macs;
    unsigned x = seed * 2246822519u;
    auto next = [&x]() { x = x * 1664525u + 1013904223u; return x >> 8; };
    for (int i = 0; i < 6; ++i) macs.push_back(100 + static_cast<int64_t>(next() % 8000));
    Synth s = chain(macs);
    AdditiveNoise noise;
    noise.k.assign(s.qs.size(), 0);
    for (auto& k : noise.k) k = std::pow(10.0, -3.0 + static_cast<double>(next() % 4000) / 1000.0);
    SearchOptions o;
    o.candidates = parse_candidates("W4A8,W8A8,W8A16");
    const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
    for (const char* target : {"bops=0.55", "bops=0.7", "bops=0.85", "bops=1.2"}) {
      o.target = parse_target(target);
      auto run_order = [&](FlipOrder order) {
        SearchOptions oo = o;
        oo.order = order;
        AdditiveNoise n = noise;
        Evaluator ev = n.evaluator();
        return search_groups(groups, s.qs, s.ls, ev, oo);
      };
      const SearchResult paper = run_order(FlipOrder::Paper), ratio = run_order(FlipOrder::Ratio);
      const SearchResult both = run_order(FlipOrder::Both), again = run_order(FlipOrder::Both);
      ++searches;
      CAPTURE(seed);
      const std::string target_text = target;
      CAPTURE(target_text);
      if (!paper.target_met && !ratio.target_met) continue;
      REQUIRE(both.target_met);
      CHECK(both.selected.cost.rel_bops <= o.target.value * (1 + 1e-12));
      CHECK(both.selected.eval.sqnr_db >= std::max(paper.selected.eval.sqnr_db, ratio.selected.eval.sqnr_db) - kTol);
      // Deterministic: the same inputs give the same choice, front and order.
      CHECK(again.selected.choice == both.selected.choice);
      CHECK(again.selected_front == both.selected_front);
      // Where the other front holds a better point than the kept front and every baseline within
      // the budget, it is the one selected, and the report names its order.
      double base = -std::numeric_limits<double>::infinity();
      for (const auto& b : both.baselines)
        if (b.point.cost.rel_bops <= o.target.value * (1 + 1e-12)) base = std::max(base, b.point.eval.metric());
      const double kept = best_within(both.pareto, o.target.value), other = best_within(both.pareto_other, o.target.value);
      if (other > kept + kTol && other > base + kTol) {
        ++from_other;
        CHECK(both.selected_front == 1);
        CHECK(both.selected_order != both.order_used);
        CHECK(both.selected.eval.metric() == doctest::Approx(other).epsilon(1e-12));
        JsonWriter w;
        w.begin_object();
        write_selected_json(w, both);
        w.end_object();
        const std::string j = w.str();
        CHECK(j.find(std::string("\"order\":\"") + order_name(both.selected_order) + "\"") != std::string::npos);
        CHECK(j.find("\"front\":\"pareto_other\"") != std::string::npos);
        CHECK(j.find("\"config\":\"mixed\"") != std::string::npos);
      }
      if (both.selected_index < 0) {
        REQUIRE(both.selected_baseline >= 0);
        CHECK(selected_config_name(both) == candidate_name(both.baselines[static_cast<size_t>(both.selected_baseline)].config));
      }
    }
  }
  MESSAGE("searches where the other front held the best point: " << from_other << " of " << searches);
  CHECK(from_other > 0);
}

}  // namespace
}  // namespace qm::mp

namespace qm::mp {
namespace {

TEST_CASE("mixed_precision/search: labelled top-1 ties fall back to SQNR (start point and selection)") {
  // On 64 labelled calibration images a good model often scores the same top-1 at every
  // candidate (62/64 for W4A8, W8A8 and W8A16 on the trained Fashion-MNIST models). A tie must
  // not make the cheapest baseline the start point: that leaves a one-point front, and bops=1.5
  // then returned W4A8 (0.5) though W8A8 fits the budget with the same top-1 and more SQNR.
  Synth s = chain({3000, 1000, 2000, 500});
  AdditiveNoise noise;
  noise.k.assign(s.qs.size(), 1.0);
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  o.target = parse_target("bops=1.5");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);
  Evaluator ev = noise.evaluator();
  const auto sqnr_only = ev.evaluate;
  ev.evaluate = [&sqnr_only](const quant::QuantConfig& c) {
    Eval e = sqnr_only(c);
    e.accuracy = 62.0 / 64.0;  // every configuration ties on top-1
    return e;
  };
  const SearchResult r = search_groups(groups, s.qs, s.ls, ev, o);
  REQUIRE(r.start_baseline >= 0);
  CHECK(candidate_name(r.baselines[static_cast<size_t>(r.start_baseline)].config) == "W8A16");
  CHECK(r.pareto.size() > 2);
  const Point* w8a8 = nullptr;
  for (const auto& b : r.baselines)
    if (candidate_name(b.config) == "W8A8") w8a8 = &b.point;
  REQUIRE(w8a8 != nullptr);
  CHECK(r.target_met);
  CHECK(r.selected.cost.rel_bops <= 1.5 + kTol);
  CHECK(r.selected.eval.sqnr_db >= w8a8->eval.sqnr_db - kTol);
}

}  // namespace
}  // namespace qm::mp

namespace qm::mp {
namespace {

// What SearchOptions::on_front saw: each update copied (the pointers live during the call only).
struct FrontLog {
  struct Entry {
    bool built = false;
    FlipOrder order = FlipOrder::Paper;
    std::vector<Point> points;
    std::vector<size_t> measured;
    std::string json;
    std::string after_phase;  // the last progress phase reported before it
  };
  std::vector<Entry> entries;
  std::string phase;  // the last progress phase
  std::vector<std::string> phases_after_first_measured;

  void install(SearchOptions& o) {
    o.progress = [this](const std::string& p, size_t, size_t) {
      phase = p;
      return true;
    };
    o.on_front = [this](const FrontUpdate& u) {
      REQUIRE(u.result);
      REQUIRE(u.points);
      entries.push_back({u.built, u.order, *u.points, u.measured, front_update_json(u), phase});
    };
  }
};

// The front's points as the result has them and as an update saw them: the same configuration,
// cost and prediction; measured ones the same numbers.
void check_same_point(const Point& seen, const Point& final_point) {
  CHECK(seen.choice == final_point.choice);
  CHECK(seen.cost.rel_bops == final_point.cost.rel_bops);
  CHECK(seen.cost.size_bytes == final_point.cost.size_bytes);
  CHECK(seen.flip_group == final_point.flip_group);
  CHECK(seen.predicted_sqnr_db == final_point.predicted_sqnr_db);
  if (seen.evaluated) {
    CHECK(final_point.evaluated);
    CHECK(seen.eval.sqnr_db == final_point.eval.sqnr_db);
    CHECK(seen.eval.nsr == final_point.eval.nsr);
  }
}

TEST_CASE("mixed_precision/search: on_front sees the predicted front after phase 1, then each point as phase 2 measures it") {
  // 12 convs, three candidates: 24 flips, so phase 2 reports in parts of at least 8 points.
  Synth s = chain(std::vector<int64_t>(12, 1000));
  AdditiveNoise noise;
  noise.k.assign(s.qs.size(), 1.0);
  for (size_t i = 0; i < s.ls.size(); ++i) noise.k[static_cast<size_t>(s.ls[i].weight_quantizer)] = (1 + (i * 7) % 5) * 1e3;
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8,W8A16");
  o.target = parse_target("bops=0.5");
  const auto groups = build_groups(s.qs, s.ls, o.profile, o.candidates);

  Evaluator plain_ev = noise.evaluator();
  const SearchResult plain = search_groups(groups, s.qs, s.ls, plain_ev, o);

  FrontLog log;
  log.install(o);
  Evaluator ev = noise.evaluator();
  const SearchResult r = search_groups(groups, s.qs, s.ls, ev, o);
  REQUIRE(r.pareto.size() == 25);

  // The same search as without the callback.
  REQUIRE(plain.pareto.size() == r.pareto.size());
  for (size_t i = 0; i < r.pareto.size(); ++i) {
    CHECK(plain.pareto[i].choice == r.pareto[i].choice);
    CHECK(plain.pareto[i].eval.sqnr_db == r.pareto[i].eval.sqnr_db);
    CHECK(plain.pareto[i].dominated == r.pareto[i].dominated);
  }
  CHECK(plain.selected.choice == r.selected.choice);

  // First: the whole front, built once phase 1 is over and before phase 2 measured anything,
  // every point at its phase-1 prediction.
  REQUIRE(log.entries.size() >= 2);
  const auto& built = log.entries.front();
  CHECK(built.built);
  CHECK(built.order == FlipOrder::Paper);
  CHECK(built.after_phase == "phase1");
  CHECK(built.measured.empty());
  REQUIRE(built.points.size() == r.pareto.size());
  for (size_t i = 0; i < r.pareto.size(); ++i) {
    CHECK_FALSE(built.points[i].evaluated);
    check_same_point(built.points[i], r.pareto[i]);
  }
  // Then each point once, in front order, in 3 parts (25 points / 8), with the result's numbers.
  std::vector<size_t> seen;
  size_t parts = 0;
  for (size_t k = 1; k < log.entries.size(); ++k) {
    const auto& e = log.entries[k];
    CHECK_FALSE(e.built);
    CHECK(e.after_phase == "phase2");
    REQUIRE(e.points.size() == r.pareto.size());
    for (size_t i : e.measured) {
      seen.push_back(i);
      CHECK(e.points[i].evaluated);
      check_same_point(e.points[i], r.pareto[i]);
    }
    // Points not measured yet are still predictions.
    for (size_t i = seen.size(); i < e.points.size(); ++i) CHECK_FALSE(e.points[i].evaluated);
    ++parts;
  }
  CHECK(parts == 3);
  std::vector<size_t> all(r.pareto.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  CHECK(seen == all);
  // The last update's dominated flags are the result's (phase 3 measured nothing more).
  for (size_t i = 0; i < r.pareto.size(); ++i) CHECK(log.entries.back().points[i].dominated == r.pareto[i].dominated);

  // The JSON form (what the JS API gets): report.json's pareto entries.
  CHECK(built.json.find("\"event\":\"front\"") != std::string::npos);
  CHECK(built.json.find("\"order\":\"paper\"") != std::string::npos);
  CHECK(built.json.find("\"baselines\":") != std::string::npos);
  CHECK(built.json.find("\"measured\":true") == std::string::npos);
  CHECK(built.json.find("\"predicted_sqnr_db\":") != std::string::npos);
  CHECK(built.json.find("\"config\":[\"W8A16\"") != std::string::npos);
  const std::string& last = log.entries.back().json;
  CHECK(last.find("\"event\":\"points\"") != std::string::npos);
  CHECK(last.find("\"dominated\":[") != std::string::npos);
  CHECK(last.find("\"measured\":false") == std::string::npos);
  CHECK(last.find("\"index\":24") != std::string::npos);

  // Both orders: each front is announced before it is measured.
  o.order = FlipOrder::Both;
  FrontLog both;
  both.install(o);
  Evaluator ev2 = noise.evaluator();
  const SearchResult rb = search_groups(groups, s.qs, s.ls, ev2, o);
  std::vector<std::pair<bool, FlipOrder>> kinds;
  for (const auto& e : both.entries)
    if (kinds.empty() || kinds.back() != std::make_pair(e.built, e.order)) kinds.emplace_back(e.built, e.order);
  CHECK(kinds == std::vector<std::pair<bool, FlipOrder>>{{true, FlipOrder::Paper}, {false, FlipOrder::Paper},
                                                         {true, FlipOrder::Ratio}, {false, FlipOrder::Ratio}});
  const std::vector<Point>& paper_front = rb.order_used == FlipOrder::Paper ? rb.pareto : rb.pareto_other;
  const std::vector<Point>& ratio_front = rb.order_used == FlipOrder::Paper ? rb.pareto_other : rb.pareto;
  for (const auto& e : both.entries)
    for (size_t i : e.measured) check_same_point(e.points[i], (e.order == FlipOrder::Paper ? paper_front : ratio_front)[i]);

  // Cancel still works with the callback (phase 2 is in parts).
  o.order = FlipOrder::Paper;
  o.progress = [](const std::string& phase, size_t done, size_t) { return !(phase == "phase2" && done > 10); };
  Evaluator ev3 = noise.evaluator();
  CHECK_THROWS_WITH_AS(search_groups(groups, s.qs, s.ls, ev3, o), doctest::Contains("cancelled"), Error);
  // No callback: nothing changes (one walk).
  o.on_front = nullptr;
  o.progress = nullptr;
  Evaluator ev4 = noise.evaluator();
  CHECK(search_groups(groups, s.qs, s.ls, ev4, o).pareto.size() == r.pareto.size());
}

}  // namespace
}  // namespace qm::mp
