// Calibration-set stability (stability.h) against closed forms: an additive-noise evaluator whose
// per-sample noise is known (sample s, quantizer q at b bits: k_q * w[s][q] * 4^-b, signal 1),
// so identical samples must give zero-width intervals and "stable", and samples that disagree
// on which layer is noisier must give wide intervals and a lower rank correlation.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "api/options.h"
#include "core/error.h"
#include "core/json.h"
#include "mixed_precision/search.h"
#include "mixed_precision/stability.h"

namespace qm::mp {
namespace {

using api::builtin_profile;
using api::parse_candidates;
using api::parse_target;

// A chain input -> conv0 -> ... -> conv{n-1} -> output (quantizer graph only, as QuantModel makes).
struct Chain {
  std::vector<quant::Quantizer> qs;
  std::vector<quant::Layer> ls;
  explicit Chain(size_t n, int64_t macs = 1000) {
    int a = act("input");
    for (size_t i = 0; i < n; ++i) {
      quant::Layer l;
      l.name = "conv" + std::to_string(i);
      l.op = "Conv";
      l.input_quantizer = a;
      l.macs = macs;
      l.weight_elements = macs / 10;
      quant::Quantizer w;
      w.id = static_cast<int>(qs.size());
      w.kind = quant::QuantizerKind::Weight;
      w.tensor = l.name + ".weight";
      w.layer = static_cast<int>(ls.size());
      qs.push_back(w);
      l.weight_quantizer = w.id;
      qs[static_cast<size_t>(a)].consumer_layers.push_back(static_cast<int>(ls.size()));
      qs[static_cast<size_t>(a)].consumer_ops.push_back("Conv");
      ls.push_back(l);
      a = act("t" + std::to_string(i));
    }
  }
  int act(const std::string& t) {
    quant::Quantizer q;
    q.id = static_cast<int>(qs.size());
    q.kind = quant::QuantizerKind::Activation;
    q.tensor = t;
    qs.push_back(q);
    return q.id;
  }
};

// Per-sample additive noise: noise_s(config) = sum over quantizers on of k[q] * w[s][q] * 4^-bits.
struct PerSampleNoise {
  std::vector<double> k;
  std::vector<std::vector<double>> w;  // [sample][quantizer]
  double noise(size_t s, const quant::QuantConfig& c) const {
    double n = 0;
    for (size_t q = 0; q < c.bits.size(); ++q)
      if (c.bits[q] > 0) n += k[q] * w[s][q] * std::pow(4.0, -c.bits[q]);
    return n;
  }
  Eval eval(const quant::QuantConfig& c) const {
    Eval e;
    std::vector<SampleSums> per;
    double noise_sum = 0, signal_sum = 0;
    for (size_t s = 0; s < w.size(); ++s) {
      per.push_back(SampleSums{{noise(s, c)}, {1.0}});
      noise_sum += per.back().noise[0];
      signal_sum += 1.0;
    }
    e.nsr = noise_sum / signal_sum;
    e.sqnr_db = -10 * std::log10(e.nsr);
    e.per_sample = std::move(per);
    return e;
  }
  Evaluator evaluator() const {
    Evaluator ev;
    ev.evaluate = [this](const quant::QuantConfig& c) {
      Eval e = eval(c);
      e.per_sample.clear();  // only phase 1 keeps them
      return e;
    };
    ev.evaluate_many = [this](const std::vector<quant::QuantConfig>& cfgs, const std::function<bool(size_t, size_t)>&) {
      std::vector<Eval> out;
      for (const auto& c : cfgs) out.push_back(eval(c));
      return out;
    };
    return ev;
  }
};

// Weight noise of conv i is k_i (distinct, well separated: a clear ranking); activations quiet.
PerSampleNoise model_noise(const Chain& c, size_t samples) {
  PerSampleNoise n;
  n.k.assign(c.qs.size(), 1.0);
  for (size_t i = 0; i < c.ls.size(); ++i) n.k[static_cast<size_t>(c.ls[i].weight_quantizer)] = 1e3 * std::pow(2.0, static_cast<double>(i));
  n.w.assign(samples, std::vector<double>(c.qs.size(), 1.0));
  return n;
}

// Base noise of conv i 1e3 * ratio^i, and per sample and quantizer a log-uniform multiplier
// spanning `decades` powers of ten around 1 (a fixed LCG stream from `seed`).
PerSampleNoise spread_noise(const Chain& c, size_t samples, double ratio, double decades, uint64_t seed) {
  PerSampleNoise n = model_noise(c, samples);
  for (size_t i = 0; i < c.ls.size(); ++i) n.k[static_cast<size_t>(c.ls[i].weight_quantizer)] = 1e3 * std::pow(ratio, static_cast<double>(i));
  uint64_t x = seed;
  for (auto& row : n.w)
    for (double& v : row) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      v = std::pow(10.0, decades * (static_cast<double>(x >> 11) / 9007199254740992.0 - 0.5));
    }
  return n;
}

SearchResult run(const Chain& c, const PerSampleNoise& n, const std::string& target, Phase1Aggregate agg = Phase1Aggregate::Pooled) {
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8");
  o.target = parse_target(target);
  o.phase1_aggregate = agg;
  const auto groups = build_groups(c.qs, c.ls, o.profile, o.candidates);
  Evaluator ev = n.evaluator();
  return search_groups(groups, c.qs, c.ls, ev, o);
}

double width(const SearchResult& r) {
  double w = 0;
  for (const auto& g : r.groups)
    for (const auto& ci : g.sensitivity_ci_db)
      if (ci) w = std::max(w, ci->second - ci->first);
  return w;
}

TEST_CASE("mixed_precision/stability: aggregations of per-sample sums in closed form") {
  // Ratios 0.1, 0.2, 0.3, 0.4, 10 (one outlier); signals 1, 1, 1, 1, 2.
  std::vector<SampleSums> s = {{{0.1}, {1}}, {{0.2}, {1}}, {{0.3}, {1}}, {{0.4}, {1}}, {{20.0}, {2}}};
  CHECK(aggregate_nsr(s, {}, Phase1Aggregate::Pooled) == doctest::Approx(21.0 / 6.0));
  CHECK(aggregate_nsr(s, {}, Phase1Aggregate::Median) == doctest::Approx(0.3));
  // 20% of 5 = 1 dropped at each end: mean of 0.2, 0.3, 0.4.
  CHECK(aggregate_nsr(s, {}, Phase1Aggregate::Trimmed) == doctest::Approx(0.3));
  // A resample with repeats: samples 0, 0, 4.
  CHECK(aggregate_nsr(s, {0, 0, 4}, Phase1Aggregate::Pooled) == doctest::Approx(20.2 / 4.0));
  CHECK(aggregate_nsr(s, {0, 0, 4}, Phase1Aggregate::Median) == doctest::Approx(0.1));
  // Two outputs: ratios averaged over outputs (spec section 3); an output with noise and no
  // signal is infinite.
  std::vector<SampleSums> two = {{{1, 4}, {10, 10}}, {{1, 0}, {10, 10}}};
  CHECK(aggregate_nsr(two, {}, Phase1Aggregate::Pooled) == doctest::Approx((2.0 / 20 + 4.0 / 20) / 2));
  CHECK(std::isinf(aggregate_nsr({{{1}, {0}}}, {}, Phase1Aggregate::Pooled)));
  CHECK(api::parse_aggregate("median") == Phase1Aggregate::Median);
  CHECK_THROWS_WITH_AS(api::parse_aggregate("mean"), "phase-1 aggregation: unknown aggregation 'mean' (expected pooled, median or trimmed)", Error);
  CHECK(api::parse_front_points("") == 0);
  CHECK(api::parse_front_points("all") == 0);
  CHECK(api::parse_front_points("24") == 24);
  for (const char* bad : {"1", "-3", "2.5", "1234567890", "x"})
    CHECK_THROWS_WITH_AS(api::parse_front_points(bad, "frontPoints"),
                         ("frontPoints: bad value '" + std::string(bad) + "' (expected all, or a number of points of at least 2: the first and last are always measured)").c_str(), Error);
}

TEST_CASE("mixed_precision/stability: identical samples give zero-width intervals and a stable choice") {
  const Chain c(6);
  const PerSampleNoise n = model_noise(c, 16);
  const SearchResult r = run(c, n, "bops=0.75");
  const Stability& st = r.stability;
  REQUIRE(st.available);
  CHECK(st.samples == 16);
  CHECK(st.resamples == 200);
  CHECK(st.flips == 6);
  size_t intervals = 0;
  for (const auto& g : r.groups)
    for (size_t ci = 0; ci < g.sensitivity_ci_db.size(); ++ci) {
      if (!g.sensitivity_ci_db[ci]) continue;
      ++intervals;
      REQUIRE(g.sensitivity_db[ci]);
      CHECK(g.sensitivity_ci_db[ci]->first == doctest::Approx(*g.sensitivity_db[ci]).epsilon(1e-12));
      CHECK(g.sensitivity_ci_db[ci]->second == doctest::Approx(*g.sensitivity_db[ci]).epsilon(1e-12));
    }
  CHECK(intervals == 6);
  CHECK(width(r) < 1e-9);
  CHECK(st.rank_corr == doctest::Approx(1.0));
  CHECK(st.rank_corr_full == doctest::Approx(1.0));
  CHECK(st.has_target);
  CHECK(st.layers == 6);
  CHECK(st.layers_changed == 0);
  CHECK(st.selection_changed == 0);
  CHECK(st.cost_lo == st.cost_hi);
  // The predicted pick on all samples is the search's (an additive model: prediction = truth).
  CHECK(st.proxy_matches_selection);
  CHECK(st.stable);
  CHECK(st.verdict == "stable");
  CHECK(st.suggested_samples == 0);
  CHECK(st.message.rfind("stability: stable", 0) == 0);
  // The per-layer rows carry the interval of their group's sensitivity at the chosen candidate.
  for (const LayerChoice& l : r.layers) {
    CHECK(l.sensitivity_ci_db.has_value() == l.sensitivity_db.has_value());
  }
  // The same identical samples, but only 4 of them: too few to call anything stable.
  const SearchResult few = run(c, model_noise(c, 4), "bops=0.75");
  CHECK(few.stability.rank_corr == doctest::Approx(1.0));
  CHECK_FALSE(few.stability.stable);
  CHECK(few.stability.verdict == "add samples");
  CHECK(few.stability.suggested_samples == kMinSamplesToJudge);
  CHECK(few.stability.message.find("4 are too few to judge") != std::string::npos);
}

TEST_CASE("mixed_precision/stability: samples that disagree give wide intervals, a lower rank correlation, 'add samples'") {
  const Chain c(8);
  // Close base noises (ratio 1.1 between neighbours) and, per sample and layer, a multiplier
  // spanning 1000x: which layer is noisier depends on the samples drawn.
  const PerSampleNoise n = spread_noise(c, 16, 1.1, 3.0, 12345);
  const SearchResult noisy = run(c, n, "bops=0.75");
  const SearchResult steady = run(c, model_noise(c, 16), "bops=0.75");
  const Stability& st = noisy.stability;
  REQUIRE(st.available);
  MESSAGE(st.message);
  CHECK(width(noisy) > 3.0);      // dB
  CHECK(width(steady) < 1e-9);
  CHECK(st.rank_corr < 0.8);
  CHECK(st.rank_corr < steady.stability.rank_corr);
  CHECK(st.rank_corr_p10 <= st.rank_corr);
  CHECK(st.layers_changed > 0.5);
  CHECK(st.selection_changed > 0.2);
  CHECK_FALSE(st.stable);
  CHECK(st.verdict == "add samples");
  CHECK(st.message.find("add samples") != std::string::npos);
  // Projections to more samples: the correlation rises with the count.
  REQUIRE(st.projection.size() == 3);
  CHECK(st.projection[0].samples == 32);
  CHECK(st.projection[2].samples == 128);
  CHECK(st.projection[2].rank_corr > st.projection[0].rank_corr);
  CHECK(st.projection[0].rank_corr > st.rank_corr);
  if (st.suggested_samples) CHECK(st.suggested_samples > 16);

  // Deterministic: the same inputs give the same numbers.
  const SearchResult again = run(c, n, "bops=0.75");
  CHECK(again.stability.rank_corr == st.rank_corr);
  CHECK(again.stability.layers_changed == st.layers_changed);
  CHECK(width(again) == width(noisy));
}

TEST_CASE("mixed_precision/stability: the median aggregation ranks by the typical sample, pooled by the sum") {
  // conv0: noise 1 on every sample; conv1: 0.5 on 15 samples, 100 on one. Pooled ranks conv1 as
  // the noisier (sum 107.5 vs 16), the median as the quieter (0.5 vs 1).
  const Chain c(2);
  PerSampleNoise n = model_noise(c, 16);
  const auto w0 = static_cast<size_t>(c.ls[0].weight_quantizer), w1 = static_cast<size_t>(c.ls[1].weight_quantizer);
  n.k[w0] = n.k[w1] = 256.0;  // k * 4^-4 = 1
  for (size_t s = 0; s < 16; ++s) n.w[s][w1] = s == 3 ? 100.0 : 0.5;
  const SearchResult pooled = run(c, n, "bops=0.75", Phase1Aggregate::Pooled);
  const SearchResult median = run(c, n, "bops=0.75", Phase1Aggregate::Median);
  REQUIRE(pooled.groups[1].sensitivity_db[1]);
  CHECK(*pooled.groups[1].sensitivity_db[1] < *pooled.groups[0].sensitivity_db[1]);
  CHECK(*median.groups[1].sensitivity_db[1] > *median.groups[0].sensitivity_db[1]);
  CHECK(*median.groups[1].sensitivity_db[1] == doctest::Approx(-10 * std::log10(0.5)).epsilon(0.01));
  // The first flip follows the aggregation (least sensitive first).
  REQUIRE(pooled.pareto.size() >= 2);
  CHECK(pooled.pareto[1].flip_group == 0);
  CHECK(median.pareto[1].flip_group == 1);
  CHECK(median.stability.aggregate == "median");
}

TEST_CASE("mixed_precision/stability: re-selection updates it; the report carries it") {
  const Chain c(6);
  const PerSampleNoise n = model_noise(c, 8);
  SearchResult r = run(c, n, "");
  CHECK_FALSE(r.stability.has_target);
  CHECK(r.stability.available);
  const auto groups = build_groups(c.qs, c.ls, builtin_profile("generic"), parse_candidates("W4A8,W8A8"));
  Evaluator ev = n.evaluator();
  reselect(r, c.qs, c.ls, ev, parse_target("bops=0.6"));
  CHECK(r.stability.has_target);
  CHECK(r.stability.cost_full <= 0.6 + 1e-9);
  JsonWriter w(0);
  w.begin_object();
  write_search_json(w, r);
  w.end_object();
  const std::string js = w.str();
  CHECK(js.find("\"stability\":{\"available\":true,\"verdict\":\"stable\"") != std::string::npos);
  CHECK(js.find("\"sensitivity_ci_db\":{\"W4A8\":[") != std::string::npos);
  CHECK(js.find("\"phase1_aggregate\":\"pooled\"") != std::string::npos);

  // Without per-sample sums (an evaluator that has none): no intervals, verdict "unknown".
  Evaluator plain;
  plain.evaluate = [&n](const quant::QuantConfig& cfg) {
    Eval e = n.eval(cfg);
    e.per_sample.clear();
    return e;
  };
  SearchOptions o;
  o.candidates = parse_candidates("W4A8,W8A8");
  o.target = parse_target("bops=0.6");
  const SearchResult p = search_groups(groups, c.qs, c.ls, plain, o);
  CHECK_FALSE(p.stability.available);
  CHECK(p.stability.verdict == "unknown");
  CHECK(width(p) == 0);
  for (const auto& g : p.groups)
    for (const auto& ci : g.sensitivity_ci_db) CHECK_FALSE(ci.has_value());
}

TEST_CASE("mixed_precision/stability: resamples of half the samples stand in for another set (wider, about sqrt 2)") {
  // Per-sample noise multipliers that vary (log-uniform over 10x): a resample of m samples has a
  // spread ~ 1/sqrt(m), so resamples of n/2 (the default) give intervals about sqrt(2) wider
  // than resamples of all n, and the rank correlation they predict is lower.
  const Chain c(8);
  const PerSampleNoise n = spread_noise(c, 32, 1.3, 1.0, 777);
  const SearchResult half = run(c, n, "bops=0.75");
  CHECK(half.stability.resample_size == 16);
  SearchResult all = half;
  StabilityOptions o;
  o.set_fraction = 1.0;
  compute_intervals(all, o);
  compute_stability(all, o);
  CHECK(all.stability.resample_size == 32);
  const double ratio = width(half) / width(all);
  MESSAGE("interval width n/2 vs n: " << ratio);
  CHECK(ratio > 1.2);
  CHECK(ratio < 1.7);
  CHECK(half.stability.rank_corr < all.stability.rank_corr);
  // The report says how many each resample draws.
  JsonWriter w(0);
  w.begin_object();
  write_stability_json(w, half.stability);
  w.end_object();
  CHECK(w.str().find("\"resample_size\":16") != std::string::npos);
}

}  // namespace
}  // namespace qm::mp
