// Bootstrap of phase 1's per-sample sums: sensitivity intervals and the stability of the
// ranking and the pick (see stability.h).
#include "mixed_precision/stability.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <tuple>

#include "core/error.h"
#include "mixed_precision/search.h"

namespace qm::mp {

const char* aggregate_name(Phase1Aggregate a) {
  switch (a) {
    case Phase1Aggregate::Pooled: return "pooled";
    case Phase1Aggregate::Median: return "median";
    case Phase1Aggregate::Trimmed: return "trimmed";
  }
  return "pooled";
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kTrim = 0.20;  // dropped at each end by Phase1Aggregate::Trimmed

// SqnrAccumulator::noise_to_signal() of these sums: outputs with signal averaged, an output
// with noise and no signal is infinite, none at all is NaN.
double nsr_of(const std::vector<double>& noise, const std::vector<double>& signal) {
  double sum = 0.0;
  size_t n = 0;
  for (size_t o = 0; o < signal.size(); ++o) {
    if (signal[o] > 0.0) {
      sum += noise[o] / signal[o];
      ++n;
    } else if (noise[o] > 0.0) {
      return std::numeric_limits<double>::infinity();
    }
  }
  return n ? sum / static_cast<double>(n) : kNaN;
}

double to_db(double nsr) {
  if (std::isnan(nsr)) return nsr;
  return nsr > 0 ? -10.0 * std::log10(nsr) : std::numeric_limits<double>::infinity();
}

// Median or trimmed mean of per-sample ratios (NaN ones, i.e. samples without signal, left out).
double robust_mean(std::vector<double> v, Phase1Aggregate a) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (a == Phase1Aggregate::Median) return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  const size_t k = static_cast<size_t>(std::floor(kTrim * static_cast<double>(n)));
  double sum = 0;
  for (size_t i = k; i < n - k; ++i) sum += v[i];
  return sum / static_cast<double>(n - 2 * k);
}

// splitmix64: the same stream on every platform and standard library (std:: distributions are
// implementation-defined: wasm's libc++ and native libstdc++ would differ).
struct Rng {
  uint64_t x;
  uint64_t next() {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }
};

double percentile(std::vector<double> v, double p) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= v.size()) return v.back();
  const double f = pos - static_cast<double>(i);
  if (f == 0) return v[i];
  return v[i] + f * (v[i + 1] - v[i]);
}

// Average ranks (ties share their mean rank); infinities rank as the largest, NaN as the smallest.
std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](size_t i) { return std::isnan(x[i]) ? -std::numeric_limits<double>::infinity() : x[i]; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && key(order[j + 1]) == key(order[i])) ++j;
    const double mean = 0.5 * static_cast<double>(i + j);
    for (size_t k = i; k <= j; ++k) r[order[k]] = mean;
    i = j + 1;
  }
  return r;
}

// Spearman correlation; NaN when either side is constant or there are fewer than 3 values.
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 3 || a.size() != b.size()) return kNaN;
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size()), mean = (n - 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa == 0 && sbb == 0) return 1.0;  // both constant: the same (non-)order
  if (saa == 0 || sbb == 0) return kNaN;
  return sab / std::sqrt(saa * sbb);
}

// The per-flip data the bootstrap reads, laid out once.
struct Table {
  size_t samples = 0, outputs = 0;
  std::vector<const Phase1Flip*> flips;
  std::vector<std::vector<double>> ratio;  // [flip][sample]: the sample's own noise/signal
  Phase1Aggregate agg = Phase1Aggregate::Pooled;

  // Every flip's NSR on one resample `idx` of the samples.
  std::vector<double> nsr(const std::vector<uint32_t>& idx) const {
    std::vector<double> out(flips.size());
    std::vector<double> noise(outputs), signal(outputs), tmp(idx.size());
    for (size_t k = 0; k < flips.size(); ++k) {
      if (agg == Phase1Aggregate::Pooled) {
        std::fill(noise.begin(), noise.end(), 0.0);
        std::fill(signal.begin(), signal.end(), 0.0);
        for (uint32_t s : idx) {
          const SampleSums& ss = flips[k]->samples[s];
          for (size_t o = 0; o < ss.noise.size() && o < outputs; ++o) {
            noise[o] += ss.noise[o];
            signal[o] += ss.signal[o];
          }
        }
        out[k] = nsr_of(noise, signal);
      } else {
        for (size_t i = 0; i < idx.size(); ++i) tmp[i] = ratio[k][idx[i]];
        out[k] = robust_mean(tmp, agg);
      }
    }
    return out;
  }
};

bool make_table(const SearchResult& r, Table& t) {
  t.agg = r.phase1_aggregate;
  for (const Phase1Flip& f : r.phase1) {
    if (f.samples.empty()) return false;
    if (t.flips.empty()) t.samples = f.samples.size();
    if (f.samples.size() != t.samples) return false;
    t.flips.push_back(&f);
    for (const SampleSums& s : f.samples) t.outputs = std::max(t.outputs, s.signal.size());
  }
  if (t.flips.empty() || t.samples < 2) return false;
  for (const Phase1Flip* f : t.flips) {
    std::vector<double> rr;
    for (const SampleSums& s : f->samples) rr.push_back(nsr_of(s.noise, s.signal));
    t.ratio.push_back(std::move(rr));
  }
  return true;
}

// How many samples a resample draws to stand in for a calibration set of `set` samples.
size_t drawn(size_t set, double set_fraction) {
  return std::max<size_t>(2, static_cast<size_t>(std::llround(static_cast<double>(set) * set_fraction)));
}

std::vector<uint32_t> draw(Rng& rng, size_t n, size_t m) {
  std::vector<uint32_t> idx(m);
  for (auto& i : idx) i = rng.below(static_cast<uint32_t>(n));
  return idx;
}

// Phase 2's path and phase 3's pick on predicted values (no evaluation): the flips ordered as
// the search orders them, applied from the start while they lower their group's cost, each
// point's NSR the start's plus the flipped groups' phase-1 NSR; then the target's pick.
class Proxy {
 public:
  Proxy(const SearchResult& r, const Table& t) : r_(r), t_(t) {
    size_ = r.target.kind == TargetKind::Size;
    order_ = r.selected_index >= 0 ? r.selected_order : r.order_used;
    if (order_ == FlipOrder::Both) order_ = FlipOrder::Paper;
    const size_t G = r.groups.size();
    cost_.resize(G);
    start_.resize(G);
    double abs = 0;
    for (size_t g = 0; g < G; ++g) {
      const Group& gr = r.groups[g].group;
      for (const Candidate& c : gr.candidates) cost_[g].push_back(size_ ? group_size_bytes(gr, c) : group_bops(gr, c));
      start_[g] = r.groups[g].start;
      abs += cost_[g][static_cast<size_t>(start_[g])];
      layers_.push_back(gr.layers.size());
    }
    // Relative cost = absolute / (absolute of W8A8 everywhere): the start's ratio gives the scale.
    std::vector<Group> groups;
    for (const GroupReport& g : r.groups) groups.push_back(g.group);
    const Cost c0 = choice_cost(groups, start_);
    const double rel0 = size_ ? c0.rel_size : c0.rel_bops;
    scale_ = abs > 0 && rel0 > 0 ? rel0 / abs : 1.0;
    start_abs_ = abs;
    start_nsr_ = r.start_baseline >= 0 ? r.baselines[static_cast<size_t>(r.start_baseline)].point.eval.nsr : 0.0;
    if (!(start_nsr_ >= 0)) start_nsr_ = 0;
  }

  struct Pick {
    Choice choice;
    double rel_cost = 0;
  };

  Pick pick(const std::vector<double>& nsr) const {
    const size_t K = t_.flips.size();
    std::vector<size_t> order(K);
    std::iota(order.begin(), order.end(), 0);
    auto saving = [&](size_t k) {
      const Phase1Flip& f = *t_.flips[k];
      const auto g = static_cast<size_t>(f.group);
      return cost_[g][static_cast<size_t>(start_[g])] - cost_[g][static_cast<size_t>(f.cand)];
    };
    auto gc = [&](size_t k) { return std::make_tuple(t_.flips[k]->group, t_.flips[k]->cand); };
    auto key = [&](size_t k) { return std::isnan(nsr[k]) ? std::numeric_limits<double>::infinity() : nsr[k]; };
    if (order_ == FlipOrder::Ratio) {
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const double l = key(a) * saving(b), rr = key(b) * saving(a);
        if (l != rr) return l < rr;
        if (saving(a) != saving(b)) return saving(a) > saving(b);
        return gc(a) < gc(b);
      });
    } else {
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (key(a) != key(b)) return key(a) < key(b);  // higher SQNR = lower NSR first
        if (saving(a) != saving(b)) return saving(a) > saving(b);
        return gc(a) < gc(b);
      });
    }
    // The walk: remember the point the target picks, then replay to it.
    Choice cur = start_;
    std::vector<double> cur_nsr(r_.groups.size(), 0.0);
    double predicted = start_nsr_, abs = start_abs_;
    const Target& tg = r_.target;
    const bool budget = tg.kind == TargetKind::Bops || tg.kind == TargetKind::Size;
    const double start_db = to_db(start_nsr_);
    const double bar = tg.kind == TargetKind::Sqnr ? tg.value : start_db - tg.value;
    size_t best = 0;
    bool best_feasible = budget && abs * scale_ <= tg.value * (1 + 1e-12);
    double best_nsr = predicted;
    std::vector<size_t> applied;  // flips applied, in order
    for (size_t k : order) {
      const Phase1Flip& f = *t_.flips[k];
      const auto g = static_cast<size_t>(f.group);
      if (!(cost_[g][static_cast<size_t>(f.cand)] < cost_[g][static_cast<size_t>(cur[g])])) continue;
      abs += cost_[g][static_cast<size_t>(f.cand)] - cost_[g][static_cast<size_t>(cur[g])];
      predicted += key(k) - cur_nsr[g];
      cur_nsr[g] = key(k);
      cur[g] = f.cand;
      applied.push_back(k);
      const size_t i = applied.size();
      if (budget) {
        if (abs * scale_ <= tg.value * (1 + 1e-12) && (!best_feasible || predicted < best_nsr)) {
          best = i;
          best_nsr = predicted;
          best_feasible = true;
        }
      } else if (tg.kind != TargetKind::None) {
        if (to_db(std::max(predicted, 0.0)) >= bar && start_db >= bar) best = i;
      }
    }
    Pick p;
    p.choice = start_;
    double a = start_abs_;
    for (size_t i = 0; i < best; ++i) {
      const Phase1Flip& f = *t_.flips[applied[i]];
      const auto g = static_cast<size_t>(f.group);
      a += cost_[g][static_cast<size_t>(f.cand)] - cost_[g][static_cast<size_t>(p.choice[g])];
      p.choice[g] = f.cand;
    }
    p.rel_cost = a * scale_;
    return p;
  }

  // Predicted NSR of a choice under per-flip NSRs `nsr` (the start's noise plus its groups'
  // phase-1 noise at their candidates).
  double predicted_nsr(const Choice& c, const std::vector<double>& nsr) const {
    double p = start_nsr_;
    for (size_t k = 0; k < t_.flips.size(); ++k) {
      const Phase1Flip& f = *t_.flips[k];
      if (c[static_cast<size_t>(f.group)] == f.cand && f.cand != start_[static_cast<size_t>(f.group)])
        p += std::isnan(nsr[k]) ? 0.0 : nsr[k];
    }
    return p;
  }

  size_t layers_differing(const Choice& a, const Choice& b) const {
    size_t n = 0;
    for (size_t g = 0; g < a.size(); ++g)
      if (a[g] != b[g]) n += layers_[g];
    return n;
  }
  size_t layers() const { return std::accumulate(layers_.begin(), layers_.end(), size_t{0}); }

 private:
  const SearchResult& r_;
  const Table& t_;
  bool size_ = false;
  FlipOrder order_ = FlipOrder::Paper;
  std::vector<std::vector<double>> cost_;
  Choice start_;
  std::vector<size_t> layers_;
  double scale_ = 1, start_abs_ = 0, start_nsr_ = 0;
};

// Rank correlation and pick differences between pairs of resamples standing in for two disjoint
// calibration sets of m samples each.
StabilityAt measure_at(const Table& t, const Proxy& proxy, bool with_target, size_t m, const StabilityOptions& o,
                       size_t resamples, std::vector<double>* pair_corrs = nullptr) {
  Rng rng{o.seed ^ (0xA5A5A5A5ull * (m + 1))};
  StabilityAt at;
  at.samples = m;
  const size_t k = drawn(m, o.set_fraction);
  double corr_sum = 0, layer_sum = 0;
  size_t corr_n = 0, pairs = 0;
  for (size_t b = 0; b + 1 < resamples; b += 2) {
    const std::vector<double> x = t.nsr(draw(rng, t.samples, k));
    const std::vector<double> y = t.nsr(draw(rng, t.samples, k));
    // Spearman on NSR (dB is monotone in it, so the ranks are those of the sensitivities).
    const double c = spearman(x, y);
    if (!std::isnan(c)) {
      corr_sum += c;
      ++corr_n;
      if (pair_corrs) pair_corrs->push_back(c);
    }
    if (with_target) layer_sum += static_cast<double>(proxy.layers_differing(proxy.pick(x).choice, proxy.pick(y).choice));
    ++pairs;
  }
  at.rank_corr = corr_n ? corr_sum / static_cast<double>(corr_n) : kNaN;
  at.layers_changed = pairs ? layer_sum / static_cast<double>(pairs) : 0;
  return at;
}

bool stable_at(const StabilityAt& a, bool with_target, size_t layers) {
  const bool rank_ok = std::isnan(a.rank_corr) || a.rank_corr >= kStableRankCorr;
  const bool pick_ok = !with_target || a.layers_changed <= kStableLayersChanged * static_cast<double>(layers);
  return rank_ok && pick_ok;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

double aggregate_nsr(const std::vector<SampleSums>& sums, const std::vector<uint32_t>& idx, Phase1Aggregate a) {
  std::vector<uint32_t> all;
  if (idx.empty()) {
    all.resize(sums.size());
    std::iota(all.begin(), all.end(), 0u);
  }
  const std::vector<uint32_t>& use = idx.empty() ? all : idx;
  if (a == Phase1Aggregate::Pooled) {
    std::vector<double> noise, signal;
    for (uint32_t s : use) {
      const SampleSums& ss = sums.at(s);
      if (noise.size() < ss.noise.size()) {
        noise.resize(ss.noise.size(), 0.0);
        signal.resize(ss.signal.size(), 0.0);
      }
      for (size_t o = 0; o < ss.noise.size(); ++o) {
        noise[o] += ss.noise[o];
        signal[o] += ss.signal[o];
      }
    }
    return nsr_of(noise, signal);
  }
  std::vector<double> v;
  for (uint32_t s : use) v.push_back(nsr_of(sums.at(s).noise, sums.at(s).signal));
  return robust_mean(std::move(v), a);
}

void compute_intervals(SearchResult& r, const StabilityOptions& o) {
  for (GroupReport& g : r.groups) std::fill(g.sensitivity_ci_db.begin(), g.sensitivity_ci_db.end(), std::nullopt);
  Table t;
  if (!make_table(r, t)) return;
  Rng rng{o.seed};
  std::vector<std::vector<double>> db(t.flips.size());
  const size_t k = drawn(t.samples, o.set_fraction);
  for (size_t b = 0; b < o.resamples; ++b) {
    const std::vector<double> nsr = t.nsr(draw(rng, t.samples, k));
    for (size_t k = 0; k < nsr.size(); ++k) db[k].push_back(to_db(nsr[k]));
  }
  const double tail = (1 - o.interval) / 2;
  for (size_t k = 0; k < t.flips.size(); ++k) {
    const Phase1Flip& f = *t.flips[k];
    auto& ci = r.groups[static_cast<size_t>(f.group)].sensitivity_ci_db;
    if (static_cast<size_t>(f.cand) >= ci.size()) continue;
    const double lo = percentile(db[k], tail), hi = percentile(db[k], 1 - tail);
    if (!std::isnan(lo) && !std::isnan(hi)) ci[static_cast<size_t>(f.cand)] = std::make_pair(lo, hi);
  }
}

void compute_stability(SearchResult& r, const StabilityOptions& o) {
  Stability st;
  st.aggregate = aggregate_name(r.phase1_aggregate);
  Table t;
  if (!make_table(r, t)) {
    st.verdict = "unknown";
    st.message = r.phase1.empty() ? "stability: nothing to rank (no phase-1 sensitivity)"
                                  : "stability: unknown (needs per-sample phase-1 sums and at least 2 samples)";
    r.stability = std::move(st);
    return;
  }
  st.available = true;
  st.samples = t.samples;
  st.resamples = o.resamples;
  st.resample_size = drawn(t.samples, o.set_fraction);
  st.seed = o.seed;
  st.flips = t.flips.size();
  st.has_target = r.target.kind != TargetKind::None;
  const Proxy proxy(r, t);
  st.layers = proxy.layers();

  std::vector<double> full(t.flips.size());
  {
    std::vector<uint32_t> all(t.samples);
    std::iota(all.begin(), all.end(), 0u);
    full = t.nsr(all);
  }
  const Proxy::Pick ref = proxy.pick(full);
  st.cost_full = ref.rel_cost;
  st.proxy_matches_selection = ref.choice == r.selected.choice;
  const double ref_nsr = proxy.predicted_nsr(ref.choice, full);

  // Resamples standing in for another set of n, against all samples: the pick's changes, cost
  // and predicted loss.
  Rng rng{o.seed};
  const size_t k = drawn(t.samples, o.set_fraction);
  std::vector<double> costs, full_corrs;
  size_t changed = 0;
  double layers_full = 0, loss = 0;
  for (size_t b = 0; b < o.resamples; ++b) {
    const std::vector<double> x = t.nsr(draw(rng, t.samples, k));
    const double c = spearman(x, full);
    if (!std::isnan(c)) full_corrs.push_back(c);
    if (!st.has_target) continue;
    const Proxy::Pick p = proxy.pick(x);
    costs.push_back(p.rel_cost);
    if (p.choice != ref.choice) ++changed;
    layers_full += static_cast<double>(proxy.layers_differing(p.choice, ref.choice));
    loss += to_db(ref_nsr) - to_db(proxy.predicted_nsr(p.choice, full));
  }
  if (!full_corrs.empty())
    st.rank_corr_full = std::accumulate(full_corrs.begin(), full_corrs.end(), 0.0) / static_cast<double>(full_corrs.size());
  if (st.has_target && o.resamples > 0) {
    const double B = static_cast<double>(o.resamples);
    st.selection_changed = static_cast<double>(changed) / B;
    st.layers_changed_full = layers_full / B;
    st.sqnr_loss_db = loss / B;
    st.cost_mean = std::accumulate(costs.begin(), costs.end(), 0.0) / B;
    st.cost_lo = percentile(costs, 0.05);
    st.cost_hi = percentile(costs, 0.95);
  } else {
    st.cost_mean = st.cost_lo = st.cost_hi = st.cost_full;
  }

  // Pairs of resamples: two calibration sets of this size.
  std::vector<double> pair_corrs;
  const StabilityAt now = measure_at(t, proxy, st.has_target, t.samples, o, o.resamples, &pair_corrs);
  st.rank_corr = now.rank_corr;
  st.rank_corr_p10 = percentile(pair_corrs, 0.10);
  st.layers_changed = now.layers_changed;
  // Resamples of a handful of samples look alike whatever the data (and the bootstrap is
  // optimistic below ~8: tools/eval/stability_results.md): too few to call the choice stable.
  const bool too_few = t.samples < kMinSamplesToJudge;
  st.stable = !too_few && stable_at(now, st.has_target, st.layers);
  st.verdict = st.stable ? "stable" : "add samples";
  if (!st.stable) {
    for (size_t mult : {2, 4, 8}) {
      const StabilityAt at = measure_at(t, proxy, st.has_target, t.samples * mult, o, std::max<size_t>(2, o.resamples / 2));
      st.projection.push_back(at);
      if (!st.suggested_samples && at.samples >= kMinSamplesToJudge && stable_at(at, st.has_target, st.layers))
        st.suggested_samples = at.samples;
    }
  }

  std::string what = "rank corr " + fmt("%.2f", st.rank_corr) + " expected between two sets of " + std::to_string(t.samples) +
                     " samples (" + std::to_string(o.resamples) + " resamples)";
  if (std::isnan(st.rank_corr)) what = "fewer than 3 sensitivities to rank";
  if (st.has_target)
    what += "; the pick differs in " + fmt("%.1f", st.layers_changed) + " of " + std::to_string(st.layers) + " layers";
  if (st.stable) {
    st.message = "stability: stable (" + what + ")";
  } else if (too_few) {
    st.message = "stability: add samples — " + std::to_string(t.samples) + " are too few to judge; use at least " +
                 std::to_string(st.suggested_samples ? std::max(st.suggested_samples, kMinSamplesToJudge) : kMinSamplesToJudge) +
                 " (" + what + ")";
    st.suggested_samples = std::max(st.suggested_samples, kMinSamplesToJudge);
  } else if (st.suggested_samples) {
    st.message = "stability: add samples — about " + std::to_string(st.suggested_samples) +
                 " should make it stable (" + what + ")";
  } else {
    st.message = "stability: add samples — more than " + std::to_string(8 * t.samples) +
                 " may be needed, or the layers are near ties (" + what + ")";
  }
  r.stability = std::move(st);
}

void write_stability_json(JsonWriter& w, const Stability& s) {
  w.key("stability").begin_object();
  w.key("available").value(s.available);
  w.key("verdict").value(s.verdict);
  w.key("message").value(s.message);
  if (s.available) {
    w.key("samples").value(s.samples);
    w.key("resamples").value(s.resamples);
    w.key("resample_size").value(s.resample_size);
    w.key("seed").value(s.seed);
    w.key("aggregate").value(s.aggregate);
    w.key("sensitivities").value(s.flips);
    w.key("rank_corr").value(s.rank_corr);
    w.key("rank_corr_p10").value(s.rank_corr_p10);
    w.key("rank_corr_full").value(s.rank_corr_full);
    w.key("suggested_samples").value(s.suggested_samples);
    if (s.has_target) {
      w.key("selection").begin_object(true);
      w.key("layers").value(s.layers);
      w.key("layers_changed").value(s.layers_changed);
      w.key("layers_changed_full").value(s.layers_changed_full);
      w.key("changed").value(s.selection_changed);
      w.key("rel_cost").value(s.cost_full);
      w.key("rel_cost_mean").value(s.cost_mean);
      w.key("rel_cost_range").begin_array(true).value(s.cost_lo).value(s.cost_hi).end_array();
      w.key("sqnr_loss_db").value(s.sqnr_loss_db);
      w.key("matches_search").value(s.proxy_matches_selection);
      w.end_object();
    } else {
      w.key("selection").null();
    }
    w.key("projection").begin_array(true);
    for (const StabilityAt& a : s.projection) {
      w.begin_object(true);
      w.key("samples").value(a.samples);
      w.key("rank_corr").value(a.rank_corr);
      if (s.has_target) w.key("layers_changed").value(a.layers_changed);
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
}

}  // namespace qm::mp
