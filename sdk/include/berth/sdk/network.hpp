// berth.network.v1 for C++: derive from NetworkDriver, then
// BERTH_DEFINE_PLUGIN (plugin.hpp). Each member mirrors the function of the
// same name in berth_network_v1 (abi.h), whose doc is the contract (JSON
// shapes included); report failure by throwing Error with the matching Errc.
//
// Network and endpoint ids are 64-hex-digit strings chosen by the host; IPAM
// is decided by the core and arrives in the spec JSON.
//
// Lifetime: string_view arguments and Out are valid only during the call.
// Threading: any member may run concurrently with any other.
#ifndef BERTH_SDK_NETWORK_HPP
#define BERTH_SDK_NETWORK_HPP

#include <concepts>
#include <string_view>

#include "berth/sdk/plugin.hpp"

namespace berth::sdk {

class NetworkDriver {
 public:
  virtual ~NetworkDriver() = default;

  // Creates network `network_id` from `spec_json` (IPAM decided by the core).
  virtual void create_network(std::string_view network_id, std::string_view spec_json) = 0;

  // Deletes network `network_id` and what the driver made for it.
  virtual void delete_network(std::string_view network_id) = 0;

  // Creates an endpoint; may write a JSON object of what the driver chose
  // ({"MacAddress": ...}) to `out`.
  virtual void create_endpoint(std::string_view network_id, std::string_view endpoint_id,
                               std::string_view spec_json, const Out& out) = 0;

  // Deletes an endpoint (after leave).
  virtual void delete_endpoint(std::string_view network_id, std::string_view endpoint_id) = 0;

  // Puts the endpoint into the sandbox whose netns is at `sandbox_key`;
  // writes {"Gateway", "GatewayIPv6", "StaticRoutes", "DisableGatewayService"}.
  virtual void join(std::string_view network_id, std::string_view endpoint_id,
                    std::string_view sandbox_key, std::string_view opts_json, const Out& out) = 0;

  // Takes the endpoint out of its sandbox.
  virtual void leave(std::string_view network_id, std::string_view endpoint_id) = 0;

  // Publishes the endpoint's ports (`opts_json`: PortBindings, ExposedPorts).
  virtual void program_external_connectivity(std::string_view network_id,
                                             std::string_view endpoint_id,
                                             std::string_view opts_json) = 0;

  // Withdraws what program_external_connectivity set up.
  virtual void revoke_external_connectivity(std::string_view network_id,
                                            std::string_view endpoint_id) = 0;
};

namespace detail {

template <class D>
struct NetworkAdapter {
  static berth_status create_network(void* self, berth_str network_id, berth_str spec_json,
                                     berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.create_network(to_string_view(network_id), to_string_view(spec_json));
    });
  }

  static berth_status delete_network(void* self, berth_str network_id, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.delete_network(to_string_view(network_id)); });
  }

  static berth_status create_endpoint(void* self, berth_str network_id, berth_str endpoint_id,
                                      berth_str spec_json, berth_out* out,
                                      berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.create_endpoint(to_string_view(network_id), to_string_view(endpoint_id),
                                to_string_view(spec_json), Out(in.host, out));
    });
  }

  static berth_status delete_endpoint(void* self, berth_str network_id, berth_str endpoint_id,
                                      berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.delete_endpoint(to_string_view(network_id), to_string_view(endpoint_id));
    });
  }

  static berth_status join(void* self, berth_str network_id, berth_str endpoint_id,
                           berth_str sandbox_key, berth_str opts_json, berth_out* out,
                           berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.join(to_string_view(network_id), to_string_view(endpoint_id),
                     to_string_view(sandbox_key), to_string_view(opts_json), Out(in.host, out));
    });
  }

  static berth_status leave(void* self, berth_str network_id, berth_str endpoint_id,
                            berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err,
                 [&] { in.driver.leave(to_string_view(network_id), to_string_view(endpoint_id)); });
  }

  static berth_status program_external_connectivity(void* self, berth_str network_id,
                                                    berth_str endpoint_id, berth_str opts_json,
                                                    berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.program_external_connectivity(
          to_string_view(network_id), to_string_view(endpoint_id), to_string_view(opts_json));
    });
  }

  static berth_status revoke_external_connectivity(void* self, berth_str network_id,
                                                   berth_str endpoint_id,
                                                   berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.revoke_external_connectivity(to_string_view(network_id),
                                             to_string_view(endpoint_id));
    });
  }
};

}  // namespace detail

template <class D>
requires std::derived_from<D, NetworkDriver>
struct KindTraits<D> {
  static constexpr const char* kind = BERTH_KIND_NETWORK_V1;
  static constexpr berth_network_v1 table{
      struct_size_of<berth_network_v1>(),
      &detail::NetworkAdapter<D>::create_network,
      &detail::NetworkAdapter<D>::delete_network,
      &detail::NetworkAdapter<D>::create_endpoint,
      &detail::NetworkAdapter<D>::delete_endpoint,
      &detail::NetworkAdapter<D>::join,
      &detail::NetworkAdapter<D>::leave,
      &detail::NetworkAdapter<D>::program_external_connectivity,
      &detail::NetworkAdapter<D>::revoke_external_connectivity,
  };
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_NETWORK_HPP
