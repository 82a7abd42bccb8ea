// Option text -> typed quantize options (see options.h); the profile JSON reader.
#include "api/options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <utility>

#include "core/error.h"
#include "core/json_reader.h"
#include "quant/quant_model.h"

namespace qm::api {

mp::Candidate parse_candidate(const std::string& text, const std::string& what) {
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
  return mp::Candidate{width(w), width(s.substr(a + 1)), block};
}

std::vector<mp::Candidate> parse_candidates(const std::string& csv, const std::string& what) {
  std::vector<mp::Candidate> out;
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t end = csv.find(',', pos);
    if (end == std::string::npos) end = csv.size();
    const mp::Candidate c = parse_candidate(csv.substr(pos, end - pos), what);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    pos = end + 1;
  }
  return out;
}

mp::Target parse_target(const std::string& text, const std::string& what) {
  mp::Target t;
  if (text.empty()) return t;
  const size_t eq = text.find('=');
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::InvalidArgument, what + ": bad target '" + text + "' — " + why +
                                                 " (expected bops=X, size=X, sqnr=DB or sqnr-drop=DB)");
  };
  if (eq == std::string::npos) throw bad("missing '='");
  const std::string kind = text.substr(0, eq), val = text.substr(eq + 1);
  char* end = nullptr;
  const double v = std::strtod(val.c_str(), &end);
  if (val.empty() || end != val.c_str() + val.size() || !std::isfinite(v)) throw bad("'" + val + "' is not a number");
  if (kind == "bops") t.kind = mp::TargetKind::Bops;
  else if (kind == "size") t.kind = mp::TargetKind::Size;
  else if (kind == "sqnr") t.kind = mp::TargetKind::Sqnr;
  else if (kind == "sqnr-drop") t.kind = mp::TargetKind::SqnrDrop;
  else throw bad("unknown kind '" + kind + "'");
  if ((t.kind == mp::TargetKind::Bops || t.kind == mp::TargetKind::Size) && v <= 0) throw bad("a budget must be > 0");
  if (t.kind == mp::TargetKind::SqnrDrop && v < 0) throw bad("a drop must be >= 0");
  t.value = v;
  return t;
}

namespace {

/// The value named `text` among `names` ("" is the first, the default); else Error "<what>:
/// unknown <kind> 'text' (expected a, b or c)".
template <class E>
E parse_name(const std::string& text, const std::string& what, const char* kind,
             std::initializer_list<std::pair<const char*, E>> names) {
  if (text.empty()) return names.begin()->second;
  std::string expected;
  size_t i = 0;
  for (const auto& [name, value] : names) {
    if (text == name) return value;
    expected += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + name;
    ++i;
  }
  throw Error(ErrorKind::InvalidArgument, what + ": unknown " + kind + " '" + text + "' (expected " + expected + ")");
}

}  // namespace

mp::FlipOrder parse_order(const std::string& text, const std::string& what) {
  return parse_name<mp::FlipOrder>(text, what, "order",
                    {{"paper", mp::FlipOrder::Paper}, {"ratio", mp::FlipOrder::Ratio}, {"both", mp::FlipOrder::Both}});
}

mp::Phase1Aggregate parse_aggregate(const std::string& text, const std::string& what) {
  return parse_name<mp::Phase1Aggregate>(text, what, "aggregation",
                    {{"pooled", mp::Phase1Aggregate::Pooled}, {"median", mp::Phase1Aggregate::Median},
                     {"trimmed", mp::Phase1Aggregate::Trimmed}});
}

quant::WeightRange parse_weight_range(const std::string& text, const std::string& what) {
  return parse_name<quant::WeightRange>(text, what, "range setting",
                    {{"mse", quant::WeightRange::Mse}, {"weight-mse", quant::WeightRange::WeightMse},
                     {"minmax", quant::WeightRange::MinMax}});
}

quant::WeightRounding parse_weight_rounding(const std::string& text, const std::string& what) {
  return parse_name<quant::WeightRounding>(text, what, "rounding", {{"nearest", quant::WeightRounding::Nearest}, {"learned", quant::WeightRounding::Learned}});
}

bool parse_on_off(const std::string& text, const std::string& what) {
  return parse_name<bool>(text, what, "setting", {{"on", true}, {"off", false}});
}

quant::ActRange parse_act_range(const std::string& text, const std::string& what) {
  quant::ActRange r;
  if (text == "mse" || text.empty()) return r;
  if (text == "minmax") {
    r.kind = quant::ActRange::MinMax;
    return r;
  }
  if (text.rfind("percentile", 0) == 0) {
    r.kind = quant::ActRange::Percentile;
    if (text.size() == 10) return r;
    if (text[10] == '=') {
      const std::string v = text.substr(11);
      size_t pos = 0;
      double p = -1.0;
      try {
        p = std::stod(v, &pos);
      } catch (...) {
        pos = 0;
      }
      if (pos == v.size() && !v.empty() && p > 50.0 && p <= 100.0) {
        r.percentile = p;
        return r;
      }
      throw Error(ErrorKind::InvalidArgument, what + ": percentile must be in (50, 100], got '" + v + "'");
    }
  }
  throw Error(ErrorKind::InvalidArgument,
              what + ": unknown range setting '" + text + "' (expected mse, minmax or percentile=P)");
}

size_t parse_front_points(const std::string& text, const std::string& what) {
  if (text.empty() || text == "all" || text == "0") return 0;
  size_t n = 0;
  bool digits = text.size() <= 9;
  for (char c : text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) n = static_cast<size_t>(std::stoul(text));
  if (!digits || n < 2)
    throw Error(ErrorKind::InvalidArgument, what + ": bad value '" + text +
                                                "' (expected all, or a number of points of at least 2: the first and last are always measured)");
  return n;
}

size_t parse_size(const std::string& text, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::InvalidArgument, what + ": bad size '" + text + "' — " + why +
                                                 " (expected bytes, or a number with K, M or G, e.g. 512M, 1G)");
  };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  const std::string num = text.substr(0, i);
  std::string suffix = text.substr(i);
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!text.empty() && text[0] == '-') throw bad("negative");
  if (num.empty() || num == "." || std::count(num.begin(), num.end(), '.') > 1) throw bad("not a number");
  double scale = 1;
  const std::string rest = suffix.empty() ? "" : suffix.substr(1);
  if (suffix.empty() || suffix == "B") {
    scale = 1;
  } else if (std::string("KMGT").find(suffix[0]) != std::string::npos &&
             (rest.empty() || rest == "B" || rest == "I" || rest == "IB")) {
    for (const char* u = "KMGT"; *u; ++u) {
      scale *= 1024.0;
      if (*u == suffix[0]) break;
    }
  } else {
    throw bad("unknown unit '" + text.substr(i) + "'");
  }
  const double v = std::strtod(num.c_str(), nullptr) * scale;
  // Exact in a double, and below size_t's largest value (kAutoMemoryLimit; 4 GiB in wasm).
  if (!std::isfinite(v) || v > 9007199254740992.0 || v >= static_cast<double>(std::numeric_limits<size_t>::max()))
    throw bad("too large");
  return static_cast<size_t>(std::llround(v));
}

mp::Profile builtin_profile(const std::string& name, const std::string& what) {
  std::string names;
  for (const mp::Profile& p : mp::builtin_profiles()) {
    if (p.name == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw Error(ErrorKind::InvalidArgument,
              what + ": unknown profile '" + name + "' (expected one of " + names + " or a profile JSON file)");
}

namespace {

using JValue = JsonValue;

std::vector<mp::Candidate> candidate_list(const JValue& v, const std::string& where) {
  if (v.kind != JValue::Array)
    throw Error(ErrorKind::InvalidArgument, where + ": expected an array of \"WxAy\" strings");
  std::vector<mp::Candidate> out;
  for (const auto& item : v.items) {
    if (item.kind != JValue::String)
      throw Error(ErrorKind::InvalidArgument, where + ": expected an array of \"WxAy\" strings");
    const mp::Candidate c = parse_candidate(item.str, where);
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

mp::Profile parse_profile_json(const std::string& text, const std::string& source) {
  const JValue root = parse_json(text, "Reading profile " + source);
  const std::string where = "profile " + source;
  if (root.kind != JValue::Object) throw Error(ErrorKind::InvalidArgument, where + ": expected a JSON object");
  mp::Profile p;
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
        mp::OpRule r;
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

mp::Profile parse_profile(const std::string& spec, const std::string& what) {
  size_t i = 0;
  while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
  if (i < spec.size() && spec[i] == '{') return parse_profile_json(spec, "(JSON text)");
  return builtin_profile(spec.empty() ? "generic" : spec, what);
}

}  // namespace qm::api
