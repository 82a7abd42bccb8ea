// Phases 0-3 of the search against an abstract Evaluator, targets, and the report.json pieces.
#include "mixed_precision/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <tuple>

#include "core/error.h"

namespace qm::mp {

// ---- targets and orders ----

std::string target_name(const Target& t) {
  switch (t.kind) {
    case TargetKind::None: return "none";
    case TargetKind::Bops: return "bops=" + json_number(t.value);
    case TargetKind::Size: return "size=" + json_number(t.value);
    case TargetKind::Sqnr: return "sqnr=" + json_number(t.value);
    case TargetKind::SqnrDrop: return "sqnr-drop=" + json_number(t.value);
  }
  return "none";
}

const char* order_name(FlipOrder o) {
  switch (o) {
    case FlipOrder::Paper: return "paper";
    case FlipOrder::Ratio: return "ratio";
    case FlipOrder::Both: return "both";
  }
  return "paper";
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The cost that phase 2 lowers and phase 3 budgets: weight size for a size target, else BOPs.
bool size_cost(const SearchOptions& o) { return o.target.kind == TargetKind::Size; }

// `a` ranks above `b`: the search's metric, then, when a labelled top-1 or a user score ties (on
// 64 calibration images every baseline of a good model often scores the same, e.g. 62/64; a
// character accuracy is often 1.0 for every baseline), the output SQNR, which is always
// computed. Without the SQNR tie-break the cheapest tied baseline became the start point and the
// front had a single point: every bops target returned W4A8.
bool more_accurate(const Eval& a, const Eval& b) {
  if (a.metric() != b.metric()) return a.metric() > b.metric();
  return (a.accuracy.has_value() || a.score.has_value()) && a.sqnr_db > b.sqnr_db;
}

double group_cost(const Group& g, int ci, bool size) {
  const Candidate& c = g.candidates[static_cast<size_t>(ci)];
  return size ? group_size_bytes(g, c) : group_bops(g, c);
}

double rel_cost(const Cost& c, bool size) { return size ? c.rel_size : c.rel_bops; }

struct Flip {
  int g = 0, ci = 0;
  double sqnr = 0, nsr = 0, saving = 0;
};

// Everything the phases share: progress in evaluator units and the evaluations done (cached by
// choice: baselines and front points often coincide).
class Runner {
 public:
  Runner(const std::vector<Group>& groups, size_t nq, Evaluator& ev, const ProgressFn& progress)
      : groups_(groups), nq_(nq), ev_(ev), progress_(progress) {}

  // Progress in evaluator units (samples): `done` of `total` evaluations, scaled.
  void progress(const std::string& phase, size_t done, size_t total) {
    const size_t u = std::max<size_t>(1, ev_.units);
    if (progress_ && !progress_(phase, done * u, total * u))
      throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during " + phase);
  }
  // Where the next evaluations stand, for progress within one evaluation (one tick per sample).
  void stage(const std::string& phase, size_t index, size_t total) {
    phase_ = phase;
    index_ = index;
    total_ = total;
  }

  double work() const { return ev_.work_fpe ? ev_.work_fpe() : static_cast<double>(full_evals_); }

  // Evaluates a choice once.
  const Eval& evaluate(const Choice& c) {
    auto it = cache_.find(c);
    if (it != cache_.end()) return it->second;
    ++full_evals_;
    const size_t u = std::max<size_t>(1, ev_.units);
    ev_.on_unit = [this, u](size_t d) {
      return !progress_ || progress_(phase_, index_ * u + d, std::max(total_, index_ + 1) * u);
    };
    Eval e = ev_.evaluate(choice_config(groups_, c, nq_));
    ev_.on_unit = nullptr;
    return cache_.emplace(c, e).first->second;
  }

  // Evaluates a path of choices (consecutive ones differ in few groups) in one walk when the
  // evaluator can, else one by one. The path is points [offset, offset + path.size()) of a
  // longer one of `all` points: progress counts in that one.
  std::vector<Eval> evaluate_path(const std::vector<Choice>& path, const std::string& phase, size_t offset = 0,
                                  size_t all = 0) {
    all = std::max(all, offset + path.size());
    std::vector<Eval> out;
    if (!ev_.evaluate_path) {
      for (size_t k = 0; k < path.size(); ++k) {
        progress(phase, offset + k, all);
        stage(phase, offset + k, all);
        out.push_back(evaluate(path[k]));
      }
      progress(phase, offset + path.size(), all);
      return out;
    }
    std::vector<quant::QuantConfig> cfgs;
    for (const Choice& c : path) cfgs.push_back(choice_config(groups_, c, nq_));
    // The evaluator counts (samples x points of this path); per point = total / path.size().
    out = ev_.evaluate_path(cfgs, [&](size_t done, size_t total) {
      const size_t per = path.empty() ? 1 : std::max<size_t>(1, total / path.size());
      return !progress_ || progress_(phase, offset * per + done, all * per);
    });
    if (out.size() != path.size()) throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during " + phase);
    for (size_t k = 0; k < path.size(); ++k) {
      if (cache_.count(path[k])) {
        out[k] = cache_.at(path[k]);  // the same numbers as before, whichever way they came
      } else {
        ++full_evals_;
        cache_.emplace(path[k], out[k]);
      }
    }
    return out;
  }

  Point point(const Choice& c, bool eval) {
    Point p;
    p.choice = c;
    p.cost = choice_cost(groups_, c);
    if (eval) {
      p.eval = evaluate(c);
      p.evaluated = true;
    }
    return p;
  }

  size_t full_evals() const { return full_evals_; }

 private:
  const std::vector<Group>& groups_;
  size_t nq_;
  Evaluator& ev_;
  ProgressFn progress_;
  std::map<Choice, Eval> cache_;
  size_t full_evals_ = 0;
  std::string phase_ = "phase0";
  size_t index_ = 0, total_ = 1;
};

// The flips of phase 2, in the requested order (deterministic: ties end on group, candidate).
std::vector<Flip> order_flips(std::vector<Flip> flips, FlipOrder order) {
  if (order == FlipOrder::Ratio) {
    std::stable_sort(flips.begin(), flips.end(), [](const Flip& a, const Flip& b) {
      // a.nsr / a.saving < b.nsr / b.saving without dividing (savings are > 0).
      const double l = a.nsr * b.saving, r = b.nsr * a.saving;
      if (l != r) return l < r;
      if (a.saving != b.saving) return a.saving > b.saving;
      return std::tie(a.g, a.ci) < std::tie(b.g, b.ci);
    });
  } else {
    std::stable_sort(flips.begin(), flips.end(), [](const Flip& a, const Flip& b) {
      if (a.sqnr != b.sqnr) return a.sqnr > b.sqnr;
      if (a.saving != b.saving) return a.saving > b.saving;
      return std::tie(a.g, a.ci) < std::tie(b.g, b.ci);
    });
  }
  return flips;
}

double nsr_to_db(double nsr) { return nsr > 0 ? -10.0 * std::log10(nsr) : std::numeric_limits<double>::infinity(); }

// The sequence of configurations: start, then each flip that lowers its group's cost. Each point
// carries the phase-1 prediction: the start's noise plus, per flipped group, its phase-1 noise
// at the current candidate (the start candidate counts as noiseless).
std::vector<Point> build_front(Runner& run, const std::vector<Group>& groups, const Choice& start, double start_nsr,
                               const std::vector<Flip>& flips, bool size) {
  std::map<std::pair<int, int>, double> flip_nsr;
  for (const Flip& f : flips) flip_nsr[{f.g, f.ci}] = f.nsr;
  std::vector<Point> pts;
  Choice cur = start;
  double predicted = start_nsr;
  pts.push_back(run.point(cur, false));
  pts.back().predicted_sqnr_db = nsr_to_db(predicted);
  for (const auto& f : flips) {
    const size_t gi = static_cast<size_t>(f.g);
    const Group& g = groups[gi];
    if (!(group_cost(g, f.ci, size) < group_cost(g, cur[gi], size))) continue;
    if (cur[gi] != start[gi]) predicted -= flip_nsr[{f.g, cur[gi]}];
    predicted += f.nsr;
    cur[gi] = f.ci;
    Point p = run.point(cur, false);
    p.flip_group = f.g;
    p.flip_to = g.candidates[static_cast<size_t>(f.ci)];
    p.predicted_sqnr_db = nsr_to_db(std::max(predicted, 0.0));
    pts.push_back(std::move(p));
  }
  return pts;
}

// Marks the measured points of `pts` that another measured point or a baseline dominates (at
// most as costly and at least as accurate, one of them strictly).
void mark_dominated(std::vector<Point>& pts, const std::vector<Baseline>& baselines, bool size) {
  std::vector<const Point*> all;
  for (const Point& p : pts) all.push_back(&p);
  for (const Baseline& b : baselines) all.push_back(&b.point);
  for (Point& p : pts) {
    p.dominated = false;
    if (!p.evaluated) continue;
    const double c = rel_cost(p.cost, size);
    for (const Point* q : all) {
      if (q == &p || !q->evaluated) continue;
      const double cq = rel_cost(q->cost, size);
      const bool no_worse = cq <= c && !more_accurate(p.eval, q->eval);
      const bool strictly = cq < c || more_accurate(q->eval, p.eval);
      if (no_worse && strictly) {
        p.dominated = true;
        break;
      }
    }
  }
}

// Best metric reachable at cost <= x, averaged over an even grid of x on [lo, hi]: larger is a
// better front (the area under its staircase, normalised by the range).
double front_score(const std::vector<Point>& pts, double lo, double hi, bool size) {
  constexpr int kGrid = 64;
  double sum = 0;
  int n = 0;
  for (int i = 0; i <= kGrid; ++i) {
    const double x = lo + (hi - lo) * i / kGrid;
    double best = -1e300;
    for (const auto& p : pts)
      if (p.evaluated && rel_cost(p.cost, size) <= x * (1 + 1e-12) && p.eval.metric() > best) best = p.eval.metric();
    if (best > -1e300) {
      sum += best;
      ++n;
    }
  }
  return n ? sum / n : 0;
}

// ---- the phases ----

// What the phases of one search share.
struct Search {
  const std::vector<Group>& groups;
  const std::vector<quant::Quantizer>& quantizers;
  const std::vector<quant::Layer>& layers;
  const SearchOptions& o;
  Runner& run;
  SearchResult& r;
  bool size;  // the cost phase 2 lowers: weight size for a size target, else BOPs
};

// Tells SearchOptions::on_front that the front `pts` of `order` was built (measured empty) or
// that the points `measured` were just measured.
void report_front(Search& s, const std::vector<Point>& pts, FlipOrder order, std::vector<size_t> measured, bool built) {
  if (!s.o.on_front) return;
  FrontUpdate u;
  u.built = built;
  u.order = order;
  u.result = &s.r;
  u.points = &pts;
  u.measured = std::move(measured);
  s.o.on_front(u);
}

// Evaluates every point, or `limit` evenly spaced ones (first and last included) when limit > 1
// and the front is longer, as one path; with on_front, in up to o.front_updates consecutive
// parts, each reported when measured (a part's first point then runs from the first step: the
// numbers are the same as in one walk).
void evaluate_front(Search& s, std::vector<Point>& pts, FlipOrder order, const std::string& phase, size_t limit) {
  std::vector<size_t> idx;
  if (limit < 2 || pts.size() <= limit) {
    for (size_t i = 0; i < pts.size(); ++i) idx.push_back(i);
  } else {
    for (size_t k = 0; k < limit; ++k) {
      const size_t i = static_cast<size_t>(std::llround(static_cast<double>(k) * (pts.size() - 1) / (limit - 1)));
      if (idx.empty() || idx.back() != i) idx.push_back(i);
    }
  }
  const size_t most = std::max<size_t>(1, s.o.front_updates);
  const size_t parts = s.o.on_front ? std::clamp<size_t>(idx.size() / kMinFrontPart, 1, most) : 1;
  for (size_t part = 0; part < parts; ++part) {
    const size_t begin = idx.size() * part / parts, end = idx.size() * (part + 1) / parts;
    std::vector<Choice> path;
    for (size_t k = begin; k < end; ++k) path.push_back(pts[idx[k]].choice);
    const std::vector<Eval> evals = s.run.evaluate_path(path, phase, begin, idx.size());
    for (size_t k = begin; k < end; ++k) {
      pts[idx[k]].eval = evals[k - begin];
      pts[idx[k]].evaluated = true;
    }
    if (s.o.on_front) {
      mark_dominated(pts, s.r.baselines, s.size);
      const auto first = idx.begin();
      report_front(s, pts, order, std::vector<size_t>(first + static_cast<std::ptrdiff_t>(begin), first + static_cast<std::ptrdiff_t>(end)),
                   false);
    }
  }
}

// Phase 0: the homogeneous baselines; the start point is the most accurate. Returns it.
Choice phase0_baselines(Search& s) {
  const auto t = Clock::now();
  std::vector<Candidate> cands = s.o.candidates.empty() ? s.o.profile.candidates : s.o.candidates;
  sort_widest_first(cands);
  // A requested candidate that no group can take would only be replaced, everywhere, by its
  // nearest supported pair: its "baseline" would be another candidate's under its name.
  for (const Candidate& c : s.o.candidates) {
    const bool used = std::any_of(s.groups.begin(), s.groups.end(), [&](const Group& g) {
      return std::find(g.candidates.begin(), g.candidates.end(), c) != g.candidates.end();
    });
    if (!used) {
      std::string supported;
      for (const Candidate& p : s.o.profile.candidates) supported += (supported.empty() ? "" : ",") + candidate_name(p);
      throw Error(ErrorKind::InvalidArgument,
                  "candidates: " + candidate_name(c) + " is not supported by profile '" + s.o.profile.name +
                      "' for any layer of this model (it supports " + supported +
                      "); drop it, or use a profile that allows it (a profile JSON file)");
    }
  }
  for (size_t i = 0; i < cands.size(); ++i) {
    s.run.progress("phase0", i, cands.size());
    s.run.stage("phase0", i, cands.size());
    Choice ch(s.groups.size());
    for (size_t gi = 0; gi < s.groups.size(); ++gi) ch[gi] = nearest_candidate(s.groups[gi], cands[i]);
    s.r.baselines.push_back(Baseline{cands[i], s.run.point(ch, true)});
  }
  s.run.progress("phase0", cands.size(), cands.size());
  s.r.start_baseline = 0;
  for (size_t i = 1; i < s.r.baselines.size(); ++i) {
    const Point& a = s.r.baselines[i].point;
    const Point& b = s.r.baselines[static_cast<size_t>(s.r.start_baseline)].point;
    if (more_accurate(a.eval, b.eval) ||
        (!more_accurate(b.eval, a.eval) && rel_cost(a.cost, s.size) < rel_cost(b.cost, s.size)))
      s.r.start_baseline = static_cast<int>(i);
  }
  const Choice start = s.r.baselines[static_cast<size_t>(s.r.start_baseline)].point.choice;
  for (size_t gi = 0; gi < s.groups.size(); ++gi) s.r.groups[gi].start = start[gi];
  s.r.timing.phase0 = seconds_since(t);
  return start;
}

// Phase 1: the sensitivity of each (group, candidate) that could lower that group's cost.
std::vector<Flip> phase1_sensitivity(Search& s, Evaluator& evaluator, const Choice& start) {
  const auto t = Clock::now();
  const double w0 = s.run.work();
  std::vector<Flip> flips;
  std::vector<quant::QuantConfig> configs;
  for (size_t gi = 0; gi < s.groups.size(); ++gi) {
    const Group& g = s.groups[gi];
    const double c0 = group_cost(g, start[gi], s.size);
    for (size_t ci = static_cast<size_t>(start[gi]) + 1; ci < g.candidates.size(); ++ci) {
      const double c1 = group_cost(g, static_cast<int>(ci), s.size);
      if (!(c1 < c0)) continue;  // never applied in phase 2 (e.g. activation-only groups)
      flips.push_back(Flip{static_cast<int>(gi), static_cast<int>(ci), 0, 0, c0 - c1});
      configs.push_back(single_group_config(s.groups, static_cast<int>(gi), static_cast<int>(ci), s.quantizers.size()));
    }
  }
  std::vector<Eval> sens;
  auto tick = [&](size_t done, size_t total) { return !s.o.progress || s.o.progress("phase1", done, total); };
  if (evaluator.evaluate_many) {
    sens = evaluator.evaluate_many(configs, tick);
    if (sens.size() != configs.size())  // the evaluator stopped early: cancelled
      throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during phase1");
  } else {
    for (size_t i = 0; i < configs.size(); ++i) {
      s.run.progress("phase1", i, configs.size());
      sens.push_back(evaluator.evaluate(configs[i]));
    }
    s.run.progress("phase1", configs.size(), configs.size());
  }
  s.r.phase1.clear();
  for (size_t i = 0; i < flips.size(); ++i) {
    flips[i].sqnr = sens[i].sqnr_db;
    flips[i].nsr = sens[i].nsr;
    // Another aggregation over the samples than the pooled sums (only with per-sample sums).
    if (s.o.phase1_aggregate != Phase1Aggregate::Pooled && !sens[i].per_sample.empty()) {
      flips[i].nsr = aggregate_nsr(sens[i].per_sample, {}, s.o.phase1_aggregate);
      flips[i].sqnr = nsr_to_db(flips[i].nsr);
    }
    s.r.groups[static_cast<size_t>(flips[i].g)].sensitivity_db[static_cast<size_t>(flips[i].ci)] = flips[i].sqnr;
    s.r.phase1.push_back(Phase1Flip{flips[i].g, flips[i].ci, std::move(sens[i].per_sample)});
  }
  compute_intervals(s.r);
  s.r.timing.phase1 = seconds_since(t);
  s.r.timing.phase1_fpe = evaluator.work_fpe ? s.run.work() - w0 : static_cast<double>(configs.size());
  s.r.timing.phase1_naive_fpe = static_cast<double>(configs.size());
  return flips;
}

// Phase 2: the flip path(s) from the start point, measured (all points, an even subset, or none
// when phase 3 bisects), and which measured points are dominated.
void phase2_fronts(Search& s, const Choice& start, const std::vector<Flip>& flips) {
  const auto t = Clock::now();
  const double w0 = s.run.work();
  SearchResult& r = s.r;
  const double start_nsr = r.baselines[static_cast<size_t>(r.start_baseline)].point.eval.nsr;
  const FlipOrder first = s.o.order == FlipOrder::Ratio ? FlipOrder::Ratio : FlipOrder::Paper;
  r.order_used = first;
  r.pareto = build_front(s.run, s.groups, start, start_nsr, order_flips(flips, first), s.size);
  report_front(s, r.pareto, first, {}, true);
  // Comparing two orders needs both fronts evaluated.
  if (s.o.full_front || s.o.order == FlipOrder::Both) evaluate_front(s, r.pareto, first, "phase2", s.o.front_points);
  if (s.o.order == FlipOrder::Both) {
    r.pareto_other = build_front(s.run, s.groups, start, start_nsr, order_flips(flips, FlipOrder::Ratio), s.size);
    report_front(s, r.pareto_other, FlipOrder::Ratio, {}, true);
    evaluate_front(s, r.pareto_other, FlipOrder::Ratio, "phase2", s.o.front_points);
    double lo = 0, hi = rel_cost(r.pareto.front().cost, s.size);
    for (const auto* f : {&r.pareto, &r.pareto_other}) lo = std::max(lo, rel_cost(f->back().cost, s.size));
    r.front_score = front_score(r.pareto, lo, hi, s.size);
    r.front_score_other = front_score(r.pareto_other, lo, hi, s.size);
    if (r.front_score_other > r.front_score) {
      std::swap(r.pareto, r.pareto_other);
      std::swap(r.front_score, r.front_score_other);
      r.order_used = FlipOrder::Ratio;
    }
  }
  r.timing.phase2 = seconds_since(t);
  r.timing.phase2_fpe = s.run.work() - w0;
}

// Phase 3: the point the target picks, from the front(s) or a baseline (see search.h).
void phase3_select(SearchResult& r, Runner& run, const std::vector<Group>& groups, size_t num_quantizers,
                   const std::vector<quant::Layer>& layers, const Target& tg) {
  const auto t = Clock::now();
  const double w0 = run.work();
  r.target = tg;
  const bool size = tg.kind == TargetKind::Size;
  const bool budget_target = tg.kind == TargetKind::Bops || size;
  double bar = 0;  // the SQNR bar of sqnr/sqnr-drop targets (point 0, the start, is on every front)
  struct Pick {
    int index = 0;
    bool met = true;
    std::string message;
  };
  // The point of one front the target picks, evaluating what the decision needs.
  auto select_on = [&](std::vector<Point>& pts) -> Pick {
    size_t probes = 0;
    const size_t max_probes = static_cast<size_t>(std::ceil(std::log2(static_cast<double>(pts.size()) + 1))) + 2;
    auto eval_at = [&](size_t i) -> const Eval& {
      if (!pts[i].evaluated) {
        run.stage("phase3", probes, max_probes);
        ++probes;
        pts[i].eval = run.evaluate(pts[i].choice);
        pts[i].evaluated = true;
      }
      return pts[i].eval;
    };
    auto feasible = [&](size_t i) { return rel_cost(pts[i].cost, size) <= tg.value * (1 + 1e-12); };
    Pick pk;
    // One rule for every mode: decide among the evaluated points, evaluating what the decision
    // needs. With the full front nothing more is evaluated; with a subset or none, the gaps next
    // to the decision are bisected (SQNR falls along the front as flips add noise).
    if (tg.kind == TargetKind::None) {
      pk.message = "no target: the start point (" + candidate_name(r.baselines[static_cast<size_t>(r.start_baseline)].config) + ")";
    } else if (budget_target) {
      // Along a front built for this cost, costs strictly decrease and the feasible points are a
      // suffix [first, n); a front built for the other cost (a re-selection) need not be
      // monotone in this one, so feasibility is checked per point.
      size_t first = pts.size();
      for (size_t i = 0; i < pts.size() && first == pts.size(); ++i)
        if (feasible(i)) first = i;
      if (first == pts.size()) {
        double cheapest = rel_cost(pts[0].cost, size);
        for (const Point& p : pts) cheapest = std::min(cheapest, rel_cost(p.cost, size));
        pk.met = false;
        pk.message = "no point meets " + target_name(tg) + " (cheapest point: " + json_number(cheapest) +
                     "): returning the start point";
      } else {
        eval_at(first);
        int best = -1;
        for (size_t i = first; i < pts.size(); ++i)
          if (pts[i].evaluated && feasible(i) && (best < 0 || more_accurate(pts[i].eval, pts[static_cast<size_t>(best)].eval)))
            best = static_cast<int>(i);
        pk.index = best;
        pk.message = target_name(tg) + ": point " + std::to_string(best) + " of " + std::to_string(pts.size());
      }
    } else {
      bar = tg.kind == TargetKind::Sqnr ? tg.value : eval_at(0).sqnr_db - tg.value;
      int best = -1;
      if (eval_at(0).sqnr_db >= bar) {
        // The cheapest (last) evaluated point meeting the bar, then bisection up to the next
        // evaluated point (or the end) for unevaluated ones in between.
        size_t lo = 0;
        for (size_t i = 0; i < pts.size(); ++i)
          if (pts[i].evaluated && pts[i].eval.sqnr_db >= bar) lo = i;
        size_t hi = lo + 1;
        while (hi < pts.size() && !pts[hi].evaluated) ++hi;
        while (hi - lo > 1) {
          const size_t mid = lo + (hi - lo) / 2;
          if (eval_at(mid).sqnr_db >= bar) lo = mid;
          else hi = mid;
        }
        best = static_cast<int>(lo);
      }
      if (best < 0) {
        pk.met = false;
        pk.message = "no point meets " + target_name(tg) + " (sqnr >= " + json_number(bar) + " dB; start point " +
                     json_number(eval_at(0).sqnr_db) + " dB): returning the start point";
      } else {
        pk.index = best;
        pk.message = target_name(tg) + ": point " + std::to_string(best) + " of " + std::to_string(pts.size());
      }
    }
    eval_at(static_cast<size_t>(pk.index));
    return pk;
  };
  // `p` meets the target better than `cur` (both meet it): a better metric within a cost
  // budget, or cheaper (then a better metric) at a quality bar.
  auto better = [&](const Point& p, const Point& cur) {
    if (budget_target) return more_accurate(p.eval, cur.eval);
    const double cp = rel_cost(p.cost, size), cc = rel_cost(cur.cost, size);
    return cp < cc || (cp == cc && p.eval.metric() > cur.eval.metric());
  };
  Pick pick = select_on(r.pareto);
  r.selected_front = 0;
  r.selected_order = r.order_used;
  r.selected_baseline = -1;
  // Both orders: the union of the two fronts. The front with the better mean can still miss the
  // best point at this particular target (the fronts cross), so the other front's pick competes;
  // ties keep the first front (deterministic).
  if (!r.pareto_other.empty()) {
    const FlipOrder other_order = r.order_used == FlipOrder::Paper ? FlipOrder::Ratio : FlipOrder::Paper;
    Pick other = select_on(r.pareto_other);
    const Point& a = r.pareto[static_cast<size_t>(pick.index)];
    const Point& b = r.pareto_other[static_cast<size_t>(other.index)];
    if (other.met && (!pick.met || better(b, a))) {
      other.message += " of the " + std::string(order_name(other_order)) + " front (better than point " +
                       std::to_string(pick.index) + " of the " + order_name(r.order_used) + " front)";
      pick = other;
      r.selected_front = 1;
      r.selected_order = other_order;
    } else if (tg.kind != TargetKind::None) {
      pick.message += " of the " + std::string(order_name(r.order_used)) + " front";
    }
  }
  const std::vector<Point>& chosen_front = r.selected_front == 1 ? r.pareto_other : r.pareto;
  r.target_met = pick.met;
  r.message = pick.message;
  r.selected_index = pick.index;
  r.selected = chosen_front[static_cast<size_t>(pick.index)];
  // Deviation from the paper: a homogeneous baseline that meets the target better than the
  // front's choice is selected instead (better metric within a cost budget, or cheaper while
  // meeting an SQNR bar). The flip order can jump past a baseline's cost, and the user should
  // never get less than the homogeneous configuration of the same cost.
  if (r.target_met && tg.kind != TargetKind::None) {
    for (size_t bi = 0; bi < r.baselines.size(); ++bi) {
      const Baseline& b = r.baselines[bi];
      const Point& p = b.point;
      if (!p.evaluated) continue;
      const bool beats =
          budget_target
              ? rel_cost(p.cost, size) <= tg.value * (1 + 1e-12) && more_accurate(p.eval, r.selected.eval)
              : p.eval.sqnr_db >= bar && rel_cost(p.cost, size) < rel_cost(r.selected.cost, size);
      if (!beats) continue;
      r.selected = p;
      r.selected_index = -1;
      r.selected_front = -1;
      r.selected_baseline = static_cast<int>(bi);
      r.message = target_name(tg) + ": homogeneous " + candidate_name(b.config) +
                  " (better than every front point within the target)";
    }
  }
  // Points phase 3 measured may dominate others (or be dominated).
  mark_dominated(r.pareto, r.baselines, r.size_front);
  mark_dominated(r.pareto_other, r.baselines, r.size_front);
  r.selected_config = choice_config(groups, r.selected.choice, num_quantizers);
  r.layers = layer_choices(r, layers, r.selected.choice);
  compute_stability(r);
  r.timing.phase3 = seconds_since(t);
  r.timing.phase3_fpe = run.work() - w0;
}

std::vector<Group> groups_of(const SearchResult& r) {
  std::vector<Group> groups;
  for (const GroupReport& g : r.groups) groups.push_back(g.group);
  return groups;
}

}  // namespace

SearchResult search_groups(const std::vector<Group>& groups, const std::vector<quant::Quantizer>& quantizers,
                           const std::vector<quant::Layer>& layers, Evaluator& evaluator,
                           const SearchOptions& o) {
  const auto t_all = Clock::now();
  if (groups.empty()) throw Error(ErrorKind::InvalidArgument, "Searching: the model has no quantizer to choose bits for");
  if (o.target.kind == TargetKind::None && !o.full_front)
    throw Error(ErrorKind::InvalidArgument, "Searching: without the full front a target is needed");
  SearchResult r;
  r.order_requested = o.order;
  r.labelled = !o.labels.empty();
  r.size_front = size_cost(o);
  r.phase1_aggregate = o.phase1_aggregate;
  r.front_points = o.full_front ? o.front_points : 0;
  r.groups.resize(groups.size());
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    auto& gr = r.groups[gi];
    gr.group = groups[gi];
    gr.sensitivity_db.assign(groups[gi].candidates.size(), std::nullopt);
    gr.sensitivity_ci_db.assign(groups[gi].candidates.size(), std::nullopt);
    for (int li : groups[gi].layers)
      if (static_cast<size_t>(li) < layers.size()) gr.layer_names.push_back(layers[static_cast<size_t>(li)].name);
    for (int q : groups[gi].activations) gr.activation_names.push_back(quantizers[static_cast<size_t>(q)].tensor);
  }
  Runner run(groups, quantizers.size(), evaluator, o.progress);
  Search s{groups, quantizers, layers, o, run, r, size_cost(o)};
  const Choice start = phase0_baselines(s);
  const std::vector<Flip> flips = phase1_sensitivity(s, evaluator, start);
  phase2_fronts(s, start, flips);
  phase3_select(r, run, groups, quantizers.size(), layers, o.target);
  r.timing.evaluations = run.full_evals();
  r.timing.total = seconds_since(t_all);
  return r;
}

void reselect(SearchResult& r, const std::vector<quant::Quantizer>& quantizers, const std::vector<quant::Layer>& layers,
              Evaluator& evaluator, const Target& target, const ProgressFn& progress) {
  if (r.groups.empty() || r.pareto.empty()) throw Error(ErrorKind::InvalidArgument, "selecting: no search to select from");
  if (target.kind == TargetKind::None && !std::all_of(r.pareto.begin(), r.pareto.end(), [](const Point& p) { return p.evaluated; }))
    throw Error(ErrorKind::InvalidArgument, "selecting: without the full front a target is needed");
  const std::vector<Group> groups = groups_of(r);
  Runner run(groups, quantizers.size(), evaluator, progress);
  phase3_select(r, run, groups, quantizers.size(), layers, target);
  r.timing.evaluations += run.full_evals();
}

std::vector<LayerChoice> layer_choices(const SearchResult& r, const std::vector<quant::Layer>& layers, const Choice& choice) {
  std::vector<LayerChoice> out;
  for (size_t li = 0; li < layers.size(); ++li) {
    LayerChoice lc;
    lc.name = layers[li].name;
    lc.op = layers[li].op;
    lc.macs = layers[li].macs;
    for (size_t gi = 0; gi < r.groups.size(); ++gi) {
      const Group& g = r.groups[gi].group;
      if (std::find(g.layers.begin(), g.layers.end(), static_cast<int>(li)) == g.layers.end()) continue;
      const int ci = choice[gi];
      lc.group = static_cast<int>(gi);
      lc.w_bits = layers[li].weight_quantizer >= 0 ? g.candidates[static_cast<size_t>(ci)].w_bits : 0;
      lc.a_bits = layers[li].input_quantizer >= 0 ? g.candidates[static_cast<size_t>(ci)].a_bits : 0;
      lc.sensitivity_db = r.groups[gi].sensitivity_db[static_cast<size_t>(ci)];
      if (static_cast<size_t>(ci) < r.groups[gi].sensitivity_ci_db.size())
        lc.sensitivity_ci_db = r.groups[gi].sensitivity_ci_db[static_cast<size_t>(ci)];
    }
    out.push_back(std::move(lc));
  }
  return out;
}

Choice choice_of(const SearchResult& r, const std::vector<Candidate>& config, const std::string& what) {
  if (config.size() != r.groups.size())
    throw Error(ErrorKind::InvalidArgument, what + ": " + std::to_string(config.size()) + " candidates given, the search has " +
                                                std::to_string(r.groups.size()) + " groups (expected one per group)");
  Choice c(config.size());
  for (size_t gi = 0; gi < config.size(); ++gi) {
    const Group& g = r.groups[gi].group;
    const Candidate& cand = config[gi];
    auto it = std::find(g.candidates.begin(), g.candidates.end(), cand);
    if (it == g.candidates.end()) {
      std::string list;
      for (const auto& x : g.candidates) list += (list.empty() ? "" : ", ") + candidate_name(x);
      throw Error(ErrorKind::InvalidArgument, what + ": group " + std::to_string(g.id) + " does not support " +
                                                  candidate_name(cand) + " (supported: " + list + ")");
    }
    c[gi] = static_cast<int>(it - g.candidates.begin());
  }
  return c;
}

Choice override_layers(const SearchResult& r, const std::vector<quant::Layer>& layers, Choice choice,
                       const std::vector<std::pair<std::string, Candidate>>& layer_bits) {
  for (const auto& [name, cand] : layer_bits) {
    int li = -1;
    for (size_t i = 0; i < layers.size(); ++i)
      if (layers[i].name == name) li = static_cast<int>(i);
    if (li < 0) throw Error(ErrorKind::InvalidArgument, "layer bits: no layer named '" + name + "'");
    for (size_t gi = 0; gi < r.groups.size(); ++gi) {
      const Group& g = r.groups[gi].group;
      if (std::find(g.layers.begin(), g.layers.end(), li) == g.layers.end()) continue;
      auto it = std::find(g.candidates.begin(), g.candidates.end(), cand);
      if (it == g.candidates.end()) {
        std::string list;
        for (const auto& c : g.candidates) list += (list.empty() ? "" : ", ") + candidate_name(c);
        throw Error(ErrorKind::InvalidArgument, "layer bits: layer '" + name + "' — its group " + std::to_string(g.id) +
                                                    " does not support " + candidate_name(cand) + " (supported: " + list + ")");
      }
      choice[gi] = static_cast<int>(it - g.candidates.begin());
    }
  }
  return choice;
}

}  // namespace qm::mp
