// The berth CLI's image commands against a real berthd (images, image
// inspect, rmi, tag, history, save, load, import, image prune), the JSON
// message stream display and the streaming client against a fake daemon,
// and the real docker clients driving berthd's image endpoints.
#include "docker_clients.hpp"
#include "harness.hpp"
#include "../support/image_builder.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Table cells: columns are at least three spaces apart.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  static const std::regex gap(" {3,}");
  for (std::sregex_token_iterator it(line.begin(), line.end(), gap, -1), end; it != end; ++it) {
    out.push_back(*it);
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::uint64_t fnv1a(std::uint64_t h, const char* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  return h;
}
constexpr std::uint64_t kFnvBasis = 14695981039346656037ULL;

// A docker-archive tar assembled from a hand-written config, for history
// entries and config values the image builder does not make.
std::string custom_archive(const TempDir& work, const std::string& config,
                           const std::vector<Layer>& layers, const std::string& tag) {
  std::string dir = work / "archive-src";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string config_name = sha256(config).substr(7) + ".json";
  write_file(dir + "/" + config_name, config);
  json::array layer_paths;
  for (const auto& l : layers) {
    std::string tar = layer_tar(l);
    std::string name = sha256(tar).substr(7);
    fs::create_directories(dir + "/" + name);
    write_file(dir + "/" + name + "/layer.tar", tar);
    layer_paths.emplace_back(name + "/layer.tar");
  }
  write_file(dir + "/manifest.json",
             json::serialize(json::array{json::object{{"Config", config_name},
                                                      {"RepoTags", json::array{json::value(tag)}},
                                                      {"Layers", layer_paths}}}));
  std::string out = work / "custom.tar";
  auto r = run({"tar", "-C", dir, "-cf", out, "."});
  if (r.exit_code != 0) ADD_FAILURE() << "tar: " << r.err;
  return out;
}

class CliImages : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(Daemon::Options{.args = {"--storage-driver", "vfs"}});
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
  }

  // berth against this daemon, with dates in UTC.
  CommandResult berth(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {berth_path(), "-H", daemon_->host()});
    return run(args, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}, {"TZ", "UTC"}}, input);
  }

  CommandResult berth_on_terminal(std::vector<std::string> args) {
    args.insert(args.begin(), {berth_path(), "-H", daemon_->host()});
    return run_on_terminal(args, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}, {"TZ", "UTC"}});
  }

  // A root filesystem tar made by tar(1) from files written here.
  std::string rootfs_tar() {
    std::string root = work_ / "rootfs";
    fs::create_directories(root + "/etc");
    fs::create_directories(root + "/bin");
    write_file(root + "/etc/hostname", "berth-test\n");
    write_file(root + "/bin/tool", "#!/bin/sh\necho tool\n");
    fs::permissions(root + "/bin/tool", fs::perms(0755));
    fs::create_symlink("hostname", root + "/etc/name");
    std::string tar = work_ / "rootfs.tar";
    auto r = run({"tar", "-C", root, "-cf", tar, "."});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return tar;
  }

  std::string load_test_image(const TestImage& img) {
    std::string path = work_ / "image.tar";
    write_file(path, docker_archive({img}));
    auto r = berth({"load", "-i", path});
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
    return image_id(img);
  }

  std::unique_ptr<Daemon> daemon_;
  TempDir work_{"cli-image"};
};

TestImage small_image(const std::string& tag) {
  TestImage img;
  img.layers.push_back({Entry::dir("etc"), Entry::file("etc/motd", "hello\n")});
  img.layers.push_back({Entry::dir("bin"), Entry::file("bin/run", "#!/bin/sh\n", 0755)});
  img.tags = {tag};
  return img;
}

// The whole life of an image through the CLI, as the brief walks it.
TEST_F(CliImages, ImportListInspectTagHistorySaveRmiLoadPrune) {
  std::string tar = rootfs_tar();
  auto imp = berth({"import", "-m", "first import", tar, "berth-test/imported:v1"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err << daemon_->log();
  ASSERT_TRUE(std::regex_match(imp.out, std::regex("sha256:[0-9a-f]{64}\n"))) << imp.out;
  std::string id = imp.out.substr(0, imp.out.size() - 1);
  std::string short_id = id.substr(7, 12);

  // The default table.
  auto table = berth({"images"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  auto rows = lines(table.out);
  ASSERT_EQ(rows.size(), 2u) << table.out;
  EXPECT_EQ(cells(rows[0]),
            (std::vector<std::string>{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}));
  auto row = cells(rows[1]);
  ASSERT_EQ(row.size(), 5u) << rows[1];
  EXPECT_EQ(row[0], "berth-test/imported");
  EXPECT_EQ(row[1], "v1");
  EXPECT_EQ(row[2], short_id);
  EXPECT_TRUE(std::regex_match(
      row[3], std::regex("Less than a second ago|[0-9]+ seconds ago|1 second ago")))
      << row[3];
  EXPECT_TRUE(std::regex_match(row[4], std::regex("[0-9.]+(B|kB|MB)"))) << row[4];
  // Columns line up under their headers.
  EXPECT_EQ(rows[0].find("IMAGE ID"), rows[1].find(short_id));
  EXPECT_EQ(rows[0].find("SIZE"), rows[1].rfind(row[4]));
  // `image ls` and `image list` are the same command.
  // (Compared without the CREATED column, which moves on meanwhile.)
  for (const char* spelling : {"ls", "list"}) {
    auto same = berth({"image", spelling, "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}"});
    EXPECT_EQ(same.out, berth({"images", "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}"}).out) << spelling;
    EXPECT_TRUE(berth({"image", spelling}).out.starts_with("REPOSITORY ")) << spelling;
  }

  EXPECT_EQ(berth({"images", "-q"}).out, short_id + "\n");
  EXPECT_EQ(berth({"images", "-q", "--no-trunc"}).out, id + "\n");

  auto as_json = berth({"images", "--format", "json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  auto obj = json::parse(as_json.out).as_object();
  std::vector<std::string> keys;
  for (const auto& kv : obj) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"Containers", "CreatedAt", "CreatedSince", "Digest",
                                            "ID", "Repository", "SharedSize", "Size", "Tag",
                                            "UniqueSize", "VirtualSize"}));
  EXPECT_EQ(obj.at("ID").as_string(), short_id);
  EXPECT_EQ(obj.at("Repository").as_string(), "berth-test/imported");
  EXPECT_EQ(obj.at("Tag").as_string(), "v1");
  EXPECT_EQ(obj.at("Digest").as_string(), "<none>");
  EXPECT_EQ(obj.at("Containers").as_string(), "N/A");
  EXPECT_TRUE(std::regex_match(std::string(obj.at("CreatedAt").as_string()),
                               std::regex("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+0000 UTC")))
      << obj.at("CreatedAt");

  auto digests = berth({"images", "--digests"});
  auto drows = lines(digests.out);
  ASSERT_EQ(drows.size(), 2u) << digests.out;
  EXPECT_EQ(cells(drows[0]), (std::vector<std::string>{"REPOSITORY", "TAG", "DIGEST", "IMAGE ID",
                                                       "CREATED", "SIZE"}));
  EXPECT_EQ(cells(drows[1])[2], "<none>");

  auto templ = berth({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Containers}}"});
  EXPECT_EQ(templ.out, "berth-test/imported:v1 " + short_id + " N/A\n");
  auto custom_table = berth({"images", "--format", "table {{.ID}}\t{{.Repository}}"});
  EXPECT_EQ(cells(lines(custom_table.out)[0]),
            (std::vector<std::string>{"IMAGE ID", "REPOSITORY"}));

  // Filters: the positional reference, -f, and a bad one.
  EXPECT_EQ(berth({"images", "-q", "berth-test/imported"}).out, short_id + "\n");
  EXPECT_EQ(berth({"images", "-q", "berth-test/imported:v1"}).out, short_id + "\n");
  EXPECT_EQ(berth({"images", "-q", "berth-test/other"}).out, "");
  EXPECT_EQ(berth({"images", "-q", "-f", "reference=berth-test/*"}).out, short_id + "\n");
  EXPECT_EQ(berth({"images", "-q", "-f", "dangling=true"}).out, "");
  auto bad_filter = berth({"images", "-f", "nonsense"});
  EXPECT_EQ(bad_filter.exit_code, 125);
  EXPECT_TRUE(contains(bad_filter.err, "bad format of filter (expected name=value)"))
      << bad_filter.err;
  auto unknown_filter = berth({"images", "-f", "color=blue"});
  EXPECT_EQ(unknown_filter.exit_code, 1);
  EXPECT_TRUE(contains(unknown_filter.err, "Error response from daemon: invalid filter 'color'"))
      << unknown_filter.err;

  // Inspect.
  auto inspect_id = berth({"image", "inspect", "-f", "{{.Id}}", "berth-test/imported:v1"});
  EXPECT_EQ(inspect_id.out, id + "\n");
  auto inspect = berth({"image", "inspect", "berth-test/imported:v1"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(inspect.out.rfind("[\n    {\n        \"Id\": \"" + id + "\",\n", 0), 0u) << inspect.out;
  auto parsed = json::parse(inspect.out);
  ASSERT_EQ(parsed.as_array().size(), 1u);
  EXPECT_EQ(parsed.as_array()[0].at("RootFS").at("Layers").as_array().size(), 1u);

  // Tag: both names show, -q names the image once.
  auto tag = berth({"tag", "berth-test/imported:v1", "berth-test/other"});
  ASSERT_EQ(tag.exit_code, 0) << tag.err;
  EXPECT_EQ(tag.out, "");
  auto both = berth({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"});
  auto both_lines = lines(both.out);
  std::sort(both_lines.begin(), both_lines.end());
  EXPECT_EQ(both_lines, (std::vector<std::string>{"berth-test/imported:v1 " + short_id,
                                                  "berth-test/other:latest " + short_id}));
  EXPECT_EQ(berth({"images", "-q"}).out, short_id + "\n");
  ASSERT_EQ(berth({"image", "tag", id, "berth-test/third:3"}).exit_code, 0);

  // History: one layer, with the import message as its comment.
  auto history = berth({"history", "berth-test/imported:v1"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  auto hrows = lines(history.out);
  ASSERT_EQ(hrows.size(), 2u) << history.out;
  EXPECT_EQ(cells(hrows[0]),
            (std::vector<std::string>{"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}));
  EXPECT_EQ(hrows[1].rfind(short_id, 0), 0u) << hrows[1];
  EXPECT_TRUE(contains(hrows[1], "first import")) << hrows[1];
  EXPECT_EQ(berth({"image", "history", "-q", "--no-trunc", "berth-test/imported:v1"}).out,
            id + "\n");

  // Save both names to a file, atomically.
  std::string saved = work_ / "out/saved.tar";
  fs::create_directories(work_ / "out");
  auto save = berth({"save", "-o", saved, "berth-test/imported:v1", "berth-test/other"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  EXPECT_EQ(save.out, "");
  auto listing = run({"tar", "-tf", saved});
  EXPECT_TRUE(contains(listing.out, "manifest.json")) << listing.out;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(work_ / "out"))
    left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"saved.tar"});

  // Remove every name: the last one deletes the image.
  auto rmi = berth({"rmi", "berth-test/imported:v1", "berth-test/other", "berth-test/third:3"});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  auto rmi_lines = lines(rmi.out);
  ASSERT_GE(rmi_lines.size(), 4u) << rmi.out;
  EXPECT_EQ(rmi_lines[0], "Untagged: berth-test/imported:v1");
  EXPECT_EQ(rmi_lines[1], "Untagged: berth-test/other:latest");
  EXPECT_EQ(rmi_lines[2], "Untagged: berth-test/third:3");
  EXPECT_EQ(rmi_lines[3], "Deleted: " + id);
  EXPECT_EQ(berth({"images", "-q"}).out, "");

  // Load it back: the same image ID under both names.
  auto load = berth({"load", "-i", saved});
  ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  EXPECT_TRUE(contains(load.out, "Loaded image: berth-test/imported:v1\n")) << load.out;
  EXPECT_TRUE(contains(load.out, "Loaded image: berth-test/other:latest\n")) << load.out;
  EXPECT_EQ(berth({"image", "inspect", "-f", "{{.Id}}", "berth-test/other"}).out, id + "\n");

  // An unnamed import is dangling; prune -f removes it and only it.
  auto dangling = berth({"import", "-", "--message", "again"}, read_file(tar));
  ASSERT_EQ(dangling.exit_code, 0) << dangling.err;
  std::string dangling_id = dangling.out.substr(0, dangling.out.size() - 1);
  auto none =
      berth({"images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}", "-f", "dangling=true"});
  EXPECT_EQ(none.out, "<none> <none> " + dangling_id.substr(7, 12) + "\n");
  auto prune = berth({"image", "prune", "-f"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(prune.out.rfind("Deleted Images:\ndeleted: " + dangling_id + "\n", 0), 0u) << prune.out;
  EXPECT_TRUE(
      std::regex_search(prune.out, std::regex("\n\nTotal reclaimed space: [0-9.]+(B|kB|MB)\n$")))
      << prune.out;
  EXPECT_EQ(berth({"images", "-q"}).out, short_id + "\n");
  EXPECT_EQ(berth({"image", "prune", "-f"}).out, "Total reclaimed space: 0B\n");
}

TEST_F(CliImages, InspectPrintsLikeDockerAndReportsMissingImagesLast) {
  std::string id = load_test_image(small_image("berth-test/app:1"));
  auto both = berth({"image", "inspect", "berth-test/app:1", "nosuch", id});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.err, "Error: No such image: nosuch\n");
  auto parsed = json::parse(both.out);
  ASSERT_EQ(parsed.as_array().size(), 2u) << both.out;
  EXPECT_EQ(parsed.as_array()[1].at("Id").as_string(), id);
  // Go's json.Indent layout: 4 spaces, ": ", empty containers kept short.
  EXPECT_TRUE(contains(both.out,
                       "\n        \"RepoTags\": [\n            \"berth-test/app:1\"\n        ],\n"))
      << both.out;
  EXPECT_TRUE(contains(both.out, "\"RepoDigests\": [],")) << both.out;
  EXPECT_EQ(both.out.substr(both.out.size() - 4), "}\n]\n");

  auto none = berth({"image", "inspect", "nosuch"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.out, "[]\n");
  EXPECT_EQ(none.err, "Error: No such image: nosuch\n");

  auto formatted =
      berth({"image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}}",
             "berth-test/app:1", id});
  EXPECT_EQ(formatted.out, "linux/amd64 2\nlinux/amd64 2\n");
  auto bad = berth({"image", "inspect", "-f", "{{.Os", "berth-test/app:1"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_TRUE(contains(bad.err, "template parsing error")) << bad.err;
}

TEST_F(CliImages, InspectEscapesLikeGoAndMatchesDockersLayout) {
  // "<", ">" and "&" in a config value, a tab in a command, and empty
  // layers in the history.
  Layer layer{Entry::file("hello", "world\n")};
  std::string diff_id = sha256(layer_tar(layer));
  std::string long_command =
      "/bin/sh -c #(nop) \tCMD [\"sh\" \"-c\" \"echo <a> && echo b\"] with more words after";
  std::string config = json::serialize(json::object{
      {"architecture", "amd64"},
      {"os", "linux"},
      {"created", "2026-01-01T00:00:00Z"},
      {"config", json::object{{"Cmd", json::array{"sh", "-c", "echo <a> && echo b"}},
                              {"Labels", json::object{{"k", "x&y"}}}}},
      {"rootfs", json::object{{"type", "layers"}, {"diff_ids", json::array{json::value(diff_id)}}}},
      {"history",
       json::array{json::object{{"created", "2026-01-01T00:00:00Z"}, {"created_by", "ADD file"}},
                   json::object{{"created", "2026-01-01T00:00:00Z"},
                                {"created_by", long_command},
                                {"comment", "a comment"},
                                {"empty_layer", true}}}},
  });
  std::string tar = custom_archive(work_, config, {layer}, "berth-test/esc:1");
  auto load = berth({"load", "-i", tar});
  ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  std::string id = sha256(config);

  auto inspect = berth({"image", "inspect", "berth-test/esc:1"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_TRUE(contains(inspect.out, "\"echo \\u003ca\\u003e \\u0026\\u0026 echo b\""))
      << inspect.out;
  EXPECT_TRUE(contains(inspect.out, "\"k\": \"x\\u0026y\"")) << inspect.out;
  EXPECT_FALSE(contains(inspect.out, "<a>"));
  // The template sees the decoded values.
  EXPECT_EQ(
      berth({"image", "inspect", "-f", "{{index .Config.Labels \"k\"}}", "berth-test/esc:1"}).out,
      "x&y\n");

  // Docker's client re-indents the same bytes the same way; only the
  // escaping (which Docker's daemon does, and berth's CLI does) differs.
  if (fs::exists("/usr/bin/docker")) {
    TempDir config_dir("docker-config");
    auto docker =
        run({"/usr/bin/docker", "-H", daemon_->host(), "image", "inspect", "berth-test/esc:1"},
            {{"DOCKER_CONFIG", config_dir.path()}, {"DOCKER_HOST", ""}, {"DOCKER_CONTEXT", ""}});
    ASSERT_EQ(docker.exit_code, 0) << docker.err;
    std::string escaped;
    for (char c : docker.out) {
      if (c == '<')
        escaped += "\\u003c";
      else if (c == '>')
        escaped += "\\u003e";
      else if (c == '&')
        escaped += "\\u0026";
      else
        escaped += c;
    }
    EXPECT_EQ(inspect.out, escaped);
  }

  // History: newest first, CREATED BY cut to 45 characters with "…",
  // tabs turned into spaces; --no-trunc shows it whole.
  auto history = berth({"history", "berth-test/esc:1"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  auto rows = lines(history.out);
  ASSERT_EQ(rows.size(), 3u) << history.out;
  std::string untabbed = long_command;
  std::replace(untabbed.begin(), untabbed.end(), '\t', ' ');
  auto top = cells(rows[1]);
  ASSERT_EQ(top.size(), 5u) << rows[1];
  EXPECT_EQ(top[0], id.substr(7, 12));
  EXPECT_TRUE(std::regex_match(top[1], std::regex("[0-9]+ (months|weeks|days|years) ago")))
      << top[1];
  EXPECT_EQ(top[2], untabbed.substr(0, 44) + "\xE2\x80\xA6");
  EXPECT_EQ(top[3], "0B");
  EXPECT_EQ(top[4], "a comment");
  auto bottom = cells(rows[2]);
  ASSERT_GE(bottom.size(), 4u) << rows[2];
  EXPECT_EQ(bottom[0], "<missing>");
  EXPECT_EQ(bottom[2], "ADD file");
  auto full =
      berth({"history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}", "berth-test/esc:1"});
  EXPECT_EQ(full.out, id + "|" + untabbed + "\n<missing>|ADD file\n");
  auto raw =
      berth({"history", "-H=false", "--format", "{{.CreatedSince}} {{.Size}}", "berth-test/esc:1"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  auto raw_lines = lines(raw.out);
  ASSERT_EQ(raw_lines.size(), 2u) << raw.out;
  EXPECT_EQ(raw_lines[0], "2026-01-01T00:00:00Z 0");
  EXPECT_TRUE(std::regex_match(raw_lines[1], std::regex("2026-01-01T00:00:00Z [1-9][0-9]*")))
      << raw_lines[1];
  auto human_off = berth({"history", "--human=false", "berth-test/esc:1"});
  EXPECT_EQ(cells(lines(human_off.out)[0]),
            (std::vector<std::string>{"IMAGE", "CREATED AT", "CREATED BY", "SIZE", "COMMENT"}));
  auto missing = berth({"history", "nosuch"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "Error response from daemon: ")) << missing.err;
}

TEST_F(CliImages, RmiContinuesPastErrorsAndForceForgivesMissingImages) {
  std::string id = load_test_image(small_image("berth-test/app:1"));
  ASSERT_EQ(berth({"tag", "berth-test/app:1", "berth-test/app:2"}).exit_code, 0);

  auto partly = berth({"rmi", "nosuch", "berth-test/app:2"});
  EXPECT_EQ(partly.exit_code, 1);
  EXPECT_EQ(partly.out, "Untagged: berth-test/app:2\n");
  EXPECT_TRUE(
      std::regex_match(partly.err, std::regex("Error response from daemon: [^\n]*nosuch[^\n]*\n")))
      << partly.err;

  auto forced_missing = berth({"rmi", "-f", "nosuch"});
  EXPECT_EQ(forced_missing.exit_code, 0);
  EXPECT_TRUE(contains(forced_missing.err, "nosuch")) << forced_missing.err;

  ASSERT_EQ(berth({"tag", "berth-test/app:1", "berth-test/app:3"}).exit_code, 0);
  auto conflict = berth({"image", "rm", id.substr(7, 12)});
  EXPECT_EQ(conflict.exit_code, 1);
  EXPECT_TRUE(contains(conflict.err, "Error response from daemon: ")) << conflict.err;
  auto forced = berth({"image", "remove", "-f", id});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(contains(forced.out, "Deleted: " + id + "\n")) << forced.out;
  EXPECT_EQ(berth({"images", "-q"}).out, "");

  auto usage = berth({"rmi"});
  EXPECT_EQ(usage.exit_code, 125);
  EXPECT_TRUE(contains(usage.err, "See 'berth rmi --help'.")) << usage.err;
}

TEST_F(CliImages, TagChecksReferencesBeforeAskingTheDaemon) {
  load_test_image(small_image("berth-test/app:1"));
  auto upper = berth({"tag", "berth-test/app:1", "berth-test/App"});
  EXPECT_EQ(upper.exit_code, 1);
  EXPECT_EQ(upper.err,
            "Error parsing reference: \"berth-test/App\" is not a valid repository/tag: invalid "
            "reference format: "
            "repository name (berth-test/App) must be lowercase\n");
  auto bad = berth({"tag", "berth-test/app:1", "a:b:c"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "Error parsing reference: \"a:b:c\" is not a valid repository/tag: invalid reference "
            "format\n");
  auto digest = berth({"tag", "berth-test/app:1", "x@sha256:" + std::string(64, 'a')});
  EXPECT_EQ(digest.exit_code, 1);
  EXPECT_EQ(digest.err, "refusing to create a tag with a digest reference\n");
  auto missing = berth({"tag", "nosuch", "berth-test/x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "Error response from daemon: ")) << missing.err;
  // A registry with a port and a nested path keep their names.
  ASSERT_EQ(berth({"tag", "berth-test/app:1", "localhost:5000/a/b:c"}).exit_code, 0);
  // (berthd's reference filter selects images but, unlike Docker's, still
  // answers with all their tags; hence the search, not an equality.)
  auto listed = berth({"images", "--format", "{{.Repository}} {{.Tag}}", "localhost:5000/a/b"});
  EXPECT_TRUE(contains(listed.out, "localhost:5000/a/b c\n")) << listed.out;
  auto usage = berth({"tag", "only-one"});
  EXPECT_EQ(usage.exit_code, 125);
}

TEST_F(CliImages, SaveRefusesATerminalAndNeverLeavesAPartialFile) {
  load_test_image(small_image("berth-test/app:1"));
  auto tty = berth_on_terminal({"save", "berth-test/app:1"});
  EXPECT_EQ(tty.exit_code, 1);
  EXPECT_EQ(tty.out, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");

  // To standard output when it is not a terminal: a tar that loads.
  auto piped = berth({"save", "berth-test/app:1"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  write_file(work_ / "piped.tar", piped.out);
  EXPECT_TRUE(contains(run({"tar", "-tf", work_ / "piped.tar"}).out, "manifest.json"));

  fs::create_directories(work_ / "out");
  auto missing = berth({"save", "-o", work_ / "out/x.tar", "berth-test/app:1", "nosuch"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "Error response from daemon: ")) << missing.err;
  EXPECT_TRUE(fs::is_empty(work_ / "out"));

  auto no_dir = berth({"image", "save", "-o", work_ / "nowhere/x.tar", "berth-test/app:1"});
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_EQ(no_dir.err, "failed to save image: invalid output path: directory \"" +
                            work_ / "nowhere" + "\" does not exist\n");
  auto dir = berth({"save", "-o", work_ / "out", "berth-test/app:1"});
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_TRUE(contains(dir.err, "is a directory")) << dir.err;

  // An existing file is replaced only once the new tar is complete.
  write_file(work_ / "out/x.tar", "old");
  ASSERT_EQ(berth({"save", "-o", work_ / "out/x.tar", "berth-test/app:1"}).exit_code, 0);
  EXPECT_EQ(read_file(work_ / "out/x.tar"), read_file(work_ / "piped.tar"));
  EXPECT_EQ(std::distance(fs::directory_iterator(work_ / "out"), fs::directory_iterator()), 1);
}

TEST_F(CliImages, LoadReadsStdinAndReportsStreamErrors) {
  TestImage img = small_image("berth-test/stdin:1");
  auto load = berth({"image", "load"}, docker_archive({img}));
  ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  EXPECT_EQ(load.out, "Loaded image: berth-test/stdin:1\n");
  EXPECT_EQ(berth({"image", "inspect", "-f", "{{.Id}}", "berth-test/stdin:1"}).out,
            image_id(img) + "\n");
  auto quiet = berth({"load", "-q", "-i", work_ / "missing.tar"});
  EXPECT_EQ(quiet.exit_code, 1);
  EXPECT_EQ(quiet.err, "open " + work_ / "missing.tar" + ": No such file or directory\n");

  write_file(work_ / "garbage.tar", std::string(8192, 'x'));
  auto garbage = berth({"load", "-i", work_ / "garbage.tar"});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_FALSE(garbage.err.empty());
  EXPECT_FALSE(contains(garbage.err, "Error response from daemon")) << garbage.err;
  EXPECT_EQ(berth({"images", "-q", "-f", "dangling=true"}).out, "");

  auto tty = berth_on_terminal({"load"});
  EXPECT_EQ(tty.exit_code, 1);
  EXPECT_EQ(tty.out, "requested load from stdin, but stdin is empty\n");

  // import: a bad name is refused before anything is sent.
  auto bad_name = berth({"import", work_ / "garbage.tar", "Bad/Name"});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_TRUE(contains(bad_name.err, "must be lowercase")) << bad_name.err;
  auto not_a_file = berth({"import", work_ / "missing.tar"});
  EXPECT_EQ(not_a_file.exit_code, 1);
  EXPECT_TRUE(contains(not_a_file.err, "No such file or directory")) << not_a_file.err;
}

TEST_F(CliImages, PruneAsksFirstUnlessForced) {
  std::string tar = rootfs_tar();
  auto dangling = berth({"import", tar});
  ASSERT_EQ(dangling.exit_code, 0) << dangling.err;
  std::string id = dangling.out.substr(0, dangling.out.size() - 1);

  auto declined = berth({"image", "prune"}, "n\n");
  EXPECT_EQ(declined.exit_code, 0);
  EXPECT_EQ(declined.out,
            "WARNING! This will remove all dangling images.\n"
            "Are you sure you want to continue? [y/N] Total reclaimed space: 0B\n");
  EXPECT_EQ(berth({"images", "-q", "--no-trunc"}).out, id + "\n");
  auto no_answer = berth({"image", "prune"});
  EXPECT_EQ(no_answer.exit_code, 0);
  EXPECT_EQ(berth({"images", "-q", "--no-trunc"}).out, id + "\n");

  auto all_declined = berth({"image", "prune", "-a"}, "no\n");
  EXPECT_EQ(
      all_declined.out,
      "WARNING! This will remove all images without at least one container associated to them.\n"
      "Are you sure you want to continue? [y/N] Total reclaimed space: 0B\n");

  auto accepted = berth({"image", "prune"}, "y\n");
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_TRUE(contains(accepted.out,
                       "[y/N] Deleted Images:\ndeleted: " + id + "\n\nTotal reclaimed space: "))
      << accepted.out;
  EXPECT_EQ(berth({"images", "-q"}).out, "");

  auto bad = berth({"image", "prune", "-f", "--filter", "color=blue"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "Error response from daemon: invalid filter 'color'")) << bad.err;
}

TEST_F(CliImages, CreatedAndSizeColumnsFollowDocker) {
  TestImage img = small_image("berth-test/old:1");
  img.created = "2024-01-01T00:00:00Z";
  std::string id = load_test_image(img);
  auto r =
      berth({"images", "--format", "{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}|{{.VirtualSize}}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto parts = lines(r.out);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_TRUE(
      std::regex_match(parts[0], std::regex("(2|3) years ago\\|2024-01-01 00:00:00 \\+0000 UTC\\|"
                                            "[0-9.]+(B|kB)\\|[0-9.]+(B|kB)")))
      << parts[0];
}

// ------------------------------------------------------------ fake daemon

// A minimal HTTP/1.1 server on a UNIX socket that records requests (body
// size and hash, not the body) and answers with whatever the test says.
class FakeDaemon {
 public:
  struct Request {
    std::string method, target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::uint64_t body_size = 0;
    std::uint64_t body_hash = kFnvBasis;
  };
  // Writes the whole answer for a request on `fd` (the server closes it).
  using Handler = std::function<void(const Request&, int fd)>;

  explicit FakeDaemon(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path().c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0) {
      ADD_FAILURE() << "fake daemon: bind " << socket_path() << ": " << std::strerror(errno);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string host() const { return "unix://" + socket_path(); }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  static void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  static void respond(int fd, int status, const std::string& content_type,
                      const std::string& body) {
    write_all(fd, "HTTP/1.1 " + std::to_string(status) +
                      " X\r\nApi-Version: 1.43\r\nContent-Type: " + content_type +
                      "\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n" + body);
  }

 private:
  std::string socket_path() const { return dir_ / "fake.sock"; }

  // Reads until `n` bytes are buffered (false at EOF).
  bool fill(int fd, std::string& buf, std::size_t n) {
    char tmp[65536];
    while (buf.size() < n) {
      ssize_t got = ::recv(fd, tmp, sizeof tmp, 0);
      if (got <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(got));
    }
    return true;
  }
  bool read_line(int fd, std::string& buf, std::string& line) {
    for (;;) {
      if (auto eol = buf.find("\r\n"); eol != std::string::npos) {
        line = buf.substr(0, eol);
        buf.erase(0, eol + 2);
        return true;
      }
      if (!fill(fd, buf, buf.size() + 1)) return false;
    }
  }
  void consume(Request& r, std::string& buf, std::size_t n) {
    r.body_hash = fnv1a(r.body_hash, buf.data(), n);
    r.body_size += n;
    buf.erase(0, n);
  }
  // Consumes up to `n` body bytes, a buffer at a time.
  bool body(int fd, Request& r, std::string& buf, std::uint64_t n) {
    while (n > 0) {
      if (buf.empty() && !fill(fd, buf, 1)) return false;
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
      consume(r, buf, take);
      n -= take;
    }
    return true;
  }

  void handle(int fd) {
    std::string buf, line;
    Request r;
    if (!read_line(fd, buf, line)) return;
    std::istringstream start(line);
    start >> r.method >> r.target;
    while (read_line(fd, buf, line) && !line.empty()) {
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    if (r.headers.count("content-length") != 0) {
      body(fd, r, buf, std::stoull(r.headers["content-length"]));
    } else if (r.headers["transfer-encoding"] == "chunked") {
      while (read_line(fd, buf, line)) {
        std::uint64_t size = std::stoull(line, nullptr, 16);
        if (size == 0) {
          read_line(fd, buf, line);
          break;
        }
        if (!body(fd, r, buf, size) || !read_line(fd, buf, line)) break;
      }
    }
    {
      std::lock_guard lock(mu_);
      requests_.push_back(r);
    }
    if (r.target == "/_ping") {
      respond(fd, 200, "text/plain", "OK");
    } else {
      handler_(r, fd);
    }
  }

  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      handle(conn);
      ::close(conn);
    }
  }

  TempDir dir_{"fake-daemon"};
  Handler handler_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Request> requests_;
};

CommandResult berth_at(const FakeDaemon& fake, std::vector<std::string> args,
                       const std::string& input = {}) {
  args.insert(args.begin(), {berth_path(), "-H", fake.host()});
  return run(args, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}}, input);
}

const char* const kProgressStream =
    "{\"status\":\"Loading "
    "layer\",\"progressDetail\":{\"current\":1000,\"total\":2000},\"id\":\"abc\"}\r\n"
    "{\"status\":\"Loading "
    "layer\",\"progressDetail\":{\"current\":2000,\"total\":2000},\"id\":\"abc\"}\r\n"
    "{\"status\":\"Done\",\"progressDetail\":{},\"id\":\"abc\"}\r\n"
    "{\"aux\":{\"ID\":\"sha256:x\"}}\r\n"
    "{\"stream\":\"Loaded image: x:1\\n\"}\r\n";

TEST(CliJsonStream, ProgressIsRedrawnOnATerminalAndDroppedElsewhere) {
  FakeDaemon fake([](const FakeDaemon::Request&, int fd) {
    FakeDaemon::respond(fd, 200, "application/json", kProgressStream);
  });
  TempDir work("cli-stream");
  write_file(work / "in.tar", "tar bytes");

  auto piped = berth_at(fake, {"load", "-i", work / "in.tar"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, "abc: Done\nLoaded image: x:1\n");
  auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].target, "/v1.43/images/load?quiet=1");
  EXPECT_EQ(requests[1].headers["content-type"], "application/x-tar");
  EXPECT_EQ(requests[1].headers["content-length"], "9");

  // On a 120-column terminal: a line per id, redrawn in place with a bar.
  auto tty = run_on_terminal({berth_path(), "-H", fake.host(), "load", "-i", work / "in.tar"},
                             {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}});
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  std::string bar1 = "[" + std::string(25, '=') + ">" + std::string(25, ' ') + "]      1kB/2kB";
  std::string bar2 = "[" + std::string(50, '=') + ">]      2kB/2kB";
  std::string expected = "\n\x1b[1A\x1b[2K\rabc: Loading layer " + bar1 + "\r\x1b[1B" +
                         "\x1b[1A\x1b[2K\rabc: Loading layer " + bar2 + "\r\x1b[1B" +
                         "\x1b[1A\x1b[2K\rabc: Done \r\x1b[1B" + "Loaded image: x:1\n";
  EXPECT_EQ(tty.out, expected);
  EXPECT_EQ(fake.requests().back().target, "/v1.43/images/load?quiet=0");
}

TEST(CliJsonStream, AnErrorMessageEndsTheStreamWithExitOne) {
  FakeDaemon fake([](const FakeDaemon::Request& r, int fd) {
    if (r.target.starts_with("/v1.43/images/create")) {
      FakeDaemon::respond(
          fd, 200, "application/json",
          "{\"status\":\"working\"}\r\n"
          "{\"errorDetail\":{\"message\":\"no space left\"},\"error\":\"no space left\"}\r\n"
          "{\"status\":\"never shown\"}\r\n");
    } else if (r.target.starts_with("/v1.43/images/load")) {
      FakeDaemon::respond(fd, 200, "application/json", "{\"stream\":\"half\"}{\"stre");
    } else {
      FakeDaemon::respond(fd, 500, "application/json", "{\"message\":\"it broke\"}");
    }
  });
  TempDir work("cli-stream");
  write_file(work / "in.tar", "x");
  auto imp =
      berth_at(fake, {"import", "-m", "a message & more", work / "in.tar", "example.com/a/b:c"});
  EXPECT_EQ(imp.exit_code, 1);
  EXPECT_EQ(imp.out, "working\n");
  EXPECT_EQ(imp.err, "no space left\n");
  auto requests = fake.requests();
  EXPECT_EQ(requests.back().target,
            "/v1.43/images/"
            "create?fromSrc=-&repo=example.com%2Fa%2Fb%3Ac&tag=&message=a%20message%20%26%20more");

  auto cut = berth_at(fake, {"load", "-i", work / "in.tar"});
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_EQ(cut.out, "half");
  EXPECT_TRUE(contains(cut.err, "invalid JSON message from daemon")) << cut.err;

  auto failed = berth_at(fake, {"images"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.err, "Error response from daemon: it broke\n");
}

// Save and load move tars far bigger than the CLI's memory: the upload is
// read from the file (or stdin, chunked) as it is sent, the download
// written as it arrives.
TEST(CliStreaming, SaveAndLoadDoNotHoldTheTarInMemory) {
  constexpr std::size_t kMiB = 1 << 20;
  constexpr std::size_t kSize = 160 * kMiB;
  std::string block(kMiB, '\0');
  std::uint64_t seed = 88172645463325252ULL;
  for (auto& c : block) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    c = static_cast<char>(seed);
  }
  std::uint64_t expected_hash = kFnvBasis;
  for (std::size_t i = 0; i < kSize / kMiB; ++i)
    expected_hash = fnv1a(expected_hash, block.data(), block.size());

  FakeDaemon fake([&](const FakeDaemon::Request& r, int fd) {
    if (r.target.starts_with("/v1.43/images/get")) {
      FakeDaemon::write_all(
          fd,
          "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: application/x-tar\r\n"
          "Content-Length: " +
              std::to_string(kSize) + "\r\nConnection: close\r\n\r\n");
      for (std::size_t i = 0; i < kSize / kMiB; ++i) FakeDaemon::write_all(fd, block);
    } else {
      FakeDaemon::respond(
          fd, 200, "application/json",
          "{\"stream\":\"Loaded " + std::to_string(r.body_size) + " bytes\\n\"}\r\n");
    }
  });
  TempDir work("cli-streaming");
  auto save = berth_at(fake, {"save", "-o", work / "big.tar", "big:1", "other"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  EXPECT_EQ(fake.requests().back().target, "/v1.43/images/get?names=big%3A1&names=other");
  ASSERT_EQ(fs::file_size(work / "big.tar"), kSize);
  {
    std::ifstream in(work / "big.tar", std::ios::binary);
    std::string chunk(kMiB, '\0');
    std::uint64_t h = kFnvBasis;
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
      h = fnv1a(h, chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    EXPECT_EQ(h, expected_hash);
  }

  auto load = berth_at(fake, {"load", "-i", work / "big.tar"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded " + std::to_string(kSize) + " bytes\n");
  auto upload = fake.requests().back();
  EXPECT_EQ(upload.headers["content-length"], std::to_string(kSize));
  EXPECT_EQ(upload.body_hash, expected_hash);

  // From stdin the length is unknown: chunked.
  std::string small = block.substr(0, 3 * kMiB / 2);
  auto piped = berth_at(fake, {"load"}, small);
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  upload = fake.requests().back();
  EXPECT_EQ(upload.headers["transfer-encoding"], "chunked");
  EXPECT_EQ(upload.body_size, small.size());
  EXPECT_EQ(upload.body_hash, fnv1a(kFnvBasis, small.data(), small.size()));

  // The largest child so far (the berth runs, tar aside) stayed far below
  // the size of the tar it moved.
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  EXPECT_LT(usage.ru_maxrss, 64 * 1024) << "max RSS of a child in KiB";
}

// A download that stops early (the daemon died mid-save) is an error, and
// the half tar never appears under the requested name.
TEST(CliStreaming, ACutShortSaveFailsAndLeavesNoFile) {
  FakeDaemon fake([](const FakeDaemon::Request&, int fd) {
    FakeDaemon::write_all(fd,
                          "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: application/x-tar\r\n"
                          "Content-Length: 100000\r\nConnection: close\r\n\r\n" +
                              std::string(4096, 'x'));
  });
  TempDir work("cli-streaming");
  auto save = berth_at(fake, {"save", "-o", work / "cut.tar", "img"});
  EXPECT_EQ(save.exit_code, 1);
  EXPECT_EQ(save.err, "read response from daemon: connection closed after 4096 of 100000 bytes\n");
  EXPECT_TRUE(fs::is_empty(work.path()));
  auto piped = berth_at(fake, {"save", "img"});
  EXPECT_EQ(piped.exit_code, 1);
  EXPECT_EQ(piped.out.size(), 4096u);
}

// ------------------------------------------------------------ docker CLIs

class DockerImageCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!fs::exists(GetParam())) GTEST_SKIP() << GetParam() << " is not installed";
    daemon_ = std::make_unique<Daemon>(Daemon::Options{.args = {"--storage-driver", "vfs"}});
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
  }
  CommandResult docker(std::vector<std::string> args) {
    args.insert(args.begin(), {GetParam(), "-H", daemon_->host()});
    return run(args, {{"DOCKER_CONFIG", config_.path()},
                      {"DOCKER_HOST", ""},
                      {"DOCKER_CONTEXT", ""},
                      {"DOCKER_API_VERSION", ""}});
  }
  CommandResult berth(std::vector<std::string> args) {
    args.insert(args.begin(), {berth_path(), "-H", daemon_->host()});
    return run(args, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}});
  }
  std::unique_ptr<Daemon> daemon_;
  TempDir config_{"docker-config"};
  TempDir work_{"docker-image"};
};

TEST_P(DockerImageCli, LoadImagesTagSaveRmi) {
  TestImage img = small_image("berth-test/app:1");
  std::string id = image_id(img);
  write_file(work_ / "in.tar", docker_archive({img}));
  auto load = docker({"load", "-i", work_ / "in.tar"});
  ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  EXPECT_TRUE(contains(load.out, "Loaded image: berth-test/app:1")) << load.out;

  auto tag = docker({"tag", "berth-test/app:1", "berth-test/app:2"});
  ASSERT_EQ(tag.exit_code, 0) << tag.err;
  auto listed = docker({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto docker_lines = lines(listed.out);
  std::sort(docker_lines.begin(), docker_lines.end());
  EXPECT_EQ(docker_lines, (std::vector<std::string>{"berth-test/app:1 " + id.substr(7, 12),
                                                    "berth-test/app:2 " + id.substr(7, 12)}));
  // berth's table matches docker's, cell for cell.
  auto docker_table = docker({"images"});
  auto berth_table = berth({"images"});
  auto dl = lines(docker_table.out), bl = lines(berth_table.out);
  ASSERT_EQ(dl.size(), 3u) << docker_table.out;
  ASSERT_EQ(bl.size(), 3u) << berth_table.out;
  // Rows of one image come in no fixed order from Docker (a Go map).
  std::sort(dl.begin() + 1, dl.end());
  std::sort(bl.begin() + 1, bl.end());
  for (std::size_t i = 0; i < dl.size(); ++i) EXPECT_EQ(cells(bl[i]), cells(dl[i])) << "row " << i;

  auto save = docker({"save", "-o", work_ / "saved.tar", "berth-test/app:2"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  auto rmi = docker({"rmi", "berth-test/app:1", "berth-test/app:2"});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out,
            "Untagged: berth-test/app:1\nUntagged: berth-test/app:2\nDeleted: " + id + "\n");
  EXPECT_EQ(docker({"images", "-q"}).out, "");

  // What docker saved, berth loads; what berth saves, docker loads.
  auto berth_load = berth({"load", "-i", work_ / "saved.tar"});
  ASSERT_EQ(berth_load.exit_code, 0) << berth_load.err;
  EXPECT_EQ(berth_load.out, "Loaded image: berth-test/app:2\n");
  ASSERT_EQ(berth({"save", "-o", work_ / "berth.tar", "berth-test/app:2"}).exit_code, 0);
  ASSERT_EQ(berth({"rmi", "berth-test/app:2"}).exit_code, 0);
  auto again = docker({"load", "-i", work_ / "berth.tar"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(docker({"image", "inspect", "-f", "{{.Id}}", "berth-test/app:2"}).out, id + "\n");

  auto missing = docker({"rmi", "berth-test/nothing:here"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "No such image: berth-test/nothing:here")) << missing.err;
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerImageCli, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
