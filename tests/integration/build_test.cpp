// Dockerfile builds through a real berthd (POST /build, the classic
// builder): every instruction and the config it leaves, multi-stage builds
// with --target and COPY --from, FROM scratch, the layer cache (unchanged,
// one file changed, an ignored file changed, across a daemon restart,
// --no-cache), bad input, and the docker CLIs (20.10 with DOCKER_BUILDKIT=0
// and 28.x, which falls back to the classic builder against berthd).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "build_fixture.hpp"
#include "registry.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kEveryInstruction = R"(# syntax=docker/dockerfile:1
ARG BASE=berth-test/busybox:latest
FROM ${BASE} AS base
LABEL stage=base

FROM base
ARG GREETING=hello
ENV APP_HOME=/app \
    MODE="two words"
WORKDIR $APP_HOME
COPY files/ ./
COPY --chown=nobody:nogroup single.txt /owned/
ADD archive.tar /unpacked/
RUN echo "$GREETING from run in $MODE" > /app/run.txt
SHELL ["/bin/sh", "-c"]
RUN ["/bin/sh", "-c", "echo exec form > /app/exec.txt"]
EXPOSE 8080 53/udp
VOLUME /data
USER nobody
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s CMD true
ONBUILD RUN echo child
LABEL version="1.0" description="a test"
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/run.txt /app/exec.txt /app/a.txt /app/sub/b.txt /unpacked/packed.txt"]
)";

// Writes the context of kEveryInstruction into `dir`.
void write_every_instruction_context(const std::string& dir) {
  for (const auto& [path, content] : std::map<std::string, std::string>{{"Dockerfile", kEveryInstruction},
                                                                        {"files/a.txt", "a from context\n"},
                                                                        {"files/sub/b.txt", "b from context\n"},
                                                                        {"single.txt", "owned\n"},
                                                                        {"packed/packed.txt", "from the archive\n"}}) {
    fs::create_directories(fs::path(dir + "/" + path).parent_path());
    write_file(dir + "/" + path, content);
  }
  auto tar = run({"tar", "-C", dir + "/packed", "-cf", dir + "/archive.tar", "packed.txt"});
  EXPECT_EQ(tar.exit_code, 0) << tar.err;
  fs::remove_all(dir + "/packed");
}

constexpr const char* kEveryInstructionOutput =
    "hi from run in two words\nexec form\na from context\nb from context\nfrom the archive\n";

class Builds : public BuildFixture<> {
 protected:
  // A build through the docker 20.10 CLI with the classic builder.
  CommandResult docker_build(const std::string& client, std::vector<std::string> args) {
    args.insert(args.begin(), {client, "-H", daemon_->host(), "build"});
    return run(args, {{"DOCKER_CONFIG", work_.path()}, {"DOCKER_BUILDKIT", "0"}, {"DOCKER_HOST", ""}},
               {}, std::chrono::seconds(180));
  }
  CommandResult build(std::vector<std::string> args) { return docker_build("/usr/bin/docker", std::move(args)); }

  json::object image_config(const std::string& image) {
    auto r = daemon_->berth({"image", "inspect", "-f", "{{json .Config}}", image});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).as_object();
  }

};

TEST_F(Builds, EveryInstructionMakesTheImageItShould) {
  const std::string dir = context("every", {});
  write_every_instruction_context(dir);
  auto b = build({"-t", "berth-test/every:1", "--build-arg", "GREETING=hi", dir});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err << daemon_->log();
  EXPECT_TRUE(contains(b.out, "Step 1/22 : ARG BASE=berth-test/busybox:latest")) << b.out;
  EXPECT_TRUE(contains(b.out, "Successfully built ")) << b.out;
  EXPECT_TRUE(contains(b.out, "Successfully tagged berth-test/every:1")) << b.out;
  EXPECT_TRUE(contains(b.out, " ---> Running in ")) << b.out;

  auto out = daemon_->berth({"run", "--rm", "berth-test/every:1"});
  EXPECT_EQ(out.out, kEveryInstructionOutput) << out.err;
  // An image ENTRYPOINT cleared at run time stays cleared when it starts.
  EXPECT_EQ(daemon_->berth({"run", "--rm", "--entrypoint", "", "berth-test/every:1", "/bin/echo", "plain"}).out,
            "plain\n");
  auto owned = daemon_->berth({"run", "--rm", "--entrypoint", "stat", "berth-test/every:1", "-c", "%U %a",
                               "/owned/single.txt", "/app/a.txt"});
  EXPECT_EQ(owned.out, "nobody 644\nroot 644\n") << owned.err;

  json::object c = image_config("berth-test/every:1");
  EXPECT_EQ(c.at("WorkingDir"), "/app");
  EXPECT_EQ(c.at("User"), "nobody");
  EXPECT_EQ(c.at("StopSignal"), "SIGTERM");
  EXPECT_EQ(c.at("Entrypoint"), (json::array{"/bin/sh", "-c"}));
  EXPECT_EQ(c.at("Cmd").as_array().size(), 1u);
  EXPECT_TRUE(c.at("ExposedPorts").as_object().contains("8080/tcp"));
  EXPECT_TRUE(c.at("ExposedPorts").as_object().contains("53/udp"));
  EXPECT_TRUE(c.at("Volumes").as_object().contains("/data"));
  EXPECT_EQ(c.at("Labels").at("stage"), "base");
  EXPECT_EQ(c.at("Labels").at("version"), "1.0");
  EXPECT_EQ(c.at("Labels").at("description"), "a test");
  EXPECT_EQ(c.at("OnBuild"), (json::array{"RUN echo child"}));
  EXPECT_EQ(c.at("Healthcheck").at("Test"), (json::array{"CMD-SHELL", "true"}));
  EXPECT_EQ(c.at("Healthcheck").at("Interval"), 5000000000);
  EXPECT_EQ(c.at("Shell"), (json::array{"/bin/sh", "-c"}));
  bool app_home = false, mode = false;
  for (const auto& e : c.at("Env").as_array()) {
    app_home = app_home || e == "APP_HOME=/app";
    mode = mode || e == "MODE=two words";
  }
  EXPECT_TRUE(app_home && mode) << json::serialize(c.at("Env"));
  // History: a line per step of the final stage and its base.
  auto history = daemon_->berth({"history", "--no-trunc", "--format", "{{.CreatedBy}}", "berth-test/every:1"});
  EXPECT_TRUE(contains(history.out, "#(nop)  WORKDIR /app")) << history.out;
  EXPECT_TRUE(contains(history.out, "|1 GREETING=hi /bin/sh -c echo \"$GREETING from run in $MODE\"")) << history.out;
  EXPECT_TRUE(contains(history.out, "#(nop)  USER nobody")) << history.out;

  // ONBUILD runs in a child image's build.
  const std::string child = context("child", {{"Dockerfile", "FROM berth-test/every:1\n"}});
  auto cb = build({"-t", "berth-test/child:1", child});
  EXPECT_EQ(cb.exit_code, 0) << cb.out << cb.err;
  EXPECT_TRUE(contains(cb.out, "# Executing 1 build trigger")) << cb.out;
  EXPECT_TRUE(contains(cb.out, "child\n")) << cb.out;
}

// Docker's COPY rules: a directory's contents (not the directory) go to
// the destination; a destination ending in "/" or an existing directory
// takes the file inside; otherwise the file is renamed; wildcards; relative
// destinations under WORKDIR; files end up root-owned with their modes;
// --from takes an image as well as a stage.
TEST_F(Builds, CopyFollowsDockersDirectorySemantics) {
  const std::string dir = context("copy", {{"Dockerfile", R"(FROM berth-test/busybox:latest
RUN mkdir -p /existing
COPY tree /contents
COPY tree/ /slash
COPY one.txt /into/
COPY one.txt /renamed.txt
COPY one.txt /existing
COPY one.txt two.txt /both/
COPY *.txt /wild/
WORKDIR /work
COPY run.sh rel/
COPY --from=berth-test/busybox:latest /bin/busybox /from-image/busybox
)"},
                                           {"tree/top.txt", "top\n"},
                                           {"tree/sub/deep.txt", "deep\n"},
                                           {"one.txt", "one\n"},
                                           {"two.txt", "two\n"},
                                           {"run.sh", "#!/bin/sh\necho ran\n"}});
  fs::permissions(dir + "/run.sh", fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  ASSERT_EQ(::chown((dir + "/one.txt").c_str(), 1234, 1234), 0);
  auto b = build({"-t", "berth-test/copy:1", dir});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  auto find = daemon_->berth({"run", "--rm", "berth-test/copy:1", "sh", "-c",
                              "cd / && find contents slash into renamed.txt existing both wild work from-image "
                              "-type f | sort"});
  EXPECT_EQ(find.out,
            "both/one.txt\nboth/two.txt\ncontents/sub/deep.txt\ncontents/top.txt\nexisting/one.txt\n"
            "from-image/busybox\ninto/one.txt\nrenamed.txt\nslash/sub/deep.txt\nslash/top.txt\n"
            "wild/one.txt\nwild/two.txt\nwork/rel/run.sh\n")
      << find.err;
  auto stat = daemon_->berth({"run", "--rm", "berth-test/copy:1", "stat", "-c", "%u:%g %a %n", "/renamed.txt",
                              "/work/rel/run.sh"});
  EXPECT_EQ(stat.out, "0:0 644 /renamed.txt\n0:0 744 /work/rel/run.sh\n") << stat.err;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/copy:1", "/work/rel/run.sh"}).out, "ran\n");
}

TEST_F(Builds, MultiStageBuildsOnlyWhatTheTargetNeeds) {
  const std::string dir = context("multi", {{"Dockerfile", R"(FROM berth-test/busybox:latest AS builder
RUN echo built > /out.txt && echo the builder stage says hi
FROM berth-test/busybox:latest AS broken
RUN echo this stage must not run && exit 3
FROM scratch AS final
COPY --from=builder /out.txt /out.txt
COPY --from=builder /bin/busybox /bin/busybox
CMD ["/bin/busybox", "cat", "/out.txt"]
FROM builder AS tools
RUN echo tools > /tools.txt
)"}});
  auto b = build({"-t", "berth-test/multi:final", "--target", "final", dir});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err << daemon_->log();
  EXPECT_TRUE(contains(b.out, "\nthe builder stage says hi\n")) << b.out;
  EXPECT_FALSE(contains(b.out, "this stage must not run")) << b.out;
  EXPECT_FALSE(contains(b.out, "tools")) << b.out;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/multi:final"}).out, "built\n");
  // Only two layers: the scratch image holds just what was copied.
  auto layers = daemon_->berth({"image", "inspect", "-f", "{{len .RootFS.Layers}}", "berth-test/multi:final"});
  EXPECT_EQ(layers.out, "2\n");
  auto missing = build({"--target", "nosuch", dir});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "failed to reach build target nosuch in Dockerfile")) << missing.err;
}

TEST_F(Builds, CacheReusesUnchangedStepsAcrossRestarts) {
  const std::string dir = context("cache", {{"Dockerfile", R"(FROM berth-test/busybox:latest
RUN echo first > /first
COPY one.txt /one.txt
RUN cat /one.txt > /copied
COPY two.txt /two.txt
)"},
                                             {"one.txt", "one\n"},
                                             {"two.txt", "two\n"},
                                             {"ignored.log", "noise\n"},
                                             {".dockerignore", "*.log\n"}});
  auto first = build({"-t", "berth-test/cache:1", dir});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(count(first.out, "Using cache"), 0u) << first.out;
  auto again = build({"-t", "berth-test/cache:1", dir});
  EXPECT_EQ(count(again.out, "Using cache"), 4u) << again.out;

  // Changing an ignored file, or a file's time only: fully cached.
  write_file(dir + "/ignored.log", "other noise\n");
  fs::last_write_time(dir + "/one.txt", fs::file_time_type::clock::now() + std::chrono::hours(1));
  auto ignored = build({"-t", "berth-test/cache:1", dir});
  EXPECT_EQ(count(ignored.out, "Using cache"), 4u) << ignored.out;

  // Changing the first copied file: the RUN before it stays cached, it and
  // everything after run again.
  write_file(dir + "/one.txt", "one, changed\n");
  auto changed = build({"-t", "berth-test/cache:2", dir});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(count(changed.out, "Using cache"), 1u) << changed.out;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/cache:2", "cat", "/copied"}).out, "one, changed\n");

  // The cache is in the store: a restarted daemon still has it.
  ASSERT_EQ(daemon_->stop(SIGTERM), 0) << daemon_->log();
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  auto restarted = build({"-t", "berth-test/cache:2", dir});
  EXPECT_EQ(count(restarted.out, "Using cache"), 4u) << restarted.out << restarted.err;
  auto nocache = build({"--no-cache", "-t", "berth-test/cache:3", dir});
  EXPECT_EQ(nocache.exit_code, 0) << nocache.err;
  EXPECT_EQ(count(nocache.out, "Using cache"), 0u) << nocache.out;

  // builder prune forgets it.
  auto prune = daemon_->api("POST", "/build/prune");
  EXPECT_EQ(prune.status, 200) << prune.body;
  auto after = build({"-t", "berth-test/cache:4", dir});
  EXPECT_EQ(count(after.out, "Using cache"), 0u) << after.out;
}

TEST_F(Builds, ImagePruneDropsTheCacheOfReplacedBuilds) {
  const std::string dir = context("prune", {{"Dockerfile", R"(FROM berth-test/busybox:latest
COPY f.txt /f
RUN cat /f > /g
)"},
                                             {"f.txt", "one\n"}});
  ASSERT_EQ(build({"-t", "berth-test/prune:1", dir}).exit_code, 0);
  write_file(dir + "/f.txt", "two\n");
  ASSERT_EQ(build({"-t", "berth-test/prune:1", dir}).exit_code, 0);
  // The first build's image lost its tag: prune removes it and the steps
  // under it that nothing else is built on.
  auto prune = daemon_->berth({"image", "prune", "-f"});
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(count(prune.out, "deleted: sha256:"), 2u) << prune.out;
  auto tagged = build({"-t", "berth-test/prune:1", dir});
  EXPECT_EQ(count(tagged.out, "Using cache"), 2u) << tagged.out;
  write_file(dir + "/f.txt", "one\n");
  auto pruned = build({"-t", "berth-test/prune:2", dir});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_EQ(count(pruned.out, "Using cache"), 0u) << pruned.out;
}

TEST_F(Builds, CacheFromUsesTheStepsOfAnImageBuiltElsewhere) {
  const std::string dir = context("cachefrom", {{"Dockerfile", R"(FROM berth-test/busybox:latest
RUN echo one > /one
ENV STAGE=copy
COPY f.txt /f.txt
RUN cat /f.txt > /g
)"},
                                                 {"f.txt", "f\n"}});
  auto first = build({"-t", "berth-test/cachefrom:1", dir});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string id = daemon_->berth({"image", "inspect", "-f", "{{.Id}}", "berth-test/cachefrom:1"}).out;
  // As on another machine: the image arrives by load, with no build cache
  // and no intermediate images.
  ASSERT_EQ(daemon_->berth({"save", "-o", work_ / "cachefrom.tar", "berth-test/cachefrom:1"}).exit_code, 0);
  ASSERT_EQ(daemon_->berth({"rmi", "berth-test/cachefrom:1"}).exit_code, 0);
  ASSERT_EQ(daemon_->api("POST", "/build/prune").status, 200);
  auto load = daemon_->berth({"load", "-i", work_ / "cachefrom.tar"});
  ASSERT_EQ(load.exit_code, 0) << load.err;

  auto from = build({"--cache-from", "berth-test/cachefrom:1", "-t", "berth-test/cachefrom:2", dir});
  ASSERT_EQ(from.exit_code, 0) << from.out << from.err;
  EXPECT_EQ(count(from.out, "Using cache"), 4u) << from.out;
  EXPECT_EQ(daemon_->berth({"image", "inspect", "-f", "{{.Id}}", "berth-test/cachefrom:2"}).out, id);

  // A changed file: the steps before it still come from the source image.
  write_file(dir + "/f.txt", "changed\n");
  ASSERT_EQ(daemon_->api("POST", "/build/prune").status, 200);
  auto changed = build({"--cache-from", "berth-test/cachefrom:1", "-t", "berth-test/cachefrom:3", dir});
  ASSERT_EQ(changed.exit_code, 0) << changed.out << changed.err;
  EXPECT_EQ(count(changed.out, "Using cache"), 2u) << changed.out;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/cachefrom:3", "cat", "/one", "/g"}).out, "one\nchanged\n");

  // A source that is not here is a warning, not an error.
  auto missing = build({"--cache-from", "berth-test/nosuch:1", dir});
  EXPECT_EQ(missing.exit_code, 0) << missing.out << missing.err;
}

TEST_F(Builds, BaseImagesArePulledAndPullForcesIt) {
  LocalRegistry registry;
  const std::string base = registry.host() + "/berth-test/busybox:base";
  ASSERT_EQ(daemon_->berth({"tag", "berth-test/busybox:latest", base}).exit_code, 0);
  auto push = daemon_->berth({"push", base});
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  ASSERT_EQ(daemon_->berth({"rmi", base}).exit_code, 0);
  const std::string dir = context("pull", {{"Dockerfile", "FROM " + base + "\nRUN echo pulled > /p\n"}});
  // Missing here: pulled, with the pull's progress in the build's output.
  auto missing = build({"-t", "berth-test/pulled:1", dir});
  ASSERT_EQ(missing.exit_code, 0) << missing.out << missing.err;
  EXPECT_TRUE(contains(missing.out, "Pulling from " + registry.host() + "/berth-test/busybox")) << missing.out;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/pulled:1", "cat", "/p"}).out, "pulled\n");
  // Present: used as it is, unless --pull asks for the registry's.
  auto present = build({"-t", "berth-test/pulled:1", dir});
  EXPECT_FALSE(contains(present.out, "Pulling from")) << present.out;
  auto pull = build({"--pull", "-t", "berth-test/pulled:1", dir});
  EXPECT_EQ(pull.exit_code, 0) << pull.out << pull.err;
  EXPECT_TRUE(contains(pull.out, "Pulling from " + registry.host() + "/berth-test/busybox")) << pull.out;
  EXPECT_TRUE(contains(pull.out, "Using cache")) << "the same base: the step is still cached\n" << pull.out;
}

TEST_F(Builds, RunStepsUseTheNetworkModeAsked) {
  const std::string dir = context("netmode", {{"Dockerfile", R"(FROM berth-test/busybox:latest
RUN cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | grep -v '^berth-test' | sort > /interfaces
)"}});
  auto none = build({"--network", "none", "-t", "berth-test/net:none", dir});
  ASSERT_EQ(none.exit_code, 0) << none.out << none.err;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/net:none", "cat", "/interfaces"}).out, "lo\n");
  auto host = build({"--network", "host", "--no-cache", "-t", "berth-test/net:host", dir});
  ASSERT_EQ(host.exit_code, 0) << host.out << host.err;
  // Interfaces other tests make (berth-test-*) come and go meanwhile.
  auto seen = run({"sh", "-c", "cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | grep -v '^berth-test' | sort"});
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/net:host", "cat", "/interfaces"}).out, seen.out);
}

TEST_F(Builds, GzipContextsAndKeptContainersThroughTheApi) {
  const std::string dir = context("gzip", {{"Dockerfile", "FROM berth-test/busybox:latest\nRUN echo gz > /gz\n"}});
  auto tar = run({"tar", "-C", dir, "-czf", work_ / "ctx.tar.gz", "Dockerfile"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  // rm=0 keeps the step's container, as Docker does.
  auto a = daemon_->api("POST", "/build?t=berth-test%2Fgzip%3A1&rm=0", read_file(work_ / "ctx.tar.gz"),
                        "application/x-tar");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(contains(a.body, "\"aux\":{\"ID\":\"sha256:")) << a.body;
  EXPECT_FALSE(contains(a.body, "\"error\"")) << a.body;
  EXPECT_EQ(daemon_->berth({"run", "--rm", "berth-test/gzip:1", "cat", "/gz"}).out, "gz\n");
  EXPECT_EQ(count(daemon_->berth({"ps", "-aq"}).out, "\n"), 1u);
}

TEST_F(Builds, BadInputIsAClearErrorAndLeavesNoContainer) {
  struct Case {
    std::string dockerfile, expected;
    std::map<std::string, std::string> extra = {};
  };
  const std::string images_before = daemon_->berth({"images", "-aq", "--no-trunc"}).out;
  const std::vector<Case> cases = {
      {"FROM berth-test/busybox:latest\nFOO bar\n", "unknown instruction: FOO"},
      {"FROM berth-test/busybox:latest\nCOPY missing.txt /x\n", "missing.txt"},
      {"FROM berth-test/busybox:latest\nRUN echo failing && exit 7\n",
       "The command '/bin/sh -c echo failing && exit 7' returned a non-zero code: 7"},
      {"FROM berth-test/busybox:latest\nCOPY ../outside /x\n", "outside the build context"},
      {"FROM berth-test/busybox:latest\nCOPY a.txt b.txt /not-a-dir\n", "must be a directory and end with a /",
       {{"a.txt", "a"}, {"b.txt", "b"}}},
      {"RUN true\n", "no build stage in current context"},
      {"FROM 127.0.0.1:1/berth-test/none:latest\n", "127.0.0.1:1"},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::map<std::string, std::string> files = c.extra;
    files["Dockerfile"] = c.dockerfile;
    const std::string dir = context("bad" + std::to_string(i++), files);
    auto b = build({dir});
    EXPECT_NE(b.exit_code, 0) << c.dockerfile;
    // The docker CLI exits with a failed RUN's code (errorDetail.code).
    if (contains(c.dockerfile, "exit 7")) {
      EXPECT_EQ(b.exit_code, 7) << b.out << b.err;
    }
    EXPECT_TRUE(contains(b.err + b.out, c.expected)) << c.dockerfile << "\n" << b.out << b.err;
  }
  EXPECT_EQ(daemon_->berth({"ps", "-aq"}).out, "");
  EXPECT_EQ(daemon_->berth({"images", "-aq", "--no-trunc"}).out, images_before) << "a failed build left an image";
  // A hostile context tar: an entry climbing out is refused, nothing lands outside.
  TempDir outside("build-outside");
  const std::string evil = work_ / "evil";
  fs::create_directories(evil);
  write_file(evil + "/Dockerfile", "FROM berth-test/busybox:latest\n");
  auto tar = run({"tar", "-C", evil, "-cf", work_ / "evil.tar", "--transform",
                  "s|Dockerfile|../../../../.." + outside.path() + "/escaped|", "Dockerfile"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto a = daemon_->api("POST", "/build", read_file(work_ / "evil.tar"), "application/x-tar");
  EXPECT_TRUE(contains(a.body, "error")) << a.body;
  EXPECT_TRUE(fs::is_empty(outside.path()));
  // Another platform cannot be built here.
  auto platform = daemon_->api("POST", "/build?platform=windows%2Farm64", read_file(work_ / "evil.tar"),
                               "application/x-tar");
  EXPECT_EQ(platform.status, 400) << platform.body;
  EXPECT_TRUE(contains(platform.body, "platform windows/arm64 is not supported")) << platform.body;
}

TEST_F(Builds, AKilledBuildLeavesNoContextAfterARestart) {
  const std::string dir = context("killed", {{"Dockerfile", "FROM berth-test/busybox:latest\nCOPY big /big\n"
                                                            "RUN touch /started && sleep 60\n"},
                                             {"big", std::string(100000, 'x')}});
  std::thread client([&] { (void)build({dir}); });
  // Killed while the RUN step runs.
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    running = !daemon_->berth({"ps", "-q"}).out.empty();
  }
  EXPECT_TRUE(running) << "the RUN step never started";
  EXPECT_FALSE(fs::is_empty(daemon_->data_root() + "/build"));
  daemon_->stop(SIGKILL);
  client.join();
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  EXPECT_TRUE(fs::is_empty(daemon_->data_root() + "/build")) << "the unpacked context stays behind";
}

TEST_F(Builds, OversizedContextIsRefused) {
  // A daemon that takes contexts up to 64 KiB.
  TempDir root("build-small");
  write_file(root / "daemon.json", R"({"max-build-context-size": 65536})");
  Daemon small(Daemon::Options{.args = {"--storage-driver", "vfs"}, .root = root.path()});
  ASSERT_TRUE(small.started()) << small.log();
  const std::string dir = context("big", {{"Dockerfile", "FROM scratch\nCOPY big /big\n"}});
  write_file(dir + "/big", std::string(200000, 'x'));
  auto b = run({"/usr/bin/docker", "-H", small.host(), "build", dir},
               {{"DOCKER_CONFIG", work_.path()}, {"DOCKER_BUILDKIT", "0"}, {"DOCKER_HOST", ""}});
  EXPECT_NE(b.exit_code, 0);
  EXPECT_TRUE(contains(b.err, "build context is too large: more than 65536 bytes")) << b.out << b.err;
  EXPECT_EQ(small.berth({"images", "-aq"}).out, "");
  EXPECT_TRUE(fs::is_empty(small.data_root() + "/build")) << "the unpacked context stays behind";
}

// A static HTTP server on the loopback for ADD <url>, stopped by PID.
class HttpServer {
 public:
  explicit HttpServer(const std::string& dir) {
    for (int attempt = 0; attempt < 20 && pid_ <= 0; ++attempt) {
      port_ = 20000 + static_cast<int>(::getpid() % 20000) + attempt * 7;
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::execlp("python3", "python3", "-m", "http.server", std::to_string(port_).c_str(), "--bind", "127.0.0.1",
                 "--directory", dir.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
      }
      // Up once it answers.
      for (int i = 0; i < 50; ++i) {
        if (run({"curl", "-sf", "-o", "/dev/null", url("/")}).exit_code == 0) {
          pid_ = pid;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ <= 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }
  ~HttpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return pid_ > 0; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST_F(Builds, AddFetchesUrlsWithoutExtractingThem) {
  TempDir served("build-http");
  write_file(served / "remote.txt", "fetched over http\n");
  HttpServer server(served.path());
  ASSERT_TRUE(server.up());
  const std::string dir = context("remote", {{"Dockerfile", "FROM berth-test/busybox:latest\nADD " +
                                                                 server.url("/remote.txt") + " /fetched/\n"
                                                                 "ADD " + server.url("/remote.txt") + " /renamed.txt\n"}});
  auto b = build({"-t", "berth-test/remote:1", dir});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  auto out = daemon_->berth({"run", "--rm", "berth-test/remote:1", "sh", "-c",
                             "cat /fetched/remote.txt /renamed.txt; stat -c %a /renamed.txt"});
  EXPECT_EQ(out.out, "fetched over http\nfetched over http\n600\n") << out.err;
  const std::string missing = context("remote404", {{"Dockerfile", "FROM berth-test/busybox:latest\nADD " +
                                                                       server.url("/nothing") + " /x\n"}});
  auto bad = build({missing});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "with status 404")) << bad.err;
}

class DockerBuilds : public BuildFixture<::testing::TestWithParam<std::string>> {};

// Both CLIs build the Dockerfile with every instruction and a multi-stage
// one with --target: the 20.10 CLI with DOCKER_BUILDKIT=0, the 28.x CLI both
// so and as it is (without buildx it falls back to the classic builder).
TEST_P(DockerBuilds, BothDockerClientsBuildAgainstBerthd) {
  if (!fs::exists(GetParam())) GTEST_SKIP() << GetParam() << " is not installed";
  const std::string every = context("every", {});
  write_every_instruction_context(every);
  const std::string multi = context("multi", {{"Dockerfile", R"(FROM berth-test/busybox:latest AS builder
COPY hello.txt /
RUN cat /hello.txt > /copy
FROM berth-test/busybox:latest AS unused
RUN exit 3
FROM scratch AS final
COPY --from=builder /copy /copy
COPY --from=builder /bin/busybox /bin/busybox
CMD ["/bin/busybox", "cat", "/copy"]
)"},
                                             {"hello.txt", "hello build\n"}});
  std::vector<std::map<std::string, std::string>> envs = {{{"DOCKER_BUILDKIT", "0"}}};
  if (GetParam() == "/usr/local/bin/docker") envs.push_back({});
  int n = 0;
  for (auto env : envs) {
    env["DOCKER_CONFIG"] = work_.path();
    env["DOCKER_HOST"] = "";
    const std::string tag = "berth-test/docker-build:" + std::to_string(n++);
    auto b = run({GetParam(), "-H", daemon_->host(), "build", "--build-arg", "GREETING=hi", "-t", tag + "-every",
                  every},
                 env, {}, std::chrono::seconds(180));
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err << daemon_->log();
    EXPECT_TRUE(contains(b.out, "Successfully tagged " + tag + "-every")) << b.out;
    EXPECT_EQ(daemon_->berth({"run", "--rm", tag + "-every"}).out, kEveryInstructionOutput);
    auto m = run({GetParam(), "-H", daemon_->host(), "build", "--target", "final", "-t", tag + "-multi", multi}, env,
                 {}, std::chrono::seconds(180));
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err << daemon_->log();
    EXPECT_EQ(daemon_->berth({"run", "--rm", tag + "-multi"}).out, "hello build\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerBuilds, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
