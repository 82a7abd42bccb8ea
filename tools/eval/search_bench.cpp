// Search benchmark/eval driver (not part of the build or tests; scripts/eval_search.sh compiles
// it against the core library):
//   search_bench MODEL.onnx [--samples N | --npy-dir DIR] [--hw H] [--candidates ...]
//                [--target T] [--order paper|ratio|both] [--threads T] [--json OUT]
// Random N(0,1) samples by default (deterministic seed), or every .npy in DIR (sorted).
// Prints per-phase timing, forward-pass equivalents, the baselines and the selection.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "api/image.h"
#include "api/npy.h"
#include "api/options.h"
#include "api/samples.h"
#include "api/session.h"
#include "core/error.h"
#include "core/json.h"
#include "mixed_precision/search.h"
#include "quant/calibration.h"
#include "quant/quant_model.h"
#include "quant/simulator.h"

using namespace qm;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: search_bench MODEL.onnx [options]\n");
    return 2;
  }
  std::string model = argv[1], npy_dir, json_out, labels_file, calib, preprocess, test_npz;
  size_t nsamples = 8, threads = 1;
  mp::SearchOptions so;
  so.candidates = api::parse_candidates("W4A8,W8A8,W8A16");
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--samples") nsamples = std::stoul(v);
    else if (k == "--npy-dir") npy_dir = v;
    else if (k == "--candidates") so.candidates = api::parse_candidates(v);
    else if (k == "--profile") so.profile = api::parse_profile(v);
    else if (k == "--target") so.target = api::parse_target(v);
    else if (k == "--order") so.order = api::parse_order(v);
    else if (k == "--threads") threads = std::stoul(v);
    else if (k == "--json") json_out = v;
    else if (k == "--labels") labels_file = v;
    else if (k == "--full-front") so.full_front = v == "1";
    else if (k == "--front-points") so.front_points = std::stoul(v);
    else if (k == "--calib") calib = v;
    else if (k == "--preprocess") preprocess = v;
    else if (k == "--test-npz") test_npz = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    api::SessionOptions sopt;
    sopt.threads = threads;
    auto session = api::Session::load(model, sopt);
    std::vector<std::vector<Tensor>> samples;
    if (!calib.empty()) {
      api::SampleOptions o;
      o.split_stacked = true;
      o.max_samples = nsamples;
      if (!preprocess.empty()) o.preprocess = api::Preprocess::parse(preprocess);
      samples = api::load_samples(*session, {calib}, o);
    } else if (!npy_dir.empty()) {
      std::vector<std::string> files;
      if (DIR* d = opendir(npy_dir.c_str())) {
        while (auto* e = readdir(d)) {
          std::string n = e->d_name;
          if (n.size() > 4 && n.substr(n.size() - 4) == ".npy") files.push_back(npy_dir + "/" + n);
        }
        closedir(d);
      }
      std::sort(files.begin(), files.end());
      if (files.size() > nsamples) files.resize(nsamples);
      for (const auto& f : files) samples.push_back({session->conform_input(0, api::read_npy(f), f)});
    } else {
      std::mt19937 rng(1234);
      std::normal_distribution<float> nd(0.f, 1.f);
      const auto& in = session->inputs()[0];
      Shape shape;
      for (const auto& d : *in.shape) shape.push_back(d.value ? *d.value : 1);
      for (size_t s = 0; s < nsamples; ++s) {
        Tensor t(DataType::Float, shape);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
        samples.push_back({t});
      }
    }
    if (!labels_file.empty()) {
      std::ifstream f(labels_file);
      int64_t l;
      while (f >> l) so.labels.push_back(l);
      if (so.labels.size() > samples.size()) so.labels.resize(samples.size());
    }
    auto t0 = std::chrono::steady_clock::now();
    quant::QuantModel qmodel(session->plan());
    quant::Encodings enc = quant::calibrate(qmodel, session->executor(), samples);
    const double calib = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    quant::Simulator sim(qmodel, enc, session->executor());
    std::string last_phase;
    so.progress = [&](const std::string& phase, size_t, size_t) {
      if (phase != last_phase) std::fprintf(stderr, "[%s]\n", phase.c_str());
      last_phase = phase;
      return true;
    };
    const mp::SearchResult r = mp::search(qmodel, sim, samples, so);
    std::printf("model=%s samples=%zu groups=%zu quantizers=%zu layers=%zu\n", model.c_str(), samples.size(),
                r.groups.size(), qmodel.quantizers().size(), qmodel.layers().size());
    std::printf("calibration_s=%.3f encodings_s=%.3f fp_pass_s=%.3f phase0_s=%.3f phase1_s=%.3f phase2_s=%.3f "
                "phase3_s=%.3f search_s=%.3f\n",
                calib, r.timing.encodings, r.timing.fp_pass, r.timing.phase0, r.timing.phase1, r.timing.phase2,
                r.timing.phase3, r.timing.total);
    std::printf("phase1_fpe=%.2f phase1_ops_fpe=%.2f phase1_time_fpe=%.2f phase1_naive_fpe=%.0f ratio=%.3f cached=%d evaluations=%zu\n",
                r.timing.phase1_fpe, r.timing.phase1_ops_fpe, r.timing.phase1_time_fpe, r.timing.phase1_naive_fpe,
                r.timing.phase1_fpe / std::max(1.0, r.timing.phase1_naive_fpe), int(r.timing.phase1_cached),
                r.timing.evaluations);
    for (const auto& b : r.baselines)
      std::printf("baseline %s rel_bops=%.3f sqnr_db=%.2f%s\n", mp::candidate_name(b.config).c_str(),
                  b.point.cost.rel_bops, b.point.eval.sqnr_db,
                  b.point.eval.accuracy ? (" acc=" + std::to_string(*b.point.eval.accuracy)).c_str() : "");
    std::printf("pareto_points=%zu order=%s\n", r.pareto.size(), mp::order_name(r.order_used));
    std::printf("selected index=%d rel_bops=%.3f sqnr_db=%.2f%s target_met=%d (%s)\n", r.selected_index,
                r.selected.cost.rel_bops, r.selected.eval.sqnr_db,
                r.selected.eval.accuracy ? (" acc=" + std::to_string(*r.selected.eval.accuracy)).c_str() : "",
                int(r.target_met), r.message.c_str());
    // Homogeneous baselines against the mixed front at the same or lower relative BOPs.
    for (const auto& b : r.baselines) {
      int best = -1;
      for (size_t i = 0; i < r.pareto.size(); ++i)
        if (r.pareto[i].evaluated && r.pareto[i].cost.rel_bops <= b.point.cost.rel_bops + 1e-9 &&
            (best < 0 || r.pareto[i].eval.metric() > r.pareto[static_cast<size_t>(best)].eval.metric()))
          best = static_cast<int>(i);
      if (best < 0) {
        std::printf("at_bops<=%.3f homogeneous %s sqnr_db=%.2f | mixed: no front point that cheap\n", b.point.cost.rel_bops,
                    mp::candidate_name(b.config).c_str(), b.point.eval.sqnr_db);
        continue;
      }
      const auto& p = r.pareto[static_cast<size_t>(best)];
      std::printf("at_bops<=%.3f homogeneous %s sqnr_db=%.2f | mixed point %d rel_bops=%.3f sqnr_db=%.2f (%+.2f dB)\n",
                  b.point.cost.rel_bops, mp::candidate_name(b.config).c_str(), b.point.eval.sqnr_db, best,
                  p.cost.rel_bops, p.eval.sqnr_db, p.eval.sqnr_db - b.point.eval.sqnr_db);
    }
    // Top-1 on a labelled test set (x uint8 [N,1,H,W] raw pixels /255, y labels), simulated.
    if (!test_npz.empty()) {
      Tensor x, y;
      for (auto& kv : api::read_npz(test_npz)) {
        if (kv.first == "x") x = kv.second;
        if (kv.first == "y") y = kv.second;
      }
      const int64_t n = x.shape()[0], per = x.numel() / n;
      Shape one = x.shape();
      one[0] = 1;
      std::vector<std::vector<Tensor>> test;
      std::vector<int64_t> labels;
      for (int64_t i = 0; i < n; ++i) {
        Tensor t(DataType::Float, one);
        for (int64_t j = 0; j < per; ++j) t.data<float>()[j] = x.data<uint8_t>()[i * per + j] / 255.0f;
        test.push_back({t});
        labels.push_back(y.dtype() == DataType::Uint8 ? y.data<uint8_t>()[i] : y.data<int64_t>()[i]);
      }
      std::vector<mp::Group> groups;
      for (const auto& g : r.groups) groups.push_back(g.group);
      auto top1 = [&](const quant::QuantConfig& cfg) {
        size_t ok = 0;
        for (size_t i = 0; i < test.size(); ++i) {
          const auto out = sim.run(cfg, test[i]);
          const float* p = out[0].data<float>();
          int64_t best = 0;
          for (int64_t k = 1; k < out[0].numel(); ++k)
            if (p[k] > p[best]) best = k;
          ok += best == labels[i];
        }
        return static_cast<double>(ok) / static_cast<double>(test.size());
      };
      std::printf("test_top1 fp=%.4f (n=%zu)\n", top1(qmodel.off()), test.size());
      for (const auto& b : r.baselines) {
        const double hb = top1(mp::choice_config(groups, b.point.choice, qmodel.quantizers().size()));
        int best = -1;
        for (size_t i = 0; i < r.pareto.size(); ++i)
          if (r.pareto[i].evaluated && r.pareto[i].cost.rel_bops <= b.point.cost.rel_bops + 1e-9 &&
              (best < 0 || r.pareto[i].eval.metric() > r.pareto[static_cast<size_t>(best)].eval.metric()))
            best = static_cast<int>(i);
        if (best < 0) {
          std::printf("test_top1 at_bops<=%.3f homogeneous %s=%.4f | mixed: none\n", b.point.cost.rel_bops,
                      mp::candidate_name(b.config).c_str(), hb);
          continue;
        }
        const auto& p = r.pareto[static_cast<size_t>(best)];
        const double hm = top1(mp::choice_config(groups, p.choice, qmodel.quantizers().size()));
        std::printf("test_top1 at_bops<=%.3f homogeneous %s=%.4f | mixed point %d (rel_bops=%.3f)=%.4f\n",
                    b.point.cost.rel_bops, mp::candidate_name(b.config).c_str(), hb, best, p.cost.rel_bops, hm);
      }
      std::printf("test_top1 selected (rel_bops=%.3f)=%.4f\n", r.selected.cost.rel_bops, top1(r.selected_config));
    }
    if (!json_out.empty()) {
      JsonWriter w(1);
      w.begin_object();
      mp::write_search_json(w, r);
      w.key("timing_s").begin_object();
      w.key("calibration").value(calib);
      mp::write_timing_fields(w, r.timing);
      w.end_object();
      w.end_object();
      std::ofstream(json_out) << w.str() << "\n";
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
