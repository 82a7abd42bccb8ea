// Quantizer groups (union-find), per-group candidates from the profile, and the cost model.
#include "mixed_precision/groups.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>

#include "core/error.h"

namespace qm::mp {

namespace {

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int x) {
    while (parent[static_cast<size_t>(x)] != x) {
      parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
      x = parent[static_cast<size_t>(x)];
    }
    return x;
  }
  // The smaller root wins, so the result does not depend on the order of unions.
  void unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
  }
};

bool is_layer_type(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

// Why group `g` (described by its parts) refuses candidate `c`, or "" if it supports it.
struct GroupParts {
  std::vector<const quant::Quantizer*> acts;
  std::vector<const quant::Layer*> layers;
  std::vector<bool> depthwise;  // per entry of `layers`
};

std::string layer_key(const Profile& p, const quant::Layer& l, bool depthwise) {
  if (depthwise && p.ops.count(l.op + ".depthwise")) return l.op + ".depthwise";
  return l.op;
}

std::string refusal(const Profile& p, const GroupParts& parts, const Candidate& c) {
  for (size_t i = 0; i < parts.layers.size(); ++i) {
    const auto& l = *parts.layers[i];
    const std::string key = layer_key(p, l, parts.depthwise[i]);
    if (c.w_block && !l.blocks.ok()) return "layer '" + l.name + "' (" + l.op + ") has no blocked weight scales";
    if (!p.supports_layer(key, c)) return "layer '" + l.name + "' (" + key + ") does not run " + candidate_name(c);
  }
  for (const auto* q : parts.acts) {
    if (!q->producer_op.empty() && !p.supports_output(q->producer_op, c.a_bits))
      return q->producer_op + " output '" + q->tensor + "' cannot be A" + std::to_string(c.a_bits);
    for (const auto& op : q->consumer_ops) {
      if (is_layer_type(op)) continue;  // weighted readers are checked as layers above
      if (!p.supports_input(op, c.a_bits))
        return op + " reading '" + q->tensor + "' cannot read A" + std::to_string(c.a_bits);
    }
  }
  return "";
}

}  // namespace

std::vector<Group> build_groups(const std::vector<quant::Quantizer>& quantizers,
                                const std::vector<quant::Layer>& layers, const Profile& profile,
                                const std::vector<Candidate>& candidates_in, const LayerTraits& traits) {
  const std::vector<Candidate> user = candidates_in.empty() ? profile.candidates : candidates_in;
  if (user.empty()) throw Error(ErrorKind::InvalidArgument, "candidates: none given (and the profile lists none)");
  for (size_t i = 0; i < quantizers.size(); ++i)
    if (quantizers[i].id != static_cast<int>(i))
      throw Error(ErrorKind::InvalidArgument, "Building quantizer groups: quantizer " + std::to_string(i) +
                                                  " has id " + std::to_string(quantizers[i].id) + " (expected its index)");
  UnionFind uf(quantizers.size());
  for (const auto& l : layers)
    if (l.weight_quantizer >= 0 && l.input_quantizer >= 0) uf.unite(l.weight_quantizer, l.input_quantizer);

  // Components in order of their smallest quantizer id (= root).
  std::map<int, int> group_of_root;
  std::vector<Group> groups;
  std::vector<GroupParts> parts;
  for (const auto& q : quantizers) {
    const int root = uf.find(q.id);
    auto it = group_of_root.find(root);
    if (it == group_of_root.end()) {
      it = group_of_root.emplace(root, static_cast<int>(groups.size())).first;
      groups.emplace_back();
      groups.back().id = it->second;
      parts.emplace_back();
    }
    Group& g = groups[static_cast<size_t>(it->second)];
    if (q.kind == quant::QuantizerKind::Activation) {
      g.activations.push_back(q.id);
      parts[static_cast<size_t>(it->second)].acts.push_back(&q);
      g.ops.push_back("'" + q.tensor + "' (" + (q.producer_op.empty() ? std::string("model input") : q.producer_op + " output") + ")");
    } else {
      g.weights.push_back(q.id);
    }
  }
  std::vector<bool> counted(quantizers.size(), false);
  for (size_t li = 0; li < layers.size(); ++li) {
    const auto& l = layers[li];
    const int q = l.weight_quantizer >= 0 ? l.weight_quantizer : l.input_quantizer;
    if (q < 0) continue;  // a layer with no quantizer at all takes no decision
    const int gi = group_of_root.at(uf.find(q));
    Group& g = groups[static_cast<size_t>(gi)];
    g.layers.push_back(static_cast<int>(li));
    g.macs += l.macs;
    // A weight shared by several layers is stored once.
    if (l.weight_quantizer >= 0 && !counted[static_cast<size_t>(l.weight_quantizer)]) {
      counted[static_cast<size_t>(l.weight_quantizer)] = true;
      g.weight_elements += l.weight_elements;
      g.weight_layouts.push_back(l.blocks);
    }
    const bool dw = li < traits.depthwise.size() && traits.depthwise[li];
    parts[static_cast<size_t>(gi)].layers.push_back(&l);
    parts[static_cast<size_t>(gi)].depthwise.push_back(dw);
    g.ops.push_back("'" + l.name + "' (" + l.op + (dw ? ", depthwise" : "") + ")");
  }

  for (size_t gi = 0; gi < groups.size(); ++gi) {
    Group& g = groups[gi];
    std::vector<Candidate> sorted = user;
    sort_widest_first(sorted);
    std::vector<std::string> reasons;
    for (const auto& c : sorted) {
      const std::string why = refusal(profile, parts[gi], c);
      if (!why.empty()) {
        reasons.push_back(candidate_name(c) + ": " + why);
        continue;
      }
      // Without weights only the activation width matters: one candidate per width.
      if (g.weights.empty() && std::any_of(g.candidates.begin(), g.candidates.end(),
                                           [&](const Candidate& k) { return k.a_bits == c.a_bits; }))
        continue;
      g.candidates.push_back(c);
    }
    if (g.candidates.empty()) {
      std::string ops, tried, why;
      for (const auto& o : g.ops) ops += (ops.empty() ? "" : ", ") + o;
      for (const auto& c : sorted) tried += (tried.empty() ? "" : ", ") + candidate_name(c);
      for (const auto& r : reasons) why += (why.empty() ? "" : "; ") + r;
      throw Error(ErrorKind::InvalidArgument,
                  "Choosing candidates: quantizer group " + std::to_string(g.id) + " [" + ops +
                      "] — no candidate is supported by every op in it under profile '" + profile.name +
                      "' (tried " + tried + ": " + why + ")");
    }
  }
  return groups;
}

double bops(int64_t macs, int w_bits, int a_bits) { return static_cast<double>(macs) * w_bits * a_bits; }

double weight_bytes(int64_t elements, int w_bits, int w_block, const std::vector<quant::BlockLayout>& layouts) {
  double bytes = static_cast<double>(elements) * w_bits / 8.0;
  if (w_block > 0)
    for (const quant::BlockLayout& b : layouts)
      if (b.ok()) bytes += 4.0 * static_cast<double>(b.scales(w_block));  // float32 scales, no zero points
  return bytes;
}

double group_bops(const Group& g, const Candidate& c) { return bops(g.macs, c.w_bits, c.a_bits); }

double group_size_bytes(const Group& g, const Candidate& c) {
  return weight_bytes(g.weight_elements, c.w_bits, c.w_block, g.weight_layouts);
}

Cost choice_cost(const std::vector<Group>& groups, const Choice& choice) {
  Cost cost;
  double ref_bops = 0, ref_size = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    const Candidate& c = groups[i].candidates[static_cast<size_t>(choice[i])];
    cost.bops += group_bops(groups[i], c);
    cost.size_bytes += group_size_bytes(groups[i], c);
    ref_bops += group_bops(groups[i], Candidate{8, 8});
    ref_size += group_size_bytes(groups[i], Candidate{8, 8});
  }
  cost.rel_bops = ref_bops > 0 ? cost.bops / ref_bops : 0;
  cost.rel_size = ref_size > 0 ? cost.size_bytes / ref_size : 0;
  return cost;
}

Cost config_cost(const std::vector<quant::Layer>& layers, const quant::QuantConfig& config) {
  auto bits_of = [&](int q) { return q >= 0 ? config.bits[static_cast<size_t>(q)] : 0; };
  Cost cost;
  double ref_bops = 0, ref_size = 0;
  for (const quant::Layer& l : layers) {
    const int w = bits_of(l.weight_quantizer) > 0 ? bits_of(l.weight_quantizer) : 32;
    const int a = l.input_quantizer < 0 ? 8 : bits_of(l.input_quantizer) > 0 ? bits_of(l.input_quantizer) : 32;
    const int block = l.weight_quantizer >= 0 ? config.block_of(static_cast<size_t>(l.weight_quantizer)) : 0;
    cost.bops += bops(l.macs, w, a);
    cost.size_bytes += weight_bytes(l.weight_elements, w, block, {l.blocks});
    ref_bops += bops(l.macs, 8, 8);
    ref_size += weight_bytes(l.weight_elements, 8, 0, {});
  }
  cost.rel_bops = ref_bops > 0 ? cost.bops / ref_bops : 0;
  cost.rel_size = ref_size > 0 ? cost.size_bytes / ref_size : 0;
  return cost;
}

quant::QuantConfig choice_config(const std::vector<Group>& groups, const Choice& choice, size_t num_quantizers) {
  quant::QuantConfig cfg;
  cfg.bits.assign(num_quantizers, 0);
  for (size_t i = 0; i < groups.size(); ++i) {
    const Candidate& c = groups[i].candidates[static_cast<size_t>(choice[i])];
    for (int q : groups[i].activations) cfg.bits[static_cast<size_t>(q)] = c.a_bits;
    for (int q : groups[i].weights) {
      cfg.bits[static_cast<size_t>(q)] = c.w_bits;
      cfg.set_block(static_cast<size_t>(q), c.w_block);
    }
  }
  return cfg;
}

quant::QuantConfig single_group_config(const std::vector<Group>& groups, int g, int ci, size_t num_quantizers) {
  quant::QuantConfig cfg;
  cfg.bits.assign(num_quantizers, 0);
  const Group& gr = groups[static_cast<size_t>(g)];
  const Candidate& c = gr.candidates[static_cast<size_t>(ci)];
  for (int q : gr.activations) cfg.bits[static_cast<size_t>(q)] = c.a_bits;
  for (int q : gr.weights) {
    cfg.bits[static_cast<size_t>(q)] = c.w_bits;
    cfg.set_block(static_cast<size_t>(q), c.w_block);
  }
  return cfg;
}

int nearest_candidate(const Group& g, const Candidate& c) {
  auto dist = [&](const Candidate& k) {
    const double da = std::abs(std::log2(static_cast<double>(k.a_bits)) - std::log2(static_cast<double>(c.a_bits)));
    if (g.weights.empty()) return da;  // activation-only: the weight width does not matter
    // Weight scales (blocked or not) count less than any difference of widths.
    return da + std::abs(std::log2(static_cast<double>(k.w_bits)) - std::log2(static_cast<double>(c.w_bits))) +
           (k.w_block != c.w_block ? 1e-3 : 0.0);
  };
  int best = 0;
  for (size_t i = 1; i < g.candidates.size(); ++i)  // widest first, so ties keep the wider one
    if (dist(g.candidates[i]) < dist(g.candidates[static_cast<size_t>(best)]) - 1e-12) best = static_cast<int>(i);
  return best;
}

}  // namespace qm::mp
