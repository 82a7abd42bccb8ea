#include "core/json_reader.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace qm {

const JsonValue* JsonValue::get(const std::string& key) const {
  for (const auto& kv : members)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

class Reader {
 public:
  Reader(const std::string& text, const std::string& what) : t_(text), what_(what) {}

  JsonValue document() {
    JsonValue v = value(0);
    ws();
    if (p_ != t_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::InvalidArgument, what_ + ": malformed JSON at byte " + std::to_string(p_) + " — " + why);
  }
  void ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }
  bool eat(char c) {
    ws();
    if (p_ < t_.size() && t_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  unsigned hex4() {
    if (p_ + 4 > t_.size()) fail("bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = t_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }
  static void utf8(std::string& s, unsigned cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::string string_lit() {
    ws();
    if (p_ >= t_.size() || t_[p_] != '"') fail("expected a string");
    ++p_;
    std::string s;
    for (;;) {
      if (p_ >= t_.size()) fail("unterminated string");
      const char c = t_[p_++];
      if (c == '"') return s;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        s += c;
        continue;
      }
      if (p_ >= t_.size()) fail("unterminated escape");
      switch (t_[p_++]) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a high surrogate needs its low one
            if (p_ + 2 > t_.size() || t_[p_] != '\\' || t_[p_ + 1] != 'u') fail("unpaired surrogate in a \\u escape");
            p_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate in a \\u escape");
          }
          utf8(s, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }
  JsonValue value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    ws();
    if (p_ >= t_.size()) fail("unexpected end of text");
    JsonValue v;
    const char c = t_[p_];
    if (c == '{') {
      ++p_;
      v.kind = JsonValue::Object;
      if (eat('}')) return v;
      do {
        std::string k = string_lit();
        expect(':');
        v.members.emplace_back(std::move(k), value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++p_;
      v.kind = JsonValue::Array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::String;
      v.str = string_lit();
    } else if (t_.compare(p_, 4, "true") == 0) {
      p_ += 4;
      v.kind = JsonValue::Bool;
      v.b = true;
    } else if (t_.compare(p_, 5, "false") == 0) {
      p_ += 5;
      v.kind = JsonValue::Bool;
    } else if (t_.compare(p_, 4, "null") == 0) {
      p_ += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = p_;
      while (end < t_.size() && ((t_[end] >= '0' && t_[end] <= '9') || (t_[end] != '\0' && std::strchr("+-.eE", t_[end])))) ++end;
      const std::string s = t_.substr(p_, end - p_);
      char* stop = nullptr;
      v.num = std::strtod(s.c_str(), &stop);
      if (s.empty() || stop != s.c_str() + s.size()) fail("bad number '" + s + "'");
      v.kind = JsonValue::Number;
      p_ = end;
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  const std::string& t_;
  const std::string& what_;
  size_t p_ = 0;
};

}  // namespace

JsonValue parse_json(const std::string& text, const std::string& what) { return Reader(text, what).document(); }

}  // namespace qm
