// A container's filesystem through a real berthd: docker cp both ways (the
// archive endpoints) with both docker CLIs, hostile tars that must not
// write outside the rootfs, diff, export and commit; and the same commands
// through the berth CLI.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "container_fixture.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

unsigned file_mode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class ContainerFs : public DockerContainerTest {
 protected:
  // A running container (sleeping) named `name`.
  void run_sleeper(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"run", "-d", "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {kImage, "sleep", "300"});
    auto r = docker(args);
    ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  }

  CommandResult exec(const std::string& name, const std::string& script) {
    return docker({"exec", name, "sh", "-c", script});
  }
};

TEST_P(ContainerFs, CopyIntoAndOutOfContainersKeepsContentAndMode) {
  const std::string c = "berth-test-cp";
  run_sleeper(c);
  write_file(work_ / "hello.txt", "hello from the host\n");
  fs::permissions(work_ / "hello.txt", fs::perms(0640));
  fs::create_directories(work_ / "tree/sub");
  write_file(work_ / "tree/sub/x", "x-content\n");
  fs::permissions(work_ / "tree/sub/x", fs::perms(0750));

  // host -> container: a file into an existing directory, a directory to a
  // new name.
  auto file_in = docker({"cp", work_ / "hello.txt", c + ":/tmp/"});
  ASSERT_EQ(file_in.exit_code, 0) << file_in.err << daemon_->log();
  EXPECT_EQ(exec(c, "cat /tmp/hello.txt; stat -c %a /tmp/hello.txt").out,
            "hello from the host\n640\n");
  auto dir_in = docker({"cp", work_ / "tree", c + ":/tmp/tree2"});
  ASSERT_EQ(dir_in.exit_code, 0) << dir_in.err;
  EXPECT_EQ(exec(c, "cat /tmp/tree2/sub/x; stat -c %a /tmp/tree2/sub/x").out, "x-content\n750\n");
  // Renaming a file on the way in.
  ASSERT_EQ(docker({"cp", work_ / "hello.txt", c + ":/renamed.txt"}).exit_code, 0);
  EXPECT_EQ(exec(c, "cat /renamed.txt").out, "hello from the host\n");

  // container -> host: a file, a directory, and a directory's contents.
  fs::create_directories(work_ / "out");
  auto file_out = docker({"cp", c + ":/etc/passwd", work_ / "out"});
  ASSERT_EQ(file_out.exit_code, 0) << file_out.err;
  EXPECT_EQ(read_file(work_ / "out/passwd"), exec(c, "cat /etc/passwd").out);
  auto dir_out = docker({"cp", c + ":/tmp/tree2", work_ / "back"});
  ASSERT_EQ(dir_out.exit_code, 0) << dir_out.err;
  EXPECT_EQ(read_file(work_ / "back/sub/x"), "x-content\n");
  EXPECT_EQ(file_mode(work_ / "back/sub/x"), 0750u);
  fs::create_directories(work_ / "contents");
  ASSERT_EQ(docker({"cp", c + ":/tmp/tree2/.", work_ / "contents"}).exit_code, 0);
  EXPECT_EQ(read_file(work_ / "contents/sub/x"), "x-content\n");
  // A symlink is copied as a symlink, and followed with -L.
  ASSERT_EQ(docker({"cp", c + ":/bin/sh", work_ / "sh-link"}).exit_code, 0);
  EXPECT_TRUE(fs::is_symlink(work_ / "sh-link"));
  ASSERT_EQ(docker({"cp", "-L", c + ":/bin/sh", work_ / "sh-file"}).exit_code, 0);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(work_ / "sh-file")));
  // A tar on stdout.
  auto tar = docker({"cp", c + ":/tmp/hello.txt", "-"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  EXPECT_EQ(tar.out.substr(0, 9), "hello.txt");

  // A stopped container: its layer is mounted for the copy.
  ASSERT_EQ(docker({"stop", "-t", "0", c}).exit_code, 0);
  auto stopped = docker({"cp", c + ":/tmp/hello.txt", work_ / "stopped.txt"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(read_file(work_ / "stopped.txt"), "hello from the host\n");
  ASSERT_EQ(docker({"cp", work_ / "tree", c + ":/while-stopped"}).exit_code, 0);
  ASSERT_EQ(docker({"start", c}).exit_code, 0);
  EXPECT_EQ(exec(c, "cat /while-stopped/sub/x").out, "x-content\n");
}

TEST_P(ContainerFs, CopyErrorsLikeDocker) {
  const std::string c = "berth-test-cp-errors";
  run_sleeper(c);
  write_file(work_ / "f", "f\n");
  // Docker's 404 message; the 20.10 client words a 404 on these endpoints
  // itself.
  const std::string not_found =
      GetParam() == "/usr/bin/docker"
          ? "No such container:path: " + c + ":/berth-test-missing"
          : "Could not find the file /berth-test-missing in container " + c;
  auto missing_dir = docker({"cp", work_ / "f", c + ":/berth-test-missing/f"});
  EXPECT_NE(missing_dir.exit_code, 0);
  EXPECT_NE(missing_dir.err.find(not_found), std::string::npos) << missing_dir.err;
  auto missing_src = docker({"cp", c + ":/berth-test-missing", work_ / "x"});
  EXPECT_NE(missing_src.exit_code, 0);
  EXPECT_NE(missing_src.err.find(not_found), std::string::npos) << missing_src.err;
  EXPECT_FALSE(fs::exists(work_ / "x"));

  const std::string ro = "berth-test-cp-readonly";
  run_sleeper(ro, {"--read-only"});
  auto read_only = docker({"cp", work_ / "f", ro + ":/tmp/"});
  EXPECT_NE(read_only.exit_code, 0);
  EXPECT_NE(read_only.err.find("container rootfs is marked read-only"), std::string::npos)
      << read_only.err;
  // Reading from a read-only container works.
  EXPECT_EQ(docker({"cp", ro + ":/etc/group", work_ / "group"}).exit_code, 0);
}

TEST_P(ContainerFs, HostileTarsWriteNothingOutsideTheRootfs) {
  const std::string c = "berth-test-cp-hostile";
  run_sleeper(c);
  TempDir host_dir("cp-hostile-target");
  const std::string target = host_dir.path();  // an absolute host path that exists
  // Climbing out with "..": refused.
  std::string climb = "../../../../../../../../.." + target + "/climbed";
  auto up = docker({"cp", "-", c + ":/tmp"}, layer_tar({Entry::file(climb, "x")}));
  EXPECT_NE(up.exit_code, 0);
  EXPECT_NE(up.err.find("is outside of"), std::string::npos) << up.err;
  // An absolute name lands below the destination directory.
  auto abs =
      docker({"cp", "-", c + ":/tmp"}, layer_tar({Entry::file(target + "/absolute", "abs")}));
  EXPECT_EQ(abs.exit_code, 0) << abs.err;
  // A symlink to the host directory (absolute and relative), then files
  // through it: they land in the container's own path of that name.
  auto link = docker(
      {"cp", "-", c + ":/tmp"},
      layer_tar({Entry::symlink("abs-link", target), Entry::file("abs-link/through-abs", "a"),
                 Entry::symlink("rel-link", "../../../../../../.." + target),
                 Entry::file("rel-link/through-rel", "r")}));
  EXPECT_EQ(link.exit_code, 0) << link.err;
  // A symlink already in the container pointing out.
  ASSERT_EQ(exec(c, "ln -s " + target + " /tmp/planted").exit_code, 0);
  auto planted =
      docker({"cp", "-", c + ":/tmp/planted"}, layer_tar({Entry::file("through-planted", "p")}));
  EXPECT_EQ(planted.exit_code, 0) << planted.err;

  EXPECT_TRUE(fs::is_empty(target)) << "written outside the rootfs";
  auto inside = exec(c, "cat /tmp" + target + "/absolute " + target + "/through-abs " + target +
                            "/through-rel " + target + "/through-planted");
  EXPECT_EQ(inside.out, "absarp") << inside.err;
}

TEST_P(ContainerFs, DiffListsAddedChangedAndDeletedPaths) {
  auto r = docker({"run", "--name", "berth-test-diff", kImage, "sh", "-c",
                   "echo new > /berth-new; echo more >> /etc/passwd; rm /etc/group"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  auto diff = docker({"diff", "berth-test-diff"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_NE(diff.out.find("A /berth-new\n"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("C /etc\n"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("C /etc/passwd\n"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("D /etc/group\n"), std::string::npos) << diff.out;
}

TEST_P(ContainerFs, ExportWritesTheWholeFilesystem) {
  ASSERT_EQ(docker({"create", "--name", "berth-test-export", kImage, "true"}).exit_code, 0);
  auto exported = docker({"export", "-o", work_ / "export.tar", "berth-test-export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err << daemon_->log();
  auto list = run({"tar", "-tf", work_ / "export.tar"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("bin/busybox\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("etc/passwd\n"), std::string::npos) << list.out;
  auto piped = run(
      {"sh", "-c", GetParam() + " -H " + daemon_->host() + " export berth-test-export | tar -t"},
      {{"DOCKER_CONFIG", work_.path()}});
  EXPECT_NE(piped.out.find("bin/busybox\n"), std::string::npos) << piped.err;
  // A running container: what it wrote, none of the mounts made inside it.
  run_sleeper("berth-test-export-running");
  ASSERT_EQ(exec("berth-test-export-running", "echo hi > /tmp/running").exit_code, 0);
  ASSERT_EQ(docker({"export", "-o", work_ / "running.tar", "berth-test-export-running"}).exit_code, 0);
  auto running = run({"tar", "-tf", work_ / "running.tar"});
  EXPECT_NE(running.out.find("tmp/running\n"), std::string::npos) << running.out;
  EXPECT_EQ(running.out.find("proc/self"), std::string::npos) << running.out;
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", "berth-test-export-running"}).out, "running\n");
}

TEST_P(ContainerFs, CommitMakesAnImageWithTheFileAndTheChangedCmd) {
  auto r = docker({"run", "--name", "berth-test-commit", "-e", "FROM_CONTAINER=1", kImage, "sh",
                   "-c", "echo committed-content > /file"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto commit = docker({"commit", "--change", R"(CMD ["cat","/file"])", "-m", "a message", "-a",
                        "berth tests", "berth-test-commit", "berth-test/committed:v1"});
  ASSERT_EQ(commit.exit_code, 0) << commit.err << daemon_->log();
  EXPECT_EQ(commit.out.substr(0, 7), "sha256:");
  auto ran = docker({"run", "--rm", "berth-test/committed:v1"});
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_EQ(ran.out, "committed-content\n");
  auto inspect = docker({"image", "inspect", "-f",
                         "{{json .Config.Cmd}} {{.Author}} {{.Comment}} {{len .RootFS.Layers}}",
                         "berth-test/committed:v1"});
  EXPECT_EQ(inspect.out, "[\"cat\",\"/file\"] berth tests a message 2\n") << inspect.err;
  auto env = docker({"run", "--rm", "berth-test/committed:v1", "sh", "-c", "echo $FROM_CONTAINER"});
  EXPECT_EQ(env.out, "1\n");

  // A running container is paused for the commit and runs on afterwards.
  run_sleeper("berth-test-commit-running");
  ASSERT_EQ(exec("berth-test-commit-running", "echo live > /live").exit_code, 0);
  auto live = docker({"commit", "berth-test-commit-running", "berth-test/committed:live"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", "berth-test-commit-running"}).out,
            "running\n");
  EXPECT_EQ(docker({"run", "--rm", "berth-test/committed:live", "cat", "/live"}).out, "live\n");
  auto bad = docker({"commit", "--change", "RUN true", "berth-test-commit"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("RUN is not a valid change command"), std::string::npos) << bad.err;
}

INSTANTIATE_TEST_SUITE_P(Clients, ContainerFs, kDockerClients, docker_client_name);

// The same through the berth CLI (the docker client parameter is unused).
using BerthContainerFs = ContainerFs;

TEST_P(BerthContainerFs, CpDiffExportAndCommit) {
  auto berth = [this](std::vector<std::string> args, const std::string& input = {}) {
    return daemon_->berth(std::move(args), input);
  };
  const std::string c = "berth-test-berth-cp";
  ASSERT_EQ(berth({"run", "-d", "--name", c, kImage, "sleep", "300"}).exit_code, 0)
      << daemon_->log();
  write_file(work_ / "hello.txt", "hello\n");
  fs::permissions(work_ / "hello.txt", fs::perms(0604));
  fs::create_directories(work_ / "tree/sub");
  write_file(work_ / "tree/sub/x", "x\n");

  auto in = berth({"cp", work_ / "hello.txt", c + ":/tmp/"});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(in.err, "");  // no progress without a terminal
  ASSERT_EQ(berth({"cp", work_ / "tree/.", c + ":/copied"}).exit_code, 0);
  EXPECT_EQ(
      berth({"exec", c, "sh", "-c", "cat /tmp/hello.txt /copied/sub/x; stat -c %a /tmp/hello.txt"})
          .out,
      "hello\nx\n604\n");
  auto out = berth({"cp", c + ":/copied", work_ / "back"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(work_ / "back/sub/x"), "x\n");
  auto tty = run_on_terminal(
      {berth_path(), "-H", daemon_->host(), "cp", c + ":/tmp/hello.txt", work_ / "again.txt"},
      {{"BERTH_CONFIG", daemon_->cli_config()}});
  EXPECT_NE(tty.out.find("Successfully copied 2.05kB to " + (work_ / "again.txt")),
            std::string::npos)
      << tty.out;
  EXPECT_EQ(read_file(work_ / "again.txt"), "hello\n");
  auto missing = berth({"cp", work_ / "hello.txt", c + ":/berth-test-missing/x"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("Could not find the file /berth-test-missing in container " + c),
            std::string::npos)
      << missing.err;
  EXPECT_NE(berth({"cp", c + ":/tmp", "other:/tmp"})
                .err.find("copying between containers is not supported"),
            std::string::npos);

  auto diff = berth({"diff", c});
  EXPECT_NE(diff.out.find("A /copied/sub/x\n"), std::string::npos) << diff.out << diff.err;
  EXPECT_NE(diff.out.find("C /tmp\n"), std::string::npos) << diff.out;
  EXPECT_EQ(diff.out.find("/etc/hosts"), std::string::npos) << diff.out;

  ASSERT_EQ(berth({"export", "-o", work_ / "fs.tar", c}).exit_code, 0);
  auto list = run({"tar", "-tf", work_ / "fs.tar"});
  EXPECT_NE(list.out.find("copied/sub/x\n"), std::string::npos) << list.out;

  auto commit =
      berth({"commit", "-c", "CMD [\"cat\", \"/tmp/hello.txt\"]", c, "berth-test/berth-commit"});
  ASSERT_EQ(commit.exit_code, 0) << commit.err;
  EXPECT_EQ(berth({"run", "--rm", "berth-test/berth-commit"}).out, "hello\n");
  // The runtime's mount points (the image has no /etc/hosts) stay out of
  // the committed layer: a container of the new image that never ran has
  // none.
  ASSERT_EQ(
      berth({"create", "--name", "berth-test-from-commit", "berth-test/berth-commit"}).exit_code,
      0);
  ASSERT_EQ(berth({"export", "-o", work_ / "committed.tar", "berth-test-from-commit"}).exit_code,
            0);
  auto committed = run({"tar", "-tf", work_ / "committed.tar"});
  EXPECT_NE(committed.out.find("tmp/hello.txt\n"), std::string::npos) << committed.out;
  EXPECT_EQ(committed.out.find("etc/hosts"), std::string::npos) << committed.out;
}

INSTANTIATE_TEST_SUITE_P(Berth, BerthContainerFs, ::testing::Values("/usr/local/bin/docker"));

}  // namespace
}  // namespace berth::testing
