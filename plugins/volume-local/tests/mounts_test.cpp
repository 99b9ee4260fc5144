// The local driver's reading of mount options and of the mount table.
#include "mounts.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <string>
#include <vector>

namespace {

using berth::plugins::volume_local::mask_password;
using berth::plugins::volume_local::mount_at_or_below;
using berth::plugins::volume_local::parse_mount_options;
using berth::plugins::volume_local::parse_mount_points;

constexpr unsigned long flags(unsigned long ms) { return ms; }

TEST(MountOptions, FilesystemOptionsAreData) {
  const auto o = parse_mount_options("size=1m,uid=1000,mode=0755");
  EXPECT_EQ(o.flags, 0UL);
  EXPECT_EQ(o.data, "size=1m,uid=1000,mode=0755");
}

TEST(MountOptions, FlagWordsAreFlags) {
  const auto o = parse_mount_options("nosuid,size=1m,nodev,noexec,ro,addr=10.0.0.1");
  EXPECT_EQ(o.flags, flags(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
  EXPECT_EQ(o.data, "size=1m,addr=10.0.0.1");
}

TEST(MountOptions, LaterWordsClearEarlierFlags) {
  EXPECT_EQ(parse_mount_options("ro,rw").flags, 0UL);
  EXPECT_EQ(parse_mount_options("rw,ro").flags, flags(MS_RDONLY));
  EXPECT_EQ(parse_mount_options("nosuid,suid,noatime").flags, flags(MS_NOATIME));
}

TEST(MountOptions, BindAndPropagation) {
  EXPECT_EQ(parse_mount_options("bind").flags, flags(MS_BIND));
  EXPECT_EQ(parse_mount_options("rbind,ro").flags, flags(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(parse_mount_options("bind,rprivate").flags, flags(MS_BIND | MS_PRIVATE | MS_REC));
  EXPECT_EQ(parse_mount_options("shared").flags, flags(MS_SHARED));
}

TEST(MountOptions, EmptyWordsDefaultsAndRemountAreNotFlags) {
  const auto empty = parse_mount_options("");
  EXPECT_EQ(empty.flags, 0UL);
  EXPECT_EQ(empty.data, "");
  const auto o = parse_mount_options(",defaults,,size=1m,");
  EXPECT_EQ(o.flags, 0UL);
  EXPECT_EQ(o.data, "size=1m");
  // A volume never remounts the filesystem under it.
  const auto remount = parse_mount_options("remount,ro");
  EXPECT_EQ(remount.flags, flags(MS_RDONLY));
  EXPECT_EQ(remount.data, "remount");
}

TEST(MountOptions, PasswordsAreMasked) {
  EXPECT_EQ(mask_password("username=u,password=secret,vers=3.0"),
            "username=u,password=********,vers=3.0");
  EXPECT_EQ(mask_password("password=x"), "password=********");
  EXPECT_EQ(mask_password("size=1m"), "size=1m");
  EXPECT_EQ(mask_password(""), "");
}

TEST(MountTable, MountPointsAreTheFifthFieldDecoded) {
  const std::string mountinfo =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "36 22 0:31 / /var/lib/berth/volumes/a/_data rw - tmpfs tmpfs rw,size=1024k\n"
      "37 22 0:32 / /mnt/with\\040space\\011tab rw - tmpfs tmpfs rw\n"
      "38 22 0:33 / /mnt/back\\134slash rw - tmpfs tmpfs rw\n";
  EXPECT_EQ(parse_mount_points(mountinfo),
            (std::vector<std::string>{"/", "/var/lib/berth/volumes/a/_data", "/mnt/with space\ttab",
                                      "/mnt/back\\slash"}));
  EXPECT_TRUE(parse_mount_points("").empty());
}

TEST(MountTable, MountsAtOrBelowADirectory) {
  const std::vector<std::string> mounts = {"/", "/v/ab/_data/x", "/v/a-b"};
  EXPECT_EQ(mount_at_or_below(mounts, "/v/ab"), "/v/ab/_data/x");
  EXPECT_EQ(mount_at_or_below(mounts, "/v/a-b"), "/v/a-b");
  EXPECT_EQ(mount_at_or_below(mounts, "/v/a"), "") << "a prefix of a name is not a parent";
  EXPECT_EQ(mount_at_or_below(mounts, "/w"), "");
}

}  // namespace
