// Volumes and mounts through a real berthd: named and anonymous volumes
// (data outliving containers, copy-up, nocopy, rm -v, prune, system df),
// read-only mounts, tmpfs, bind propagation, --volumes-from, cp through
// volumes and binds, symlink escapes on mount targets and in cp, a daemon
// killed with SIGKILL while volumes are mounted, the Engine API's errors,
// and the docker CLIs (20.10 and 28.x) driving all of it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "container_fixture.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether `path` is a mount point in this process's namespace.
bool is_mount_point(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point == path) return true;
  }
  return false;
}

// The fixture for berth CLI and API tests: also removes every volume, and
// checks nothing stays mounted under the daemon's root.
class Volumes : public ContainerFixture<> {
 protected:
  void TearDown() override {
    if (daemon_ && daemon_->started()) {
      remove_all_containers(*daemon_);
      auto ls = daemon_->berth({"volume", "ls", "-q"});
      std::istringstream names(ls.out);
      for (std::string name; std::getline(names, name);) {
        if (!name.empty()) daemon_->berth({"volume", "rm", "-f", name});
      }
      EXPECT_EQ(leftovers(daemon_->root()), "");
    }
  }

  CommandResult berth(std::vector<std::string> args, const std::string& input = {}) {
    return daemon_->berth(std::move(args), input);
  }

  std::string mountpoint(const std::string& volume) {
    auto r = berth({"volume", "inspect", "-f", "{{.Mountpoint}}", volume});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  json::value api_json(const std::string& method, const std::string& path, const std::string& body = {}) {
    auto a = daemon_->api(method, path, body);
    json::error_code ec;
    auto v = json::parse(a.body, ec);
    return ec ? json::value(a.body) : v;
  }

  // Loads busybox plus one more layer, tagged `tag`.
  void load_image(const std::string& tag, const Layer& extra) {
    TestImage img = busybox_image(tag);
    img.layers.push_back(extra);
    write_file(work_ / "extra.tar", docker_archive({img}));
    auto load = berth({"load", "-i", work_ / "extra.tar"});
    ASSERT_EQ(load.exit_code, 0) << load.err;
  }
};

TEST_F(Volumes, NamedVolumeDataOutlivesItsContainer) {
  auto first = berth({"run", "--name", "berth-test-writer", "-v", "berth-test-data:/data", kImage, "sh", "-c",
                      "echo kept > /data/file"});
  ASSERT_EQ(first.exit_code, 0) << first.err << daemon_->log();
  // Created on first use, local, under the data root.
  const std::string path = mountpoint("berth-test-data");
  EXPECT_EQ(path, daemon_->data_root() + "/volumes/berth-test-data/_data");
  EXPECT_EQ(read_file(path + "/file"), "kept\n");
  auto inspect = berth({"inspect", "-f", "{{json .Mounts}}", "berth-test-writer"});
  auto mounts = json::parse(inspect.out);
  ASSERT_EQ(mounts.as_array().size(), 1u) << inspect.out;
  const auto& m = mounts.as_array()[0].as_object();
  EXPECT_EQ(m.at("Type"), "volume");
  EXPECT_EQ(m.at("Name"), "berth-test-data");
  EXPECT_EQ(m.at("Source"), json::value(path));
  EXPECT_EQ(m.at("Destination"), "/data");
  EXPECT_EQ(m.at("Driver"), "local");
  EXPECT_EQ(m.at("RW"), true);

  // In use by a container (even a stopped one): not removable.
  auto in_use = berth({"volume", "rm", "berth-test-data"});
  EXPECT_NE(in_use.exit_code, 0);
  EXPECT_TRUE(contains(in_use.err, "volume is in use")) << in_use.err;

  ASSERT_EQ(berth({"rm", "-v", "berth-test-writer"}).exit_code, 0);
  // rm -v keeps named volumes; the next container sees the data.
  auto second = berth({"run", "--rm", "-v", "berth-test-data:/again", kImage, "cat", "/again/file"});
  EXPECT_EQ(second.out, "kept\n") << second.err;
  ASSERT_EQ(berth({"volume", "rm", "berth-test-data"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(daemon_->data_root() + "/volumes/berth-test-data"));
  auto gone = berth({"volume", "inspect", "berth-test-data"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_TRUE(contains(gone.err, "No such volume: berth-test-data")) << gone.err;
}

TEST_F(Volumes, ReadOnlyMountsRefuseWrites) {
  fs::create_directories(work_ / "bind");
  write_file(work_ / "bind/host.txt", "from host\n");
  const std::vector<std::vector<std::string>> mounts = {
      {"-v", "berth-test-ro:/target:ro"},
      {"--mount", "type=volume,src=berth-test-ro,dst=/target,readonly"},
      {"-v", work_ / "bind" + ":/target:ro"},
      {"--mount", "type=bind,source=" + work_ / "bind" + ",target=/target,readonly"},
  };
  for (const auto& flags : mounts) {
    std::vector<std::string> args{"run", "--rm"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {kImage, "sh", "-c", "ls /target >/dev/null && echo x > /target/new"});
    auto r = berth(args);
    EXPECT_NE(r.exit_code, 0) << flags[1];
    EXPECT_TRUE(contains(r.err + r.out, "Read-only file system")) << flags[1] << ": " << r.err << r.out;
  }
  EXPECT_FALSE(fs::exists(work_ / "bind/new"));
  // Writable binds write through to the host.
  auto rw = berth({"run", "--rm", "-v", work_ / "bind" + ":/target", kImage, "sh", "-c",
                   "cat /target/host.txt && echo back > /target/new"});
  EXPECT_EQ(rw.out, "from host\n") << rw.err;
  EXPECT_EQ(read_file(work_ / "bind/new"), "back\n");
  // A missing -v host directory is made; a missing --mount source is an error.
  auto made = berth({"run", "--rm", "-v", work_ / "made/here" + ":/m", kImage, "true"});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  EXPECT_TRUE(fs::is_directory(work_ / "made/here"));
  auto missing = berth({"run", "--rm", "--mount", "type=bind,src=" + work_ / "absent" + ",dst=/m", kImage, "true"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "bind source path does not exist: " + work_ / "absent")) << missing.err;
}

TEST_F(Volumes, TmpfsContentVanishesWithTheContainerRun) {
  auto create = berth({"create", "--name", "berth-test-tmpfs", "--tmpfs", "/scratch:size=1m",
                       "--mount", "type=tmpfs,dst=/other,tmpfs-size=2m", kImage, "sh", "-c",
                       "ls /scratch /other; echo x > /scratch/a; echo y > /other/b; "
                       "df -k /scratch /other | tail -2 | awk '{print $2}'"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  auto first = berth({"start", "-a", "berth-test-tmpfs"});
  EXPECT_EQ(first.out, "/other:\n\n/scratch:\n1024\n2048\n") << first.err;
  // A second run starts with empty file systems again.
  auto second = berth({"start", "-a", "berth-test-tmpfs"});
  EXPECT_EQ(second.out, "/other:\n\n/scratch:\n1024\n2048\n") << second.err;
  auto mounts = json::parse(berth({"inspect", "-f", "{{json .Mounts}}", "berth-test-tmpfs"}).out);
  ASSERT_EQ(mounts.as_array().size(), 1u);  // --tmpfs is no mount point, as in Docker
  EXPECT_EQ(mounts.as_array()[0].at("Type"), "tmpfs");
  EXPECT_EQ(mounts.as_array()[0].at("Destination"), "/other");
}

TEST_F(Volumes, CopyUpFillsAnEmptyVolumeFromTheImage) {
  load_image("berth-test/seeded:1", {Entry::dir("seed", 0750), Entry::file("seed/a.txt", "seeded\n", 0640),
                                      Entry::dir("seed/sub"), Entry::file("seed/sub/b", "deep\n"),
                                      Entry::symlink("seed/link", "/etc/passwd")});
  auto run = berth({"run", "--rm", "-v", "berth-test-seed:/seed", "berth-test/seeded:1", "sh", "-c",
                    "cat /seed/a.txt /seed/sub/b; readlink /seed/link; stat -c %a /seed /seed/a.txt"});
  EXPECT_EQ(run.out, "seeded\ndeep\n/etc/passwd\n750\n640\n") << run.err << daemon_->log();
  const std::string path = mountpoint("berth-test-seed");
  EXPECT_EQ(read_file(path + "/sub/b"), "deep\n");
  // Not again once the volume has content: what a container changed stays.
  ASSERT_EQ(berth({"run", "--rm", "-v", "berth-test-seed:/seed", "berth-test/seeded:1", "rm", "/seed/a.txt"})
                .exit_code,
            0);
  EXPECT_EQ(berth({"run", "--rm", "-v", "berth-test-seed:/seed", "berth-test/seeded:1", "ls", "/seed"}).out,
            "link\nsub\n");
  // nocopy: the volume stays empty.
  auto nocopy = berth({"run", "--rm", "-v", "berth-test-nocopy:/seed:nocopy", "berth-test/seeded:1", "ls", "-A",
                       "/seed"});
  EXPECT_EQ(nocopy.exit_code, 0) << nocopy.err;
  EXPECT_EQ(nocopy.out, "");
  auto mount_nocopy = berth({"run", "--rm", "--mount", "type=volume,src=berth-test-nocopy2,dst=/seed,volume-nocopy",
                             "berth-test/seeded:1", "ls", "-A", "/seed"});
  EXPECT_EQ(mount_nocopy.out, "") << mount_nocopy.err;
  // An anonymous volume (-v /path) is filled the same way.
  auto anon = berth({"run", "--name", "berth-test-anon", "-v", "/seed", "berth-test/seeded:1", "cat", "/seed/a.txt"});
  EXPECT_EQ(anon.out, "seeded\n") << anon.err;
}

TEST_F(Volumes, ImageVolumesAreAnonymousAndGoWithRmV) {
  // An image with VOLUME /data holding content, made with commit --change.
  ASSERT_EQ(berth({"run", "--name", "berth-test-base", kImage, "sh", "-c", "mkdir /data && echo img > /data/f"})
                .exit_code,
            0);
  ASSERT_EQ(berth({"commit", "-c", "VOLUME /data", "berth-test-base", "berth-test/withvolume:1"}).exit_code, 0);
  auto run = berth({"run", "--name", "berth-test-user", "berth-test/withvolume:1", "cat", "/data/f"});
  EXPECT_EQ(run.out, "img\n") << run.err;
  auto name = berth({"inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "berth-test-user"});
  std::string anon = name.out.substr(0, name.out.find('\n'));
  ASSERT_EQ(anon.size(), 64u) << name.out;
  auto label = berth({"volume", "inspect", "-f", "{{json .Labels}}", anon});
  EXPECT_TRUE(contains(label.out, "com.docker.volume.anonymous")) << label.out;
  // A named volume used by the same container survives rm -v.
  ASSERT_EQ(berth({"run", "--name", "berth-test-both", "-v", "berth-test-named:/named", "-v", "/anon", kImage,
                   "true"})
                .exit_code,
            0);
  auto both = berth({"inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", "berth-test-both"});
  ASSERT_EQ(berth({"rm", "-v", "berth-test-user"}).exit_code, 0);
  EXPECT_NE(berth({"volume", "inspect", anon}).exit_code, 0);
  ASSERT_EQ(berth({"rm", "-v", "berth-test-both"}).exit_code, 0);
  auto ls = berth({"volume", "ls", "-q"});
  EXPECT_EQ(ls.out, "berth-test-named\n") << both.out;
  // --rm removes anonymous volumes too.
  ASSERT_EQ(berth({"run", "--rm", "-v", "/gone", kImage, "true"}).exit_code, 0);
  EXPECT_EQ(berth({"volume", "ls", "-q"}).out, "berth-test-named\n");
}

TEST_F(Volumes, PruneAndDiskUsage) {
  ASSERT_EQ(berth({"volume", "create", "--label", "keep=no", "berth-test-unused"}).exit_code, 0);
  ASSERT_EQ(berth({"volume", "create", "berth-test-used"}).exit_code, 0);
  ASSERT_EQ(berth({"create", "--name", "berth-test-holder", "-v", "berth-test-used:/u", "-v", "/anon-used", kImage})
                .exit_code,
            0);
  ASSERT_EQ(berth({"run", "--name", "berth-test-gone", "-v", "/anon-free", kImage, "true"}).exit_code, 0);
  ASSERT_EQ(berth({"rm", "berth-test-gone"}).exit_code, 0);  // no -v: its anonymous volume stays, unused
  ASSERT_EQ(berth({"run", "--rm", "-v", "berth-test-unused:/d", kImage, "sh", "-c",
                   "head -c 100000 /dev/zero > /d/blob"})
                .exit_code,
            0);
  auto df = json::parse(daemon_->api("GET", "/system/df").body);
  bool found = false;
  for (const auto& v : df.at("Volumes").as_array()) {
    if (v.at("Name") != "berth-test-unused") continue;
    found = true;
    EXPECT_EQ(v.at("UsageData").at("Size"), 100000);
    EXPECT_EQ(v.at("UsageData").at("RefCount"), 0);
  }
  EXPECT_TRUE(found) << json::serialize(df);
  auto df_cli = berth({"system", "df", "-v"});
  EXPECT_TRUE(contains(df_cli.out, "berth-test-unused")) << df_cli.out;

  // Plain prune: anonymous unused volumes only.
  auto prune = berth({"volume", "prune", "-f"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_TRUE(contains(prune.out, "Deleted Volumes:")) << prune.out;
  auto ls = berth({"volume", "ls", "-q"});
  EXPECT_TRUE(contains(ls.out, "berth-test-unused\n")) << ls.out;
  EXPECT_TRUE(contains(ls.out, "berth-test-used\n"));
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 3) << ls.out;  // + the holder's anonymous one
  // --all: named ones too, still not those in use.
  auto all = berth({"volume", "prune", "-a", "-f"});
  EXPECT_TRUE(contains(all.out, "berth-test-unused")) << all.out;
  EXPECT_TRUE(contains(all.out, "Total reclaimed space: 100kB")) << all.out;
  ls = berth({"volume", "ls", "-q"});
  EXPECT_FALSE(contains(ls.out, "berth-test-unused"));
  EXPECT_TRUE(contains(ls.out, "berth-test-used"));
  // Filters.
  EXPECT_EQ(berth({"volume", "ls", "-q", "-f", "dangling=false", "-f", "name=used"}).out, "berth-test-used\n");
  EXPECT_EQ(berth({"ps", "-a", "-q", "--no-trunc", "-f", "volume=berth-test-used"}).out,
            berth({"inspect", "-f", "{{.Id}}", "berth-test-holder"}).out);
}

TEST_F(Volumes, VolumesFromSharesMountsWithModes) {
  fs::create_directories(work_ / "shared");
  ASSERT_EQ(berth({"create", "--name", "berth-test-donor", "-v", "berth-test-vf:/vf", "-v",
                   work_ / "shared" + ":/bind", "--tmpfs", "/tmp-only", kImage})
                .exit_code,
            0);
  auto rw = berth({"run", "--rm", "--volumes-from", "berth-test-donor", kImage, "sh", "-c",
                   "echo a > /vf/a && echo b > /bind/b && ls /"});
  EXPECT_EQ(rw.exit_code, 0) << rw.err;
  EXPECT_EQ(read_file(work_ / "shared/b"), "b\n");
  EXPECT_EQ(read_file(mountpoint("berth-test-vf") + "/a"), "a\n");
  auto ro = berth({"run", "--rm", "--volumes-from", "berth-test-donor:ro", kImage, "sh", "-c", "echo c > /vf/c"});
  EXPECT_NE(ro.exit_code, 0);
  EXPECT_TRUE(contains(ro.err, "Read-only file system")) << ro.err;
  auto missing = berth({"run", "--rm", "--volumes-from", "berth-test-nobody", kImage, "true"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "No such container: berth-test-nobody")) << missing.err;
}

TEST_F(Volumes, BindPropagationReachesTheContainerOnlyWhenAskedFor) {
  // A shared mount point on the host to propagate from.
  const std::string src = work_ / "prop";
  fs::create_directories(src);
  ASSERT_EQ(::mount(src.c_str(), src.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(::mount(nullptr, src.c_str(), nullptr, MS_SHARED, nullptr), 0);
  for (const char* mode : {"rslave", "rprivate"}) {
    const std::string name = std::string("berth-test-prop-") + mode;
    ASSERT_EQ(berth({"run", "-d", "--name", name, "-v", src + ":/prop:" + mode, kImage, "sleep", "300"}).exit_code,
              0)
        << daemon_->log();
  }
  // Mounted on the host after the containers started.
  fs::create_directories(src + "/late");
  ASSERT_EQ(::mount("tmpfs", (src + "/late").c_str(), "tmpfs", 0, "size=1m"), 0);
  write_file(src + "/late/marker", "propagated\n");
  EXPECT_EQ(berth({"exec", "berth-test-prop-rslave", "cat", "/prop/late/marker"}).out, "propagated\n");
  EXPECT_EQ(berth({"exec", "berth-test-prop-rprivate", "ls", "-A", "/prop/late"}).out, "");
  auto inspect = berth({"inspect", "-f", "{{range .Mounts}}{{.Propagation}}{{end}}", "berth-test-prop-rslave"});
  EXPECT_EQ(inspect.out, "rslave\n");
  remove_all_containers(*daemon_);
  ::umount2((src + "/late").c_str(), MNT_DETACH);
  ::umount2(src.c_str(), MNT_DETACH);
}

TEST_F(Volumes, SymlinkEscapesOnMountTargetsStayInsideTheRootfs) {
  // The image's /data, /up and /deep/x are symlinks aimed at a host
  // directory, absolute and relative; a mount there must land in the rootfs.
  TempDir outside("volume-escape");
  const std::string rel = "../../../../../../../../../../" + outside.path().substr(1);
  load_image("berth-test/escape:1", {Entry::symlink("data", outside.path()), Entry::symlink("up", rel),
                                      Entry::dir("deep"), Entry::symlink("deep/x", "../../../.." + outside.path())});
  for (const char* target : {"/data", "/up", "/deep/x"}) {
    auto r = berth({"run", "--rm", "-v", "berth-test-esc:" + std::string(target), "berth-test/escape:1", "sh", "-c",
                    std::string("echo inside > ") + target + "/written"});
    EXPECT_EQ(r.exit_code, 0) << target << ": " << r.err << daemon_->log();
    auto bind = berth({"run", "--rm", "-v", work_.path() + ":" + target + ":ro", "berth-test/escape:1", "true"});
    EXPECT_EQ(bind.exit_code, 0) << target << ": " << bind.err;
  }
  EXPECT_TRUE(fs::is_empty(outside.path())) << "a mount or a write escaped to " << outside.path();
  EXPECT_FALSE(is_mount_point(outside.path()));
  EXPECT_EQ(read_file(mountpoint("berth-test-esc") + "/written"), "inside\n");

  // A volume holding a symlink to "/" under a second mount's target: the
  // second mount still lands inside the container.
  ASSERT_EQ(berth({"run", "--rm", "-v", "berth-test-evil:/evil", kImage, "ln", "-s", outside.path(), "/evil/link"})
                .exit_code,
            0);
  auto nested = berth({"run", "--rm", "-v", "berth-test-evil:/evil", "-v", "berth-test-nested:/evil/link", kImage,
                       "sh", "-c", "echo n > /evil/link/n"});
  EXPECT_EQ(nested.exit_code, 0) << nested.err;
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_EQ(read_file(mountpoint("berth-test-nested") + "/n"), "n\n");

  // cp through the symlink in the volume: stays in the container too.
  ASSERT_EQ(berth({"create", "--name", "berth-test-cp-evil", "-v", "berth-test-evil:/evil", kImage}).exit_code, 0);
  write_file(work_ / "payload", "payload\n");
  auto cp = berth({"cp", work_ / "payload", "berth-test-cp-evil:/evil/link/"});
  EXPECT_TRUE(fs::is_empty(outside.path())) << cp.err;
  auto out = berth({"cp", "berth-test-cp-evil:/evil/link/../../../../etc/passwd", work_ / "passwd"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(contains(read_file(work_ / "passwd"), "nobody")) << "not the image's passwd";
}

TEST_F(Volumes, CpReadsAndWritesThroughVolumesAndBinds) {
  fs::create_directories(work_ / "bind");
  write_file(work_ / "bind/on-host", "host file\n");
  ASSERT_EQ(berth({"create", "--name", "berth-test-cp", "-v", "berth-test-cpvol:/vol", "-v",
                   work_ / "bind" + ":/bind", "-v", "berth-test-cpro:/ro:ro", kImage, "sleep", "300"})
                .exit_code,
            0);
  write_file(work_ / "in.txt", "into the volume\n");
  // A container that never ran: the volume is mounted for the copy.
  ASSERT_EQ(berth({"cp", work_ / "in.txt", "berth-test-cp:/vol/in.txt"}).exit_code, 0) << daemon_->log();
  EXPECT_EQ(read_file(mountpoint("berth-test-cpvol") + "/in.txt"), "into the volume\n");
  ASSERT_EQ(berth({"cp", "berth-test-cp:/bind/on-host", work_ / "out.txt"}).exit_code, 0);
  EXPECT_EQ(read_file(work_ / "out.txt"), "host file\n");
  auto ro = berth({"cp", work_ / "in.txt", "berth-test-cp:/ro/"});
  EXPECT_NE(ro.exit_code, 0);
  EXPECT_TRUE(contains(ro.err, "mounted volume is marked read-only")) << ro.err;
  // Running: the same, and the container sees what cp wrote.
  ASSERT_EQ(berth({"start", "berth-test-cp"}).exit_code, 0);
  ASSERT_EQ(berth({"cp", work_ / "in.txt", "berth-test-cp:/bind/from-cp"}).exit_code, 0);
  EXPECT_EQ(read_file(work_ / "bind/from-cp"), "into the volume\n");
  ASSERT_EQ(berth({"exec", "berth-test-cp", "sh", "-c", "echo live > /vol/live"}).exit_code, 0);
  ASSERT_EQ(berth({"cp", "berth-test-cp:/vol", work_ / "volcopy"}).exit_code, 0);
  EXPECT_EQ(read_file(work_ / "volcopy/live"), "live\n");
  EXPECT_EQ(read_file(work_ / "volcopy/in.txt"), "into the volume\n");
  // cp's mounts are its own: nothing is left mounted in the host's view.
  EXPECT_FALSE(is_mount_point(daemon_->exec_root()));
}

TEST_F(Volumes, DriverOptionsMountATmpfsVolumeWhileInUse) {
  ASSERT_EQ(berth({"volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o",
                   "o=size=2m", "berth-test-tmpvol"})
                .exit_code,
            0);
  const std::string path = mountpoint("berth-test-tmpvol");
  EXPECT_FALSE(is_mount_point(path));
  ASSERT_EQ(berth({"run", "-d", "--name", "berth-test-tv", "-v", "berth-test-tmpvol:/t", kImage, "sh", "-c",
                   "echo in-memory > /t/f; sleep 300"})
                .exit_code,
            0);
  EXPECT_TRUE(is_mount_point(path));
  auto opts = berth({"volume", "inspect", "-f", "{{json .Options}}", "berth-test-tmpvol"});
  EXPECT_TRUE(contains(opts.out, "\"type\":\"tmpfs\"")) << opts.out;
  ASSERT_EQ(berth({"stop", "-t", "0", "berth-test-tv"}).exit_code, 0);
  EXPECT_FALSE(is_mount_point(path)) << "unmounted when its last user stops";
  auto bad = berth({"volume", "create", "-o", "colour=blue", "berth-test-bad"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "invalid option key: \"colour\"")) << bad.err;
  EXPECT_NE(berth({"volume", "inspect", "berth-test-bad"}).exit_code, 0);
}

TEST_F(Volumes, DaemonKilledWhileVolumesAreMountedComesBackConsistent) {
  ASSERT_EQ(berth({"volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "berth-test-k-tmp"}).exit_code, 0);
  for (const char* name : {"berth-test-k-keep", "berth-test-k-die"}) {
    ASSERT_EQ(berth({"run", "-d", "--name", name, "-v", "berth-test-k-named:/n", "-v",
                     std::string("berth-test-k-tmp:/t"), "-v", "/anon", kImage, "sh", "-c",
                     "echo alive > /t/" + std::string(name) + "; sleep 300"})
                  .exit_code,
              0);
  }
  const std::string tmp_path = mountpoint("berth-test-k-tmp");
  const std::string pid_die = berth({"inspect", "-f", "{{.State.Pid}}", "berth-test-k-die"}).out;
  ASSERT_TRUE(is_mount_point(tmp_path));
  daemon_->stop(SIGKILL);
  // While the daemon is away one container dies.
  ASSERT_EQ(::kill(std::stoi(pid_die), SIGKILL), 0);
  std::this_thread::sleep_for(500ms);
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  EXPECT_EQ(berth({"inspect", "-f", "{{.State.Status}}", "berth-test-k-keep"}).out, "running\n");
  EXPECT_EQ(berth({"inspect", "-f", "{{.State.Status}}", "berth-test-k-die"}).out, "exited\n");
  // The survivor's tmpfs volume is still the same file system.
  EXPECT_TRUE(is_mount_point(tmp_path));
  EXPECT_EQ(berth({"exec", "berth-test-k-keep", "cat", "/t/berth-test-k-keep"}).out, "alive\n");
  // References: both containers still hold the volumes.
  auto in_use = berth({"volume", "rm", "berth-test-k-named"});
  EXPECT_TRUE(contains(in_use.err, "volume is in use")) << in_use.err;
  auto df = json::parse(daemon_->api("GET", "/system/df").body);
  for (const auto& v : df.at("Volumes").as_array()) {
    if (v.at("Name") == "berth-test-k-named") {
      EXPECT_EQ(v.at("UsageData").at("RefCount"), 2);
    }
  }
  ASSERT_EQ(berth({"rm", "-v", "berth-test-k-die"}).exit_code, 0);
  EXPECT_TRUE(is_mount_point(tmp_path));  // the survivor still uses it
  ASSERT_EQ(berth({"rm", "-f", "-v", "berth-test-k-keep"}).exit_code, 0);
  EXPECT_FALSE(is_mount_point(tmp_path)) << "stale volume mount after restart";
  EXPECT_EQ(berth({"volume", "rm", "berth-test-k-named", "berth-test-k-tmp"}).exit_code, 0);
  EXPECT_EQ(berth({"volume", "ls", "-q"}).out, "");
  EXPECT_EQ(leftovers(daemon_->root()), "");
}

TEST_F(Volumes, ApiErrorsChangeNothing) {
  auto missing = daemon_->api("GET", "/volumes/berth-test-none");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(contains(missing.body, "get berth-test-none: no such volume")) << missing.body;
  auto bad_name = daemon_->api("POST", "/volumes/create", R"({"Name":"a/b"})");
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_TRUE(contains(bad_name.body, "includes invalid characters for a local volume name")) << bad_name.body;
  auto no_driver = daemon_->api("POST", "/volumes/create", R"({"Name":"berth-test-x","Driver":"nfs-magic"})");
  EXPECT_EQ(no_driver.status, 404);
  EXPECT_TRUE(contains(no_driver.body, "error looking up volume plugin nfs-magic")) << no_driver.body;
  EXPECT_EQ(daemon_->api("POST", "/volumes/create", R"({"Name":7})").status, 400);
  EXPECT_EQ(daemon_->api("POST", "/volumes/create", R"({"Name":"berth-test-x","Labels":[1]})").status, 400);
  EXPECT_EQ(daemon_->api("POST", "/volumes/create", R"({"Name":"berth-test-x","DriverOpts":{"o":3}})").status, 400);
  EXPECT_EQ(daemon_->api("POST", "/volumes/create", "{not json").status, 400);
  EXPECT_EQ(daemon_->api("GET", "/volumes?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D").status, 400);
  EXPECT_EQ(daemon_->api("DELETE", "/volumes/berth-test-none").status, 404);
  EXPECT_EQ(daemon_->api("DELETE", "/volumes/berth-test-none?force=1").status, 204);
  // Create is idempotent.
  auto one = api_json("POST", "/volumes/create", R"({"Name":"berth-test-x","Labels":{"a":"b"}})");
  auto two = api_json("POST", "/volumes/create", R"({"Name":"berth-test-x"})");
  EXPECT_EQ(one.at("CreatedAt"), two.at("CreatedAt"));
  EXPECT_EQ(two.at("Labels").at("a"), "b");
  // Bad mounts in a create request: 400, and no container or volume made.
  for (const char* body :
       {R"({"Image":"berth-test/busybox:latest","HostConfig":{"Binds":["berth-test-y:relative"]}})",
        R"({"Image":"berth-test/busybox:latest","HostConfig":{"Binds":["/a:/b:nonsense"]}})",
        R"({"Image":"berth-test/busybox:latest","HostConfig":{"Mounts":[{"Type":"volume","Target":"/x","BindOptions":{}}]}})",
        R"({"Image":"berth-test/busybox:latest","HostConfig":{"Binds":["berth-test-y:/d"],"Mounts":[{"Type":"tmpfs","Target":"/d"}]}})",
        R"({"Image":"berth-test/busybox:latest","HostConfig":{"VolumesFrom":["berth-test-nobody:xx"]}})"}) {
    auto r = daemon_->api("POST", "/containers/create", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_EQ(berth({"ps", "-aq"}).out, "");
  EXPECT_EQ(berth({"volume", "ls", "-q"}).out, "berth-test-x\n");
}

// The docker CLIs against berthd.
class DockerVolumes : public DockerContainerTest {
 protected:
  void TearDown() override {
    if (daemon_ && daemon_->started()) {
      remove_all_containers(*daemon_);
      daemon_->berth({"volume", "prune", "-a", "-f"});
    }
  }
};

TEST_P(DockerVolumes, VolumeCommandsAndRunMounts) {
  if (!fs::exists(GetParam())) GTEST_SKIP() << GetParam() << " is not installed";
  auto create = docker({"volume", "create", "--label", "purpose=test", "-o", "type=tmpfs", "-o", "device=tmpfs",
                        "berth-test-docker"});
  ASSERT_EQ(create.exit_code, 0) << create.err << daemon_->log();
  EXPECT_EQ(create.out, "berth-test-docker\n");
  auto anon = docker({"volume", "create"});
  ASSERT_EQ(anon.exit_code, 0) << anon.err;
  EXPECT_EQ(anon.out.size(), 65u) << anon.out;
  auto ls = docker({"volume", "ls"});
  EXPECT_TRUE(contains(ls.out, "DRIVER")) << ls.out;
  EXPECT_TRUE(contains(ls.out, "local     berth-test-docker")) << ls.out;
  auto filtered = docker({"volume", "ls", "-q", "--filter", "label=purpose=test"});
  EXPECT_EQ(filtered.out, "berth-test-docker\n");
  auto inspect = docker({"volume", "inspect", "berth-test-docker"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto v = json::parse(inspect.out).as_array().at(0).as_object();
  EXPECT_EQ(v.at("Name"), "berth-test-docker");
  EXPECT_EQ(v.at("Driver"), "local");
  EXPECT_EQ(v.at("Scope"), "local");
  EXPECT_EQ(v.at("Labels").at("purpose"), "test");
  EXPECT_EQ(v.at("Options").at("type"), "tmpfs");

  auto run_v = docker({"run", "--rm", "-v", "berth-test-docker:/d", "-v", "berth-test-named:/n", kImage, "sh", "-c",
                       "echo one > /n/f && grep -c ' /d ' /proc/mounts"});
  EXPECT_EQ(run_v.exit_code, 0) << run_v.err;
  EXPECT_EQ(run_v.out, "1\n");
  auto run_mount = docker({"run", "--rm", "--mount", "type=volume,source=berth-test-named,target=/m,readonly",
                           "--mount", "type=tmpfs,destination=/t,tmpfs-size=1m", kImage, "sh", "-c",
                           "cat /m/f; touch /m/g 2>/dev/null || echo refused"});
  EXPECT_EQ(run_mount.out, "one\nrefused\n") << run_mount.err;
  auto run_inspect = docker({"run", "-d", "--name", "berth-test-dv", "-v", "berth-test-named:/n:ro", kImage,
                             "sleep", "300"});
  ASSERT_EQ(run_inspect.exit_code, 0) << run_inspect.err;
  EXPECT_EQ(docker({"inspect", "-f", "{{range .Mounts}}{{.Name}} {{.Destination}} {{.RW}}{{end}}", "berth-test-dv"})
                .out,
            "berth-test-named /n false\n");
  auto in_use = docker({"volume", "rm", "berth-test-named"});
  EXPECT_NE(in_use.exit_code, 0);
  EXPECT_TRUE(contains(in_use.err, "volume is in use")) << in_use.err;
  ASSERT_EQ(docker({"rm", "-f", "berth-test-dv"}).exit_code, 0);
  auto rm = docker({"volume", "rm", "berth-test-named", "berth-test-docker"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "berth-test-named\nberth-test-docker\n");
  auto prune = docker({"volume", "prune", "-f", "--all"});
  if (GetParam() == "/usr/bin/docker") prune = docker({"volume", "prune", "-f"});  // 20.10 has no --all
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(docker({"volume", "ls", "-q"}).out, "");
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerVolumes, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
