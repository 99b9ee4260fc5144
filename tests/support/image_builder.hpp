// Builds test images in memory: layer tars, docker-archive and OCI-layout
// tars, with real digests, so tests never need an image from the internet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::testing {

struct Entry {
  enum class Type { file, dir, symlink, hardlink };
  Type type = Type::file;
  std::string path;     // inside the layer, no leading '/'
  std::string content;  // file content, or the link target
  unsigned mode = 0644;

  static Entry file(std::string path, std::string content, unsigned mode = 0644) {
    return {Type::file, std::move(path), std::move(content), mode};
  }
  static Entry dir(std::string path, unsigned mode = 0755) { return {Type::dir, std::move(path), {}, mode}; }
  static Entry symlink(std::string path, std::string target) {
    return {Type::symlink, std::move(path), std::move(target), 0777};
  }
  // OCI whiteout of `path` ("a/b" -> "a/.wh.b").
  static Entry whiteout(const std::string& path);
  // Opaque marker for directory `dir`.
  static Entry opaque(const std::string& dir) { return file(dir + "/.wh..wh..opq", ""); }
};

using Layer = std::vector<Entry>;

// A deep image's layers: layer i (1-based) adds the file numbered_file(i)
// ("layer-007") holding "007\n" and rewrites "top" with the same content, so
// a mounted chain shows every layer and which one is on top.
std::vector<Layer> numbered_layers(std::size_t count);
std::string numbered_file(std::size_t i);

struct TestImage {
  std::vector<Layer> layers;
  std::vector<std::string> tags;  // "name:tag" as `docker save` writes them
  std::vector<std::string> cmd = {"/bin/sh"};
  std::string created = "2026-01-01T00:00:00Z";
};

std::string layer_tar(const Layer& layer);   // uncompressed tar
std::string gzip(const std::string& data);
std::string sha256(const std::string& data);  // "sha256:<hex>"

// The image config JSON (its sha256 is the image ID).
std::string image_config(const TestImage& image);
std::string image_id(const TestImage& image);

// `docker save` format: manifest.json, <id>.json, <diff>/layer.tar.
std::string docker_archive(const std::vector<TestImage>& images);
// OCI image layout tar (gzip layers), the first tag as io.containerd.image.name.
std::string oci_archive(const TestImage& image);

}  // namespace berth::testing

namespace berth::testing {

// A busybox image for running containers: /bin/busybox from Debian's
// busybox-static with a symlink per applet in /bin, /etc/passwd (root,
// nobody), /etc/group, and /tmp; Cmd ["sh"]. Tagged `tag`.
TestImage busybox_image(const std::string& tag);

}  // namespace berth::testing
