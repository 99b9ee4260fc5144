// The event bus without a daemon: Docker's filter rules, the API's
// timestamps, the JSON shape, the bounded history behind `since`, and queue
// subscriptions.
#include "berth/core/events.hpp"
#include "berth/core/time_format.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace berth::core::events {
namespace {

Event container(std::string action, std::string id, std::string name, std::string image,
                std::map<std::string, std::string> extra = {}) {
  extra["name"] = std::move(name);
  extra["image"] = std::move(image);
  return Event{.type = "container", .action = std::move(action), .actor_id = std::move(id), .attributes = extra};
}

bool matches(Filter::Values f, const Event& e) {
  return Filter(std::move(f)).matches(e);
}

TEST(EventFilter, EmptyMatchesAllAndKeysCombine) {
  auto e = container("start", "abc123", "web", "busybox:latest", {{"team", "blue"}});
  EXPECT_TRUE(matches({}, e));
  EXPECT_TRUE(matches({{"type", {"image", "container"}}}, e));
  EXPECT_FALSE(matches({{"type", {"image"}}}, e));
  EXPECT_TRUE(matches({{"event", {"die", "start"}}, {"type", {"container"}}}, e));
  EXPECT_FALSE(matches({{"event", {"start"}}, {"type", {"image"}}}, e));
  EXPECT_TRUE(matches({{"scope", {"local"}}}, e));
  EXPECT_FALSE(matches({{"scope", {"swarm"}}}, e));
}

TEST(EventFilter, EventIsExactExceptForExecAndHealthPrefixes) {
  auto exec = container("exec_start: sh -c ls", "abc", "web", "busybox");
  EXPECT_TRUE(matches({{"event", {"exec_start"}}}, exec));
  EXPECT_FALSE(matches({{"event", {"exec_create"}}}, exec));
  EXPECT_FALSE(matches({{"event", {"sta"}}}, container("start", "abc", "web", "busybox")));
}

TEST(EventFilter, ContainerByIdOrNamePrefixOnlyForContainerEvents) {
  auto e = container("die", "0123456789ab", "web-1", "busybox");
  EXPECT_TRUE(matches({{"container", {"0123"}}}, e));
  EXPECT_TRUE(matches({{"container", {"web"}}}, e));
  EXPECT_TRUE(matches({{"container", {"db", "web-1"}}}, e));
  EXPECT_FALSE(matches({{"container", {"db"}}}, e));
  // Other kinds of events are not narrowed by a container filter.
  Event image{.type = "image", .action = "tag", .actor_id = "sha256:ff", .attributes = {{"name", "x:1"}}};
  EXPECT_TRUE(matches({{"container", {"db"}}}, image));
  EXPECT_FALSE(matches({{"network", {"db"}}}, Event{.type = "network", .action = "create", .actor_id = "n1"}));
}

TEST(EventFilter, ImageMatchesIdNameAndNameWithoutTag) {
  auto c = container("create", "abc", "web", "busybox:1.36");
  EXPECT_TRUE(matches({{"image", {"busybox:1.36"}}}, c));
  EXPECT_TRUE(matches({{"image", {"busybox"}}}, c));
  EXPECT_FALSE(matches({{"image", {"busy"}}}, c));
  EXPECT_FALSE(matches({{"image", {"alpine"}}}, c));
  Event tag{.type = "image", .action = "tag", .actor_id = "sha256:ff", .attributes = {{"name", "127.0.0.1:5000/app:v2"}}};
  EXPECT_TRUE(matches({{"image", {"sha256:ff"}}}, tag));
  EXPECT_TRUE(matches({{"image", {"127.0.0.1:5000/app"}}}, tag));
  EXPECT_TRUE(matches({{"image", {"127.0.0.1:5000/app:v2"}}}, tag));
  EXPECT_FALSE(matches({{"image", {"app"}}}, tag));
}

TEST(EventFilter, LabelsAllMustHold) {
  auto e = container("start", "abc", "web", "busybox", {{"team", "blue"}, {"tier", "front"}});
  EXPECT_TRUE(matches({{"label", {"team"}}}, e));
  EXPECT_TRUE(matches({{"label", {"team=blue", "tier"}}}, e));
  EXPECT_FALSE(matches({{"label", {"team=red"}}}, e));
  EXPECT_FALSE(matches({{"label", {"team", "owner"}}}, e));
  EXPECT_FALSE(matches({{"label", {"team"}}}, Event{.type = "daemon", .action = "reload", .actor_id = "d"}));
}

TEST(ApiTimestamps, UnixSecondsWithFractions) {
  EXPECT_EQ(parse_timestamp("1700000000").value(), 1'700'000'000'000'000'000);
  EXPECT_EQ(parse_timestamp("1700000000.5").value(), 1'700'000'000'500'000'000);
  EXPECT_EQ(parse_timestamp("1700000000.000000001").value(), 1'700'000'000'000'000'001);
  EXPECT_EQ(parse_timestamp("0").value(), 0);
  EXPECT_FALSE(parse_timestamp("1700000000.0000000001"));
  EXPECT_FALSE(parse_timestamp("10m"));
  EXPECT_FALSE(parse_timestamp(""));
}

TEST(ApiTimestamps, Rfc3339WithZones) {
  EXPECT_EQ(parse_timestamp("2023-11-14T22:13:20Z").value(), 1'700'000'000'000'000'000);
  EXPECT_EQ(parse_timestamp("2023-11-14T22:13:20.25Z").value(), 1'700'000'000'250'000'000);
  EXPECT_EQ(parse_timestamp("2023-11-15T00:13:20+02:00").value(), 1'700'000'000'000'000'000);
  EXPECT_EQ(parse_timestamp("2023-11-14T21:13:20.123456789-01:00").value(), 1'700'000'000'123'456'789);
  EXPECT_FALSE(parse_timestamp("2023-11-14T22:13:20"));  // no zone: ambiguous on the daemon
  EXPECT_FALSE(parse_timestamp("2023-13-14T22:13:20Z"));
  auto bad = parse_timestamp("yesterday");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST(EventJson, DockerShapeWithLegacyFields) {
  auto e = container("die", "abc", "web", "busybox", {{"exitCode", "3"}});
  e.time_nano = 1'700'000'000'123'456'789;
  EXPECT_EQ(boost::json::serialize(e.to_json()),
            R"({"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die",)"
            R"("Actor":{"ID":"abc","Attributes":{"exitCode":"3","image":"busybox","name":"web"}},)"
            R"("scope":"local","time":1700000000,"timeNano":1700000000123456789})");
  Event daemon{.type = "daemon", .action = "reload", .actor_id = "d1", .time_nano = 2'000'000'000};
  EXPECT_EQ(boost::json::serialize(daemon.to_json()),
            R"({"Type":"daemon","Action":"reload","Actor":{"ID":"d1","Attributes":{}},)"
            R"("scope":"local","time":2,"timeNano":2000000000})");
}

Event at(std::int64_t t, std::string action) {
  return Event{.type = "container", .action = std::move(action), .actor_id = "c", .time_nano = t};
}

TEST(EventBus, SinceUntilReadTheBoundedHistory) {
  EventBus bus(3);
  for (int i = 1; i <= 5; ++i) bus.publish(at(i * 100, "e" + std::to_string(i)));
  auto past = [&](std::int64_t since, std::int64_t until, Filter f = {}) {
    std::vector<Event> out;
    auto sub = bus.subscribe(since, until, std::move(f), out);
    std::vector<std::string> actions;
    for (const auto& e : out) actions.push_back(e.action);
    return actions;
  };
  // Only the last three are kept.
  EXPECT_EQ(past(1, 0), (std::vector<std::string>{"e3", "e4", "e5"}));
  EXPECT_EQ(past(400, 0), (std::vector<std::string>{"e4", "e5"}));
  EXPECT_EQ(past(0, 400), (std::vector<std::string>{"e3", "e4"}));
  EXPECT_EQ(past(300, 300), (std::vector<std::string>{"e3"}));
  EXPECT_EQ(past(1, 0, Filter(Filter::Values{{"event", {"e4"}}})), (std::vector<std::string>{"e4"}));
  // Neither bound: live events only.
  EXPECT_TRUE(past(0, 0).empty());
}

TEST(EventBus, QueuesDeliverLiveEventsInOrderAndStopWhenDestroyed) {
  EventBus bus;
  std::vector<Event> past;
  auto sub = bus.subscribe(0, 0, Filter(Filter::Values{{"event", {"start", "die"}}}), past);
  std::vector<std::string> seen;
  auto id = bus.subscribe(Filter{}, [&](const Event& e) { seen.push_back(e.action); });
  bus.publish(at(0, "create"));
  bus.publish(at(0, "start"));
  bus.publish(at(0, "die"));
  auto first = sub->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->action, "start");
  EXPECT_GT(first->time_nano, 0);
  EXPECT_EQ(sub->next(std::chrono::milliseconds(100))->action, "die");
  EXPECT_FALSE(sub->next(std::chrono::milliseconds(10)));
  EXPECT_EQ(seen, (std::vector<std::string>{"create", "start", "die"}));
  bus.unsubscribe(id);
  sub.reset();
  bus.publish(at(0, "start"));
  EXPECT_EQ(seen.size(), 3u);
}

TEST(EventBus, AFullQueueDropsAndCounts) {
  EventBus bus;
  std::vector<Event> past;
  auto sub = bus.subscribe(0, 0, Filter{}, past);
  for (std::size_t i = 0; i < EventBus::kQueueLimit + 5; ++i) bus.publish(at(0, "x"));
  EXPECT_EQ(sub->dropped(), 5u);
}

}  // namespace
}  // namespace berth::core::events
