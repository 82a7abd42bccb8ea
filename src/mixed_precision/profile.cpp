// Candidates and hardware profiles (profile files are read with core/json_reader.h).
#include "mixed_precision/profile.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <set>

#include "core/error.h"
#include "core/json_reader.h"
#include "quant/quant_model.h"

namespace qm::mp {

std::string candidate_name(const Candidate& c) {
  return "W" + std::to_string(c.w_bits) + (c.w_block ? "b" + std::to_string(c.w_block) : std::string()) + "A" +
         std::to_string(c.a_bits);
}

Candidate parse_candidate(const std::string& text, const std::string& what) {
  auto bad = [&]() {
    return Error(ErrorKind::InvalidArgument, what + ": bad candidate '" + text +
                                                 "' (expected WxAy with widths 2..16, e.g. W8A8 or W4A16, or WxbBAy with "
                                                 "blocked weight scales, B a power of two in 16..1024, e.g. W4b64A8)");
  };
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s.size() < 4 || s[0] != 'W') throw bad();
  const size_t a = s.find('A');
  if (a == std::string::npos || a < 2 || a + 1 >= s.size()) throw bad();
  auto digits = [&](const std::string& t, size_t max_len) {
    if (t.empty() || t.size() > max_len || t.find_first_not_of("0123456789") != std::string::npos) throw bad();
    return std::stoi(t);
  };
  auto width = [&](const std::string& t) {
    const int v = digits(t, 2);
    if (v < 2 || v > 16) throw bad();
    return v;
  };
  std::string w = s.substr(1, a - 1);
  int block = 0;
  if (const size_t b = w.find('B'); b != std::string::npos) {
    block = digits(w.substr(b + 1), 4);
    if (!quant::valid_weight_block(block)) throw bad();
    w = w.substr(0, b);
  }
  return Candidate{width(w), width(s.substr(a + 1)), block};
}

std::vector<Candidate> parse_candidates(const std::string& csv, const std::string& what) {
  std::vector<Candidate> out;
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t end = csv.find(',', pos);
    if (end == std::string::npos) end = csv.size();
    const std::string item = csv.substr(pos, end - pos);
    const Candidate c = parse_candidate(item, what);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    pos = end + 1;
  }
  return out;
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

std::vector<std::string> builtin_profile_names() { return {"generic", "npu"}; }

Profile builtin_profile(const std::string& name) {
  Profile p;
  p.name = name;
  if (name == "generic") {
    p.description = "W4A8, W8A8, W8A16, W16A16 for every op; blocked weight scales of 32, 64 or 128 (e.g. W4b64A8)";
    p.candidates = parse_candidates("W4A8,W8A8,W8A16,W16A16");
    p.weight_blocks = {32, 64, 128};
    return p;
  }
  if (name == "npu") {
    // Modelled on integer NPUs (e.g. Hexagon HTP-like): 4/8-bit weights, 8/16-bit activations,
    // no 16-bit weights; transcendental/normalisation outputs need 16-bit grids; depthwise
    // convolutions and activation-times-constant MatMuls have 8-bit weights only.
    p.description = "integer NPU: no W16; Softmax/LayerNorm/Sigmoid/Tanh outputs A16 only; depthwise Conv W8 only";
    p.candidates = parse_candidates("W4A8,W8A8,W4A16,W8A16");
    for (const char* op : {"Softmax", "LayerNormalization", "Sigmoid", "Tanh", "Gelu", "Erf"})
      p.ops[op].output_bits = {16};
    p.ops["Conv.depthwise"].candidates = parse_candidates("W8A8,W8A16");
    p.ops["MatMul"].candidates = parse_candidates("W8A8,W8A16,W4A16");
    return p;
  }
  std::string names;
  for (const auto& n : builtin_profile_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error(ErrorKind::InvalidArgument,
              "--profile: unknown profile '" + name + "' (expected one of " + names + " or a .json file)");
}

namespace {

using JValue = JsonValue;

std::vector<Candidate> candidate_list(const JValue& v, const std::string& where) {
  if (v.kind != JValue::Array)
    throw Error(ErrorKind::InvalidArgument, where + ": expected an array of \"WxAy\" strings");
  std::vector<Candidate> out;
  for (const auto& item : v.items) {
    if (item.kind != JValue::String)
      throw Error(ErrorKind::InvalidArgument, where + ": expected an array of \"WxAy\" strings");
    const Candidate c = parse_candidate(item.str, where);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

std::vector<int> blocks_list(const JValue& v, const std::string& where) {
  auto bad = [&]() {
    return Error(ErrorKind::InvalidArgument, where + ": expected an array of block sizes (powers of two in " +
                                                 std::to_string(quant::kMinWeightBlock) + ".." + std::to_string(quant::kMaxWeightBlock) + ")");
  };
  if (v.kind != JValue::Array) throw bad();
  std::vector<int> out;
  for (const auto& item : v.items) {
    if (item.kind != JValue::Number || item.num != std::floor(item.num) || !(item.num >= 1 && item.num <= 1e6) ||
        !quant::valid_weight_block(static_cast<int>(item.num)))
      throw bad();
    out.push_back(static_cast<int>(item.num));
  }
  return out;
}

std::vector<int> bits_list(const JValue& v, const std::string& where) {
  auto bad = [&]() {
    return Error(ErrorKind::InvalidArgument, where + ": expected an array of bit-widths 2..16");
  };
  if (v.kind != JValue::Array) throw bad();
  std::vector<int> out;
  for (const auto& item : v.items) {
    if (item.kind != JValue::Number || item.num != std::floor(item.num) || item.num < 2 || item.num > 16) throw bad();
    out.push_back(static_cast<int>(item.num));
  }
  return out;
}

}  // namespace

Profile parse_profile_json(const std::string& text, const std::string& source) {
  const JValue root = parse_json(text, "Reading profile " + source);
  const std::string where = "profile " + source;
  if (root.kind != JValue::Object) throw Error(ErrorKind::InvalidArgument, where + ": expected a JSON object");
  Profile p;
  p.name = source;
  bool have_candidates = false;
  for (const auto& [key, v] : root.members) {
    if (key == "name" && v.kind == JValue::String) {
      p.name = v.str;
    } else if (key == "description" && v.kind == JValue::String) {
      p.description = v.str;
    } else if (key == "candidates") {
      p.candidates = candidate_list(v, where + ", key 'candidates'");
      have_candidates = true;
    } else if (key == "weight_blocks") {
      p.weight_blocks = blocks_list(v, where + ", key 'weight_blocks'");
    } else if (key == "ops") {
      if (v.kind != JValue::Object) throw Error(ErrorKind::InvalidArgument, where + ", key 'ops': expected an object");
      for (const auto& [op, rule] : v.members) {
        const std::string ow = where + ", op '" + op + "'";
        if (rule.kind != JValue::Object) throw Error(ErrorKind::InvalidArgument, ow + ": expected an object");
        OpRule r;
        for (const auto& [rk, rv] : rule.members) {
          if (rk == "candidates") r.candidates = candidate_list(rv, ow + ", key 'candidates'");
          else if (rk == "input_bits") r.input_bits = bits_list(rv, ow + ", key 'input_bits'");
          else if (rk == "output_bits") r.output_bits = bits_list(rv, ow + ", key 'output_bits'");
          else if (rk == "weight_blocks") r.weight_blocks = blocks_list(rv, ow + ", key 'weight_blocks'");
          else
            throw Error(ErrorKind::InvalidArgument,
                        ow + ": unknown key '" + rk + "' (expected candidates, input_bits, output_bits, weight_blocks)");
        }
        p.ops[op] = std::move(r);
      }
    } else {
      throw Error(ErrorKind::InvalidArgument,
                  where + ": unknown key '" + key + "' (expected name, description, candidates, weight_blocks, ops)");
    }
  }
  if (!have_candidates || p.candidates.empty())
    throw Error(ErrorKind::InvalidArgument, where + ": missing key 'candidates' (expected a non-empty list like [\"W8A8\"])");
  return p;
}

Profile resolve_profile(const std::string& spec) {
  size_t i = 0;
  while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
  if (i < spec.size() && spec[i] == '{') return parse_profile_json(spec, "(JSON text)");
  return builtin_profile(spec.empty() ? "generic" : spec);
}

}  // namespace qm::mp
