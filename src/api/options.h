// Quantize options as text -> typed values: the one place where the text of an option (a CLI
// flag's value, a JS API option string, a profile file) is parsed. The front ends (src/cli,
// wasm/bindings.cpp) call these once, fill api::QuantizeOptions with the typed values, and the
// layers below (quant, mixed_precision) never see option text.
//
// Every parser takes `what`, the option's name as the caller's users know it, and starts its
// error with it: Error(InvalidArgument) "<what>: bad target 'x' — missing '=' (expected ...)".
// The defaults are the neutral names the JS API and the CLI share ("target", "candidates", ...);
// the CLI passes its flag ("--target").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "mixed_precision/profile.h"
#include "mixed_precision/search.h"
#include "mixed_precision/stability.h"
#include "quant/calibration.h"

namespace qm::api {

/// "W8A16" or "W4b64A8" (case-insensitive, spaces ignored, widths 2..16, blocks a power of two
/// in 16..1024).
mp::Candidate parse_candidate(const std::string& text, const std::string& what = "candidate");
/// A comma-separated list ("W4A8,W8A8"); duplicates are dropped (first kept), an empty item is
/// an error.
std::vector<mp::Candidate> parse_candidates(const std::string& csv, const std::string& what = "candidates");

/// "bops=0.5" | "size=0.5" | "sqnr=30" | "sqnr-drop=3"; "" = no target (mp::TargetKind::None).
mp::Target parse_target(const std::string& text, const std::string& what = "target");
/// "paper" (also "") | "ratio" | "both".
mp::FlipOrder parse_order(const std::string& text, const std::string& what = "order");
/// "pooled" (also "") | "median" | "trimmed".
mp::Phase1Aggregate parse_aggregate(const std::string& text, const std::string& what = "phase-1 aggregation");

/// "mse" (also "") | "weight-mse" | "minmax".
quant::WeightRange parse_weight_range(const std::string& text, const std::string& what = "weight range");
/// "nearest" (also "") | "learned".
quant::WeightRounding parse_weight_rounding(const std::string& text, const std::string& what = "weight rounding");
/// "on" (also "") -> true | "off" -> false.
bool parse_on_off(const std::string& text, const std::string& what);
/// "mse" (also "") | "minmax" | "percentile" (99.99) | "percentile=P", P in (50, 100].
quant::ActRange parse_act_range(const std::string& text, const std::string& what = "activation range");

/// Phase 2's measured points: "all" (also "", "0": every point of the front) or a count N >= 2
/// (N evenly spaced points, the first and last included; the others keep their phase-1
/// prediction). Returns 0 for every point.
size_t parse_front_points(const std::string& text, const std::string& what = "front points");

/// A byte size: "1048576", "512K", "512M", "1G", "1.5G" (K/M/G/T are powers of 1024; an "i",
/// "B" or "iB" after the letter is accepted, case-insensitive). Error naming `what` otherwise
/// (negative, not a number, unknown suffix, above 2^53 bytes).
size_t parse_size(const std::string& text, const std::string& what = "memory budget");

/// A built-in profile by name (mp::builtin_profiles()); the error lists the names.
mp::Profile builtin_profile(const std::string& name, const std::string& what = "profile");
/// A profile JSON text (format in mixed_precision/profile.h). `source` names it in errors (the
/// file name).
mp::Profile parse_profile_json(const std::string& text, const std::string& source = "profile");
/// `spec` is a built-in name, or JSON text (starts with '{'). Empty = "generic".
mp::Profile parse_profile(const std::string& spec, const std::string& what = "profile");

}  // namespace qm::api
