#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "format/template.hpp"

namespace berth::cli::format {
namespace {

namespace json = boost::json;

std::string render(std::string_view format, std::string_view row = "{}") {
  return Template::parse(format).render(json::parse(row));
}

// The TemplateError message for a template that must fail to parse or run.
std::string error_of(std::string_view format, std::string_view row = "{}") {
  try {
    render(format, row);
  } catch (const TemplateError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << format;
  return {};
}

std::vector<json::value> rows(std::initializer_list<std::string_view> texts) {
  std::vector<json::value> out;
  for (const auto t : texts) out.push_back(json::parse(t));
  return out;
}

// ------------------------------------------------------------------ modes

TEST(CliFormatMode, JsonKeywordPrintsCompactJsonInApiOrder) {
  const auto t = Template::parse("json");
  EXPECT_TRUE(t.is_json());
  EXPECT_FALSE(t.is_table());
  EXPECT_FALSE(t.is_default_table());
  EXPECT_EQ(t.render(json::parse(R"({"Name":"web","ID":"abc","Ports":[80,443],"Up":true})")),
            R"({"Name":"web","ID":"abc","Ports":[80,443],"Up":true})");
  EXPECT_EQ(t.render_all(rows({R"({"A":1})", R"({"A":2})"})), "{\"A\":1}\n{\"A\":2}\n");
}

TEST(CliFormatMode, OnlyTheExactWordJsonIsJsonMode) {
  const auto t = Template::parse("json ");
  EXPECT_FALSE(t.is_json());
  EXPECT_EQ(t.render(json::parse("{}")), "json");
}

TEST(CliFormatMode, TablePrefixAndDefaultTable) {
  const auto custom = Template::parse("table {{.ID}}\t{{.Name}}");
  EXPECT_TRUE(custom.is_table());
  EXPECT_FALSE(custom.is_default_table());
  EXPECT_FALSE(custom.is_json());

  EXPECT_TRUE(Template::parse("table").is_default_table());
  EXPECT_TRUE(Template::parse("table   ").is_default_table());
  EXPECT_TRUE(Template::parse("table").is_table());

  const auto plain = Template::parse("{{.ID}}");
  EXPECT_FALSE(plain.is_table());
  EXPECT_FALSE(plain.is_default_table());
}

TEST(CliFormatMode, ShellEscapedTabAndNewlineBecomeRealOnes) {
  EXPECT_EQ(render(R"({{.A}}\t{{.B}}\n)", R"({"A":"a","B":"b"})"), "a\tb\n");
  EXPECT_EQ(render(R"(ID\t{{.ID}}\nNAME\t{{.Name}})", R"({"ID":"1","Name":"n"})"),
            "ID\t1\nNAME\tn");
  // Also inside quoted strings, where the newline is accepted.
  EXPECT_EQ(render(R"({{join .Names "\n"}})", R"({"Names":["a","b"]})"), "a\nb");
  EXPECT_EQ(render(R"({{join .Names "\t"}})", R"({"Names":["a","b"]})"), "a\tb");
}

TEST(CliFormatMode, SurroundingSpacesAreTrimmed) {
  EXPECT_EQ(render("   {{.A}}  ", R"({"A":"x"})"), "x");
  EXPECT_EQ(render("table    {{.A}} ", R"({"A":"x"})"), "x");
}

TEST(CliFormatMode, TemplateIsReusableAcrossRowsAndCopies) {
  const auto t = Template::parse("{{.N}}");
  const auto copy = t;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(t.render(json::parse(R"({"N":1})")), "1");
  EXPECT_EQ(copy.render(json::parse(R"({"N":2})")), "2");
  EXPECT_EQ(t.render(json::parse(R"({"N":3})")), "3");
}

// ----------------------------------------------------------------- fields

TEST(CliFormatFields, FieldChainsAndDot) {
  const std::string row = R"({"ID":"abc","Config":{"Image":"nginx","Env":["A=1","B=2"]}})";
  EXPECT_EQ(render("{{.ID}}", row), "abc");
  EXPECT_EQ(render("{{.Config.Image}}", row), "nginx");
  EXPECT_EQ(render("{{.Config.Env}}", row), "[A=1 B=2]");
  EXPECT_EQ(render("{{.}}", R"({"b":1,"a":"x"})"), "map[a:x b:1]");
  EXPECT_EQ(render("{{.Config}}", row), "map[Env:[A=1 B=2] Image:nginx]");
  EXPECT_EQ(render("id={{.ID}}!", row), "id=abc!");
  EXPECT_EQ(render("no actions at all", row), "no actions at all");
}

TEST(CliFormatFields, MissingKeysAndNullPrintNoValue) {
  EXPECT_EQ(render("{{.Missing}}", R"({"A":1})"), "<no value>");
  EXPECT_EQ(render("{{.Missing.Deeper}}", R"({"A":1})"), "<no value>");
  EXPECT_EQ(render("{{.A}}", R"({"A":null})"), "<no value>");
  EXPECT_EQ(render("{{.A}}", R"({"A":[1,null]})"), "[1 <nil>]");
}

TEST(CliFormatFields, ValuesPrintLikeGo) {
  EXPECT_EQ(render("{{.V}}", R"({"V":42})"), "42");
  EXPECT_EQ(render("{{.V}}", R"({"V":-7})"), "-7");
  EXPECT_EQ(render("{{.V}}", R"({"V":18446744073709551615})"), "18446744073709551615");
  EXPECT_EQ(render("{{.V}}", R"({"V":1.5})"), "1.5");
  EXPECT_EQ(render("{{.V}}", R"({"V":2.0})"), "2");
  EXPECT_EQ(render("{{.V}}", R"({"V":100000.0})"), "100000");
  EXPECT_EQ(render("{{.V}}", R"({"V":1000000.0})"), "1e+06");
  EXPECT_EQ(render("{{.V}}", R"({"V":123456789.0})"), "1.23456789e+08");
  EXPECT_EQ(render("{{.V}}", R"({"V":0.0001})"), "0.0001");
  EXPECT_EQ(render("{{.V}}", R"({"V":0.00001})"), "1e-05");
  EXPECT_EQ(render("{{.V}}", R"({"V":-0.5})"), "-0.5");
  EXPECT_EQ(render("{{.V}}", R"({"V":true})"), "true");
  EXPECT_EQ(render("{{.V}}", R"({"V":false})"), "false");
  EXPECT_EQ(render("{{.V}}", R"({"V":"raw \"text\""})"), "raw \"text\"");
  EXPECT_EQ(render("{{.V}}", R"({"V":[1,"x",null,{"k":true},[]]})"), "[1 x <nil> map[k:true] []]");
  EXPECT_EQ(render("{{.V}}", R"({"V":{"z":{"y":1},"a":[2]}})"), "map[a:[2] z:map[y:1]]");
}

TEST(CliFormatFields, Constants) {
  EXPECT_EQ(render(R"({{"quoted\tstr"}})"), "quoted\tstr");
  EXPECT_EQ(render("{{`raw`}}"), "raw");
  EXPECT_EQ(render("{{12}} {{-3}} {{1.5}} {{0x1F}} {{'a'}} {{true}}"), "12 -3 1.5 31 97 true");
}

TEST(CliFormatFields, TrimMarkersAndComments) {
  EXPECT_EQ(render("a  {{- .A -}}  b", R"({"A":"x"})"), "axb");
  EXPECT_EQ(render("a\n\t{{- .A}}\n", R"({"A":"x"})"), "ax\n");
  EXPECT_EQ(render("{{.A -}}\n\n  b", R"({"A":"x"})"), "xb");
  EXPECT_EQ(render("a{{/* a comment */}}b"), "ab");
  EXPECT_EQ(render("a {{- /* trimmed */ -}} b"), "ab");
  // "-3" is a number, not a trim marker.
  EXPECT_EQ(render("a {{-3}}"), "a -3");
}

// -------------------------------------------------------------- pipelines

TEST(CliFormatPipelines, ValuesFlowIntoTheLastArgument) {
  const std::string row = R"({"Name":"web","Names":["a","b"],"Config":{"Image":"nginx"}})";
  EXPECT_EQ(render("{{.Name | upper}}", row), "WEB");
  EXPECT_EQ(render("{{.Config | json}}", row), R"({"Image":"nginx"})");
  EXPECT_EQ(render("{{join .Names \",\" | upper}}", row), "A,B");
  // The piped value is the last argument, as in Go.
  EXPECT_EQ(render("{{\",\" | join .Names}}", row), "a,b");
  EXPECT_EQ(render("{{.Name | printf \"<%s>\"}}", row), "<web>");
  EXPECT_EQ(render("{{(index .Names 1) | upper}}", row), "B");
  EXPECT_EQ(render("{{(.Config).Image}}", row), "nginx");
}

// -------------------------------------------------------------- functions

TEST(CliFormatFunctions, Json) {
  const std::string row =
      R"({"Config":{"Image":"nginx","Env":["A=1"],"Size":1.5,"Big":1000000.0,"Tiny":1e-7,"N":null},"S":"<a&b>"})";
  EXPECT_EQ(render("{{json .Config}}", row),
            R"({"Image":"nginx","Env":["A=1"],"Size":1.5,"Big":1000000,"Tiny":1e-7,"N":null})");
  EXPECT_EQ(render("{{json .S}}", row), R"("<a&b>")");
  EXPECT_EQ(render("{{json .Missing}}", row), "null");
  EXPECT_EQ(render("{{json .Config.Env}}", row), R"(["A=1"])");
  EXPECT_EQ(render("{{json 1}} {{json \"x\\ny\"}}", row), R"(1 "x\ny")");
}

TEST(CliFormatFunctions, JoinAndSplit) {
  const std::string row = R"({"Names":["a","b","c"],"S":"x,y,z","Mixed":["a",1,true]})";
  EXPECT_EQ(render(R"({{join .Names ","}})", row), "a,b,c");
  EXPECT_EQ(render(R"({{join .Mixed "-"}})", row), "a-1-true");
  EXPECT_EQ(render(R"({{join .Missing ","}})", row), "");
  EXPECT_EQ(render(R"({{split .S ","}})", row), "[x y z]");
  EXPECT_EQ(render(R"({{index (split .S ",") 1}})", row), "y");
  EXPECT_EQ(render(R"({{len (split "" ",")}})", row), "1");
  EXPECT_EQ(render(R"({{split "ab" ""}})", row), "[a b]");
  EXPECT_EQ(render(R"({{range split .S ","}}<{{.}}>{{end}})", row), "<x><y><z>");
}

TEST(CliFormatFunctions, CaseConversion) {
  EXPECT_EQ(render(R"({{upper "héllo wörld"}})"), "HÉLLO WÖRLD");
  EXPECT_EQ(render(R"({{lower "ÀB Ç"}})"), "àb ç");
  EXPECT_EQ(render(R"({{title "hello world-foo bar_baz"}})"), "Hello World-Foo Bar_baz");
  EXPECT_EQ(render(R"({{title "ALREADY up"}})"), "ALREADY Up");
}

TEST(CliFormatFunctions, TruncateAndPad) {
  const std::string row = R"({"ID":"0123456789abcdef","S":"x","E":""})";
  EXPECT_EQ(render("{{truncate .ID 12}}", row), "0123456789ab");
  EXPECT_EQ(render("{{truncate .ID 100}}", row), "0123456789abcdef");
  EXPECT_EQ(render("{{truncate .ID 0}}", row), "");
  EXPECT_EQ(render(R"({{truncate "日本語" 2}})", row), "日本");
  EXPECT_EQ(render("[{{pad .S 2 1}}]", row), "[  x ]");
  EXPECT_EQ(render("[{{pad .E 2 1}}]", row), "[]");
}

TEST(CliFormatFunctions, PrintAndPrintln) {
  EXPECT_EQ(render(R"({{print 1 2 "a" "b" 3}})"), "1 2ab3");
  EXPECT_EQ(render(R"({{print .Missing}})"), "<nil>");
  EXPECT_EQ(render(R"({{println "a" 1}})"), "a 1\n");
  EXPECT_EQ(render(R"({{print}})"), "");
}

TEST(CliFormatFunctions, Printf) {
  const std::string row = R"({"Name":"web","N":42,"L":[1,2],"F":3.14159})";
  EXPECT_EQ(render(R"({{printf "%s-%d" .Name .N}})", row), "web-42");
  EXPECT_EQ(render(R"({{printf "%-10s|" .Name}})", row), "web       |");
  EXPECT_EQ(render(R"({{printf "%10s|" .Name}})", row), "       web|");
  EXPECT_EQ(render(R"({{printf "%5d|%-5d|" 42 7}})", row), "   42|7    |");
  EXPECT_EQ(render(R"({{printf "%05d" -42}})", row), "-0042");
  EXPECT_EQ(render(R"({{printf "%+d %x %X %#x %o %b %c" 5 255 255 255 8 5 65}})", row),
            "+5 ff FF 0xff 10 101 A");
  EXPECT_EQ(render(R"({{printf "%v %v" .L .Name}})", row), "[1 2] web");
  EXPECT_EQ(render(R"({{printf "%q" .Name}})", row), "\"web\"");
  EXPECT_EQ(render(R"({{printf "%.2f|%6.2f|%e|%g" .F .F .F .F}})", row),
            "3.14|  3.14|3.141590e+00|3.14159");
  EXPECT_EQ(render(R"({{printf "%v" 1e6}})", row), "1e+06");
  EXPECT_EQ(render(R"({{printf "%.3s" "abcdef"}})", row), "abc");
  EXPECT_EQ(render(R"({{printf "%t" true}})", row), "true");
  EXPECT_EQ(render(R"({{printf "100%%"}})", row), "100%");
  EXPECT_EQ(render(R"({{printf "%d" .Name}})", row), "%!d(string=web)");
  EXPECT_EQ(render(R"({{printf "%d"}})", row), "%!d(MISSING)");
  EXPECT_EQ(render(R"({{printf "a" 1}})", row), "a%!(EXTRA int=1)");
  EXPECT_EQ(render(R"({{printf "%s" .Missing}})", row), "%!s(<nil>)");
  EXPECT_EQ(render(R"({{printf "%v" .Missing}})", row), "<nil>");
  EXPECT_EQ(render(R"({{printf "%*d|" 4 7}})", row), "   7|");
}

TEST(CliFormatFunctions, LenIndexSlice) {
  const std::string row =
      R"({"S":"abc","L":[10,20,30],"Labels":{"com.example":"yes","a":"b"},"M":{"k":[5,6]}})";
  EXPECT_EQ(render("{{len .S}} {{len .L}} {{len .Labels}}", row), "3 3 2");
  EXPECT_EQ(render(R"({{index .Labels "com.example"}})", row), "yes");
  EXPECT_EQ(render(R"({{index .Labels "nope"}})", row), "<no value>");
  EXPECT_EQ(render("{{index .L 1}}", row), "20");
  EXPECT_EQ(render(R"({{index .M "k" 1}})", row), "6");
  EXPECT_EQ(render("{{index .S 0}}", row), "97");
  EXPECT_EQ(render("{{slice .S 1 2}} {{slice .L 1}} {{slice .L}}", row), "b [20 30] [10 20 30]");
}

TEST(CliFormatFunctions, Comparisons) {
  const std::string row = R"({"State":"running","N":3,"F":1.5,"Big":18446744073709551615})";
  EXPECT_EQ(render(R"({{if eq .State "running"}}up{{else}}down{{end}})", row), "up");
  EXPECT_EQ(render(R"({{eq .N 1 2 3}} {{eq .N 4 5}})", row), "true false");
  EXPECT_EQ(render(R"({{ne "a" "b"}} {{lt 1 2}} {{le 2 2}} {{gt .N 5}} {{ge .N 3}})", row),
            "true true true false true");
  EXPECT_EQ(render(R"({{lt "abc" "abd"}} {{lt .F 2.0}} {{gt .Big 1}})", row), "true true true");
  EXPECT_EQ(render(R"({{eq .Missing "x"}} {{eq .Missing .Other}})", row), "false true");
}

TEST(CliFormatFunctions, LogicShortCircuitsAndReturnsOperands) {
  const std::string row = R"({"A":"a","Empty":"","L":[]})";
  EXPECT_EQ(render("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 false}}", row),
            "0 2 x false");
  EXPECT_EQ(render("{{not .Empty}} {{not .A}} {{not .L}}", row), "true false true");
  // The failing index is never evaluated.
  EXPECT_EQ(render("{{or true (index .L 99)}}", row), "true");
  EXPECT_EQ(render("{{if and .Missing .Other}}yes{{else}}no{{end}}", row), "no");
}

TEST(CliFormatFunctions, Escapers) {
  EXPECT_EQ(render(R"({{html "<a href='x'>&</a>"}})"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(render(R"({{urlquery "a b&c=d/é"}})"), "a+b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(render(R"({{js "it's <b>"}})"), "it\\'s \\u003Cb\\u003E");
}

// ---------------------------------------------------------- control flow

TEST(CliFormatControl, RangeOverArraysObjectsAndIntegers) {
  const std::string row = R"({"ID":"id","Names":["a","b"],"Labels":{"z":"1","a":"2"},"Empty":[]})";
  EXPECT_EQ(render("{{range .Names}}{{.}};{{end}}", row), "a;b;");
  EXPECT_EQ(render("{{range $i, $n := .Names}}{{$i}}={{$n}} {{end}}", row), "0=a 1=b ");
  EXPECT_EQ(render("{{range $v := .Names}}<{{$v}}>{{end}}", row), "<a><b>");
  EXPECT_EQ(render("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", row), "a=2;z=1;");
  EXPECT_EQ(render("{{range .Empty}}x{{else}}none{{end}}", row), "none");
  EXPECT_EQ(render("{{range .Missing}}x{{else}}none{{end}}", row), "none");
  EXPECT_EQ(render("{{range .Names}}{{$.ID}}{{end}}", row), "idid");
  EXPECT_EQ(render("{{range 3}}{{.}}{{end}}", row), "012");
}

TEST(CliFormatControl, BreakAndContinue) {
  const std::string row = R"({"L":[1,2,3,4,5]})";
  EXPECT_EQ(
      render(
          "{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}",
          row),
      "13");
}

TEST(CliFormatControl, IfElseIfWith) {
  const std::string row = R"({"A":"","B":"b","N":0,"Cfg":{"Image":"nginx"}})";
  EXPECT_EQ(render("{{if .A}}a{{else if .B}}b{{else}}c{{end}}", row), "b");
  EXPECT_EQ(render("{{if .N}}yes{{else}}no{{end}}", row), "no");
  EXPECT_EQ(render("{{with .Cfg}}{{.Image}}{{end}}", row), "nginx");
  EXPECT_EQ(render("{{with .Missing}}x{{else with .B}}{{.}}{{end}}", row), "b");
  EXPECT_EQ(render("{{with .A}}x{{else}}empty{{end}}", row), "empty");
}

TEST(CliFormatControl, Variables) {
  const std::string row = R"({"Name":"web","Cfg":{"Image":"nginx"}})";
  EXPECT_EQ(render("{{$x := .Name}}{{$x}}", row), "web");
  EXPECT_EQ(render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", row), "2");
  EXPECT_EQ(render("{{$c := .Cfg}}{{$c.Image}}", row), "nginx");
  EXPECT_EQ(render("{{with .Cfg}}{{$.Name}}:{{.Image}}{{end}}", row), "web:nginx");
  EXPECT_EQ(render("{{$}}", R"({"a":1})"), "map[a:1]");
  EXPECT_EQ(render("{{if $v := .Name}}{{$v}}{{end}}", row), "web");
}

// ------------------------------------------------------------------ table

TEST(CliFormatTable, HeaderAndAlignedColumns) {
  const auto t = Template::parse("table {{.ID}}\t{{.Name}}");
  EXPECT_EQ(
      t.render_all(rows({R"({"ID":"abc","Name":"web"})", R"({"ID":"abcdef123456","Name":"db"})"})),
      "ID             NAME\n"
      "abc            web\n"
      "abcdef123456   db\n");
}

TEST(CliFormatTable, ShellEscapedTabsSeparateColumns) {
  const auto t = Template::parse(R"(table {{.ID}}\t{{.Name}})");
  EXPECT_EQ(t.render_all(rows({R"({"ID":"abcdef123456","Name":"web"})"})),
            "ID             NAME\n"
            "abcdef123456   web\n");
}

TEST(CliFormatTable, ColumnsAreAtLeastTenWide) {
  const auto t = Template::parse("table {{.A}}\t{{.B}}\t{{.C}}");
  EXPECT_EQ(t.render_all(rows({R"({"A":"x","B":"yy","C":"z"})"})),
            "A         B         C\n"
            "x         yy        z\n");
}

TEST(CliFormatTable, HeaderTitlesAndOverrides) {
  const auto t = Template::parse(
      "table {{.ID}}\t{{.CreatedAt}}\t{{.Config.Image}}\t{{.HTTPPort}}\t{{.IPv6Address}}");
  const std::string out = t.render_all({}, {{"ID", "CONTAINER ID"}});
  EXPECT_EQ(out, "CONTAINER ID   CREATED AT   IMAGE     HTTP PORT   IPV6 ADDRESS\n");
  EXPECT_EQ(t.render_all({}, {{"Config.Image", "IMG"}, {"CreatedAt", "CREATED"}}),
            "ID        CREATED   IMG       HTTP PORT   IPV6 ADDRESS\n");
  EXPECT_EQ(Template::parse("table {{.created_at}}").render_all({}), "CREATED AT\n");
}

TEST(CliFormatTable, HeaderKeepsTitlesThroughFormattingFunctions) {
  const auto t = Template::parse(
      R"(table {{upper .Name}}\t{{truncate .ID 3}}\t{{json .Labels}}\t{{join .Names ","}}\t{{pad .Size 1 0}})");
  const std::string out = t.render_all(
      rows({R"({"Name":"web","ID":"abcdef","Labels":{"a":"b"},"Names":["x","y"],"Size":"1kB"})"}));
  EXPECT_EQ(out,
            "NAME      ID        LABELS      NAMES      SIZE\n"
            "WEB       abc       {\"a\":\"b\"}   x,y        1kB\n");
}

TEST(CliFormatTable, HeaderErrorOnlyCutsTheHeaderShort) {
  // In the header .Names is the title string, which range cannot iterate over.
  const auto t = Template::parse(R"(table {{.Name}}\t{{range .Names}}{{.}}{{end}})");
  EXPECT_EQ(t.render_all(rows({R"({"Name":"web","Names":["a","b"]})"})),
            "NAME      \n"
            "web       ab\n");
}

TEST(CliFormatTable, EmptyRowsPrintTheHeaderOnly) {
  EXPECT_EQ(Template::parse("table {{.ID}}\t{{.Status}}").render_all({}), "ID        STATUS\n");
}

TEST(CliFormatTable, ColumnBlocksFollowTabwriterRules) {
  // Column 2 exists only in the first two lines, so only they align on it;
  // the last cell of each line is never padded.
  const auto t = Template::parse(R"(table {{.A}}\t{{.B}}{{if .C}}\t{{.C}}{{end}})");
  EXPECT_EQ(
      t.render_all(rows({R"({"A":"a","B":"b","C":"ccc"})", R"({"A":"aaaaaaaaaaaaa","B":"bb"})"})),
      "A               B         C\n"
      "a               b         ccc\n"
      "aaaaaaaaaaaaa   bb\n");
}

TEST(CliFormatTable, WideCharactersCountTwoColumns) {
  const auto t = Template::parse("table {{.A}}\t{{.B}}");
  EXPECT_EQ(t.render_all(rows({R"({"A":"日本語のなまえ","B":"x"})", R"({"A":"é","B":"y"})"})),
            "A                B\n"
            "日本語のなまえ   x\n"
            "é                y\n");
}

TEST(CliFormatTable, NonTableRenderAllIsOneLinePerRow) {
  const auto t = Template::parse("{{.A}}\t{{.B}}");
  EXPECT_EQ(t.render_all(rows({R"({"A":"x","B":"1"})", R"({"A":"yyyyyyyyyyyyyy","B":"2"})"})),
            "x\t1\nyyyyyyyyyyyyyy\t2\n");
}

TEST(CliFormatTable, RenderOfATableRowHasNoHeader) {
  EXPECT_EQ(Template::parse("table {{.A}}\t{{.B}}").render(json::parse(R"({"A":"x","B":"y"})")),
            "x\ty");
}

// ----------------------------------------------------------------- errors

TEST(CliFormatErrors, ParseErrorsAreGoLike) {
  EXPECT_EQ(error_of("{{foo .X}}"), R"(template: :1: function "foo" not defined)");
  EXPECT_EQ(error_of("{{.Foo"), "template: :1: unclosed action");
  EXPECT_EQ(error_of("{{.Foo}"), "template: :1: bad character U+007D '}'");
  EXPECT_EQ(error_of("{{.Foo }"), R"(template: :1: unexpected "}" in operand)");
  EXPECT_EQ(error_of("{{end}}"), "template: :1: unexpected {{end}}");
  EXPECT_EQ(error_of("{{else}}"), "template: :1: unexpected {{else}}");
  EXPECT_EQ(error_of("{{if .X}}x"), "template: :1: unexpected EOF");
  EXPECT_EQ(error_of("{{$x}}"), R"(template: :1: undefined variable "$x")");
  EXPECT_EQ(error_of("{{if true}}{{$y := 1}}{{end}}{{$y}}"),
            R"(template: :1: undefined variable "$y")");
  EXPECT_EQ(error_of("{{}}"), "template: :1: missing value for command");
  EXPECT_EQ(error_of("{{range}}{{end}}"), "template: :1: missing value for range");
  EXPECT_EQ(error_of(R"({{"abc}})"), "template: :1: unterminated quoted string");
  EXPECT_EQ(error_of("{{break}}"), "template: :1: {{break}} outside {{range}}");
  EXPECT_EQ(error_of("{{.X | 1}}"), "template: :1: non executable command in pipeline stage 2");
  EXPECT_EQ(error_of("{{(.X}}"), "template: :1: unclosed left paren");
  EXPECT_EQ(error_of("{{.X)}}"), "template: :1: unexpected right paren");
  EXPECT_EQ(error_of("{{.X#}}"), "template: :1: bad character U+0023 '#'");
  EXPECT_EQ(error_of("{{3x}}"), R"(template: :1: bad number syntax: "3x")");
  EXPECT_EQ(error_of("{{/* open"), "template: :1: unclosed comment");
  EXPECT_EQ(error_of("{{define \"x\"}}{{end}}"), "template: :1: {{define}} is not supported");
  EXPECT_EQ(error_of("line one\nline two\n{{foo}}"), R"(template: :3: function "foo" not defined)");
}

TEST(CliFormatErrors, ExecErrorsNameThePlaceAndTheProblem) {
  EXPECT_EQ(
      error_of("{{upper}}"),
      R"(template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0)");
  EXPECT_EQ(
      error_of("{{upper .N}}", R"({"N":1})"),
      R"(template: :1:8: executing "" at <.N>: wrong type for value; expected string; got int)");
  EXPECT_EQ(error_of("{{upper .Missing}}"),
            R"(template: :1:8: executing "" at <.Missing>: invalid value; expected string)");
  EXPECT_EQ(error_of(R"({{truncate .ID "x"}})", R"({"ID":"a"})"),
            R"(template: :1:15: executing "" at <"x">: expected integer; found "x")");
  EXPECT_EQ(
      error_of("{{truncate .ID -1}}", R"({"ID":"a"})"),
      R"(template: :1:2: executing "" at <truncate>: error calling truncate: runtime error: slice bounds out of range [:-1])");
  EXPECT_EQ(error_of("{{.A.B}}", R"({"A":"s"})"),
            R"(template: :1:4: executing "" at <.A.B>: can't evaluate field B in type string)");
  EXPECT_EQ(error_of("{{.A.B}}", R"({"A":null})"),
            R"(template: :1:4: executing "" at <.A.B>: nil pointer evaluating interface {}.B)");
  EXPECT_EQ(
      error_of("text\n{{.A.B}}", R"({"A":[1]})"),
      R"(template: :2:4: executing "" at <.A.B>: can't evaluate field B in type []interface {})");
  EXPECT_EQ(
      error_of("{{index .L 5}}", R"({"L":[1]})"),
      R"(template: :1:2: executing "" at <index>: error calling index: index out of range: 5)");
  EXPECT_EQ(error_of("{{range .S}}{{end}}", R"({"S":"abc"})"),
            R"(template: :1:8: executing "" at <.S>: range can't iterate over abc)");
  EXPECT_EQ(
      error_of(R"({{eq .N "x"}})", R"({"N":1})"),
      R"(template: :1:2: executing "" at <eq>: error calling eq: incompatible types for comparison)");
  EXPECT_EQ(error_of("{{len .N}}", R"({"N":1})"),
            R"(template: :1:2: executing "" at <len>: error calling len: len of type int)");
  EXPECT_EQ(error_of("{{.Name 1}}", R"({"Name":"x"})"),
            R"(template: :1:2: executing "" at <.Name>: Name is not a method but has arguments)");
  EXPECT_EQ(
      error_of(R"({{join .S ","}})", R"({"S":"x"})"),
      R"(template: :1:7: executing "" at <.S>: wrong type for value; expected []string; got string)");
}

// ---------------------------------------------------------------- methods

Methods label_method() {
  Method label{1, [](const json::value& row, const std::vector<std::string>& args) {
                 const auto* labels = row.as_object().if_contains("L");
                 const auto* v = labels != nullptr ? labels->as_object().if_contains(args[0]) : nullptr;
                 return v != nullptr ? *v : json::value("");
               }};
  return {{"Label", label}};
}

TEST(CliFormatMethods, CalledOnTheRowWithTheirArguments) {
  const json::value row = json::parse(R"({"Name":"web","L":{"tier":"db"}})");
  auto render_m = [&](std::string_view f) { return Template::parse(f).render(row, label_method()); };
  EXPECT_EQ(render_m(R"({{.Label "tier"}}|{{.Label "none"}})"), "db|");
  EXPECT_EQ(render_m(R"({{$.Label "tier"}} {{with .}}{{.Label "tier"}}{{end}})"), "db db");
  EXPECT_EQ(render_m(R"({{"tier" | .Label}} {{.Label (printf "ti%s" "er") | upper}})"), "db DB");
  EXPECT_EQ(render_m(R"({{if eq (.Label "tier") "db"}}yes{{end}})"), "yes");
  // `json` shows the row's members only, as Docker's MarshalJSON.
  EXPECT_EQ(Template::parse("json").render(row, label_method()),
            R"({"Name":"web","L":{"tier":"db"}})");
}

TEST(CliFormatMethods, ErrorsAsGos) {
  const json::value row = json::parse(R"({"L":{},"Items":[{"A":1}]})");
  auto error = [&](std::string_view f) {
    try {
      Template::parse(f).render(row, label_method());
    } catch (const TemplateError& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_EQ(error("{{.Label}}"),
            R"(template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0)");
  EXPECT_EQ(error(R"({{.Label "a" "b"}})"),
            R"(template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 2)");
  EXPECT_EQ(error("{{.Label 1}}"),
            R"(template: :1:9: executing "" at <1>: expected string; found 1)");
  // Only the row has the method, not the values inside it.
  EXPECT_EQ(error(R"({{range .Items}}{{.Label "a"}}{{end}})"),
            R"(template: :1:18: executing "" at <.Label>: Label is not a method but has arguments)");
}

TEST(CliFormatMethods, HeaderIsCutShortAtAMethodAsDockers) {
  const auto t = Template::parse(R"(table {{.Name}}\t{{.Label "tier"}})");
  EXPECT_EQ(t.render_all(rows({R"({"Name":"web","L":{"tier":"db"}})"}), {}, label_method()),
            "NAME      \nweb       db\n");
}

TEST(CliFormatErrors, RenderAllFailsWholeOnARowError) {
  const auto t = Template::parse("table {{.A.B}}");
  EXPECT_THROW(t.render_all(rows({R"({"A":{"B":1}})", R"({"A":"s"})"})), TemplateError);
}

TEST(CliFormatErrors, TemplateErrorIsARuntimeError) {
  try {
    Template::parse("{{nope}}");
    FAIL() << "expected a parse error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
}

}  // namespace
}  // namespace berth::cli::format
