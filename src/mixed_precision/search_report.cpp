// report.json pieces of a search (cli.md): groups, baselines, fronts, selection, timings.
#include <string>

#include "mixed_precision/search.h"

namespace qm::mp {

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
    if (p.eval.score) w.key("score").value(*p.eval.score);
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

// One front point as report.json's pareto[i] (also front_update_json's points).
void write_point(JsonWriter& w, const SearchResult& r, const Point& p, size_t index) {
  w.begin_object();
  w.key("index").value(index);
  write_eval(w, p);
  w.key("measured").value(p.evaluated);
  w.key("predicted_sqnr_db").value(p.predicted_sqnr_db);
  w.key("dominated").value(p.dominated);
  if (p.flip_group >= 0) {
    w.key("flip").begin_object(true);
    w.key("group").value(p.flip_group);
    w.key("to").value(candidate_name(p.flip_to));
    w.end_object();
  }
  write_choice(w, r, p.choice);
  w.end_object();
}

void write_points(JsonWriter& w, const SearchResult& r, const std::vector<Point>& pts) {
  w.begin_array();
  for (size_t i = 0; i < pts.size(); ++i) write_point(w, r, pts[i], i);
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
    // Bootstrap interval over the samples (stability.h), per candidate with a sensitivity.
    w.key("sensitivity_ci_db").begin_object(true);
    for (size_t ci = 0; ci < g.group.candidates.size() && ci < g.sensitivity_ci_db.size(); ++ci)
      if (g.sensitivity_ci_db[ci])
        w.key(candidate_name(g.group.candidates[ci])).begin_array(true).value(g.sensitivity_ci_db[ci]->first)
            .value(g.sensitivity_ci_db[ci]->second).end_array();
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

std::string front_update_json(const FrontUpdate& u) {
  JsonWriter w;
  w.begin_object();
  if (!u.result || !u.points) {
    w.end_object();
    return w.str();
  }
  const SearchResult& r = *u.result;
  const std::vector<Point>& pts = *u.points;
  w.key("event").value(u.built ? "front" : "points");
  w.key("order").value(order_name(u.order));
  if (u.built) {
    write_baselines_json(w, r);
    w.key("pareto");
    write_points(w, r, pts);
  } else {
    w.key("points").begin_array();
    for (size_t i : u.measured)
      if (i < pts.size()) write_point(w, r, pts[i], i);
    w.end_array();
    w.key("dominated").begin_array(true);
    for (size_t i = 0; i < pts.size(); ++i)
      if (pts[i].dominated) w.value(i);
    w.end_array();
  }
  w.end_object();
  return w.str();
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
    if (l.sensitivity_ci_db)
      w.key("sensitivity_ci_db").begin_array(true).value(l.sensitivity_ci_db->first).value(l.sensitivity_ci_db->second).end_array();
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
  w.key("metric").value(r.float_score ? "score" : r.labelled ? "top1" : "sqnr");
  if (r.float_score) w.key("float_score").value(*r.float_score);
  w.key("message").value(r.message);
  w.key("phase1_aggregate").value(aggregate_name(r.phase1_aggregate));
  w.key("front_points").value(r.front_points);  // phase 2's evenly spaced measured points; 0 = every point
  w.end_object();
  write_groups_json(w, r);
  write_baselines_json(w, r);
  write_pareto_json(w, r);
  write_selected_json(w, r);
  write_stability_json(w, r.stability);
}

}  // namespace qm::mp
