// Candidates (weight bits, activation bits) and hardware profiles (spec amp.md section 4). Their
// text forms ("W4A8", a profile name or JSON file) are parsed at the api boundary (api/options.h).
//
// A profile says which candidates the hardware runs, by default and per op type:
//
//   {"name": "npu",
//    "candidates": ["W4A8", "W8A8", "W4A16", "W8A16"],         // weighted layers, by default
//    "ops": {
//      "Softmax":            {"output_bits": [16]},            // its output quantizer: A16 only
//      "Conv.depthwise":     {"candidates": ["W8A8", "W8A16"]},// depthwise Conv (group = C_in > 1)
//      "Add":                {"input_bits": [8, 16]}           // the grids it reads
//    },
//    "weight_blocks": [32, 64, 128]}                           // blocked scales: W4b32A8, ...
//
// Roles: a weighted layer (Conv, ConvTranspose, Gemm, MatMul) supports candidate (w, a) when the
// pair is in its op's "candidates" (else the profile's); the op that produces an activation
// supports bits a when a is in its "output_bits" (else any activation width of the profile's
// candidates); an op without weights that reads an activation supports a when a is in its
// "input_bits" (same default). Unknown op types take the defaults.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace qm::mp {

/// A (weight bits, activation bits) pair, written "W8A16"; with blocked weight scales (one scale
/// per w_block consecutive elements of each output channel's reduction, quant::BlockLayout),
/// written "W4b64A8". BOPs count w_bits; the weight size also counts the block scales.
struct Candidate {
  int w_bits = 8;
  int a_bits = 8;
  int w_block = 0;  ///< 0: one scale per output channel
  bool operator==(const Candidate& o) const { return w_bits == o.w_bits && a_bits == o.a_bits && w_block == o.w_block; }
  bool operator!=(const Candidate& o) const { return !(*this == o); }
  bool operator<(const Candidate& o) const {
    if (w_bits != o.w_bits) return w_bits < o.w_bits;
    if (a_bits != o.a_bits) return a_bits < o.a_bits;
    return w_block < o.w_block;
  }
};

/// "W8A16", "W4b64A8" (api/options.h parses this text).
std::string candidate_name(const Candidate& c);
/// Widest first: larger w_bits*a_bits first, then larger a_bits (activations are usually the
/// more sensitive side), then larger w_bits, then finer weight scales (blocked before per
/// channel, smaller blocks first). Stable and total.
bool wider(const Candidate& a, const Candidate& b);
void sort_widest_first(std::vector<Candidate>& cands);

/// Per-op-type limits of a profile (empty list = no limit in that role).
struct OpRule {
  std::vector<Candidate> candidates;  ///< weighted layers of this op type
  std::vector<int> weight_blocks;     ///< block sizes its weights may use (empty: the profile's)
  std::vector<int> input_bits;        ///< activation widths it can read (ops without weights)
  std::vector<int> output_bits;       ///< activation widths its output can be quantized to
};

struct Profile {
  std::string name;
  std::string description;
  std::vector<Candidate> candidates;    ///< supported by default (weighted layers)
  /// Blocked weight scales: a layer that runs WxAy also runs WxbBAy for B in this list (a
  /// blocked candidate listed in `candidates` is supported as such).
  std::vector<int> weight_blocks;
  std::map<std::string, OpRule> ops;    ///< keyed by op type, or "Conv.depthwise"

  /// Whether a weighted layer of type `op` runs (w, a) (with c.w_block: blocked scales).
  bool supports_layer(const std::string& op, const Candidate& c) const;
  /// Whether op type `op` can produce an activation quantized to `a_bits`.
  bool supports_output(const std::string& op, int a_bits) const;
  /// Whether op type `op` (no weights) can read an activation quantized to `a_bits`.
  bool supports_input(const std::string& op, int a_bits) const;
};

/// The built-in profiles, "generic" first (then "npu"). A profile by name or from JSON text is
/// read at the api boundary (api/options.h: parse_profile).
const std::vector<Profile>& builtin_profiles();
/// builtin_profiles().front(): every op runs W4A8, W8A8, W8A16, W16A16 (the search's default).
const Profile& generic_profile();

}  // namespace qm::mp
