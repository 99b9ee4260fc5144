#include "berth/sdk/testing/fake_host.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

namespace berth::sdk::testing {

namespace {

std::string_view view(berth_str s) {
  return s.data != nullptr ? std::string_view(s.data, s.len) : std::string_view();
}

berth_str borrow(const std::string& s) { return {s.data(), s.size()}; }

}  // namespace

// The handles are the fake objects themselves: the ABI's handle types are
// opaque and only ever round-trip through the host's own callbacks.
berth_error* FakeError::raw() noexcept { return reinterpret_cast<berth_error*>(this); }
berth_out* FakeOut::raw() noexcept { return reinterpret_cast<berth_out*>(this); }
berth_reader* FakeReader::raw() noexcept { return reinterpret_cast<berth_reader*>(this); }
berth_writer* FakeWriter::raw() noexcept { return reinterpret_cast<berth_writer*>(this); }

void FakeError::clear() noexcept {
  message_.clear();
  set_ = false;
}

FakeReader::FakeReader(std::string data, std::size_t chunk)
    : data_(std::move(data)), chunk_(chunk == 0 ? 1 : chunk) {}

FakeHost::FakeHost(std::string config_json) : config_json_(std::move(config_json)) {
  std::string pattern = "/tmp/berth-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "fake host: mkdtemp " + pattern);
  }
  root_ = pattern;
  state_dir_ = (root_ / "state").string();
  data_root_ = (root_ / "data").string();
  exec_root_ = (root_ / "exec").string();
  for (const std::string* dir : {&state_dir_, &data_root_, &exec_root_}) {
    std::filesystem::create_directory(*dir);
  }
  std::filesystem::permissions(state_dir_, std::filesystem::perms::owner_all);

  host_.struct_size = static_cast<std::uint32_t>(sizeof(berth_host));
  host_.abi_major = BERTH_ABI_MAJOR;
  host_.abi_minor = BERTH_ABI_MINOR;
  host_.host_ctx = this;
  host_.log = &FakeHost::log;
  host_.config_json = borrow(config_json_);
  host_.state_dir = borrow(state_dir_);
  host_.data_root = borrow(data_root_);
  host_.exec_root = borrow(exec_root_);
  host_.error_set = &FakeHost::error_set;
  host_.out_write = &FakeHost::out_write;
  host_.out_mount = &FakeHost::out_mount;
  host_.reader_read = &FakeHost::reader_read;
  host_.writer_write = &FakeHost::writer_write;
}

FakeHost::~FakeHost() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::vector<FakeHost::LogLine> FakeHost::log_lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

bool FakeHost::logged(std::string_view needle) const {
  std::lock_guard lock(mutex_);
  return std::any_of(lines_.begin(), lines_.end(), [&](const LogLine& line) {
    return line.message.find(needle) != std::string::npos;
  });
}

void FakeHost::log(const berth_host* host, berth_log_level level, berth_str message) {
  auto* self = static_cast<FakeHost*>(host->host_ctx);
  std::lock_guard lock(self->mutex_);
  self->lines_.push_back(LogLine{level, std::string(view(message))});
}

void FakeHost::error_set(berth_error* err, berth_str message) {
  auto* self = reinterpret_cast<FakeError*>(err);
  self->message_ = view(message);
  self->set_ = true;
}

void FakeHost::out_write(berth_out* out, berth_str bytes) {
  reinterpret_cast<FakeOut*>(out)->text_ += view(bytes);
}

void FakeHost::out_mount(berth_out* out, const berth_mount* mount) {
  reinterpret_cast<FakeOut*>(out)->mounts_.push_back(FakeMount{std::string(view(mount->type)),
                                                               std::string(view(mount->source)),
                                                               std::string(view(mount->options))});
}

std::int64_t FakeHost::reader_read(berth_reader* reader, void* buf, std::size_t cap) {
  auto* self = reinterpret_cast<FakeReader*>(reader);
  if (self->failed_) return -1;
  const std::size_t n = std::min({cap, self->chunk_, self->data_.size() - self->offset_});
  std::memcpy(buf, self->data_.data() + self->offset_, n);
  self->offset_ += n;
  return static_cast<std::int64_t>(n);
}

std::int32_t FakeHost::writer_write(berth_writer* writer, const void* buf, std::size_t len) {
  auto* self = reinterpret_cast<FakeWriter*>(writer);
  if (self->disconnected_) return -1;
  self->data_.append(static_cast<const char*>(buf), len);
  return 0;
}

}  // namespace berth::sdk::testing
