// The CLI's volume side: the volume commands' bodies, rows, filters and
// output (cli/volume.hpp), the commands themselves against a fake daemon,
// and the volume flags of run/create (-v, --mount, --tmpfs, --volumes-from,
// --volume-driver) as the create body Docker's CLI sends
// (cli/container_opts.hpp).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>

#include "cli_fake_daemon.hpp"
#include "cli_run.hpp"
#include "command.hpp"
#include "container_opts.hpp"
#include "volume.hpp"

namespace berth::cli {
namespace {

namespace json = boost::json;
using test_support::FakeDaemon;
using test_support::Outcome;
using test_support::request_body;
using test_support::request_line;
using test_support::respond;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

// Runs `berth <args>` with the volume commands against `host`, `input` as
// stdin (the prompt's answer).
Outcome berth(const std::string& host, const std::vector<std::string>& args,
              const std::string& input = "") {
  CLI::App app("test", "berth");
  Context ctx;
  ctx.globals.host = host;
  add_volume_commands(app, ctx);
  return test_support::run_cli(app, args, input);
}

// The create body `berth run` sends for `args` (flags, then IMAGE).
json::object body_for(std::vector<std::string> args) {
  CLI::App app("test");
  ContainerFlags flags;
  app.prefix_command();
  add_container_flags(app, flags);
  std::vector<const char*> argv{"berth"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(pflag_args(app, static_cast<int>(argv.size()), argv.data()));
  auto rest = app.remaining();
  if (!rest.empty()) flags.image = rest.front();
  record_changed_flags(app, flags);
  return create_body(parse_container_flags(flags));
}

const json::object& host(const json::object& body) { return body.at("HostConfig").as_object(); }

std::string cwd() { return std::filesystem::current_path().string(); }

json::object volume(const std::string& name, const std::string& driver = "local") {
  return {{"CreatedAt", "2024-05-01T10:20:30Z"},
          {"Driver", driver},
          {"Labels", json::object{{"tier", "db"}, {"app", "shop"}}},
          {"Mountpoint", "/var/lib/berth/volumes/" + name + "/_data"},
          {"Name", name},
          {"Options", json::object{}},
          {"Scope", "local"}};
}

// --- volume create ---------------------------------------------------------------

TEST(CliVolumeCreate, DefaultBodyAsDockersCreateOptions) {
  EXPECT_EQ(json::serialize(volume_create_body({})),
            R"({"Driver":"local","DriverOpts":{},"Labels":{},"Name":""})");
}

TEST(CliVolumeCreate, FlagsIntoTheBody) {
  VolumeCreateFlags f;
  f.name = "data";
  f.driver = "other";
  // A value without "=" is an empty one (MapOpts); a later value of a key wins.
  f.options = {"type=tmpfs", "device=tmpfs", "o=size=100m,uid=1000", "flag", "type=none"};
  f.labels = {"tier=db", "novalue"};
  EXPECT_EQ(volume_create_body(f),
            (json::object{{"Driver", "other"},
                          {"DriverOpts", json::object{{"type", "none"},
                                                      {"device", "tmpfs"},
                                                      {"o", "size=100m,uid=1000"},
                                                      {"flag", ""}}},
                          {"Labels", json::object{{"tier", "db"}, {"novalue", ""}}},
                          {"Name", "data"}}));
  VolumeCreateFlags by_flag;
  by_flag.name_flag = "hidden";
  EXPECT_EQ(volume_create_body(by_flag).at("Name"), "hidden");
}

TEST(CliVolumeCreate, ErrorsAsDockers) {
  VolumeCreateFlags f;
  f.labels = {"=x"};
  EXPECT_EQ(message_of([&] { volume_create_body(f); }),
            "invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name");
  f.labels = {};
  f.name = "a";
  f.name_flag = "b";
  EXPECT_EQ(message_of([&] { volume_create_body(f); }),
            "conflicting options: either specify --name or provide positional arg, not both");
}

TEST(CliVolumeCommands, CreateSendsTheBodyAndPrintsTheName) {
  FakeDaemon daemon([](int fd, const std::string& request) {
    auto body = json::parse(request_body(request)).as_object();
    respond(fd, 201, json::serialize(volume(std::string(body.at("Name").as_string()))));
  });
  auto o = berth(daemon.host(), {"volume", "create", "-d", "local", "-o", "type=tmpfs", "--opt",
                                 "device=tmpfs", "--label", "a=b", "--label", "c", "vol1"});
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.out, "vol1\n");
  auto request = daemon.last_request();
  EXPECT_EQ(request_line(request), "POST /v1.43/volumes/create");
  EXPECT_EQ(json::parse(request_body(request)),
            json::parse(R"({"Driver":"local","DriverOpts":{"type":"tmpfs","device":"tmpfs"},)"
                        R"("Labels":{"a":"b","c":""},"Name":"vol1"})"));
  // The hidden --name names it too; without a name the daemon picks one.
  EXPECT_EQ(berth(daemon.host(), {"volume", "create", "--name", "byflag"}).out, "byflag\n");
  EXPECT_EQ(json::parse(request_body(daemon.last_request())).at("Name"), "byflag");
}

TEST(CliVolumeCommands, CreateChecksFlagsBeforeAskingTheDaemon) {
  FakeDaemon daemon([](int fd, const std::string&) { respond(fd, 500, R"({"message":"x"})"); });
  auto o = berth(daemon.host(), {"volume", "create", "--label", "=x", "v"});
  EXPECT_EQ(o.code, 125);
  EXPECT_EQ(o.error,
            "berth: invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name\n"
            "See 'berth volume create --help'.");
  o = berth(daemon.host(), {"volume", "create", "--name", "a", "b"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error,
            "conflicting options: either specify --name or provide positional arg, not both");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(CliVolumeCommands, DaemonErrorsAsDockers) {
  FakeDaemon daemon([](int fd, const std::string&) {
    respond(fd, 400, R"({"message":"create x: invalid option: \"bogus\""})");
  });
  auto o = berth(daemon.host(), {"volume", "create", "-o", "bogus=1", "x"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error, "Error response from daemon: create x: invalid option: \"bogus\"");
  EXPECT_EQ(o.out, "");
}

// --- volume ls ---------------------------------------------------------------------

TEST(CliVolumeLs, RowFields) {
  auto v = volume("data");
  EXPECT_EQ(volume_row(v), (json::object{{"Availability", "N/A"},
                                         {"Driver", "local"},
                                         {"Group", "N/A"},
                                         {"Labels", "app=shop,tier=db"},
                                         {"Links", "N/A"},
                                         {"Mountpoint", "/var/lib/berth/volumes/data/_data"},
                                         {"Name", "data"},
                                         {"Scope", "local"},
                                         {"Size", "N/A"},
                                         {"Status", "N/A"}}));
  v["UsageData"] = json::object{{"RefCount", 2}, {"Size", 1536000}};
  EXPECT_EQ(volume_row(v).at("Links"), "2");
  EXPECT_EQ(volume_row(v).at("Size"), "1.536MB");
  // An unknown size is -1, which Docker prints as it is.
  v["UsageData"] = json::object{{"RefCount", 0}, {"Size", -1}};
  EXPECT_EQ(volume_row(v).at("Size"), "-1B");
  v["Labels"] = nullptr;
  EXPECT_EQ(volume_row(v).at("Labels"), "");
}

TEST(CliVolumeLs, NaturalOrderByName) {
  json::array list{volume("vol10"), volume("b"), volume("vol2"), volume("a")};
  std::vector<std::string> names;
  for (const auto& r : volume_rows(list)) names.emplace_back(r.at("Name").as_string());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "vol2", "vol10"}));
}

TEST(CliVolumeLs, LabelMethodAndDockersTables) {
  json::array list{volume("data"), volume("cache", "other")};
  list[1].as_object()["Labels"] = json::object{};
  auto rows = volume_rows(list);
  auto methods = volume_methods(list);
  auto render = [&](const std::string& f) {
    return format::Template::parse(f).render_all(rows, volume_headers(), methods);
  };
  EXPECT_EQ(render("table {{.Driver}}\t{{.Name}}"),
            "DRIVER    VOLUME NAME\nother     cache\nlocal     data\n");
  EXPECT_EQ(render(R"({{.Name}}:{{.Label "tier"}}:{{$.Label "app"}})"), "cache::\ndata:db:shop\n");
  // `system df -v`'s volume table.
  auto v = volume("data");
  v["UsageData"] = json::object{{"RefCount", 1}, {"Size", 4096}};
  EXPECT_EQ(format::Template::parse("table {{.Name}}\t{{.Links}}\t{{.Size}}")
                .render_all({volume_row(v)}, volume_headers()),
            "VOLUME NAME   LINKS     SIZE\ndata          1         4.096kB\n");
}

// A daemon with the volumes "data" and "cache": GET /volumes lists them,
// GET /volumes/{name} inspects one, anything else is not found.
FakeDaemon volume_daemon() {
  return FakeDaemon([](int fd, const std::string& request) {
    std::string line = request_line(request);
    if (line.starts_with("GET /v1.43/volumes?") || line == "GET /v1.43/volumes") {
      json::array list{volume("data"), volume("cache", "other")};
      return respond(fd, 200,
                     json::serialize(json::object{{"Volumes", list}, {"Warnings", nullptr}}));
    }
    if (line == "GET /v1.43/volumes/data") return respond(fd, 200, json::serialize(volume("data")));
    respond(fd, 404, R"({"message":"get x: no such volume"})");
  });
}

TEST(CliVolumeCommands, LsPrintsDockersTableQuietAndFormats) {
  auto daemon = volume_daemon();
  EXPECT_EQ(berth(daemon.host(), {"volume", "ls"}).out,
            "DRIVER    VOLUME NAME\nother     cache\nlocal     data\n");
  EXPECT_EQ(berth(daemon.host(), {"volume", "list", "-q"}).out, "cache\ndata\n");
  EXPECT_EQ(berth(daemon.host(), {"volume", "ls", "-q", "--format", "table"}).out, "cache\ndata\n");
  // -q does not replace a format of the user's.
  EXPECT_EQ(berth(daemon.host(), {"volume", "ls", "-q", "--format", "{{.Driver}}"}).out,
            "other\nlocal\n");
  EXPECT_EQ(
      berth(daemon.host(), {"volume", "ls", "--format", R"(table {{.Name}}\t{{.Label "tier"}})"})
          .out,
      "VOLUME NAME   \ncache         db\ndata          db\n");
  auto json_lines = berth(daemon.host(), {"volume", "ls", "--format", "json"}).out;
  EXPECT_EQ(json_lines.substr(0, json_lines.find('\n')),
            R"({"Availability":"N/A","Driver":"other","Group":"N/A","Labels":"app=shop,tier=db",)"
            R"("Links":"N/A","Mountpoint":"/var/lib/berth/volumes/cache/_data","Name":"cache",)"
            R"("Scope":"local","Size":"N/A","Status":"N/A"})");
  auto bad = berth(daemon.host(), {"volume", "ls", "--format", "{{.Label}}"});
  EXPECT_EQ(bad.code, 125);
  EXPECT_EQ(bad.error,
            "template parsing error: template: :1:2: executing \"\" at <.Label>: wrong number of "
            "args for Label: want 1 got 0");
}

TEST(CliVolumeCommands, LsSendsDockersFilters) {
  auto daemon = volume_daemon();
  berth(daemon.host(), {"volume", "ls", "-f", "dangling=true", "--filter", "label=a=b", "-f",
                        "driver=local", "-f", "name=da"});
  EXPECT_EQ(request_line(daemon.last_request()),
            "GET /v1.43/volumes?filters=" +
                query_escape(R"({"dangling":{"true":true},"driver":{"local":true},)"
                             R"("label":{"a=b":true},"name":{"da":true}})"));
  auto o = berth(daemon.host(), {"volume", "ls", "-f", "dangling"});
  EXPECT_EQ(o.code, 125);
  EXPECT_EQ(o.error,
            "invalid argument \"dangling\" for \"-f, --filter\" flag: bad format of filter "
            "(expected name=value)");
}

TEST(CliVolumeCommands, LsOfNoVolumes) {
  FakeDaemon daemon(
      [](int fd, const std::string&) { respond(fd, 200, R"({"Volumes":null,"Warnings":null})"); });
  EXPECT_EQ(berth(daemon.host(), {"volume", "ls"}).out, "DRIVER    VOLUME NAME\n");
}

// --- volume inspect -------------------------------------------------------------------

TEST(CliVolumeCommands, InspectPrintsWhatIsFoundThenTheMissing) {
  auto daemon = volume_daemon();
  auto o = berth(daemon.host(), {"volume", "inspect", "data", "nope"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error, "Error: No such volume: nope");
  auto printed = json::parse(o.out);
  ASSERT_TRUE(printed.is_array());
  ASSERT_EQ(printed.as_array().size(), 1U);
  EXPECT_EQ(printed.as_array()[0], volume("data"));
  EXPECT_TRUE(o.out.starts_with("[\n    {\n        \"CreatedAt\": \"2024-05-01T10:20:30Z\",\n"));
  auto formatted = berth(daemon.host(), {"volume", "inspect", "-f", "{{.Mountpoint}}", "data"});
  EXPECT_EQ(formatted.out, "/var/lib/berth/volumes/data/_data\n");
  EXPECT_EQ(formatted.code, 0);
}

// --- volume rm ------------------------------------------------------------------------

TEST(CliVolumeCommands, RmGoesOnAfterAFailureAndFailsAtTheEnd) {
  FakeDaemon daemon([](int fd, const std::string& request) {
    std::string line = request_line(request);
    if (line.starts_with("DELETE /v1.43/volumes/busy")) {
      return respond(fd, 409, R"({"message":"remove busy: volume is in use - [0123abcd]"})");
    }
    if (line.starts_with("DELETE /v1.43/volumes/gone")) {
      return respond(fd, 404, R"({"message":"get gone: no such volume"})");
    }
    respond(fd, 204);
  });
  auto o = berth(daemon.host(), {"volume", "rm", "a", "busy", "gone", "b"});
  EXPECT_EQ(o.out, "a\nb\n");
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error,
            "Error response from daemon: remove busy: volume is in use - [0123abcd]\n"
            "Error response from daemon: get gone: no such volume");
  std::vector<std::string> lines;
  for (const auto& r : daemon.requests()) lines.push_back(request_line(r));
  EXPECT_EQ(lines,
            (std::vector<std::string>{"DELETE /v1.43/volumes/a", "DELETE /v1.43/volumes/busy",
                                      "DELETE /v1.43/volumes/gone", "DELETE /v1.43/volumes/b"}));
  o = berth(daemon.host(), {"volume", "remove", "-f", "a"});
  EXPECT_EQ(o.out, "a\n");
  EXPECT_EQ(request_line(daemon.last_request()), "DELETE /v1.43/volumes/a?force=1");
}

// --- volume prune ---------------------------------------------------------------------

TEST(CliVolumePrune, Filters) {
  EXPECT_EQ(volume_prune_filters({}, false), "");
  EXPECT_EQ(volume_prune_filters({}, true), R"({"all":{"true":true}})");
  EXPECT_EQ(volume_prune_filters({"label=tier=db", "label!=keep"}, true),
            R"({"all":{"true":true},"label":{"tier=db":true},"label!":{"keep":true}})");
  EXPECT_EQ(volume_prune_filters({"all=1"}, false), R"({"all":{"1":true}})");
  EXPECT_EQ(message_of([] { volume_prune_filters({"all=1"}, true); }),
            "conflicting options: cannot specify both --all and --filter all=1");
  EXPECT_EQ(message_of([] { volume_prune_filters({" ALL =false"}, true); }),
            "conflicting options: cannot specify both --all and --filter all=1");
}

TEST(CliVolumePrune, Output) {
  EXPECT_EQ(volume_prune_output(
                json::object{{"VolumesDeleted", json::array{"a", "b"}}, {"SpaceReclaimed", 1500}}),
            "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 1.5kB\n");
  EXPECT_EQ(volume_prune_output({}), "Total reclaimed space: 0B\n");
  // Docker counts the space only with names to show.
  EXPECT_EQ(volume_prune_output(json::object{{"VolumesDeleted", nullptr}, {"SpaceReclaimed", 10}}),
            "Total reclaimed space: 0B\n");
}

TEST(CliVolumeCommands, PruneAsksFirst) {
  FakeDaemon daemon([](int fd, const std::string&) { respond(fd, 500, R"({"message":"no"})"); });
  auto o = berth(daemon.host(), {"volume", "prune"}, "n\n");
  EXPECT_EQ(o.out,
            "WARNING! This will remove anonymous local volumes not used by at least one "
            "container.\nAre you sure you want to continue? [y/N] Total reclaimed space: 0B\n");
  EXPECT_EQ(o.code, 0);
  o = berth(daemon.host(), {"volume", "prune", "--all"}, "");
  EXPECT_EQ(o.out,
            "WARNING! This will remove all local volumes not used by at least one container.\n"
            "Are you sure you want to continue? [y/N] Total reclaimed space: 0B\n");
  EXPECT_TRUE(daemon.requests().empty());
  o = berth(daemon.host(), {"volume", "prune", "-a", "--filter", "all=0"}, "y\n");
  EXPECT_EQ(o.error, "conflicting options: cannot specify both --all and --filter all=1");
  EXPECT_EQ(o.out, "");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(CliVolumeCommands, PruneSendsFiltersAndReports) {
  FakeDaemon daemon([](int fd, const std::string&) {
    respond(fd, 200, R"({"VolumesDeleted":["old","tmp"],"SpaceReclaimed":2048})");
  });
  auto o = berth(daemon.host(), {"volume", "prune", "-a", "-f", "--filter", "label=tier=db"});
  EXPECT_EQ(o.out, "Deleted Volumes:\nold\ntmp\n\nTotal reclaimed space: 2.048kB\n");
  EXPECT_EQ(request_line(daemon.last_request()),
            "POST /v1.43/volumes/prune?filters=" +
                query_escape(R"({"all":{"true":true},"label":{"tier=db":true}})"));
  o = berth(daemon.host(), {"volume", "prune"}, "y\n");
  EXPECT_TRUE(
      o.out.ends_with("[y/N] Deleted Volumes:\nold\ntmp\n\nTotal reclaimed space: 2.048kB\n"));
  EXPECT_EQ(request_line(daemon.last_request()), "POST /v1.43/volumes/prune");
}

// --- the volume group -----------------------------------------------------------------

TEST(CliVolumeCommands, GroupAloneShowsUsage) {
  CLI::App app("test", "berth");
  Context ctx;
  add_volume_commands(app, ctx);
  EXPECT_THROW(app.parse(std::vector<std::string>{"volume"}), CLI::CallForHelp);
  auto* group = app.get_subcommand("volume");
  for (const char* verb : {"create", "inspect", "ls", "prune", "rm"}) {
    EXPECT_NE(group->help().find(verb), std::string::npos) << verb;
  }
  // --name is Docker's hidden spelling of the VOLUME argument.
  EXPECT_EQ(group->get_subcommand("create")->help().find("--name"), std::string::npos);
  EXPECT_NE(group->get_subcommand("create")->help().find("--opt"), std::string::npos);
}

// --- -v / --volume ---------------------------------------------------------------------

TEST(CliVolumeFlags, NoVolumeFlagsAsDockerSendsThem) {
  auto b = body_for({"busybox"});
  // Docker's map is never nil: an empty object, not null.
  EXPECT_EQ(b.at("Volumes"), json::object{});
  const auto& h = host(b);
  EXPECT_TRUE(h.at("Binds").is_null());
  EXPECT_TRUE(h.at("VolumesFrom").is_null());
  EXPECT_EQ(h.at("VolumeDriver"), "");
  EXPECT_FALSE(h.contains("Mounts"));
  EXPECT_FALSE(h.contains("Tmpfs"));
}

TEST(CliVolumeFlags, SpecsWithASourceAreBindsTheOthersAnonymousVolumes) {
  auto b = body_for({"-v", "/data", "-v", "vol:/srv", "-v", "/h:/c:ro,rprivate", "-v", "/data",
                     "-v", "./rel:/r", "-v", ".:/here:ro", "-v", "c:/win", "-v", "ab", "busybox"});
  EXPECT_EQ(b.at("Volumes"),
            (json::object{
                {"/data", json::object{}}, {"c:/win", json::object{}}, {"ab", json::object{}}}));
  EXPECT_EQ(host(b).at("Binds"),
            (json::array{"vol:/srv", "/h:/c:ro,rprivate", cwd() + "/rel:/r", cwd() + ":/here:ro"}));
}

TEST(CliVolumeFlags, VolumeBindAsComposesParseVolume) {
  EXPECT_EQ(volume_bind("/data"), std::nullopt);
  EXPECT_EQ(volume_bind("a:"), std::nullopt);  // two characters: a target
  EXPECT_EQ(volume_bind("name:/data:nocopy"), "name:/data:nocopy");
  EXPECT_EQ(volume_bind("c:\\dir:/data"), "c:\\dir:/data");  // a drive in the source
  EXPECT_EQ(volume_bind("/src:d:/dst"), "/src:d:/dst");
  EXPECT_EQ(volume_bind("./a/../b/:/x"), cwd() + "/b:/x");
  EXPECT_EQ(volume_bind("../up:/x"), "../up:/x");  // only "." and "./" go absolute
  EXPECT_EQ(message_of([] { volume_bind(""); }), "invalid empty volume spec");
  EXPECT_EQ(message_of([] { volume_bind(":/data"); }),
            "invalid spec: :/data: empty section between colons");
  EXPECT_EQ(message_of([] { volume_bind("/a::/b"); }),
            "invalid spec: /a::/b: empty section between colons");
  EXPECT_EQ(message_of([] { volume_bind("/a:/b:"); }),
            "invalid spec: /a:/b:: empty section between colons");
  EXPECT_EQ(message_of([] { volume_bind("/a:/b:ro:x"); }),
            "invalid spec: /a:/b:ro:x: too many colons");
  auto error = [](std::vector<std::string> args) {
    try {
      body_for(std::move(args));
    } catch (const CliError& e) {
      return std::to_string(e.exit_code()) + " " + e.what();
    }
    return std::string("<no error>");
  };
  EXPECT_EQ(error({"-v", "ab::c", "busybox"}),
            "125 invalid spec: ab::c: empty section between colons");
  // "a:" is a drive there, so Docker reads a source "a:" and a target "b".
  EXPECT_EQ(volume_bind("a::b"), "a::b");
}

// --- --mount -----------------------------------------------------------------------------

TEST(CliVolumeFlags, VolumeMountWithEveryOption) {
  auto m = parse_mount(
      "type=volume,source=data,target=/data,readonly,volume-driver=local,volume-label=a=b,"
      "volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-nocopy");
  EXPECT_EQ(json::serialize(m),
            R"({"Type":"volume","Source":"data","Target":"/data","ReadOnly":true,)"
            R"("VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},)"
            R"("DriverConfig":{"Name":"local","Options":{"type":"tmpfs","device":"tmpfs"}}}})");
  // Options omitted when empty, as Go's omitempty; a VolumeOptions once
  // made always carries a DriverConfig.
  EXPECT_EQ(json::serialize(parse_mount("src=v,dst=/d")),
            R"({"Type":"volume","Source":"v","Target":"/d"})");
  EXPECT_EQ(json::serialize(parse_mount("type=volume,dst=/d,volume-nocopy=false,ro=false")),
            R"({"Type":"volume","Target":"/d","VolumeOptions":{"DriverConfig":{}}})");
  EXPECT_EQ(json::serialize(parse_mount("destination=/d,volume-label==x,volume-opt==y")),
            R"({"Type":"volume","Target":"/d","VolumeOptions":{"DriverConfig":{}}})");
}

TEST(CliVolumeFlags, BindAndTmpfsMounts) {
  EXPECT_EQ(
      json::serialize(parse_mount(
          "type=bind,src=/h,dst=/c,bind-propagation=RShared,bind-nonrecursive,consistency=cached")),
      R"({"Type":"bind","Source":"/h","Target":"/c","Consistency":"cached",)"
      R"("BindOptions":{"Propagation":"rshared","NonRecursive":true}})");
  EXPECT_EQ(json::serialize(parse_mount("type=bind,src=./x/,target=/c,bind-nonrecursive=false")),
            R"({"Type":"bind","Source":")" + cwd() + R"(/x","Target":"/c","BindOptions":{}})");
  EXPECT_EQ(json::serialize(parse_mount("type=TMPFS,dst=/t,tmpfs-size=64m,tmpfs-mode=1777")),
            R"({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":67108864,"Mode":1023}})");
  EXPECT_EQ(json::serialize(parse_mount("type=tmpfs,dst=/t,tmpfs-mode=0")),
            R"({"Type":"tmpfs","Target":"/t","TmpfsOptions":{}})");
  // Quoted CSV fields may hold commas; "" is a quote.
  auto quoted = parse_mount(R"("type=bind","src=/a,b","dst=/x""y")");
  EXPECT_EQ(quoted.at("Source"), "/a,b");
  EXPECT_EQ(quoted.at("Target"), "/x\"y");
}

TEST(CliVolumeFlags, MountErrorsAsDockers) {
  auto error = [](const char* spec) { return message_of([&] { parse_mount(spec); }); };
  EXPECT_EQ(error("type=bind"), "target is required");
  EXPECT_EQ(error("type=,target=/x"), "type is required");
  EXPECT_EQ(error("target=/x,foo"), "invalid field 'foo' must be a key=value pair");
  EXPECT_EQ(error("target=/x,"), "invalid field '' must be a key=value pair");
  EXPECT_EQ(error("target=/x,size=1"), "unexpected key 'size' in 'size=1'");
  EXPECT_EQ(error("target=/x,readonly=maybe"), "invalid value for readonly: maybe");
  EXPECT_EQ(error("target=/x,ro=2"), "invalid value for ro: 2");
  EXPECT_EQ(error("target=/x,volume-nocopy=maybe"), "invalid value for volume-nocopy: maybe");
  EXPECT_EQ(error("type=bind,target=/x,bind-nonrecursive=yes"),
            "invalid value for bind-nonrecursive: yes");
  EXPECT_EQ(error("type=tmpfs,target=/x,tmpfs-size=lots"), "invalid value for tmpfs-size: lots");
  EXPECT_EQ(error("type=tmpfs,target=/x,tmpfs-mode=0x1ff"), "invalid value for tmpfs-mode: 0x1ff");
  EXPECT_EQ(error("type=tmpfs,target=/x,tmpfs-mode=9"), "invalid value for tmpfs-mode: 9");
  EXPECT_EQ(error("type=volume,target=/x,bind-propagation=rprivate"),
            "cannot mix 'bind-*' options with mount type 'volume'");
  EXPECT_EQ(error("type=bind,target=/x,tmpfs-size=1m"),
            "cannot mix 'tmpfs-*' options with mount type 'bind'");
  EXPECT_EQ(error("type=tmpfs,target=/x,volume-driver=local"),
            "cannot mix 'volume-*' options with mount type 'tmpfs'");
  // encoding/csv's errors.
  EXPECT_EQ(error(R"(type=bind,src=a"b,dst=/x)"),
            R"(parse error on line 1, column 16: bare " in non-quoted-field)");
  EXPECT_EQ(error(R"("type=bind,dst=/x)"),
            R"(parse error on line 1, column 18: extraneous or missing " in quoted-field)");
  EXPECT_EQ(error(R"("type=bind"x,dst=/x)"),
            R"(parse error on line 1, column 11: extraneous or missing " in quoted-field)");
  EXPECT_EQ(error(""), "EOF");
  // As the flag reports them.
  EXPECT_EQ(message_of([] {
              body_for({"--mount", "type=bind", "busybox"});
            }),
            "invalid argument \"type=bind\" for \"--mount\" flag: target is required");
}

TEST(CliVolumeFlags, MountsTmpfsVolumesFromAndDriverInTheBody) {
  auto b = body_for({"--mount", "type=volume,src=data,dst=/data", "--mount",
                     "type=tmpfs,dst=/scratch,tmpfs-size=1g", "--tmpfs", "/run:rw,size=64m",
                     "--tmpfs", "/tmp", "--volumes-from", "web", "--volumes-from", "db:ro",
                     "--volume-driver", "other", "busybox"});
  const auto& h = host(b);
  EXPECT_EQ(h.at("Mounts"),
            (json::array{json::object{{"Type", "volume"}, {"Source", "data"}, {"Target", "/data"}},
                         json::object{{"Type", "tmpfs"},
                                      {"Target", "/scratch"},
                                      {"TmpfsOptions", json::object{{"SizeBytes", 1073741824}}}}}));
  EXPECT_EQ(h.at("Tmpfs"), (json::object{{"/run", "rw,size=64m"}, {"/tmp", ""}}));
  EXPECT_EQ(h.at("VolumesFrom"), (json::array{"web", "db:ro"}));
  EXPECT_EQ(h.at("VolumeDriver"), "other");
}

}  // namespace
}  // namespace berth::cli
