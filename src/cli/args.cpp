#include <algorithm>

#include "cli/commands.h"
#include "api/options.h"
#include "api/session.h"
#include "core/error.h"

namespace qm::cli {

bool ParsedArgs::has(const std::string& flag) const {
  if (std::find(switches.begin(), switches.end(), flag) != switches.end()) return true;
  for (const auto& kv : values)
    if (kv.first == flag) return true;
  return false;
}

std::vector<std::string> ParsedArgs::all(const std::string& flag) const {
  std::vector<std::string> out;
  for (const auto& kv : values)
    if (kv.first == flag) out.push_back(kv.second);
  return out;
}

std::string ParsedArgs::get(const std::string& flag) const {
  std::string v;
  for (const auto& kv : values)
    if (kv.first == flag) v = kv.second;
  return v;
}

ParsedArgs parse_args(const std::string& command, const std::vector<std::string>& args,
                      const std::vector<std::string>& value_flags,
                      const std::vector<std::string>& switch_flags) {
  auto known = [](const std::vector<std::string>& list, const std::string& f) {
    return std::find(list.begin(), list.end(), f) != list.end();
  };
  ParsedArgs p;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      p.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      p.help = true;
      continue;
    }
    std::string flag = a, value;
    bool inline_value = false;
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (known(value_flags, flag)) {
      if (!inline_value) {
        if (i + 1 >= args.size())
          throw UsageError("flag '" + flag + "' needs a value (see quantmix " + command + " --help)");
        value = args[++i];
      }
      p.values.emplace_back(flag, value);
    } else if (known(switch_flags, flag)) {
      if (inline_value) throw UsageError("flag '" + flag + "' takes no value (see quantmix " + command + " --help)");
      p.switches.push_back(flag);
    } else {
      throw UsageError("unknown flag '" + a + "' (see quantmix " + command + " --help)");
    }
  }
  return p;
}

size_t parse_count(const std::string& flag, const std::string& v, size_t min) {
  size_t pos = 0;
  long long n = -1;
  try {
    n = std::stoll(v, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos != v.size() || n < static_cast<long long>(min) || n > 1000000)
    throw UsageError(flag + " needs an integer >= " + std::to_string(min) + ", got '" + v + "'");
  return static_cast<size_t>(n);
}

std::map<std::string, std::vector<int64_t>> input_shape_flags(const ParsedArgs& p) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const std::string& spec : p.all("--input-shape")) {
    try {
      auto parsed = api::parse_input_shape(spec, kInputShapeFlag);
      shapes[parsed.first] = std::move(parsed.second);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  return shapes;
}

size_t max_memory_flag(const ParsedArgs& p) {
  if (!p.has("--max-memory")) return api::kAutoMemoryLimit;
  try {
    const size_t bytes = api::parse_size(p.get("--max-memory"), "--max-memory");
    if (bytes == 0) throw UsageError("--max-memory must be above 0, got '" + p.get("--max-memory") + "'");
    return bytes;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

}  // namespace qm::cli
