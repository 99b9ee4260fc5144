#include "berth/core/build/dockerfile.hpp"

#include <gtest/gtest.h>

namespace build = berth::core::build;

namespace {

using Strings = std::vector<std::string>;

build::Dockerfile parse(std::string_view text) {
  auto parsed = build::parse_dockerfile(text);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
  return parsed ? std::move(parsed).value() : build::Dockerfile{};
}

std::string parse_error(std::string_view text) {
  auto parsed = build::parse_dockerfile(text);
  EXPECT_FALSE(parsed) << "parsed: " << text;
  if (parsed) return "";
  EXPECT_EQ(parsed.error().code, berth::core::Errc::invalid_argument);
  return parsed.error().message;
}

std::string expand(std::string_view word, const build::Env& env = {}, char escape = '\\') {
  auto expanded = build::expand_word(word, env, escape);
  EXPECT_TRUE(expanded) << word << ": " << (expanded ? "" : expanded.error().message);
  return expanded ? expanded.value() : "<error>";
}

std::string expand_error(std::string_view word, const build::Env& env = {}) {
  auto expanded = build::expand_word(word, env);
  EXPECT_FALSE(expanded) << word << " expanded to " << (expanded ? expanded.value() : "");
  return expanded ? "" : expanded.error().message;
}

build::IgnoreMatcher ignore(std::string_view text) {
  auto matcher = build::IgnoreMatcher::parse(text);
  EXPECT_TRUE(matcher) << (matcher ? "" : matcher.error().message);
  return matcher ? std::move(matcher).value() : build::IgnoreMatcher{};
}

using Pairs = std::vector<std::pair<std::string, std::optional<std::string>>>;

Pairs key_values(std::string_view line, const build::Env& env = {}) {
  auto file = parse(std::string("FROM scratch\n") + std::string(line));
  EXPECT_EQ(file.instructions.size(), 2u);
  if (file.instructions.size() != 2) return {};
  auto pairs = build::parse_key_values(file.instructions[1], env, file.escape);
  EXPECT_TRUE(pairs) << (pairs ? "" : pairs.error().message);
  return pairs ? pairs.value() : Pairs{};
}

TEST(DockerfileParse, KeywordsLinesOriginalAndComments) {
  auto file = parse(
      "# a comment\n"
      "\n"
      "from alpine:3.19\n"
      "   # indented comment\n"
      "Run echo hi   # not a comment\r\n"
      "CMD echo done\n");
  ASSERT_EQ(file.instructions.size(), 3u);
  EXPECT_EQ(file.instructions[0].keyword, "FROM");
  EXPECT_EQ(file.instructions[0].rest, "alpine:3.19");
  EXPECT_EQ(file.instructions[0].line, 3);
  EXPECT_EQ(file.instructions[1].keyword, "RUN");
  EXPECT_EQ(file.instructions[1].rest, "echo hi   # not a comment");
  EXPECT_EQ(file.instructions[1].original, "Run echo hi   # not a comment");
  EXPECT_EQ(file.instructions[1].line, 5);
  EXPECT_EQ(file.instructions[2].line, 6);
  EXPECT_EQ(file.escape, '\\');
  EXPECT_TRUE(file.warnings.empty());
}

TEST(DockerfileParse, ContinuationsSkipCommentLinesAndWarnOnBlankOnes) {
  auto file = parse(
      "FROM busybox\n"
      "RUN echo a \\\n"
      "# dropped comment\n"
      "  && echo b \\   \n"
      "\n"
      "  && echo c\n"
      "USER nobody\n");
  ASSERT_EQ(file.instructions.size(), 3u);
  EXPECT_EQ(file.instructions[1].rest, "echo a   && echo b   && echo c");
  EXPECT_EQ(file.instructions[1].line, 2);
  EXPECT_EQ(file.instructions[2].line, 7);
  ASSERT_EQ(file.warnings.size(), 2u);
  EXPECT_EQ(file.warnings[0],
            "Empty continuation line found in:\n    RUN echo a   && echo b   && echo c");
  EXPECT_EQ(file.warnings[1], "Empty continuation lines will become errors in a future release.");
}

TEST(DockerfileParse, EscapeDirectiveBacktickKeepsWindowsPaths) {
  auto file = parse(
      "# escape=`\n"
      "\n"
      "FROM mcr.microsoft.com/windows/servercore\n"
      "COPY testfile.txt c:\\\n"
      "RUN dir c:\\ `\n"
      "    /b\n");
  EXPECT_EQ(file.escape, '`');
  ASSERT_EQ(file.instructions.size(), 3u);
  EXPECT_EQ(file.instructions[1].rest, "testfile.txt c:\\");
  EXPECT_EQ(file.instructions[2].rest, "dir c:\\     /b");
  EXPECT_EQ(file.instructions[2].line, 5);
}

TEST(DockerfileParse, DirectivesAreCaseInsensitiveAndOnlyAtTheTop) {
  auto file = parse("#  ESCAPE = `\n# syntax=docker/dockerfile:1\nFROM x\n");
  EXPECT_EQ(file.escape, '`');
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_NE(file.warnings[0].find("docker/dockerfile:1"), std::string::npos);
  EXPECT_NE(file.warnings[0].find("ignored"), std::string::npos);

  // After a plain comment (or an instruction) a directive is just a comment.
  EXPECT_EQ(parse("# hello\n# escape=`\nFROM x\n").escape, '\\');
  EXPECT_EQ(parse("FROM x\n# escape=`\n").escape, '\\');
  EXPECT_TRUE(parse("# unknown=1\n# syntax=x\nFROM x\n").warnings.empty());
}

TEST(DockerfileParse, ExecAndShellForms) {
  auto file = parse(
      "FROM x\n"
      "CMD [\"echo\", \"a b\"]\n"
      "ENTRYPOINT [\"sh\", \"-c\"\n"
      "RUN [ \"ls\" ] extra\n"
      "SHELL [\"powershell\", \"-command\"]\n"
      "VOLUME [\"/data\", \"/logs\"]\n"
      "COPY [\"a b\", \"/dst/\"]\n"
      "CMD []\n");
  const auto& in = file.instructions;
  ASSERT_EQ(in.size(), 8u);
  EXPECT_TRUE(in[1].json);
  EXPECT_EQ(in[1].json_args, (Strings{"echo", "a b"}));
  EXPECT_FALSE(in[2].json) << "unterminated JSON is the shell form";
  EXPECT_EQ(in[2].rest, "[\"sh\", \"-c\"");
  EXPECT_FALSE(in[3].json) << "trailing text after the array";
  EXPECT_EQ(in[4].json_args, (Strings{"powershell", "-command"}));
  EXPECT_EQ(in[5].json_args, (Strings{"/data", "/logs"}));
  EXPECT_EQ(in[6].json_args, (Strings{"a b", "/dst/"}));
  EXPECT_TRUE(in[7].json);
  EXPECT_TRUE(in[7].json_args.empty());
}

TEST(DockerfileParse, HealthcheckExecFormFollowsItsType) {
  auto file = parse(
      "FROM x\n"
      "HEALTHCHECK --interval=5s --retries=3 CMD [\"curl\", \"-f\", \"http://localhost/\"]\n"
      "HEALTHCHECK cmd curl -f http://localhost/ || exit 1\n"
      "HEALTHCHECK NONE\n");
  const auto& in = file.instructions;
  ASSERT_EQ(in.size(), 4u);
  EXPECT_TRUE(in[1].json);
  EXPECT_EQ(in[1].json_args, (Strings{"curl", "-f", "http://localhost/"}));
  EXPECT_EQ(in[1].flag("interval"), "5s");
  EXPECT_EQ(in[1].flag("retries"), "3");
  EXPECT_FALSE(in[2].json);
  EXPECT_EQ(in[2].rest, "cmd curl -f http://localhost/ || exit 1");
  EXPECT_EQ(in[3].rest, "NONE");
}

TEST(DockerfileParse, FlagsStopAtTheFirstArgument) {
  auto file = parse(
      "FROM --platform=linux/amd64 golang AS build\n"
      "COPY --from=build --chown=\"1000:1000\" --link /out /app --not-a-flag\n"
      "RUN --mount=type=cache,target=/root/.cache -- --version\n"
      "ADD --chmod=644 a b\n");
  const auto& in = file.instructions;
  ASSERT_EQ(in.size(), 4u);
  EXPECT_EQ(in[0].flags,
            (std::vector<std::pair<std::string, std::string>>{{"platform", "linux/amd64"}}));
  EXPECT_EQ(in[0].rest, "golang AS build");
  using Flags = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(in[1].flags, (Flags{{"from", "build"}, {"chown", "1000:1000"}, {"link", ""}}));
  EXPECT_EQ(in[1].rest, "/out /app --not-a-flag");
  EXPECT_EQ(in[1].flag("link"), "");
  EXPECT_FALSE(in[1].flag("chmod"));
  EXPECT_EQ(in[2].flag("mount"), "type=cache,target=/root/.cache");
  EXPECT_EQ(in[2].rest, "--version");
  EXPECT_EQ(in[3].flag("chmod"), "644");
}

TEST(DockerfileParse, MultiStageWithArgBeforeFrom) {
  auto file = parse(
      "ARG BASE=alpine:3.19\n"
      "FROM ${BASE} AS Build\n"
      "RUN make\n"
      "FROM scratch\n"
      "COPY --from=build /bin/app /app\n");
  const auto& in = file.instructions;
  ASSERT_EQ(in.size(), 5u);
  EXPECT_EQ(in[0].keyword, "ARG");
  EXPECT_EQ(in[1].rest, "${BASE} AS Build");
  EXPECT_EQ(in[3].rest, "scratch");
  EXPECT_EQ(in[4].flag("from"), "build");
}

TEST(DockerfileParse, OnbuildParsesItsTrigger) {
  auto file = parse("FROM x\nONBUILD COPY --chown=1:1 [\"a\", \"/b\"]\nonbuild run make\n");
  const auto& in = file.instructions;
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[1].keyword, "ONBUILD");
  EXPECT_EQ(in[1].rest, "COPY --chown=1:1 [\"a\", \"/b\"]");
  ASSERT_EQ(in[1].onbuild.size(), 1u);
  const auto& trigger = in[1].onbuild[0];
  EXPECT_EQ(trigger.keyword, "COPY");
  EXPECT_EQ(trigger.flag("chown"), "1:1");
  EXPECT_EQ(trigger.json_args, (Strings{"a", "/b"}));
  EXPECT_EQ(trigger.original, "COPY --chown=1:1 [\"a\", \"/b\"]");
  EXPECT_EQ(trigger.line, 2);
  ASSERT_EQ(in[2].onbuild.size(), 1u);
  EXPECT_EQ(in[2].onbuild[0].keyword, "RUN");
  EXPECT_EQ(in[2].onbuild[0].rest, "make");
}

TEST(DockerfileParse, ErrorsNameTheLine) {
  EXPECT_EQ(parse_error("FROM x\n\nFOO bar\n"),
            "dockerfile parse error on line 3: unknown instruction: FOO");
  EXPECT_EQ(parse_error("from x\nrunn echo\n"),
            "dockerfile parse error on line 2: unknown instruction: RUNN");
  EXPECT_EQ(parse_error(""), "file with no instructions");
  EXPECT_EQ(parse_error("# only\n\n  # comments\n"), "file with no instructions");
  EXPECT_EQ(parse_error("FROM\n"),
            "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(parse_error("FROM a b\n"),
            "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(parse_error("FROM a IS b\n"),
            "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(parse_error("FROM a AS 1st\n"),
            "dockerfile parse error on line 1: invalid name for build stage: \"1st\", name can't "
            "start with a number or contain symbols");
  EXPECT_EQ(parse_error("FROM x\nCOPY \\\n  onlyone\n"),
            "dockerfile parse error on line 2: COPY requires at least two arguments, but only one "
            "was provided. Destination could not be determined");
  EXPECT_EQ(parse_error("FROM x\nADD [\"a\"]\n"),
            "dockerfile parse error on line 2: ADD requires at least two arguments, but only one "
            "was provided. Destination could not be determined");
  EXPECT_EQ(parse_error("FROM x\nSHELL /bin/sh -c\n"),
            "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form");
  EXPECT_EQ(parse_error("FROM x\nSHELL []\n"),
            "dockerfile parse error on line 2: SHELL requires at least one argument");
  EXPECT_EQ(parse_error("FROM x\nCMD [\"a\", 1]\n"),
            "dockerfile parse error on line 2: when using JSON array syntax, arrays must be "
            "comprised of strings only");
  EXPECT_EQ(parse_error("FROM x\nWORKDIR\n"),
            "dockerfile parse error on line 2: WORKDIR requires exactly one argument");
  EXPECT_EQ(parse_error("FROM x\nEXPOSE\n"),
            "dockerfile parse error on line 2: EXPOSE requires at least one argument");
  EXPECT_EQ(parse_error("FROM x\nVOLUME [\"\"]\n"),
            "dockerfile parse error on line 2: VOLUME specified can not be an empty string");
}

TEST(DockerfileParse, FlagAndHealthcheckAndOnbuildErrors) {
  EXPECT_EQ(parse_error("FROM x\nRUN --=x echo\n"),
            "dockerfile parse error on line 2: invalid flag: --=x");
  EXPECT_EQ(parse_error("FROM x\nCMD --help\n"),
            "dockerfile parse error on line 2: unknown flag: help");
  EXPECT_EQ(parse_error("FROM x\nHEALTHCHECK NONE now\n"),
            "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments");
  EXPECT_EQ(parse_error("FROM x\nHEALTHCHECK CMD\n"),
            "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD");
  EXPECT_EQ(parse_error("FROM x\nHEALTHCHECK ping x\n"),
            "dockerfile parse error on line 2: Unknown type \"PING\" in HEALTHCHECK (try CMD)");
  EXPECT_EQ(
      parse_error("FROM x\nONBUILD onbuild RUN x\n"),
      "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  EXPECT_EQ(parse_error("FROM x\nONBUILD from y\n"),
            "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(parse_error("FROM x\nONBUILD MAINTAINER me\n"),
            "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(parse_error("FROM x\nONBUILD\n"),
            "dockerfile parse error on line 2: ONBUILD requires at least one argument");
  EXPECT_EQ(parse_error("# escape=x\nFROM x\n"),
            "dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\");
  EXPECT_EQ(parse_error("# escape=`\n# escape=\\\nFROM x\n"),
            "dockerfile parse error on line 2: only one escape parser directive can be used");
}

TEST(DockerfileParse, KeyValueErrorsAtParseTime) {
  EXPECT_EQ(parse_error("FROM x\nENV\n"),
            "dockerfile parse error on line 2: ENV requires at least one argument");
  EXPECT_EQ(parse_error("FROM x\nENV a=1 b\n"),
            "dockerfile parse error on line 2: Syntax error - can't find = in \"b\". Must be of "
            "the form: name=value");
  EXPECT_EQ(parse_error("FROM x\nENV =1\n"),
            "dockerfile parse error on line 2: ENV names can not be blank");
  EXPECT_EQ(parse_error("FROM x\nENV onlyname\n"),
            "dockerfile parse error on line 2: ENV must have two arguments");
  EXPECT_EQ(parse_error("FROM x\nLABEL\n"),
            "dockerfile parse error on line 2: LABEL requires at least one argument");
  EXPECT_EQ(parse_error("ARG =v\nFROM x\n"),
            "dockerfile parse error on line 1: ARG names can not be blank");
}

TEST(KeyValues, EnvLabelAndArg) {
  build::Env env{{"HOME", "/root"}, {"V", "1.2"}};
  EXPECT_EQ(key_values("ENV A=1 B=\"two words\" C=${V}-x D='$HOME' E=a\\ b", env),
            (Pairs{{"A", "1"}, {"B", "two words"}, {"C", "1.2-x"}, {"D", "$HOME"}, {"E", "a b"}}));
  EXPECT_EQ(key_values("ENV PATH $HOME/bin:\"quoted\" and more", env),
            (Pairs{{"PATH", "/root/bin:quoted and more"}}));
  EXPECT_EQ(key_values("LABEL \"com.example.vendor\"=\"ACME Inc\" version=${V} empty=", env),
            (Pairs{{"com.example.vendor", "ACME Inc"}, {"version", "1.2"}, {"empty", ""}}));
  EXPECT_EQ(key_values("ARG NAME VERSION=${V:-0} EMPTY=", env),
            (Pairs{{"NAME", std::nullopt}, {"VERSION", "1.2"}, {"EMPTY", ""}}));
}

TEST(ExpandWord, Variables) {
  build::Env env{{"A", "a"}, {"EMPTY", ""}, {"PATH", "/bin"}, {"B_2", "b"}};
  EXPECT_EQ(expand("$A ${A} $A_x ${A}_x $B_2", env), "a a  a_x b");
  EXPECT_EQ(expand("$UNSET|${UNSET}|$", env), "||$");
  EXPECT_EQ(expand("${PATH}:/usr/bin $1 $$", env), "/bin:/usr/bin  ");
  EXPECT_EQ(expand("${UNSET:-def} ${EMPTY:-def} ${EMPTY-def} ${UNSET-def}", env), "def def  def");
  EXPECT_EQ(expand("${A:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${UNSET+alt}", env), "alt  alt ");
  EXPECT_EQ(expand("${UNSET:-${OTHER:-${A}x}}", env), "ax");
  EXPECT_EQ(expand("${UNSET:-\"a b\"} ${UNSET:-'$A'}", env), "a b $A");
  EXPECT_EQ(expand("${A:?must be set}", env), "a");
}

TEST(ExpandWord, QuotesAndEscapes) {
  build::Env env{{"A", "a"}};
  EXPECT_EQ(expand("'$A \"x\"'", env), "$A \"x\"");
  EXPECT_EQ(expand("\"$A '${A}' \\$A \\\" \\\\ \\n\"", env), "a 'a' $A \" \\ \\n");
  EXPECT_EQ(expand("\\$A \\' a\\ b \\", env), "$A ' a b ");
  EXPECT_EQ(expand("it''s", env), "its");
  // With the backtick escape a backslash is an ordinary character.
  EXPECT_EQ(expand("c:\\dir\\$A `$A \"`\"\"", env, '`'), "c:\\dir\\a $A \"");
}

TEST(ExpandWord, Errors) {
  build::Env env{{"EMPTY", ""}};
  EXPECT_EQ(expand_error("'open"),
            "unexpected end of statement while looking for matching single-quote");
  EXPECT_EQ(expand_error("\"open"),
            "unexpected end of statement while looking for matching double-quote");
  EXPECT_EQ(expand_error("${A"), "syntax error: missing '}'");
  EXPECT_EQ(expand_error("${A:-x"), "syntax error: missing '}'");
  EXPECT_EQ(expand_error("${}"), "syntax error: bad substitution");
  EXPECT_EQ(expand_error("${A x}"), "unsupported modifier ( ) in substitution");
  EXPECT_EQ(expand_error("${A:x}"), "unsupported modifier (:x) in substitution");
  EXPECT_EQ(expand_error("${A:?}"), "A: is not allowed to be unset");
  EXPECT_EQ(expand_error("${EMPTY:?set it}", env), "EMPTY: set it");
  EXPECT_EQ(expand_error("${EMPTY:?}", env), "EMPTY: is not allowed to be empty");
  EXPECT_EQ(expand_error("${A?gone}"), "A: gone");
}

TEST(ExpandWords, SplitsOnUnquotedBlanksAfterExpansion) {
  build::Env env{{"TWO", "x  y"}, {"EMPTY", ""}};
  auto words = build::expand_words("a  \"b c\" $TWO \"$TWO\" d\\ e '' $EMPTY f", env);
  ASSERT_TRUE(words) << words.error().message;
  EXPECT_EQ(words.value(), (Strings{"a", "b c", "x", "y", "x  y", "d e", "f"}));
  EXPECT_FALSE(build::expand_words("a 'b", env));
}

TEST(Dockerignore, PatternsCommentsAndCleaning) {
  auto matcher = ignore(
      "# comment\n"
      "\n"
      "  *.md  \n"
      "!README.md\n"
      "/abs\n"
      "dir/\n"
      "./a/../temp?\n"
      " # not a comment\n");
  EXPECT_EQ(matcher.patterns(),
            (Strings{"*.md", "!README.md", "abs", "dir", "temp?", "# not a comment"}));
  EXPECT_TRUE(matcher.excluded("CHANGES.md"));
  EXPECT_FALSE(matcher.excluded("README.md"));
  EXPECT_FALSE(matcher.excluded("docs/guide.md")) << "'*' does not cross directories";
  EXPECT_TRUE(matcher.excluded("abs"));
  EXPECT_TRUE(matcher.excluded("abs/file"));
  EXPECT_FALSE(matcher.excluded("sub/abs"));
  EXPECT_TRUE(matcher.excluded("dir"));
  EXPECT_TRUE(matcher.excluded("dir/deep/file"));
  EXPECT_TRUE(matcher.excluded("temp1"));
  EXPECT_FALSE(matcher.excluded("temp"));
  EXPECT_FALSE(matcher.excluded("temp12"));
  EXPECT_TRUE(matcher.excluded("# not a comment"));
  EXPECT_FALSE(matcher.excluded("main.go"));
}

TEST(Dockerignore, DoubleStarAndClasses) {
  auto matcher = ignore("**/*.go\nvendor/**\nbuild-[0-9]\nlog[^a]\n");
  EXPECT_TRUE(matcher.excluded("main.go"));
  EXPECT_TRUE(matcher.excluded("cmd/tool/main.go"));
  EXPECT_FALSE(matcher.excluded("main.gox"));
  EXPECT_FALSE(matcher.excluded("vendor")) << "vendor/** matches only what is below";
  EXPECT_TRUE(matcher.excluded("vendor/x/y"));
  EXPECT_TRUE(matcher.excluded("build-7"));
  EXPECT_FALSE(matcher.excluded("build-x"));
  EXPECT_TRUE(matcher.excluded("logb"));
  EXPECT_FALSE(matcher.excluded("loga"));
}

TEST(Dockerignore, ExceptionsBelowExcludedDirectories) {
  auto matcher = ignore("node_modules\n!node_modules/keep/**\nlogs/*\n!logs/*.keep\n");
  EXPECT_TRUE(matcher.excluded("node_modules"));
  EXPECT_TRUE(matcher.excluded("node_modules/lib/a.js"));
  EXPECT_FALSE(matcher.excluded("node_modules/keep/a.js"));
  EXPECT_TRUE(matcher.may_include_below("node_modules"));
  EXPECT_TRUE(matcher.may_include_below("node_modules/keep"));
  EXPECT_FALSE(matcher.may_include_below("node_modules/lib"));
  EXPECT_TRUE(matcher.excluded("logs/today.log"));
  EXPECT_FALSE(matcher.excluded("logs/.keep"));
  EXPECT_FALSE(matcher.may_include_below("src"));

  EXPECT_FALSE(ignore("*\n").may_include_below("any")) << "no exceptions at all";
  auto anywhere = ignore("*\n!**/*.txt\n");
  EXPECT_TRUE(anywhere.may_include_below("a/b"));
  EXPECT_TRUE(anywhere.excluded("a/b/c.bin"));
  EXPECT_FALSE(anywhere.excluded("a/b/c.txt"));
}

TEST(Dockerignore, Errors) {
  auto bang = build::IgnoreMatcher::parse("a\n!\n");
  ASSERT_FALSE(bang);
  EXPECT_EQ(bang.error().message, "illegal exclusion pattern: \"!\"");
  auto bracket = build::IgnoreMatcher::parse("file[.txt\n");
  ASSERT_FALSE(bracket);
  EXPECT_NE(bracket.error().message.find("syntax error in pattern"), std::string::npos);
  EXPECT_FALSE(build::IgnoreMatcher::parse("trailing\\\n"));
  EXPECT_FALSE(build::IgnoreMatcher::parse("[]a]\n"));
}

}  // namespace
