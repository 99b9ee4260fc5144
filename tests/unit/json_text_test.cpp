// to_json_text: the API's JSON must come out byte for byte as Go's
// encoding/json writes it (Docker clients and scripts diff against it).
#include "berth/core/api/http.hpp"
#include "recording_writer.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace berth::core::api {
namespace {

namespace json = boost::json;

std::string text_of(std::string_view s) { return to_json_text(json::value(json::string(s))); }

TEST(JsonText, EscapesHtmlCharactersLikeGo) {
  EXPECT_EQ(text_of("<a href=\"x\">&amp;</a>"),
            R"("\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e")");
  // Keys too: they are strings like any other.
  EXPECT_EQ(to_json_text(json::object{{"a<b", "c>d"}}), R"({"a\u003cb":"c\u003ed"})");
  EXPECT_EQ(to_json_text(json::array{1, "&", true, nullptr}), R"([1,"\u0026",true,null])");
}

TEST(JsonText, EscapesLineAndParagraphSeparators) {
  EXPECT_EQ(text_of("a\xE2\x80\xA8"
                    "b\xE2\x80\xA9"
                    "c"),
            R"("a\u2028b\u2029c")");
  // Neighbours of U+2028 in the same UTF-8 block stay as they are.
  EXPECT_EQ(text_of("\xE2\x80\xA7\xE2\x80\xAA"), "\"\xE2\x80\xA7\xE2\x80\xAA\"");
}

TEST(JsonText, KeepsValidUtf8AndOrdinaryEscapes) {
  EXPECT_EQ(text_of("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80\"");
  EXPECT_EQ(text_of("tab\tnl\n\"q\" back\\slash"), R"("tab\tnl\n\"q\" back\\slash")");
  // The result parses back to the original.
  std::string original = "<x> & \xE2\x80\xA8 \xC3\xA9";
  EXPECT_EQ(json::parse(text_of(original)).as_string(), original);
}

TEST(JsonText, ReplacesEachInvalidUtf8ByteWithReplacementCharacter) {
  // A lone continuation byte, a truncated sequence, an overlong "/", a
  // UTF-16 surrogate, and a code point above U+10FFFF: Go writes one
  // \ufffd per byte it cannot decode.
  EXPECT_EQ(text_of("a\x80z"), R"("a\ufffdz")");
  EXPECT_EQ(text_of("a\xE2\x80"), R"("a\ufffd\ufffd")");
  EXPECT_EQ(text_of("\xC0\xAF"), R"("\ufffd\ufffd")");
  EXPECT_EQ(text_of("\xED\xA0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(text_of("\xF4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
  EXPECT_EQ(text_of("\xFF"), R"("\ufffd")");
}

TEST(JsonText, SendJsonAndErrorsUseIt) {
  testing::RecordingWriter w;
  w.send_json(200, json::object{{"Status", "<ok>"}});
  EXPECT_EQ(w.body, "{\"Status\":\"\\u003cok\\u003e\"}\n");
  testing::RecordingWriter e;
  e.send_error(404, "No such image: a&b");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.body, "{\"message\":\"No such image: a\\u0026b\"}\n");
}

}  // namespace
}  // namespace berth::core::api
