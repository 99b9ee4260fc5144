// Mount points from a create request (Binds, Mounts, Tmpfs, VolumesFrom) as
// Docker parses them, and their stored and inspect forms.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "berth/core/container/mount_points.hpp"

namespace berth::core::container {
namespace {

namespace json = boost::json;

Result<std::vector<MountPoint>> parse(const std::string& host_config) {
  return parse_mount_points(json::parse(host_config).as_object(), false);
}

MountPoint one(const std::string& host_config) {
  auto points = parse(host_config);
  EXPECT_TRUE(points) << host_config << ": " << (points ? "" : points.error().message);
  if (!points || points.value().size() != 1) return {};
  return points.value()[0];
}

std::string error_of(const std::string& host_config) {
  auto points = parse(host_config);
  return points ? std::string("(accepted)") : points.error().message;
}

TEST(MountPoints, BindsAreBindsNamedOrAnonymousVolumes) {
  MountPoint bind = one(R"({"Binds":["/host/dir:/ctr/dir/:ro,rshared"]})");
  EXPECT_EQ(bind.type, "bind");
  EXPECT_EQ(bind.source, "/host/dir");
  EXPECT_EQ(bind.destination, "/ctr/dir");
  EXPECT_FALSE(bind.rw);
  EXPECT_EQ(bind.propagation, "rshared");
  EXPECT_EQ(bind.mode, "ro,rshared");
  EXPECT_TRUE(bind.create_source);

  MountPoint plain = one(R"({"Binds":["/h:/c"]})");
  EXPECT_EQ(plain.propagation, "rprivate");
  EXPECT_TRUE(plain.rw);

  MountPoint named = one(R"({"Binds":["data:/data"]})");
  EXPECT_EQ(named.type, "volume");
  EXPECT_EQ(named.name, "data");
  EXPECT_EQ(named.mode, "z");
  EXPECT_TRUE(named.copy_data);
  EXPECT_EQ(named.propagation, "");

  MountPoint nocopy = one(R"({"Binds":["data:/data:ro,nocopy"]})");
  EXPECT_FALSE(nocopy.copy_data);
  EXPECT_FALSE(nocopy.rw);

  MountPoint anonymous = one(R"({"Binds":["/just/a/path"]})");
  EXPECT_EQ(anonymous.type, "volume");
  EXPECT_EQ(anonymous.name, "");
  EXPECT_EQ(anonymous.destination, "/just/a/path");
}

TEST(MountPoints, MountsOfEveryType) {
  MountPoint volume = one(R"({"Mounts":[{"Type":"volume","Source":"v","Target":"/t","ReadOnly":true,
      "VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}}}}]})");
  EXPECT_EQ(volume.type, "volume");
  EXPECT_EQ(volume.name, "v");
  EXPECT_FALSE(volume.rw);
  EXPECT_FALSE(volume.copy_data);
  EXPECT_EQ(volume.driver, "local");
  EXPECT_EQ(volume.labels, (json::object{{"a", "b"}}));
  EXPECT_EQ(volume.driver_opts, (json::object{{"type", "tmpfs"}}));

  MountPoint bind = one(R"({"Mounts":[{"Type":"bind","Source":"/s","Target":"/t",
      "BindOptions":{"Propagation":"rslave","NonRecursive":true}}]})");
  EXPECT_EQ(bind.propagation, "rslave");
  EXPECT_FALSE(bind.recursive);
  EXPECT_FALSE(bind.create_source);

  MountPoint tmpfs = one(R"({"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}}]})");
  EXPECT_EQ(tmpfs.tmpfs_data, "mode=700,size=1m");
}

TEST(MountPoints, DockerMessagesForBadSpecs) {
  EXPECT_EQ(error_of(R"({"Binds":["/a:/b:/c:/d"]})"), "invalid volume specification: '/a:/b:/c:/d'");
  EXPECT_EQ(error_of(R"({"Binds":["/a:/b:rx"]})"), "invalid mode: rx");
  EXPECT_EQ(error_of(R"({"Binds":["v:/b:rshared"]})"), "invalid mode: rshared");
  EXPECT_EQ(error_of(R"({"Binds":["/a:/data","v:/data/"]})"), "Duplicate mount point: /data");
  EXPECT_EQ(error_of(R"({"Binds":["v:/data"],"Tmpfs":{"/data":""}})"), "Duplicate mount point: /data");
  EXPECT_EQ(error_of(R"({"Mounts":[{"Type":"volume","Target":"/x","BindOptions":{}}]})"),
            "invalid mount config for type \"volume\": field BindOptions must not be specified");
  EXPECT_EQ(error_of(R"({"Mounts":[{"Type":"bind","Source":"/s","Target":"/x","VolumeOptions":{}}]})"),
            "invalid mount config for type \"bind\": field VolumeOptions must not be specified");
  EXPECT_EQ(error_of(R"({"Mounts":[{"Type":"tmpfs","Source":"x","Target":"/x"}]})"),
            "invalid mount config for type \"tmpfs\": field Source must not be specified");
  EXPECT_EQ(error_of(R"({"Mounts":[{"Type":"volume","Target":"relative"}]})"),
            "invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute");
  EXPECT_EQ(error_of(R"({"Mounts":[{"Type":"npipe","Target":"/x"}]})"),
            "invalid mount config: mount type unknown: \"npipe\"");
  EXPECT_EQ(error_of(R"({"Mounts":[{"Type":"volume","Target":"/x","VolumeOptions":{"Labels":{"a":1}}}]})"),
            "HostConfig.Mounts: VolumeOptions values must be strings");
  auto missing = parse_mount_points(
      json::parse(R"({"Mounts":[{"Type":"bind","Source":"/berth-test-nowhere","Target":"/x"}]})").as_object(), true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "invalid mount config for type \"bind\": bind source path does not exist: /berth-test-nowhere");
}

TEST(MountPoints, VolumesFromModes) {
  EXPECT_EQ(parse_volumes_from("donor").value(), (std::pair<std::string, std::string>{"donor", ""}));
  EXPECT_EQ(parse_volumes_from("donor:ro").value(), (std::pair<std::string, std::string>{"donor", "ro"}));
  EXPECT_EQ(parse_volumes_from("donor:rw,z").value(), (std::pair<std::string, std::string>{"donor", "rw"}));
  EXPECT_EQ(parse_volumes_from("donor:xx").error().message, "invalid mode: xx");
  EXPECT_EQ(parse_volumes_from("donor:ro,rw").error().message, "invalid mode: ro,rw");
}

TEST(MountPoints, StoredFormRoundTripsAndInspectIsDockers) {
  MountPoint m = one(R"({"Mounts":[{"Type":"volume","Source":"v","Target":"/t",
      "VolumeOptions":{"Labels":{"a":"b"},"DriverConfig":{"Options":{"o":"size=1m"}}}}]})");
  m.source = "/var/lib/berth/volumes/v/_data";
  m.driver = "local";
  MountPoint back = MountPoint::from_json(m.to_json());
  EXPECT_EQ(back.to_json(), m.to_json());
  EXPECT_EQ(back.labels, m.labels);
  EXPECT_TRUE(back.copy_data);
  EXPECT_EQ(json::value(m.inspect()), json::parse(R"({"Type":"volume","Name":"v",
      "Source":"/var/lib/berth/volumes/v/_data","Destination":"/t","Driver":"local","Mode":"z","RW":true,
      "Propagation":""})"));
  MountPoint bind = one(R"({"Binds":["/h:/c:ro"]})");
  EXPECT_EQ(json::value(bind.inspect()), json::parse(R"({"Type":"bind","Source":"/h","Destination":"/c",
      "Mode":"ro","RW":false,"Propagation":"rprivate"})"));
  EXPECT_EQ(MountPoint::from_json(json::value("garbage")).type, "");
}

}  // namespace
}  // namespace berth::core::container
