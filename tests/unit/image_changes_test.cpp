// `--change` instructions of import and commit applied to an image config.
#include "berth/core/image/changes.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace berth::core::image {
namespace {

namespace json = boost::json;

json::object applied(const std::vector<std::string>& changes, json::object config = {}) {
  auto r = apply_changes(config, changes);
  EXPECT_TRUE(r) << r.error().message;
  return config;
}

TEST(ImageChanges, ExecAndShellForms) {
  auto c = applied({R"(CMD ["sh", "-c", "echo hi"])", "ENTRYPOINT /bin/run --fast"});
  EXPECT_EQ(json::serialize(c.at("Cmd")), R"(["sh","-c","echo hi"])");
  EXPECT_EQ(json::serialize(c.at("Entrypoint")), R"(["/bin/sh","-c","/bin/run --fast"])");
}

TEST(ImageChanges, EnvLabelsPortsVolumes) {
  json::object base{{"Env", json::array{"PATH=/bin", "A=old"}}};
  auto c = applied({"ENV A=1 B=\"two words\"", "env C three words", "LABEL x=y \"k k\"=v", "EXPOSE 80 53/udp",
                    R"(VOLUME ["/data", "/logs"])", "VOLUME /cache"},
                   base);
  EXPECT_EQ(json::serialize(c.at("Env")), R"(["PATH=/bin","A=1","B=two words","C=three words"])");
  EXPECT_EQ(json::serialize(c.at("Labels")), R"({"x":"y","k k":"v"})");
  EXPECT_EQ(json::serialize(c.at("ExposedPorts")), R"({"80/tcp":{},"53/udp":{}})");
  EXPECT_EQ(json::serialize(c.at("Volumes")), R"({"/data":{},"/logs":{},"/cache":{}})");
}

TEST(ImageChanges, WorkdirUserStopsignalOnbuild) {
  auto c = applied({"WORKDIR /srv", "WORKDIR app", "USER nobody:nogroup", "STOPSIGNAL SIGINT", "ONBUILD RUN make"});
  EXPECT_EQ(c.at("WorkingDir").as_string(), "/srv/app");
  EXPECT_EQ(c.at("User").as_string(), "nobody:nogroup");
  EXPECT_EQ(c.at("StopSignal").as_string(), "SIGINT");
  EXPECT_EQ(json::serialize(c.at("OnBuild")), R"(["RUN make"])");
}

TEST(ImageChanges, RefusedLikeDockerAndLeaveTheConfigAlone) {
  struct Case {
    const char* change;
    const char* message;
  };
  for (const auto& [change, message] : {
           Case{"RUN make", "RUN is not a valid change command"},
           Case{"COPY a b", "COPY is not a valid change command"},
           Case{"FROB x", "dockerfile parse error on line 1: unknown instruction: FROB"},
           Case{"ENV", "ENV requires at least one argument"},
           Case{"ENV =x", "Syntax error - can't find = in \"=x\". Must be of the form: name=value"},
           Case{"EXPOSE http", "invalid containerPort: http"},
           Case{"ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
       }) {
    json::object config{{"Cmd", json::array{"sh"}}};
    auto r = apply_changes(config, {"ENV A=1", change});
    ASSERT_FALSE(r) << change;
    EXPECT_EQ(r.error().message, message);
    EXPECT_EQ(json::serialize(config), R"({"Cmd":["sh"]})") << change;
  }
}

}  // namespace
}  // namespace berth::core::image
