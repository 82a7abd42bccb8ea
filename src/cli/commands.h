// The native `quantmix` command line: one function per sub-command, plus the small argument
// parser they share. Contract: ../shared/spec/cli.md (exit 0 ok, 1 bad input, 2 bad usage).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/inspect.h"

namespace qm::cli {

constexpr const char* kVersion = "0.1.0";

/// Bad usage (unknown flag, missing argument): main() prints "error: <message>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Flags of one sub-command, parsed from argv. Accepts `--flag VALUE` and `--flag=VALUE`.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> values;  ///< flag -> value, in order
  std::vector<std::string> switches;                        ///< flags without a value
  bool help = false;

  bool has(const std::string& flag) const;
  /// Every value given for `flag`.
  std::vector<std::string> all(const std::string& flag) const;
  /// The last value given for `flag`, or "".
  std::string get(const std::string& flag) const;
};

/// Parses `args` for sub-command `command`. `value_flags` take a value, `switch_flags` do not.
/// Throws UsageError for unknown flags and missing values.
ParsedArgs parse_args(const std::string& command, const std::vector<std::string>& args,
                      const std::vector<std::string>& value_flags,
                      const std::vector<std::string>& switch_flags);

/// `v` as an integer in [min, 1000000]; UsageError naming `flag` otherwise.
size_t parse_count(const std::string& flag, const std::string& v, size_t min);

/// The input-shape setting in the CLI's words (its flag), for api::parse_input_shape's and
/// inspect's errors and inspect's advice ("pass --input-shape x=1x3xHxW").
inline const api::ShapeWording kInputShapeFlag{"--input-shape", "pass", "--input-shape "};

/// Every `--input-shape NAME=DIMS` value in `p`, parsed by api::parse_input_shape (the one
/// parser, which inspect uses too); a malformed one is a UsageError naming the flag (exit 2).
std::map<std::string, std::vector<int64_t>> input_shape_flags(const ParsedArgs& p);

/// `--max-memory SIZE` (512M, 4G, bytes) for api::SessionOptions::memory_limit, or
/// api::kAutoMemoryLimit without it; a malformed one is a UsageError naming the flag (exit 2).
size_t max_memory_flag(const ParsedArgs& p);

/// Sub-commands: each returns the exit status; qm::Error propagates to main().
int run_inspect(const std::vector<std::string>& args);
int run_convert(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_quantize(const std::vector<std::string>& args);

/// Help texts.
std::string main_help();
std::string inspect_help();
std::string convert_help();
std::string run_help();
std::string quantize_help();

}  // namespace qm::cli
