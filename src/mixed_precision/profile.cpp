// Candidates and the built-in hardware profiles.
#include "mixed_precision/profile.h"

#include <algorithm>

namespace qm::mp {

std::string candidate_name(const Candidate& c) {
  return "W" + std::to_string(c.w_bits) + (c.w_block ? "b" + std::to_string(c.w_block) : std::string()) + "A" +
         std::to_string(c.a_bits);
}

bool wider(const Candidate& a, const Candidate& b) {
  const int pa = a.w_bits * a.a_bits, pb = b.w_bits * b.a_bits;
  if (pa != pb) return pa > pb;
  if (a.a_bits != b.a_bits) return a.a_bits > b.a_bits;
  if (a.w_bits != b.w_bits) return a.w_bits > b.w_bits;
  if ((a.w_block == 0) != (b.w_block == 0)) return a.w_block != 0;  // blocked: finer scales
  return a.w_block < b.w_block;
}

void sort_widest_first(std::vector<Candidate>& cands) { std::stable_sort(cands.begin(), cands.end(), wider); }

namespace {

bool has_a_bits(const std::vector<Candidate>& cands, int a) {
  return std::any_of(cands.begin(), cands.end(), [&](const Candidate& c) { return c.a_bits == a; });
}

}  // namespace

bool Profile::supports_layer(const std::string& op, const Candidate& c) const {
  auto it = ops.find(op);
  const auto& list = (it != ops.end() && !it->second.candidates.empty()) ? it->second.candidates : candidates;
  if (std::find(list.begin(), list.end(), c) == list.end()) {
    // A blocked candidate: the per-channel pair is supported and so is the block size.
    if (c.w_block == 0 || std::find(list.begin(), list.end(), Candidate{c.w_bits, c.a_bits}) == list.end()) return false;
    const auto& blocks = (it != ops.end() && !it->second.weight_blocks.empty()) ? it->second.weight_blocks : weight_blocks;
    if (std::find(blocks.begin(), blocks.end(), c.w_block) == blocks.end()) return false;
  }
  // A layer also reads its input grid: input_bits of its own op type apply.
  if (it != ops.end() && !it->second.input_bits.empty())
    return std::count(it->second.input_bits.begin(), it->second.input_bits.end(), c.a_bits) > 0;
  return true;
}

bool Profile::supports_output(const std::string& op, int a_bits) const {
  auto it = ops.find(op);
  if (it != ops.end() && !it->second.output_bits.empty())
    return std::count(it->second.output_bits.begin(), it->second.output_bits.end(), a_bits) > 0;
  return has_a_bits(candidates, a_bits);
}

bool Profile::supports_input(const std::string& op, int a_bits) const {
  auto it = ops.find(op);
  if (it != ops.end() && !it->second.input_bits.empty())
    return std::count(it->second.input_bits.begin(), it->second.input_bits.end(), a_bits) > 0;
  return has_a_bits(candidates, a_bits);
}

namespace {

Profile make_builtin(const std::string& name) {
  const Candidate w4a8{4, 8}, w8a8{8, 8}, w8a16{8, 16}, w16a16{16, 16}, w4a16{4, 16};
  Profile p;
  p.name = name;
  if (name == "generic") {
    p.description = "W4A8, W8A8, W8A16, W16A16 for every op; blocked weight scales of 32, 64 or 128 (e.g. W4b64A8)";
    p.candidates = {w4a8, w8a8, w8a16, w16a16};
    p.weight_blocks = {32, 64, 128};
    return p;
  }
  // "npu": modelled on integer NPUs (e.g. Hexagon HTP-like): 4/8-bit weights, 8/16-bit
  // activations, no 16-bit weights; transcendental/normalisation outputs need 16-bit grids;
  // depthwise convolutions and activation-times-constant MatMuls have 8-bit weights only.
  p.description = "integer NPU: no W16; Softmax/LayerNorm/Sigmoid/Tanh outputs A16 only; depthwise Conv W8 only";
  p.candidates = {w4a8, w8a8, w4a16, w8a16};
  for (const char* op : {"Softmax", "LayerNormalization", "Sigmoid", "Tanh", "Gelu", "Erf"})
    p.ops[op].output_bits = {16};
  p.ops["Conv.depthwise"].candidates = {w8a8, w8a16};
  p.ops["MatMul"].candidates = {w8a8, w8a16, w4a16};
  return p;
}

}  // namespace

const std::vector<Profile>& builtin_profiles() {
  static const std::vector<Profile> profiles{make_builtin("generic"), make_builtin("npu")};
  return profiles;
}

const Profile& generic_profile() { return builtin_profiles().front(); }

}  // namespace qm::mp
