// `berth build`, the project's own CLI, end to end against a real berthd:
// -t (twice), -f to a Dockerfile in a subdirectory, --build-arg, --label and
// --iidfile; the per-step cache and --no-cache; -q; a Dockerfile or a whole
// context tar on stdin; --target on a multi-stage file and the history it
// leaves; errors (a failing RUN, an unknown flag, a missing context); and
// `berth builder prune -f` forgetting the cache.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "build_fixture.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsingCache = " ---> Using cache";

class BerthBuilds : public BuildFixture<> {
 protected:
  // `berth build args...`, with `input` on stdin.
  CommandResult build(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), "build");
    return daemon_->berth(std::move(args), input);
  }

  // `berth build args...` run from the directory `cwd`, as a user typing
  // relative paths there would.
  CommandResult build_in(const std::string& cwd, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"sh", "-c", "cd \"$0\" && exec \"$@\"", cwd, berth_path(),
                                  "-H", daemon_->host(), "build"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}, {"BERTH_CONFIG", daemon_->cli_config()}});
  }

  // `berth image inspect -f <format> <image>`, asserting it works.
  std::string inspect(const std::string& image, const std::string& format) {
    auto r = daemon_->berth({"image", "inspect", "-f", format, image});
    EXPECT_EQ(r.exit_code, 0) << image << ": " << r.err;
    return r.out;
  }
  std::string image_id(const std::string& image) {
    std::string id = inspect(image, "{{.Id}}");
    if (id.ends_with('\n')) id.pop_back();
    return id;
  }

  // What `berth run --rm image args...` prints.
  std::string run_image(const std::string& image, const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv{"run", "--rm", image};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = daemon_->berth(argv);
    EXPECT_EQ(r.exit_code, 0) << image << ": " << r.out << r.err;
    return r.out;
  }
};

TEST_F(BerthBuilds, TagsFileBuildArgLabelAndIidfileReachTheImage) {
  const std::string dir = context(
      "flags", {{"Dockerfile", "FROM berth-test/busybox:latest\nRUN echo the default Dockerfile ran && exit 9\n"},
                {"sub/Other.Dockerfile",
                 "FROM berth-test/busybox:latest\nARG X\nRUN echo \"$X\" > /x\nCMD [\"cat\", \"/x\"]\n"}});
  const std::string iidfile = work_ / "iid";
  auto b = build_in(dir, {"-t", "berth-test/flags:a", "-t", "berth-test/flags:b", "-f", "sub/Other.Dockerfile",
                          "--build-arg", "X=from the build arg", "--label", "k=v", "--iidfile", iidfile, "."});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err << daemon_->log();
  EXPECT_TRUE(contains(b.out, "Sending build context to Docker daemon  ")) << b.out;
  EXPECT_TRUE(contains(b.out, "Step 1/4 : FROM berth-test/busybox:latest")) << b.out;
  EXPECT_FALSE(contains(b.out, "the default Dockerfile ran")) << b.out;
  EXPECT_TRUE(contains(b.out, "Successfully tagged berth-test/flags:a\n")) << b.out;
  EXPECT_TRUE(contains(b.out, "Successfully tagged berth-test/flags:b\n")) << b.out;

  const std::string id = image_id("berth-test/flags:a");
  ASSERT_TRUE(id.starts_with("sha256:")) << id;
  EXPECT_EQ(image_id("berth-test/flags:b"), id);
  EXPECT_TRUE(contains(b.out, "Successfully built " + id.substr(7, 12) + "\n")) << b.out;
  EXPECT_EQ(read_file(iidfile), id);
  EXPECT_EQ(inspect(id, "{{index .Config.Labels \"k\"}}"), "v\n");
  EXPECT_EQ(run_image("berth-test/flags:b"), "from the build arg\n");
}

TEST_F(BerthBuilds, SecondBuildUsesTheCacheForEveryStepUnlessNoCache) {
  const std::string dir = context("cache", {{"Dockerfile", R"(FROM berth-test/busybox:latest
RUN echo one > /one
COPY f.txt /f.txt
ENV A=b
RUN cat /f.txt /one > /both
)"},
                                             {"f.txt", "f\n"}});
  constexpr std::size_t kNonFromSteps = 4;
  auto first = build({"-t", "berth-test/cache:1", dir});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << daemon_->log();
  EXPECT_EQ(count(first.out, kUsingCache), 0u) << first.out;
  EXPECT_EQ(count(first.out, "\nStep "), kNonFromSteps + 1) << first.out;
  const std::string id = image_id("berth-test/cache:1");

  auto again = build({"-t", "berth-test/cache:1", dir});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(count(again.out, kUsingCache), kNonFromSteps) << again.out;
  EXPECT_FALSE(contains(again.out, " ---> Running in ")) << again.out;
  EXPECT_EQ(image_id("berth-test/cache:1"), id);

  auto nocache = build({"--no-cache", "-t", "berth-test/cache:2", dir});
  ASSERT_EQ(nocache.exit_code, 0) << nocache.out << nocache.err;
  EXPECT_EQ(count(nocache.out, kUsingCache), 0u) << nocache.out;
  EXPECT_EQ(run_image("berth-test/cache:2", {"cat", "/both"}), "f\none\n");
}

TEST_F(BerthBuilds, QuietPrintsOnlyTheImageId) {
  const std::string dir = context("quiet", {{"Dockerfile", "FROM berth-test/busybox:latest\nRUN echo noisy\n"}});
  auto b = build({"-q", "-t", "berth-test/quiet:1", dir});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err << daemon_->log();
  EXPECT_TRUE(std::regex_match(b.out, std::regex("sha256:[0-9a-f]{64}\n"))) << b.out;
  EXPECT_EQ(b.out, image_id("berth-test/quiet:1") + "\n");
  EXPECT_FALSE(contains(b.out + b.err, "Step")) << b.out << b.err;
  EXPECT_FALSE(contains(b.out + b.err, "noisy")) << b.out << b.err;
}

TEST_F(BerthBuilds, DockerfileOrContextTarFromStdin) {
  const std::string dir = context("stdin", {{"data.txt", "from the context\n"}});
  // -f -: the Dockerfile from stdin, the rest from the directory. The CLI
  // adds it under a random name and lists it, and .dockerignore, in the
  // tar's .dockerignore; Docker's daemon then drops both from the context
  // (remotecontext.removeDockerfile), so COPY . sees neither.
  auto df = build({"-t", "berth-test/stdin:dockerfile", "-f", "-", dir},
                  "FROM berth-test/busybox:latest\nCOPY . /ctx/\nCMD [\"cat\", \"/ctx/data.txt\"]\n");
  ASSERT_EQ(df.exit_code, 0) << df.out << df.err << daemon_->log();
  EXPECT_EQ(run_image("berth-test/stdin:dockerfile"), "from the context\n");
  EXPECT_EQ(run_image("berth-test/stdin:dockerfile", {"ls", "-A", "/ctx"}), "data.txt\n");

  // -: the whole context as a tar.
  write_file(dir + "/Dockerfile", "FROM berth-test/busybox:latest\nCOPY data.txt /\nCMD [\"cat\", \"/data.txt\"]\n");
  const std::string tar_path = work_ / "context.tar";
  auto tar = run({"tar", "-C", dir, "-cf", tar_path, "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto tb = build({"-t", "berth-test/stdin:tar", "-"}, read_file(tar_path));
  ASSERT_EQ(tb.exit_code, 0) << tb.out << tb.err << daemon_->log();
  EXPECT_EQ(run_image("berth-test/stdin:tar"), "from the context\n");

  // Both at once is refused.
  auto both = build({"-f", "-", "-"}, "FROM berth-test/busybox:latest\n");
  EXPECT_NE(both.exit_code, 0);
  EXPECT_TRUE(contains(both.err, "can't use stdin for both build context and dockerfile")) << both.err;
}

TEST_F(BerthBuilds, TargetBuildsOnlyWhatItNeedsAndHistoryShowsTheSteps) {
  const std::string dir = context("target", {{"Dockerfile", R"(FROM berth-test/busybox:latest AS base
RUN echo base > /base.txt
FROM berth-test/busybox:latest AS broken
RUN echo this stage must not run && exit 3
FROM base AS final
RUN cat /base.txt > /final.txt
CMD ["cat", "/final.txt"]
FROM final AS after
RUN echo nor must this one && exit 4
)"}});
  auto b = build({"-t", "berth-test/target:final", "--target", "final", dir});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err << daemon_->log();
  EXPECT_FALSE(contains(b.out, "must not run")) << b.out;
  EXPECT_FALSE(contains(b.out, "nor must this one")) << b.out;
  EXPECT_EQ(run_image("berth-test/target:final"), "base\n");

  auto history = daemon_->berth({"image", "history", "--no-trunc", "--format", "{{.CreatedBy}}", "berth-test/target:final"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  // Docker writes fmt.Sprintf("CMD %q", cmd): Go's quoted slice, no commas.
  EXPECT_TRUE(contains(history.out, "#(nop)  CMD [\"cat\" \"/final.txt\"]")) << history.out;
  EXPECT_TRUE(contains(history.out, "/bin/sh -c cat /base.txt > /final.txt")) << history.out;
  EXPECT_TRUE(contains(history.out, "/bin/sh -c echo base > /base.txt")) << history.out;
  EXPECT_FALSE(contains(history.out, "exit 3")) << history.out;
}

TEST_F(BerthBuilds, FailuresAreClearErrors) {
  const std::string failing = context("failing", {{"Dockerfile", "FROM berth-test/busybox:latest\nRUN exit 7\n"}});
  auto run7 = build({"-t", "berth-test/failing:1", failing});
  // Docker's daemon sends errorDetail.code = the RUN's exit code, and the
  // CLI exits with it.
  EXPECT_EQ(run7.exit_code, 7) << run7.out << run7.err;
  EXPECT_TRUE(contains(run7.out + run7.err, "returned a non-zero code: 7")) << run7.out << run7.err;
  EXPECT_EQ(daemon_->berth({"ps", "-aq"}).out, "");
  EXPECT_NE(daemon_->berth({"image", "inspect", "berth-test/failing:1"}).exit_code, 0);

  auto flag = build({"--no-such-flag", failing});
  EXPECT_EQ(flag.exit_code, 125) << flag.out << flag.err;
  EXPECT_TRUE(contains(flag.err, "--no-such-flag")) << flag.err;

  const std::string missing = work_ / "no-such-dir";
  auto nodir = build({missing});
  EXPECT_NE(nodir.exit_code, 0);
  EXPECT_TRUE(contains(nodir.err, "unable to prepare context: path \"" + missing + "\" not found")) << nodir.err;
}

TEST_F(BerthBuilds, BuilderPruneForgetsTheCache) {
  const std::string dir =
      context("prune", {{"Dockerfile", "FROM berth-test/busybox:latest\nRUN echo cached > /c\nENV K=v\n"}});
  auto first = build({"-t", "berth-test/prune:1", dir});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << daemon_->log();
  auto cached = build({"-t", "berth-test/prune:1", dir});
  ASSERT_EQ(count(cached.out, kUsingCache), 2u) << cached.out;

  auto prune = daemon_->berth({"builder", "prune", "-f"});
  ASSERT_EQ(prune.exit_code, 0) << prune.out << prune.err;
  EXPECT_TRUE(contains(prune.out, "Total reclaimed space: ")) << prune.out;

  auto after = build({"-t", "berth-test/prune:2", dir});
  ASSERT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_EQ(count(after.out, kUsingCache), 0u) << after.out;
}

}  // namespace
}  // namespace berth::testing
