// The core's typed view of a loaded network driver (berth.network.v1): each
// call crosses the C ABI with host-owned error/out handles and comes back as
// a Result whose message names the driver. JSON shapes: abi.h.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/plugin_host.hpp"

#include <string>

namespace berth::core::network {

class NetworkDriver {
 public:
  // `driver` must be a loaded network driver and outlive this object.
  explicit NetworkDriver(const Driver& driver);

  const std::string& id() const { return driver_.record().id; }

  Result<void> create_network(const std::string& network_id, const std::string& spec_json) const;
  Result<void> delete_network(const std::string& network_id) const;
  // Returns the driver's JSON answer ({"MacAddress": ...}), "{}" when empty.
  Result<std::string> create_endpoint(const std::string& network_id, const std::string& endpoint_id,
                                      const std::string& spec_json) const;
  Result<void> delete_endpoint(const std::string& network_id, const std::string& endpoint_id) const;
  Result<std::string> join(const std::string& network_id, const std::string& endpoint_id,
                           const std::string& sandbox_key, const std::string& opts_json) const;
  Result<void> leave(const std::string& network_id, const std::string& endpoint_id) const;
  Result<void> program_external_connectivity(const std::string& network_id, const std::string& endpoint_id,
                                             const std::string& opts_json) const;
  Result<void> revoke_external_connectivity(const std::string& network_id,
                                            const std::string& endpoint_id) const;

 private:
  Error failure(berth_status st, const berth_error& err, std::string_view what, const std::string& id) const;
  const Driver& driver_;
  const berth_network_v1* table_;
};

}  // namespace berth::core::network
