// The one JSON reader of the core (quantmix has no JSON dependency): a value tree for the small
// documents users give (hardware profiles, encodings files). RFC 8259 values; numbers as doubles;
// \u escapes (with surrogate pairs) decoded to UTF-8; nesting limited. The writer is core/json.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace qm {

struct JsonValue {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0.0;
  std::string str;
  std::vector<JsonValue> items;                              ///< Array
  std::vector<std::pair<std::string, JsonValue>> members;    ///< Object, in document order

  /// The member `key` of an object (the first, if repeated), or null.
  const JsonValue* get(const std::string& key) const;
};

/// Parses a whole document. Error(InvalidArgument) "<what>: malformed JSON at byte N — why" on
/// any syntax error, nesting deeper than 64, or text after the value.
JsonValue parse_json(const std::string& text, const std::string& what);

}  // namespace qm
