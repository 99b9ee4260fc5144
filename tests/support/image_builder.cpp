#include "image_builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <boost/json.hpp>
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace berth::testing {
namespace json = boost::json;

Entry Entry::whiteout(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return file(dir + ".wh." + base, "");
}

namespace {

la_ssize_t append(struct archive*, void* ud, const void* buf, size_t len) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

class Tar {
 public:
  explicit Tar(bool gzip_filter = false) {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    if (gzip_filter) archive_write_add_filter_gzip(a_);
    archive_write_set_bytes_per_block(a_, 0);
    archive_write_open(a_, &out_, nullptr, append, nullptr);
  }
  ~Tar() { archive_write_free(a_); }

  void add(const Entry& e) {
    auto* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, static_cast<mode_t>(e.mode));
    archive_entry_set_mtime(entry, 1767225600, 0);
    switch (e.type) {
      case Entry::Type::file:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
        break;
      case Entry::Type::dir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case Entry::Type::symlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.content.c_str());
        break;
      case Entry::Type::hardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.content.c_str());
        break;
    }
    if (archive_write_header(a_, entry) != ARCHIVE_OK) {
      throw std::runtime_error(std::string("tar header: ") + archive_error_string(a_));
    }
    if (e.type == Entry::Type::file && !e.content.empty()) {
      archive_write_data(a_, e.content.data(), e.content.size());
    }
    archive_entry_free(entry);
  }
  void file(const std::string& path, const std::string& content) { add(Entry::file(path, content)); }
  std::string finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  struct archive* a_;
  std::string out_;
};

std::vector<std::string> diff_ids(const TestImage& image) {
  std::vector<std::string> out;
  for (const auto& l : image.layers) out.push_back(sha256(layer_tar(l)));
  return out;
}

}  // namespace

std::string layer_tar(const Layer& layer) {
  Tar t;
  for (const auto& e : layer) t.add(e);
  return t.finish();
}

std::string gzip(const std::string& data) {
  struct archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  std::string out;
  archive_write_open(a, &out, nullptr, append, nullptr);
  auto* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

std::string image_config(const TestImage& image) {
  json::array ids, history, cmd;
  for (const auto& d : diff_ids(image)) ids.emplace_back(d);
  for (std::size_t i = 0; i < image.layers.size(); ++i) {
    history.emplace_back(json::object{{"created", image.created},
                                      {"created_by", "test layer " + std::to_string(i)}});
  }
  for (const auto& c : image.cmd) cmd.emplace_back(c);
  return json::serialize(json::object{
      {"architecture", "amd64"},
      {"os", "linux"},
      {"created", image.created},
      {"config", json::object{{"Cmd", cmd}, {"Env", json::array{"PATH=/bin"}}}},
      {"rootfs", json::object{{"type", "layers"}, {"diff_ids", ids}}},
      {"history", history},
  });
}

std::string image_id(const TestImage& image) { return sha256(image_config(image)); }

std::string numbered_file(std::size_t i) {
  std::string digits = std::to_string(i);
  if (digits.size() < 3) digits.insert(0, 3 - digits.size(), '0');
  return "layer-" + digits;
}

std::vector<Layer> numbered_layers(std::size_t count) {
  std::vector<Layer> layers;
  for (std::size_t i = 1; i <= count; ++i) {
    const std::string content = numbered_file(i).substr(6) + "\n";
    layers.push_back({Entry::file(numbered_file(i), content), Entry::file("top", content)});
  }
  return layers;
}

std::string docker_archive(const std::vector<TestImage>& images) {
  Tar t;
  json::array manifest;
  for (const auto& image : images) {
    std::string config = image_config(image);
    std::string config_name = sha256(config).substr(7) + ".json";
    t.file(config_name, config);
    json::array layers;
    for (const auto& l : image.layers) {
      std::string tar = layer_tar(l);
      std::string dir = sha256(tar).substr(7);
      t.add(Entry::dir(dir));
      t.file(dir + "/layer.tar", tar);
      layers.emplace_back(dir + "/layer.tar");
    }
    json::array tags;
    for (const auto& tag : image.tags) tags.emplace_back(tag);
    manifest.emplace_back(json::object{{"Config", config_name}, {"RepoTags", tags}, {"Layers", layers}});
  }
  t.file("manifest.json", json::serialize(manifest));
  return t.finish();
}

std::string oci_archive(const TestImage& image) {
  Tar t;
  t.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  t.add(Entry::dir("blobs"));
  t.add(Entry::dir("blobs/sha256"));
  std::string config = image_config(image);
  t.file("blobs/sha256/" + sha256(config).substr(7), config);
  json::array layers;
  for (const auto& l : image.layers) {
    std::string blob = gzip(layer_tar(l));
    t.file("blobs/sha256/" + sha256(blob).substr(7), blob);
    layers.emplace_back(json::object{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                     {"digest", sha256(blob)},
                                     {"size", blob.size()}});
  }
  std::string manifest = json::serialize(json::object{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", json::object{{"mediaType", "application/vnd.oci.image.config.v1+json"},
                              {"digest", sha256(config)},
                              {"size", config.size()}}},
      {"layers", layers}});
  t.file("blobs/sha256/" + sha256(manifest).substr(7), manifest);
  json::object desc{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                    {"digest", sha256(manifest)},
                    {"size", manifest.size()}};
  if (!image.tags.empty()) {
    desc["annotations"] = json::object{{"io.containerd.image.name", image.tags.front()}};
  }
  t.file("index.json", json::serialize(json::object{{"schemaVersion", 2}, {"manifests", json::array{desc}}}));
  return t.finish();
}

}  // namespace berth::testing

namespace berth::testing {

TestImage busybox_image(const std::string& tag) {
  Layer layer{Entry::dir("bin"), Entry::dir("etc"), Entry::dir("tmp", 01777), Entry::dir("root", 0700),
              Entry::dir("home")};
  std::ifstream in("/bin/busybox", std::ios::binary);
  layer.push_back(Entry::file("bin/busybox", std::string(std::istreambuf_iterator<char>(in), {}), 0755));
  // `busybox --list` names every applet this build has.
  FILE* list = ::popen("/bin/busybox --list", "r");
  char name[128];
  while (list != nullptr && std::fgets(name, sizeof name, list) != nullptr) {
    std::string applet(name);
    while (!applet.empty() && (applet.back() == '\n' || applet.back() == '\r')) applet.pop_back();
    if (applet.empty() || applet == "busybox" || applet.find('/') != std::string::npos) continue;
    layer.push_back(Entry::symlink("bin/" + applet, "busybox"));
  }
  if (list != nullptr) ::pclose(list);
  layer.push_back(Entry::file("etc/passwd",
                              "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"));
  layer.push_back(Entry::file("etc/group", "root:x:0:\nnogroup:x:65534:\n"));
  TestImage image;
  image.layers = {layer};
  image.tags = {tag};
  image.cmd = {"sh"};
  return image;
}

}  // namespace berth::testing
