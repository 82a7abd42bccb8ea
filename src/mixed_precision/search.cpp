// Phases 0-3 of the search against an abstract Evaluator, targets, and the report.json pieces.
#include "mixed_precision/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>

#include "core/error.h"

namespace qm::mp {

// ---- targets and orders ----

Target parse_target(const std::string& text) {
  Target t;
  if (text.empty()) return t;
  const size_t eq = text.find('=');
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::InvalidArgument, "--target: bad target '" + text + "' — " + why +
                                                 " (expected bops=X, size=X, sqnr=DB or sqnr-drop=DB)");
  };
  if (eq == std::string::npos) throw bad("missing '='");
  const std::string kind = text.substr(0, eq), val = text.substr(eq + 1);
  char* end = nullptr;
  const double v = std::strtod(val.c_str(), &end);
  if (val.empty() || end != val.c_str() + val.size() || !std::isfinite(v)) throw bad("'" + val + "' is not a number");
  if (kind == "bops") t.kind = TargetKind::Bops;
  else if (kind == "size") t.kind = TargetKind::Size;
  else if (kind == "sqnr") t.kind = TargetKind::Sqnr;
  else if (kind == "sqnr-drop") t.kind = TargetKind::SqnrDrop;
  else throw bad("unknown kind '" + kind + "'");
  if ((t.kind == TargetKind::Bops || t.kind == TargetKind::Size) && v <= 0) throw bad("a budget must be > 0");
  if (t.kind == TargetKind::SqnrDrop && v < 0) throw bad("a drop must be >= 0");
  t.value = v;
  return t;
}

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

FlipOrder parse_order(const std::string& text) {
  if (text == "paper" || text.empty()) return FlipOrder::Paper;
  if (text == "ratio") return FlipOrder::Ratio;
  if (text == "both") return FlipOrder::Both;
  throw Error(ErrorKind::InvalidArgument, "--order: unknown order '" + text + "' (expected paper, ratio or both)");
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

// `a` ranks above `b`: the search's metric, then, when a labelled top-1 ties (on 64 calibration
// images every baseline of a good model often scores the same, e.g. 62/64), the output SQNR,
// which is always computed. Without the SQNR tie-break the cheapest tied baseline became the
// start point and the front had a single point: every bops target returned W4A8.
bool more_accurate(const Eval& a, const Eval& b) {
  if (a.metric() != b.metric()) return a.metric() > b.metric();
  return a.accuracy.has_value() && a.sqnr_db > b.sqnr_db;
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

// Everything the phases share.
class Runner {
 public:
  Runner(const std::vector<Group>& groups, size_t nq, Evaluator& ev, const SearchOptions& o)
      : groups_(groups), nq_(nq), ev_(ev), o_(o) {}

  // Progress in evaluator units (samples): `done` of `total` evaluations, scaled.
  void progress(const std::string& phase, size_t done, size_t total) {
    const size_t u = std::max<size_t>(1, ev_.units);
    if (o_.progress && !o_.progress(phase, done * u, total * u))
      throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during " + phase);
  }
  // Where the next evaluations stand, for progress within one evaluation (one tick per sample).
  void stage(const std::string& phase, size_t index, size_t total) {
    phase_ = phase;
    index_ = index;
    total_ = total;
  }

  double work() const { return ev_.work_fpe ? ev_.work_fpe() : static_cast<double>(full_evals_); }

  // Evaluates a choice once (cached: baselines and front points often coincide).
  const Eval& evaluate(const Choice& c) {
    auto it = cache_.find(c);
    if (it != cache_.end()) return it->second;
    ++full_evals_;
    const size_t u = std::max<size_t>(1, ev_.units);
    ev_.on_unit = [this, u](size_t d) {
      return !o_.progress || o_.progress(phase_, index_ * u + d, std::max(total_, index_ + 1) * u);
    };
    Eval e = ev_.evaluate(choice_config(groups_, c, nq_));
    ev_.on_unit = nullptr;
    return cache_.emplace(c, e).first->second;
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
  const SearchOptions& o_;
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

// The sequence of configurations: start, then each flip that lowers its group's cost.
std::vector<Point> build_front(Runner& run, const std::vector<Group>& groups, const Choice& start,
                               const std::vector<Flip>& flips, bool size) {
  std::vector<Point> pts;
  Choice cur = start;
  pts.push_back(run.point(cur, false));
  for (const auto& f : flips) {
    const Group& g = groups[static_cast<size_t>(f.g)];
    if (!(group_cost(g, f.ci, size) < group_cost(g, cur[static_cast<size_t>(f.g)], size))) continue;
    cur[static_cast<size_t>(f.g)] = f.ci;
    Point p = run.point(cur, false);
    p.flip_group = f.g;
    p.flip_to = g.candidates[static_cast<size_t>(f.ci)];
    pts.push_back(std::move(p));
  }
  return pts;
}

// Evaluates every point, or `limit` evenly spaced ones (first and last included) when limit > 1
// and the front is longer.
void evaluate_front(Runner& run, std::vector<Point>& pts, const std::string& phase, size_t limit) {
  std::vector<size_t> idx;
  if (limit < 2 || pts.size() <= limit) {
    for (size_t i = 0; i < pts.size(); ++i) idx.push_back(i);
  } else {
    for (size_t k = 0; k < limit; ++k) {
      const size_t i = static_cast<size_t>(std::llround(static_cast<double>(k) * (pts.size() - 1) / (limit - 1)));
      if (idx.empty() || idx.back() != i) idx.push_back(i);
    }
  }
  for (size_t k = 0; k < idx.size(); ++k) {
    run.progress(phase, k, idx.size());
    run.stage(phase, k, idx.size());
    pts[idx[k]].eval = run.evaluate(pts[idx[k]].choice);
    pts[idx[k]].evaluated = true;
  }
  run.progress(phase, idx.size(), idx.size());
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

}  // namespace

SearchResult search_groups(const std::vector<Group>& groups, const std::vector<quant::Quantizer>& quantizers,
                           const std::vector<quant::Layer>& layers, Evaluator& evaluator,
                           const SearchOptions& o) {
  const auto t_all = Clock::now();
  if (groups.empty()) throw Error(ErrorKind::InvalidArgument, "Searching: the model has no quantizer to choose bits for");
  if (o.target.kind == TargetKind::None && !o.full_front)
    throw Error(ErrorKind::InvalidArgument, "Searching: without the full front a --target is needed");
  SearchResult r;
  r.target = o.target;
  r.order_requested = o.order;
  r.labelled = !o.labels.empty();
  Runner run(groups, quantizers.size(), evaluator, o);
  const bool size = size_cost(o);

  r.groups.resize(groups.size());
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    auto& gr = r.groups[gi];
    gr.group = groups[gi];
    gr.sensitivity_db.assign(groups[gi].candidates.size(), std::nullopt);
    for (int li : groups[gi].layers)
      if (static_cast<size_t>(li) < layers.size()) gr.layer_names.push_back(layers[static_cast<size_t>(li)].name);
    for (int q : groups[gi].activations) gr.activation_names.push_back(quantizers[static_cast<size_t>(q)].tensor);
  }

  // ---- phase 0: baselines ----
  auto t = Clock::now();
  double w0 = run.work();
  std::vector<Candidate> cands = o.candidates.empty() ? o.profile.candidates : o.candidates;
  sort_widest_first(cands);
  // A requested candidate that no group can take would only be replaced, everywhere, by its
  // nearest supported pair: its "baseline" would be another candidate's under its name.
  for (const Candidate& c : o.candidates) {
    const bool used = std::any_of(groups.begin(), groups.end(), [&](const Group& g) {
      return std::find(g.candidates.begin(), g.candidates.end(), c) != g.candidates.end();
    });
    if (!used) {
      std::string supported;
      for (const Candidate& p : o.profile.candidates) supported += (supported.empty() ? "" : ",") + candidate_name(p);
      throw Error(ErrorKind::InvalidArgument,
                  "--candidates: " + candidate_name(c) + " is not supported by profile '" + o.profile.name +
                      "' for any layer of this model (it supports " + supported +
                      "); drop it, or use a profile that allows it (--profile FILE.json)");
    }
  }
  for (size_t i = 0; i < cands.size(); ++i) {
    run.progress("phase0", i, cands.size());
    run.stage("phase0", i, cands.size());
    Choice ch(groups.size());
    for (size_t gi = 0; gi < groups.size(); ++gi) ch[gi] = nearest_candidate(groups[gi], cands[i]);
    r.baselines.push_back(Baseline{cands[i], run.point(ch, true)});
  }
  run.progress("phase0", cands.size(), cands.size());
  r.start_baseline = 0;
  for (size_t i = 1; i < r.baselines.size(); ++i) {
    const Point& a = r.baselines[i].point;
    const Point& b = r.baselines[static_cast<size_t>(r.start_baseline)].point;
    if (more_accurate(a.eval, b.eval) ||
        (!more_accurate(b.eval, a.eval) && rel_cost(a.cost, size) < rel_cost(b.cost, size)))
      r.start_baseline = static_cast<int>(i);
  }
  const Choice start = r.baselines[static_cast<size_t>(r.start_baseline)].point.choice;
  for (size_t gi = 0; gi < groups.size(); ++gi) r.groups[gi].start = start[gi];
  r.timing.phase0 = seconds_since(t);
  const double phase0_work = run.work() - w0;

  // ---- phase 1: sensitivity of each (group, candidate) that could lower that group's cost ----
  t = Clock::now();
  w0 = run.work();
  std::vector<Flip> flips;
  std::vector<quant::QuantConfig> configs;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    const double c0 = group_cost(g, start[gi], size);
    for (size_t ci = static_cast<size_t>(start[gi]) + 1; ci < g.candidates.size(); ++ci) {
      const double c1 = group_cost(g, static_cast<int>(ci), size);
      if (!(c1 < c0)) continue;  // never applied in phase 2 (e.g. activation-only groups)
      flips.push_back(Flip{static_cast<int>(gi), static_cast<int>(ci), 0, 0, c0 - c1});
      configs.push_back(single_group_config(groups, static_cast<int>(gi), static_cast<int>(ci), quantizers.size()));
    }
  }
  std::vector<Eval> sens;
  auto tick = [&](size_t done, size_t total) {
    return !o.progress || o.progress("phase1", done, total);
  };
  if (evaluator.evaluate_many) {
    sens = evaluator.evaluate_many(configs, tick);
    if (sens.size() != configs.size())  // the evaluator stopped early: cancelled
      throw Error(ErrorKind::InvalidArgument, "cancelled: search stopped by the caller during phase1");
  } else {
    for (size_t i = 0; i < configs.size(); ++i) {
      run.progress("phase1", i, configs.size());
      sens.push_back(evaluator.evaluate(configs[i]));
    }
    run.progress("phase1", configs.size(), configs.size());
  }
  for (size_t i = 0; i < flips.size(); ++i) {
    flips[i].sqnr = sens[i].sqnr_db;
    flips[i].nsr = sens[i].nsr;
    r.groups[static_cast<size_t>(flips[i].g)].sensitivity_db[static_cast<size_t>(flips[i].ci)] = sens[i].sqnr_db;
  }
  r.timing.phase1 = seconds_since(t);
  r.timing.phase1_fpe = evaluator.work_fpe ? run.work() - w0 : static_cast<double>(configs.size());
  r.timing.phase1_naive_fpe = static_cast<double>(configs.size());

  // ---- phase 2: the front ----
  t = Clock::now();
  w0 = run.work();
  const FlipOrder first = o.order == FlipOrder::Ratio ? FlipOrder::Ratio : FlipOrder::Paper;
  r.order_used = first;
  r.pareto = build_front(run, groups, start, order_flips(flips, first), size);
  // Comparing two orders needs both fronts evaluated.
  if (o.full_front || o.order == FlipOrder::Both) evaluate_front(run, r.pareto, "phase2", o.front_points);
  if (o.order == FlipOrder::Both) {
    r.pareto_other = build_front(run, groups, start, order_flips(flips, FlipOrder::Ratio), size);
    evaluate_front(run, r.pareto_other, "phase2", o.front_points);
    double lo = 0, hi = rel_cost(r.pareto.front().cost, size);
    for (const auto* f : {&r.pareto, &r.pareto_other}) lo = std::max(lo, rel_cost(f->back().cost, size));
    r.front_score = front_score(r.pareto, lo, hi, size);
    r.front_score_other = front_score(r.pareto_other, lo, hi, size);
    if (r.front_score_other > r.front_score) {
      std::swap(r.pareto, r.pareto_other);
      std::swap(r.front_score, r.front_score_other);
      r.order_used = FlipOrder::Ratio;
    }
  }
  r.timing.phase2 = seconds_since(t);
  r.timing.phase2_fpe = run.work() - w0;

  // ---- phase 3: selection ----
  t = Clock::now();
  w0 = run.work();
  const Target& tg = o.target;
  const bool budget_target = tg.kind == TargetKind::Bops || tg.kind == TargetKind::Size;
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
    Pick pk;
    // One rule for every mode: decide among the evaluated points, evaluating what the decision
    // needs. With the full front nothing more is evaluated; with a subset or none, the gaps next
    // to the decision are bisected (SQNR falls along the front as flips add noise).
    if (tg.kind == TargetKind::None) {
      pk.message = "no target: the start point (" + candidate_name(r.baselines[static_cast<size_t>(r.start_baseline)].config) + ")";
    } else if (budget_target) {
      // Costs are known without evaluating; along the front they strictly decrease, so the
      // feasible points are a suffix [first, n).
      size_t first = pts.size();
      for (size_t i = 0; i < pts.size() && first == pts.size(); ++i)
        if (rel_cost(pts[i].cost, size) <= tg.value * (1 + 1e-12)) first = i;
      if (first == pts.size()) {
        pk.met = false;
        pk.message = "no point meets " + target_name(tg) + " (cheapest point: " +
                     json_number(rel_cost(pts.back().cost, size)) + "): returning the start point";
      } else {
        eval_at(first);
        int best = -1;
        for (size_t i = first; i < pts.size(); ++i)
          if (pts[i].evaluated && (best < 0 || more_accurate(pts[i].eval, pts[static_cast<size_t>(best)].eval)))
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
  // Both orders: the union of the two fronts. The front with the better mean can still miss the
  // best point at this particular target (the fronts cross), so the other front's pick competes;
  // ties keep the first front (deterministic).
  if (o.order == FlipOrder::Both && !r.pareto_other.empty()) {
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
  r.selected_config = choice_config(groups, r.selected.choice, quantizers.size());
  r.timing.phase3 = seconds_since(t);
  r.timing.phase3_fpe = run.work() - w0;
  (void)phase0_work;

  for (size_t li = 0; li < layers.size(); ++li) {
    LayerChoice lc;
    lc.name = layers[li].name;
    lc.op = layers[li].op;
    lc.macs = layers[li].macs;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      if (std::find(groups[gi].layers.begin(), groups[gi].layers.end(), static_cast<int>(li)) == groups[gi].layers.end())
        continue;
      const int ci = r.selected.choice[gi];
      lc.group = static_cast<int>(gi);
      lc.w_bits = layers[li].weight_quantizer >= 0 ? groups[gi].candidates[static_cast<size_t>(ci)].w_bits : 0;
      lc.a_bits = layers[li].input_quantizer >= 0 ? groups[gi].candidates[static_cast<size_t>(ci)].a_bits : 0;
      lc.sensitivity_db = r.groups[gi].sensitivity_db[static_cast<size_t>(ci)];
    }
    r.layers.push_back(std::move(lc));
  }
  r.timing.evaluations = run.full_evals();
  r.timing.total = seconds_since(t_all);
  return r;
}

Choice override_layers(const SearchResult& r, const std::vector<quant::Layer>& layers, Choice choice,
                       const std::vector<std::pair<std::string, Candidate>>& layer_bits) {
  for (const auto& [name, cand] : layer_bits) {
    int li = -1;
    for (size_t i = 0; i < layers.size(); ++i)
      if (layers[i].name == name) li = static_cast<int>(i);
    if (li < 0) throw Error(ErrorKind::InvalidArgument, "layer_bits: no layer named '" + name + "'");
    for (size_t gi = 0; gi < r.groups.size(); ++gi) {
      const Group& g = r.groups[gi].group;
      if (std::find(g.layers.begin(), g.layers.end(), li) == g.layers.end()) continue;
      auto it = std::find(g.candidates.begin(), g.candidates.end(), cand);
      if (it == g.candidates.end()) {
        std::string list;
        for (const auto& c : g.candidates) list += (list.empty() ? "" : ", ") + candidate_name(c);
        throw Error(ErrorKind::InvalidArgument, "layer_bits: layer '" + name + "' — its group " + std::to_string(g.id) +
                                                    " does not support " + candidate_name(cand) + " (supported: " + list + ")");
      }
      choice[gi] = static_cast<int>(it - g.candidates.begin());
    }
  }
  return choice;
}

// ---- report.json ----

namespace {

void write_eval(JsonWriter& w, const Point& p) {
  w.key("rel_bops").value(p.cost.rel_bops);
  w.key("size_bytes").value(p.cost.size_bytes);
  w.key("rel_size").value(p.cost.rel_size);
  if (p.evaluated) {
    w.key("sqnr_db").value(p.eval.sqnr_db);
    if (p.eval.accuracy) {
      w.key("top1").value(*p.eval.accuracy);
      w.key("accuracy").value(*p.eval.accuracy);  // the earlier name, kept for readers of it
    }
  } else {
    w.key("sqnr_db").null();
  }
}

void write_choice(JsonWriter& w, const SearchResult& r, const Choice& c) {
  w.key("config").begin_array(true);
  for (size_t gi = 0; gi < r.groups.size(); ++gi)
    w.value(candidate_name(r.groups[gi].group.candidates[static_cast<size_t>(c[gi])]));
  w.end_array();
}

void write_points(JsonWriter& w, const SearchResult& r, const std::vector<Point>& pts) {
  w.begin_array();
  for (size_t i = 0; i < pts.size(); ++i) {
    w.begin_object();
    w.key("index").value(i);
    write_eval(w, pts[i]);
    if (pts[i].flip_group >= 0) {
      w.key("flip").begin_object(true);
      w.key("group").value(pts[i].flip_group);
      w.key("to").value(candidate_name(pts[i].flip_to));
      w.end_object();
    }
    write_choice(w, r, pts[i].choice);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

void write_groups_json(JsonWriter& w, const SearchResult& r) {
  w.key("groups").begin_array();
  for (const auto& g : r.groups) {
    w.begin_object();
    w.key("id").value(g.group.id);
    w.key("layers").begin_array(true);
    for (const auto& n : g.layer_names) w.value(n);
    w.end_array();
    w.key("activations").begin_array(true);
    for (const auto& n : g.activation_names) w.value(n);
    w.end_array();
    w.key("macs").value(g.group.macs);
    w.key("candidates").begin_array(true);
    for (const auto& c : g.group.candidates) w.value(candidate_name(c));
    w.end_array();
    w.key("start").value(candidate_name(g.group.candidates[static_cast<size_t>(g.start)]));
    w.key("sensitivity_db").begin_object(true);
    for (size_t ci = 0; ci < g.group.candidates.size(); ++ci)
      if (g.sensitivity_db[ci]) w.key(candidate_name(g.group.candidates[ci])).value(*g.sensitivity_db[ci]);
    w.end_object();
    w.end_object();
  }
  w.end_array();
}

void write_baselines_json(JsonWriter& w, const SearchResult& r) {
  w.key("baselines").begin_array();
  for (size_t i = 0; i < r.baselines.size(); ++i) {
    w.begin_object(true);
    w.key("config").value(candidate_name(r.baselines[i].config));
    write_eval(w, r.baselines[i].point);
    w.key("start").value(static_cast<int>(i) == r.start_baseline);
    w.end_object();
  }
  w.end_array();
}

void write_pareto_json(JsonWriter& w, const SearchResult& r) {
  w.key("pareto");
  write_points(w, r, r.pareto);
  w.key("pareto_order").value(order_name(r.order_used));
  if (!r.pareto_other.empty()) {
    w.key("pareto_other_order").value(r.order_used == FlipOrder::Paper ? "ratio" : "paper");
    w.key("pareto_other");
    write_points(w, r, r.pareto_other);
    w.key("front_scores").begin_object(true);
    w.key(order_name(r.order_used)).value(r.front_score);
    w.key(r.order_used == FlipOrder::Paper ? "ratio" : "paper").value(r.front_score_other);
    w.end_object();
  }
}

std::string selected_config_name(const SearchResult& r) {
  if (r.selected_index < 0 && r.selected_baseline >= 0 && static_cast<size_t>(r.selected_baseline) < r.baselines.size())
    return candidate_name(r.baselines[static_cast<size_t>(r.selected_baseline)].config);
  for (const Baseline& b : r.baselines)
    if (b.point.choice == r.selected.choice) return candidate_name(b.config);
  return "mixed";
}

void write_selected_json(JsonWriter& w, const SearchResult& r) {
  w.key("selected").begin_object();
  w.key("index").value(r.selected_index);
  // Which front the index is into and the flip order that built it (null: a baseline).
  if (r.selected_index < 0) {
    w.key("front").value("baseline");
    w.key("order").null();
  } else {
    w.key("front").value(r.selected_front == 1 ? "pareto_other" : "pareto");
    w.key("order").value(order_name(r.selected_order));
  }
  w.key("config").value(selected_config_name(r));
  write_eval(w, r.selected);
  w.key("target_met").value(r.target_met);
  w.key("message").value(r.message);
  w.key("group_config").begin_array(true);
  for (size_t gi = 0; gi < r.groups.size(); ++gi)
    w.value(candidate_name(r.groups[gi].group.candidates[static_cast<size_t>(r.selected.choice[gi])]));
  w.end_array();
  w.key("layers").begin_array();
  for (const auto& l : r.layers) {
    w.begin_object(true);
    w.key("name").value(l.name);
    w.key("op").value(l.op);
    w.key("group").value(l.group);
    w.key("w_bits").value(l.w_bits);
    w.key("a_bits").value(l.a_bits);
    w.key("macs").value(l.macs);
    if (l.sensitivity_db) w.key("sensitivity_db").value(*l.sensitivity_db);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_timing_fields(JsonWriter& w, const Timing& t) {
  w.key("phase0").value(t.phase0);
  w.key("phase1").value(t.phase1);
  w.key("phase2").value(t.phase2);
  w.key("phase3").value(t.phase3);
  w.key("search").value(t.total);
  w.key("encodings").value(t.encodings);
  w.key("fp_pass").value(t.fp_pass);
  w.key("phase1_fpe").value(t.phase1_fpe);
  w.key("phase1_ops_fpe").value(t.phase1_ops_fpe);
  w.key("phase1_time_fpe").value(t.phase1_time_fpe);
  w.key("phase1_naive_fpe").value(t.phase1_naive_fpe);
  w.key("phase2_fpe").value(t.phase2_fpe);
  w.key("phase3_fpe").value(t.phase3_fpe);
  w.key("evaluations").value(t.evaluations);
  w.key("phase1_cached").value(t.phase1_cached);
}

void write_search_json(JsonWriter& w, const SearchResult& r) {
  w.key("search").begin_object(true);
  w.key("target").value(target_name(r.target));
  w.key("order").value(order_name(r.order_requested));
  w.key("metric").value(r.labelled ? "top1" : "sqnr");
  w.key("message").value(r.message);
  w.end_object();
  write_groups_json(w, r);
  write_baselines_json(w, r);
  write_pareto_json(w, r);
  write_selected_json(w, r);
}

}  // namespace qm::mp
