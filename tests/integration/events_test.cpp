// GET /events through a real berthd: the docker CLIs (20.10 and 28.x, which
// decode our JSON) read a container's lifecycle and image events between
// --since and --until, with filters and their own default output; berth
// events follows the live stream; bad parameters get Docker's errors.
#include "container_fixture.hpp"
#include "registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <sstream>

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Now as the API's Unix timestamps: "seconds.nanoseconds".
std::string unix_now() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(ns / 1'000'000'000),
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

constexpr const char* kSummary =
    "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}} {{.Actor.Attributes.team}}";

using DockerEvents = DockerContainerTest;

TEST_P(DockerEvents, ContainerLifecycleInOrderWithAttributes) {
  std::string t0 = unix_now();
  auto run = docker({"run", "--name", "berth-test-ev", "--label", "team=blue", kImage, "sh", "-c", "exit 3"});
  ASSERT_EQ(run.exit_code, 3) << run.err << daemon_->log();
  auto rm = docker({"rm", "berth-test-ev"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  std::string t1 = unix_now();

  auto summary = docker({"events", "--since", t0, "--until", t1, "--format", kSummary});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  std::string tail = std::string(" berth-test-ev ") + kImage + " blue";
  EXPECT_THAT(lines(summary.out),
              ElementsAre("container create" + tail, "container attach" + tail, "container start" + tail,
                          "container die" + tail, "container destroy" + tail))
      << daemon_->log();

  // The client's own rendering of our JSON: local time with nanoseconds,
  // type, action, ID and the sorted attributes.
  auto plain = docker({"events", "--since", t0, "--until", t1, "--filter", "event=die"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  static const std::regex die(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die [0-9a-f]{64} )"
      R"(\(exitCode=3, image=berth-test/busybox:latest, name=berth-test-ev, team=blue\)\n$)");
  EXPECT_TRUE(std::regex_match(plain.out, die)) << plain.out;

  // The legacy fields and the JSON format.
  auto json = docker({"events", "--since", t0, "--until", t1, "--filter", "event=start", "--format",
                      "{{.Status}} {{.From}} {{.Scope}} {{.Actor.ID}} {{.ID}}"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto fields = lines(json.out);
  ASSERT_EQ(fields.size(), 1u) << json.out;
  std::istringstream in(fields[0]);
  std::string status, from, scope, actor, id;
  in >> status >> from >> scope >> actor >> id;
  EXPECT_EQ(status, "start");
  EXPECT_EQ(from, kImage);
  EXPECT_EQ(scope, "local");
  EXPECT_EQ(actor.size(), 64u);
  EXPECT_EQ(id, actor);
}

TEST_P(DockerEvents, FiltersByEventTypeContainerAndLabel) {
  std::string t0 = unix_now();
  ASSERT_EQ(docker({"run", "--rm", "--name", "berth-test-blue", "--label", "team=blue", kImage, "true"}).exit_code, 0);
  ASSERT_EQ(docker({"run", "--rm", "--name", "berth-test-red", "--label", "team=red", kImage, "true"}).exit_code, 0);
  ASSERT_EQ(docker({"tag", kImage, "berth-test/other:v1"}).exit_code, 0);
  ASSERT_EQ(docker({"rmi", "berth-test/other:v1"}).exit_code, 0);
  std::string t1 = unix_now();
  auto events = [&](std::vector<std::string> filters) {
    std::vector<std::string> args{"events", "--since", t0, "--until", t1, "--format",
                                  "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"};
    for (auto& f : filters) args.insert(args.end(), {"--filter", f});
    auto r = docker(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return lines(r.out);
  };
  EXPECT_THAT(events({"event=start"}),
              ElementsAre("container start berth-test-blue", "container start berth-test-red"));
  EXPECT_THAT(events({"container=berth-test-red", "event=destroy"}), ElementsAre("container destroy berth-test-red"));
  EXPECT_THAT(events({"label=team=blue", "event=die"}), ElementsAre("container die berth-test-blue"));
  // An image event names the image by ID, the tag in "name".
  EXPECT_THAT(events({"type=image"}), ElementsAre("image tag berth-test/other:v1", "image untag " + [&] {
                                                    auto id = docker({"image", "inspect", "-f", "{{.Id}}", kImage});
                                                    return id.out.substr(0, id.out.size() - 1);
                                                  }()));
  // image= matches containers of the image too, by name without its tag.
  EXPECT_EQ(events({"image=berth-test/busybox", "event=create"}).size(), 2u);

  auto bad = docker({"events", "--since", t0, "--until", t1, "--filter", "colour=blue"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("invalid filter 'colour'"));
}

TEST_P(DockerEvents, ExecPauseRenameRestartKillAndImageTransfers) {
  std::string t0 = unix_now();
  ASSERT_EQ(docker({"run", "-d", "--name", "berth-test-more", kImage, "sleep", "1000"}).exit_code, 0);
  EXPECT_EQ(docker({"exec", "berth-test-more", "true"}).exit_code, 0);
  EXPECT_EQ(docker({"pause", "berth-test-more"}).exit_code, 0);
  EXPECT_EQ(docker({"unpause", "berth-test-more"}).exit_code, 0);
  EXPECT_EQ(docker({"rename", "berth-test-more", "berth-test-renamed"}).exit_code, 0);
  // sleep as PID 1 ignores SIGTERM: the restart escalates to SIGKILL.
  EXPECT_EQ(docker({"restart", "-t", "0", "berth-test-renamed"}).exit_code, 0);
  EXPECT_EQ(docker({"kill", "berth-test-renamed"}).exit_code, 0);
  EXPECT_EQ(docker({"rm", "berth-test-renamed"}).exit_code, 0);
  TempDir dir("events-save");
  EXPECT_EQ(docker({"save", "-o", dir / "busybox.tar", kImage}).exit_code, 0);
  EXPECT_EQ(docker({"load", "-i", dir / "busybox.tar"}).exit_code, 0);
  EXPECT_EQ(docker({"import", dir / "busybox.tar", "berth-test/imported:1"}).exit_code, 0);
  EXPECT_EQ(docker({"rmi", "berth-test/imported:1"}).exit_code, 0);
  std::string t1 = unix_now();

  auto r = docker({"events", "--since", t0, "--until", t1, "--format", "{{.Type}} {{.Action}}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines(r.out),
              ElementsAre("container create", "container start", "container exec_create: true ",
                          "container exec_start: true ", "container exec_die", "container pause",
                          "container unpause", "container rename", "container kill", "container kill",
                          "container die", "container stop", "container start", "container restart",
                          "container kill", "container die", "container destroy", "image save", "image load",
                          "image tag", "image import", "image untag", "image delete"))
      << daemon_->log();
  auto details = docker({"events", "--since", t0, "--until", t1, "--filter", "event=kill", "--filter",
                         "event=rename", "--filter", "event=exec_die"});
  auto got = lines(details.out);
  ASSERT_EQ(got.size(), 5u) << details.out;
  EXPECT_THAT(got[0], HasSubstr(" (execID="));
  EXPECT_THAT(got[0], HasSubstr("exitCode=0, image="));
  EXPECT_THAT(got[1], HasSubstr("name=berth-test-renamed, oldName=/berth-test-more)"));
  EXPECT_THAT(got[2], HasSubstr(", signal=15)"));
  EXPECT_THAT(got[3], HasSubstr(", signal=9)"));
  EXPECT_THAT(got[4], HasSubstr(", signal=9)"));
}

// The events of work on a container's files and processes, of rm -f and
// of container prune, as Docker reports them.
TEST_P(DockerEvents, TopCopyExportCommitForcedRemoveAndPrune) {
  std::string t0 = unix_now();
  ASSERT_EQ(docker({"run", "-d", "--name", "berth-test-files", kImage, "sleep", "1000"}).exit_code, 0);
  EXPECT_EQ(docker({"top", "berth-test-files"}).exit_code, 0);
  TempDir dir("events-files");
  write_file(dir / "in.txt", "in\n");
  EXPECT_EQ(docker({"cp", dir / "in.txt", "berth-test-files:/tmp/"}).exit_code, 0);
  EXPECT_EQ(docker({"cp", "berth-test-files:/tmp/in.txt", dir / "out.txt"}).exit_code, 0);
  EXPECT_EQ(docker({"export", "-o", dir / "rootfs.tar", "berth-test-files"}).exit_code, 0);
  auto committed = docker({"commit", "-m", "snapshot", "berth-test-files", "berth-test/committed:1"});
  ASSERT_EQ(committed.exit_code, 0) << committed.err;
  EXPECT_EQ(docker({"rm", "-f", "berth-test-files"}).exit_code, 0);
  ASSERT_EQ(docker({"create", "--name", "berth-test-idle", kImage, "true"}).exit_code, 0);
  EXPECT_EQ(docker({"container", "prune", "-f"}).exit_code, 0);
  std::string t1 = unix_now();

  auto r = docker({"events", "--since", t0, "--until", t1, "--filter", "type=container", "--format",
                   "{{.Action}} {{.Actor.Attributes.name}}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines(r.out),
              ElementsAre("create berth-test-files", "start berth-test-files", "top berth-test-files",
                          "extract-to-dir berth-test-files", "archive-path berth-test-files",
                          "export berth-test-files", "pause berth-test-files", "commit berth-test-files",
                          "unpause berth-test-files", "kill berth-test-files", "die berth-test-files",
                          "destroy berth-test-files", "create berth-test-idle", "destroy berth-test-idle",
                          "prune <no value>"))
      << daemon_->log();
  auto commit = docker({"events", "--since", t0, "--until", t1, "--filter", "event=commit", "--format",
                        "{{.Actor.Attributes.comment}} {{.Actor.Attributes.imageID}}"});
  std::string image = docker({"image", "inspect", "-f", "{{.Id}}", "berth-test/committed:1"}).out;
  EXPECT_EQ(commit.out, "snapshot " + image);
  auto prune = docker({"events", "--since", t0, "--until", t1, "--filter", "event=prune", "--format",
                       "{{.Actor.ID}}|{{.Actor.Attributes.reclaimed}}"});
  EXPECT_EQ(prune.out, "|0\n");
}

TEST_P(DockerEvents, PushAndPullNameTheReference) {
  LocalRegistry registry;
  std::string repo = registry.host() + "/berth-test/events";
  std::string t0 = unix_now();
  ASSERT_EQ(docker({"tag", kImage, repo + ":v1"}).exit_code, 0);
  auto push = docker({"push", repo + ":v1"});
  ASSERT_EQ(push.exit_code, 0) << push.err << daemon_->log();
  ASSERT_EQ(docker({"rmi", repo + ":v1"}).exit_code, 0);
  auto pull = docker({"pull", repo + ":v1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err << daemon_->log();
  std::string t1 = unix_now();
  auto r = docker({"events", "--since", t0, "--until", t1, "--filter", "event=push", "--filter", "event=pull",
                   "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(lines(r.out), ElementsAre("push " + repo + ":v1 " + repo, "pull " + repo + ":v1 " + repo));
}

TEST_P(DockerEvents, UntilInTheFutureEndsTheLiveStream) {
  auto start = std::chrono::steady_clock::now();
  auto r = docker({"events", "--until", "2s", "--since", "10m"});
  // A duration is before now for both flags, as Docker computes it: the
  // stream is the past only and ends at once.
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  auto until = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()) + 2s;
  start = std::chrono::steady_clock::now();
  auto live = docker({"events", "--until", std::to_string(until.count())});
  EXPECT_EQ(live.exit_code, 0) << live.err;
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 10s);
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerEvents, kDockerClients, docker_client_name);

using BerthEvents = ContainerFixture<>;

TEST_F(BerthEvents, LiveEventsArriveWithinASecond) {
  Background events({berth_path(), "-H", daemon_->host(), "events"});
  // A tag proves the subscription is in place before the container runs.
  std::string probe;
  for (int i = 0; i < 50 && probe.find("image tag") == std::string::npos; ++i) {
    ASSERT_EQ(daemon_->berth({"tag", kImage, "berth-test/probe:" + std::to_string(i)}).exit_code, 0);
    probe = events.read_until("image tag", 200ms);
  }
  ASSERT_THAT(probe, HasSubstr("image tag")) << daemon_->log();
  auto run = daemon_->berth({"run", "--rm", "--name", "berth-test-live", kImage, "true"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto ran = std::chrono::steady_clock::now();
  std::string out = events.read_until("container destroy", 5s);
  EXPECT_LT(std::chrono::steady_clock::now() - ran, 1s);
  for (const char* action : {"create", "attach", "start", "die", "destroy"}) {
    EXPECT_THAT(out, HasSubstr(std::string("container ") + action + " ")) << out;
  }
  EXPECT_THAT(out, HasSubstr("name=berth-test-live")) << out;
  EXPECT_EQ(events.stop(SIGTERM), -SIGTERM);
  // The daemon let the stream go and serves on.
  EXPECT_EQ(daemon_->berth({"ps", "-a"}).exit_code, 0);
}

TEST_F(BerthEvents, SystemEventsJsonAndErrors) {
  std::string t0 = unix_now();
  ASSERT_EQ(daemon_->berth({"tag", kImage, "berth-test/json:1"}).exit_code, 0);
  std::string t1 = unix_now();
  auto json = daemon_->berth({"system", "events", "--since", t0, "--until", t1, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, ::testing::StartsWith(R"({"status":"tag","id":"sha256:)"));
  EXPECT_THAT(json.out, HasSubstr(R"("Type":"image","Action":"tag","Actor":{"ID":"sha256:)"));
  EXPECT_THAT(json.out, HasSubstr(R"("name":"berth-test/json:1")"));
  EXPECT_THAT(json.out, HasSubstr(R"("scope":"local","time":)"));

  auto bad_time = daemon_->berth({"events", "--since", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 1);
  EXPECT_EQ(bad_time.err, "failed to parse value as time or duration: \"yesterday\"\n");
  auto bad_format = daemon_->berth({"events", "--format", "{{.Type"});
  EXPECT_EQ(bad_format.exit_code, 64);
  EXPECT_THAT(bad_format.err, HasSubstr("Error parsing format: "));

  auto reversed = daemon_->api("GET", "/events?since=20&until=10");
  EXPECT_EQ(reversed.status, 400);
  EXPECT_THAT(reversed.body, HasSubstr("cannot be after `until` time"));
  EXPECT_EQ(daemon_->api("GET", "/events?until=-5").status, 400);
  auto garbage = daemon_->api("GET", "/events?since=soon");
  EXPECT_EQ(garbage.status, 400) << garbage.body;
  auto filter = daemon_->api("GET", "/events?until=1&filters=%7B%22colour%22%3A%5B%22x%22%5D%7D");
  EXPECT_EQ(filter.status, 400);
  EXPECT_EQ(filter.body, "{\"message\":\"invalid filter 'colour'\"}\n");
}

}  // namespace
}  // namespace berth::testing
