// core/json_reader.h: the one JSON reader (profiles, encodings files). Oracle: hand-written
// documents and their known values; every malformed one must fail with the byte offset.
#include <doctest/doctest.h>

#include <string>

#include "core/error.h"
#include "core/json_reader.h"

namespace qm {

TEST_CASE("core/json_reader: values, escapes and surrogate pairs") {
  const JsonValue v = parse_json(R"( {"a": [1, -2.5e3, true, false, null], "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}} )", "t");
  REQUIRE(v.kind == JsonValue::Object);
  const JsonValue* a = v.get("a");
  REQUIRE((a && a->kind == JsonValue::Array && a->items.size() == 5));
  CHECK(a->items[0].num == 1);
  CHECK(a->items[1].num == -2500);
  CHECK((a->items[2].kind == JsonValue::Bool && a->items[2].b));
  CHECK((a->items[3].kind == JsonValue::Bool && !a->items[3].b));
  CHECK(a->items[4].kind == JsonValue::Null);
  CHECK(v.get("s")->str == "x\"\\/\n\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(v.get("o")->kind == JsonValue::Object);
  CHECK(v.get("missing") == nullptr);
}

TEST_CASE("core/json_reader: malformed documents name the byte") {
  const std::string deep = std::string(70, '[') + std::string(70, ']');
  for (const std::string bad : {std::string("{"), std::string("[1,]"), std::string("{\"a\" 1}"), std::string("\"\\ud83d\""),
                                std::string("\"\\udc00\""), std::string("\"\\u12G4\""), std::string("\"a\nb\""), std::string("1 2"),
                                std::string("-"), std::string("1e", 2), std::string("1\0", 2), std::string("tru"), deep}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_json(bad, "f.json"), doctest::Contains("f.json: malformed JSON at byte"), Error);
  }
}

}  // namespace qm
