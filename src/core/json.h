// A small streaming JSON writer (quantmix has no JSON dependency). Commas and nesting are handled
// by the writer; strings are escaped per RFC 8259, and bytes that are not valid UTF-8 (ONNX names
// are arbitrary bytes) become U+FFFD so the output is always valid JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace qm {

/// `s` as a quoted, escaped JSON string.
std::string json_quote(std::string_view s);

/// The shortest decimal that reads back as `v`; "null" for NaN and infinities.
std::string json_number(double v);

class JsonWriter {
 public:
  /// indent > 0 pretty-prints with that many spaces per level; 0 writes compact JSON.
  explicit JsonWriter(int indent = 0) : indent_(indent) {}

  /// `inline_` keeps the container on one line even when pretty-printing (short lists, shapes).
  JsonWriter& begin_object(bool inline_ = false);
  JsonWriter& end_object();
  JsonWriter& begin_array(bool inline_ = false);
  JsonWriter& end_array();
  /// The next value's key (only inside an object).
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(double d);
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  JsonWriter& value(T v) {
    return raw(std::to_string(v));
  }
  JsonWriter& null();
  /// Writes `json` (already valid JSON text) as the next value.
  JsonWriter& raw(std::string_view json);

  /// The text so far (complete once every object/array is closed).
  const std::string& str() const { return out_; }

 private:
  // An object's or array's opening and closing bracket ('{' '}', '[' ']').
  JsonWriter& open(char bracket, bool inline_container);
  JsonWriter& close(char bracket);
  void before_value();
  void newline();

  std::string out_;
  int indent_;
  std::vector<bool> first_;   ///< per open container: no element written yet
  std::vector<bool> inline_;  ///< per open container: written on one line
  bool after_key_ = false;
};

}  // namespace qm
