#include "quant/encodings_json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "core/json_reader.h"

namespace qm::quant {
namespace {

using JValue = JsonValue;

void write_entry(JsonWriter& j, const Encoding& e, size_t c) {
  j.begin_object(true);
  j.key("bitwidth").value(e.bits);
  if (e.block > 0) j.key("block_size").value(e.block);
  j.key("dtype").value("int");
  j.key("is_symmetric").value(e.symmetric ? "True" : "False");
  j.key("max").value(static_cast<double>(e.max[c]));
  j.key("min").value(static_cast<double>(e.min[c]));
  j.key("offset").value(-static_cast<int64_t>(e.zero_point[c]));
  j.key("scale").value(static_cast<double>(e.scale[c]));
  j.end_object();
}

constexpr char kHex[] = "0123456789abcdef";

// Learned levels (Encoding::levels, <= 4 bits) as one hex digit per weight: level - qmin.
std::string levels_to_hex(const Encoding& e) {
  std::string s(e.levels.size(), '0');
  for (size_t i = 0; i < e.levels.size(); ++i) s[i] = kHex[(e.levels[i] - e.qmin()) & 15];
  return s;
}

}  // namespace

std::string encodings_to_json(const QuantModel& model, Encodings& enc, const QuantConfig& config) {
  JsonWriter j(2);
  j.begin_object();
  j.key("version").value("0.6.1");
  for (int pass = 0; pass < 2; ++pass) {
    const QuantizerKind kind = pass == 0 ? QuantizerKind::Activation : QuantizerKind::Weight;
    j.key(pass == 0 ? "activation_encodings" : "param_encodings").begin_object();
    for (const Quantizer& q : model.quantizers()) {
      if (q.kind != kind || static_cast<size_t>(q.id) >= config.bits.size() || config.bits[static_cast<size_t>(q.id)] <= 0)
        continue;
      const Encoding& e = enc.get(q.id, config.bits[static_cast<size_t>(q.id)], config.block_of(static_cast<size_t>(q.id)));
      if (!e.calibrated()) continue;  // in a subgraph no calibration sample ran: float
      j.key(q.tensor).begin_array();
      for (size_t c = 0; c < e.scale.size(); ++c) write_entry(j, e, c);
      j.end_array();
    }
    j.end_object();
  }
  // Sections beyond AIMET's, one entry per switched-on weight whose encoding has the extra:
  // {tensor: {"bitwidth": b, <what write() adds>}}. Tools that do not know a key ignore it.
  auto extra_section = [&](const char* name, bool (*has)(const Encoding&), const std::function<void(const Encoding&)>& write) {
    bool any = false;
    for (const Quantizer& q : model.quantizers()) {
      if (q.kind != QuantizerKind::Weight || static_cast<size_t>(q.id) >= config.bits.size() || config.bits[static_cast<size_t>(q.id)] <= 0)
        continue;
      const Encoding& e = enc.get(q.id, config.bits[static_cast<size_t>(q.id)], config.block_of(static_cast<size_t>(q.id)));
      if (!has(e)) continue;
      if (!any) j.key(name).begin_object();
      any = true;
      j.key(q.tensor).begin_object(true);
      j.key("bitwidth").value(e.bits);
      write(e);
      j.end_object();
    }
    if (any) j.end_object();
  };
  // Learned rounding: the integers of each such weight (a tool that ignores them rounds to nearest).
  extra_section("learned_levels", [](const Encoding& e) { return !e.levels.empty(); },
                [&](const Encoding& e) { j.key("levels").value(levels_to_hex(e)); });
  // Bias correction: the shift added to the layer's bias (ignored: the uncorrected bias runs).
  extra_section("bias_corrections", [](const Encoding& e) { return !e.bias_shift.empty(); }, [&](const Encoding& e) {
    j.key("shift").begin_array();
    for (float v : e.bias_shift) j.value(static_cast<double>(v));
    j.end_array();
  });
  j.end_object();
  return j.str() + "\n";
}

QuantConfig encodings_from_json(const std::string& text, const QuantModel& model, Encodings& enc, const std::string& source) {
  const JValue root = parse_json(text, "reading " + source);
  if (root.kind != JValue::Object) throw Error(ErrorKind::InvalidArgument, "reading " + source + ": expected a JSON object at the top");
  QuantConfig config = model.off();
  for (int pass = 0; pass < 2; ++pass) {
    const char* section = pass == 0 ? "activation_encodings" : "param_encodings";
    const JValue* sec = root.get(section);
    if (!sec) continue;
    if (sec->kind != JValue::Object)
      throw Error(ErrorKind::InvalidArgument, "reading " + source + ": '" + section + "' must be an object");
    for (const auto& kv : sec->members) {
      const std::string where = "reading " + source + ": " + section + " '" + kv.first + "'";
      const int qi = model.find_tensor(kv.first);
      if (qi < 0) throw Error(ErrorKind::InvalidArgument, where + " — no quantizer on this tensor in the model");
      const Quantizer& q = model.quantizer(qi);
      const bool is_weight = q.kind == QuantizerKind::Weight;
      if (is_weight != (pass == 1))
        throw Error(ErrorKind::InvalidArgument, where + " — the tensor is " + (is_weight ? "a weight" : "an activation") +
                                                    " (expected under " + (is_weight ? "param_encodings" : "activation_encodings") + ")");
      std::vector<const JValue*> entries;
      if (kv.second.kind == JValue::Array) {
        for (const JValue& e : kv.second.items) entries.push_back(&e);
      } else if (kv.second.kind == JValue::Object) {
        entries.push_back(&kv.second);
      }
      if (entries.empty()) throw Error(ErrorKind::InvalidArgument, where + " — expected a list of encodings");
      Encoding e;
      e.axis = -1;
      // Blocked weights: every entry names the same block_size (written by encodings_to_json).
      const JValue* block = entries[0]->get("block_size");
      for (const JValue* x : entries) {
        const JValue* b = x->get("block_size");
        if ((b == nullptr) != (block == nullptr) || (b && (b->kind != JValue::Number || b->num != block->num)))
          throw Error(ErrorKind::InvalidArgument, where + " — entries disagree on 'block_size'");
      }
      if (block) {
        // An activation has no layer (q.layer is -1): check the kind before looking at one.
        static const BlockLayout kNone{};
        const BlockLayout& layout = is_weight && q.layer >= 0 ? model.layers()[static_cast<size_t>(q.layer)].blocks : kNone;
        if (!is_weight || block->kind != JValue::Number || block->num != std::floor(block->num) ||
            !valid_weight_block(static_cast<int>(std::clamp(block->num, -1.0, 1e9))) || !layout.ok())
          throw Error(ErrorKind::InvalidArgument, where + " — 'block_size' must be a power of two in " + std::to_string(kMinWeightBlock) +
                                                      ".." + std::to_string(kMaxWeightBlock) + " on a Conv, Gemm or MatMul weight");
        e.block = static_cast<int>(block->num);
        e.axis = layout.axis;
        e.block_k_dims = layout.k_dims;
        if (static_cast<int64_t>(entries.size()) != layout.scales(e.block))
          throw Error(ErrorKind::InvalidArgument, where + " — expected " + std::to_string(layout.scales(e.block)) +
                                                      " block encodings, got " + std::to_string(entries.size()));
      } else if (is_weight) {
        const int64_t channels = model.weight(q.id).shape()[static_cast<size_t>(q.axis)];
        if (static_cast<int64_t>(entries.size()) != channels && entries.size() != 1)
          throw Error(ErrorKind::InvalidArgument, where + " — expected " + std::to_string(channels) +
                                                      " per-channel encodings (or 1), got " + std::to_string(entries.size()));
        e.axis = q.axis;
      } else if (entries.size() != 1) {
        throw Error(ErrorKind::InvalidArgument, where + " — expected 1 per-tensor encoding, got " + std::to_string(entries.size()));
      }
      for (size_t c = 0; c < entries.size(); ++c) {
        const JValue& x = *entries[c];
        auto num = [&](const char* k, bool required) -> std::optional<double> {
          const JValue* v = x.get(k);
          if (!v) {
            if (required) throw Error(ErrorKind::InvalidArgument, where + " — entry " + std::to_string(c) + " has no '" + k + "'");
            return std::nullopt;
          }
          if (v->kind != JValue::Number)
            throw Error(ErrorKind::InvalidArgument, where + " — entry " + std::to_string(c) + ": '" + k + "' must be a number");
          return v->num;
        };
        const double bw = *num("bitwidth", true);
        if (bw != std::floor(bw) || bw < 2 || bw > 16)
          throw Error(ErrorKind::InvalidArgument, where + " — bitwidth must be an integer in 2..16, got " + json_number(bw));
        if (c == 0) e.bits = static_cast<int>(bw);
        else if (static_cast<int>(bw) != e.bits)
          throw Error(ErrorKind::InvalidArgument, where + " — channels disagree on the bitwidth");
        bool sym = is_weight;
        if (const JValue* s = x.get("is_symmetric")) {
          if (s->kind == JValue::Bool) sym = s->b;
          else if (s->kind == JValue::String) sym = s->str == "True" || s->str == "true";
        }
        if (sym != is_weight)
          throw Error(ErrorKind::InvalidArgument, where + (is_weight ? " — weights must be symmetric (is_symmetric True)"
                                                                     : " — activations must be asymmetric (is_symmetric False)"));
        e.symmetric = sym;
        const double scale = *num("scale", true);
        // Judged as the float it is stored as: 1e-54 is a positive double but a zero float.
        if (!(static_cast<float>(scale) > 0.0f) || !std::isfinite(static_cast<float>(scale)))
          throw Error(ErrorKind::InvalidArgument, where + " — scale must be positive and finite, got " + json_number(scale));
        const double off = num("offset", false).value_or(0.0);
        // AIMET writes symmetric encodings with offset -2^(b-1) (its unsigned grid view of the
        // signed one): the same zero point 0.
        const double zp = sym && off == -std::ldexp(1.0, e.bits - 1) ? 0.0 : -off;
        if (zp != std::floor(zp) || zp < e.qmin() || zp > e.qmax() || (sym && zp != 0.0))
          throw Error(ErrorKind::InvalidArgument, where + " — offset " + json_number(off) + " is outside the " +
                                                      std::to_string(e.bits) + "-bit range" + (sym ? " (symmetric: 0)" : ""));
        const float sc = static_cast<float>(scale);
        e.scale.push_back(sc);
        e.zero_point.push_back(static_cast<int32_t>(zp));
        e.min.push_back(static_cast<float>(e.qmin() - static_cast<int32_t>(zp)) * sc);
        e.max.push_back(static_cast<float>(e.qmax() - static_cast<int32_t>(zp)) * sc);
      }
      if (is_weight && !e.block && entries.size() == 1) {
        // One encoding for every channel.
        const int64_t channels = model.weight(q.id).shape()[static_cast<size_t>(q.axis)];
        // Copies first: assign(n, v) with v inside the vector itself is undefined (libc++ frees first).
        const float sc = e.scale[0], mn = e.min[0], mx = e.max[0];
        const int32_t zp = e.zero_point[0];
        e.scale.assign(static_cast<size_t>(channels), sc);
        e.zero_point.assign(static_cast<size_t>(channels), zp);
        e.min.assign(static_cast<size_t>(channels), mn);
        e.max.assign(static_cast<size_t>(channels), mx);
      }
      config.bits[static_cast<size_t>(qi)] = e.bits;
      config.set_block(static_cast<size_t>(qi), e.block);
      enc.set(qi, std::move(e));
    }
  }
  // The extra sections (encodings_to_json): each entry's weight, checked to be switched on above
  // with the entry's bitwidth; f(where, quantizer, bits, entry).
  auto read_extra = [&](const char* name, const std::function<void(const std::string&, int, int, const JValue&)>& f) {
    const JValue* sec = root.get(name);
    if (!sec) return;
    if (sec->kind != JValue::Object)
      throw Error(ErrorKind::InvalidArgument, "reading " + source + ": '" + name + "' must be an object");
    for (const auto& kv : sec->members) {
      const std::string where = "reading " + source + ": " + name + " '" + kv.first + "'";
      const int qi = model.find_tensor(kv.first);
      if (qi < 0 || model.quantizer(qi).kind != QuantizerKind::Weight || config.bits[static_cast<size_t>(qi)] <= 0)
        throw Error(ErrorKind::InvalidArgument, where + " — not a weight listed under param_encodings");
      const int bits = config.bits[static_cast<size_t>(qi)];
      const JValue* bw = kv.second.kind == JValue::Object ? kv.second.get("bitwidth") : nullptr;
      if (!bw || bw->kind != JValue::Number || bw->num != bits)
        throw Error(ErrorKind::InvalidArgument, where + " — 'bitwidth' must match its param encoding");
      f(where, qi, bits, kv.second);
    }
  };
  read_extra("learned_levels", [&](const std::string& where, int qi, int bits, const JValue& entry) {
    const JValue* lv = entry.get("levels");
    if (bits > 4) throw Error(ErrorKind::InvalidArgument, where + " — 'bitwidth' must match its param encoding and be at most 4");
    const int64_t numel = model.weight(qi).numel();
    if (!lv || lv->kind != JValue::String || static_cast<int64_t>(lv->str.size()) != numel)
      throw Error(ErrorKind::InvalidArgument, where + " — 'levels' must be a string of " + std::to_string(numel) + " hex digits");
    Encoding e = enc.get(qi, bits, config.block_of(static_cast<size_t>(qi)));
    e.levels.resize(static_cast<size_t>(numel));
    for (size_t i = 0; i < lv->str.size(); ++i) {
      const char* at = lv->str[i] ? std::strchr(kHex, lv->str[i]) : nullptr;
      const int v = at ? static_cast<int>(at - kHex) + e.qmin() : e.qmax() + 1;
      if (v > e.qmax())
        throw Error(ErrorKind::InvalidArgument, where + " — character " + std::to_string(i) + " is not a level of " +
                                                    std::to_string(bits) + " bits (hex digit of level - " + std::to_string(e.qmin()) + ")");
      e.levels[i] = static_cast<int8_t>(v);
    }
    enc.set(qi, std::move(e));
  });
  read_extra("bias_corrections", [&](const std::string& where, int qi, int bits, const JValue& entry) {
    const Layer& layer = model.layers()[static_cast<size_t>(model.quantizer(qi).layer)];
    if (layer.bias == graph::kNoValue)
      throw Error(ErrorKind::InvalidArgument, where + " — its layer '" + layer.name + "' has no bias of its own to correct");
    const JValue* sh = entry.get("shift");
    const int64_t n = model.plan().constant(layer.bias)->numel();
    if (!sh || sh->kind != JValue::Array || static_cast<int64_t>(sh->items.size()) != n)
      throw Error(ErrorKind::InvalidArgument, where + " — 'shift' must be an array of " + std::to_string(n) + " numbers (one per output channel)");
    Encoding e = enc.get(qi, bits, config.block_of(static_cast<size_t>(qi)));
    e.bias_shift.clear();
    for (const JValue& v : sh->items) {
      if (v.kind != JValue::Number || !std::isfinite(v.num) || std::fabs(v.num) > std::numeric_limits<float>::max())
        throw Error(ErrorKind::InvalidArgument, where + " — 'shift' entry " + std::to_string(e.bias_shift.size()) + " is not a finite float");
      e.bias_shift.push_back(static_cast<float>(v.num));
    }
    enc.set(qi, std::move(e));
  });
  return config;
}

}  // namespace qm::quant
