// Quantizer groups and the cost model (spec amp.md sections 4-5).
//
// A group is the set of quantizers that switch together: one activation quantizer plus the weight
// quantizers of every layer reading that tensor (through data movement). Built with a union-find
// over (layer weight, layer input activation) pairs, so a weight shared by two layers reading
// different tensors also joins their groups. Activation quantizers no layer reads (model
// inputs/outputs, tensors feeding only Add/Softmax/...) are activation-only groups: they cost no
// BOPs, so the search never lowers them below the start point (spec section 6, skipped flips).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mixed_precision/profile.h"
#include "quant/quant_model.h"

namespace qm::mp {

struct Group {
  int id = -1;
  std::vector<int> activations;     ///< activation quantizer ids (usually one)
  std::vector<int> weights;         ///< weight quantizer ids
  std::vector<int> layers;          ///< indices into QuantModel::layers()
  std::vector<std::string> ops;     ///< "conv1 (Conv)", "x (model input)", ... for messages/UI
  std::vector<Candidate> candidates;  ///< supported, widest first (never empty)
  int64_t macs = 0;                 ///< sum of its layers' MACs per sample
  int64_t weight_elements = 0;
  std::vector<quant::BlockLayout> weight_layouts;  ///< per weight (counted once): blocked scale counts
  bool activation_only() const { return weights.empty(); }
};

/// Extra facts about layers the profile needs and the QuantModel does not carry.
struct LayerTraits {
  std::vector<bool> depthwise;  ///< per layer (may be empty = none depthwise)
};

/// Builds the groups and their candidate lists = user candidates ∩ profile support of every op
/// in the group, widest first. Activation-only groups keep one candidate per activation width.
/// Throws Error(InvalidArgument) naming the group, its ops and the candidates tried when the
/// intersection is empty.
std::vector<Group> build_groups(const std::vector<quant::Quantizer>& quantizers,
                                const std::vector<quant::Layer>& layers, const Profile& profile,
                                const std::vector<Candidate>& candidates,
                                const LayerTraits& traits = {});

/// Depthwise flags from the plan (Conv with group == C_in > 1).
LayerTraits layer_traits(const quant::QuantModel& model);

/// Per-group choice: an index into Group::candidates for every group.
using Choice = std::vector<int>;

// The cost model (spec amp.md section 5), in one place: BOPs = MACs x w_bits x a_bits; weight
// bytes = elements x w_bits / 8, plus 4 bytes per float32 block scale for blocked weights (no zero
// points). Relative costs divide by W8A8 everywhere (8-bit weights for size).
double bops(int64_t macs, int w_bits, int a_bits);
double weight_bytes(int64_t elements, int w_bits, int w_block, const std::vector<quant::BlockLayout>& layouts);

/// BOPs of one group at candidate c (summed over its layers).
double group_bops(const Group& g, const Candidate& c);
/// Weight bytes of one group at c.
double group_size_bytes(const Group& g, const Candidate& c);

struct Cost {
  double bops = 0, rel_bops = 0;      ///< rel: / BOPs of W8A8 everywhere
  double size_bytes = 0, rel_size = 0;  ///< rel: / bytes of 8-bit weights everywhere
};
Cost choice_cost(const std::vector<Group>& groups, const Choice& choice);
/// The cost of a configuration outside the search's groups (homogeneous mode), layer by layer:
/// an unquantized (off) tensor counts as 32 bits; a layer without an input activation quantizer
/// counts its input as 8 bits, like W8A8.
Cost config_cost(const std::vector<quant::Layer>& layers, const quant::QuantConfig& config);

/// The quantizer configuration of a choice (every quantizer on; ids of `num_quantizers`).
quant::QuantConfig choice_config(const std::vector<Group>& groups, const Choice& choice,
                                 size_t num_quantizers);
/// Only group g on at candidate index ci; everything else off (phase 1).
quant::QuantConfig single_group_config(const std::vector<Group>& groups, int g, int ci,
                                       size_t num_quantizers);

/// Index of the candidate of g nearest to c (|log2| distance on both widths; ties: wider).
int nearest_candidate(const Group& g, const Candidate& c);

}  // namespace qm::mp
