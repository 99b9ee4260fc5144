#include "berth/core/network/driver.hpp"

#include "berth/core/driver_call.hpp"

namespace berth::core::network {

NetworkDriver::NetworkDriver(const Driver& driver) : driver_(driver), table_(driver.network()) {}

Error NetworkDriver::failure(berth_status st, const berth_error& err, std::string_view what,
                             const std::string& id) const {
  std::string message = "network driver " + this->id() + ": " + std::string(what) + " " + id.substr(0, 12) + ": " +
                        (err.message.empty() ? std::string(berth::sdk::errc_name(berth::sdk::to_errc(st)))
                                             : err.message);
  return make_error(berth::sdk::to_errc(st), std::move(message));
}

#define BERTH_NETWORK_CALL(what, id, ...)          \
  do {                                             \
    berth_error err;                               \
    berth_status st = table_->__VA_ARGS__;         \
    if (st != BERTH_OK) return failure(st, err, what, id); \
  } while (0)

Result<void> NetworkDriver::create_network(const std::string& network_id, const std::string& spec_json) const {
  BERTH_NETWORK_CALL("create network", network_id,
                     create_network(driver_.instance(), to_berth_str(network_id), to_berth_str(spec_json), &err));
  return ok();
}

Result<void> NetworkDriver::delete_network(const std::string& network_id) const {
  BERTH_NETWORK_CALL("delete network", network_id,
                     delete_network(driver_.instance(), to_berth_str(network_id), &err));
  return ok();
}

Result<std::string> NetworkDriver::create_endpoint(const std::string& network_id, const std::string& endpoint_id,
                                                   const std::string& spec_json) const {
  berth_out out;
  BERTH_NETWORK_CALL("create endpoint", endpoint_id,
                     create_endpoint(driver_.instance(), to_berth_str(network_id), to_berth_str(endpoint_id),
                                     to_berth_str(spec_json), &out, &err));
  return out.text.empty() ? std::string("{}") : out.text;
}

Result<void> NetworkDriver::delete_endpoint(const std::string& network_id, const std::string& endpoint_id) const {
  BERTH_NETWORK_CALL("delete endpoint", endpoint_id,
                     delete_endpoint(driver_.instance(), to_berth_str(network_id), to_berth_str(endpoint_id), &err));
  return ok();
}

Result<std::string> NetworkDriver::join(const std::string& network_id, const std::string& endpoint_id,
                                        const std::string& sandbox_key, const std::string& opts_json) const {
  berth_out out;
  BERTH_NETWORK_CALL("join endpoint", endpoint_id,
                     join(driver_.instance(), to_berth_str(network_id), to_berth_str(endpoint_id),
                          to_berth_str(sandbox_key), to_berth_str(opts_json), &out, &err));
  return out.text.empty() ? std::string("{}") : out.text;
}

Result<void> NetworkDriver::leave(const std::string& network_id, const std::string& endpoint_id) const {
  BERTH_NETWORK_CALL("leave endpoint", endpoint_id,
                     leave(driver_.instance(), to_berth_str(network_id), to_berth_str(endpoint_id), &err));
  return ok();
}

Result<void> NetworkDriver::program_external_connectivity(const std::string& network_id,
                                                          const std::string& endpoint_id,
                                                          const std::string& opts_json) const {
  BERTH_NETWORK_CALL("publish ports of endpoint", endpoint_id,
                     program_external_connectivity(driver_.instance(), to_berth_str(network_id),
                                                   to_berth_str(endpoint_id), to_berth_str(opts_json), &err));
  return ok();
}

Result<void> NetworkDriver::revoke_external_connectivity(const std::string& network_id,
                                                         const std::string& endpoint_id) const {
  BERTH_NETWORK_CALL("unpublish ports of endpoint", endpoint_id,
                     revoke_external_connectivity(driver_.instance(), to_berth_str(network_id),
                                                  to_berth_str(endpoint_id), &err));
  return ok();
}

#undef BERTH_NETWORK_CALL

}  // namespace berth::core::network
