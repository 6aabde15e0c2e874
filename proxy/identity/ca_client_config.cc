#include "proxy/identity/ca_client_config.h"

namespace weft::proxy::identity {
namespace {

std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1'000'000);
}

}  // namespace

std::string CaClientConfig::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string staticIdentityConflict(const weft::v1::Bootstrap& bootstrap) {
  const auto& secrets = bootstrap.static_resources().secrets();
  for (int i = 0; i < secrets.size(); ++i) {
    if (secrets[i].name() == "identity") {
      return "static_resources.secrets[" + std::to_string(i) +
             "].name: the secret \"identity\" comes from dynamic_resources.ca; remove one of "
             "them";
    }
  }
  return {};
}

std::string caClientConfigFrom(const weft::v1::Bootstrap& bootstrap, CaClientConfig& out) {
  const auto& dynamic = bootstrap.dynamic_resources();
  const auto& ca = dynamic.ca();
  const std::string kNotYet = ": is not implemented by this version of weft-proxy yet";
  std::string server_path = "dynamic_resources.ca.server";
  const weft::v1::GrpcService* server = &ca.server();
  if (!ca.has_server()) {
    if (!dynamic.has_ads()) {
      return "dynamic_resources.ca.server: required when dynamic_resources.ads is not set (the "
             "CA defaults to the ADS server)";
    }
    server = &dynamic.ads().server();
    server_path = "dynamic_resources.ads.server";
  }
  if (!server->has_address()) {
    return server_path + ".cluster" + kNotYet + " (give the address)";
  }
  if (server->has_tls()) {
    std::string error;
    out.tls = xds::ControlPlaneTls::from(server->tls(), server->address().address(),
                                         server_path + ".tls", error);
    if (!out.tls) {
      return error;
    }
  }
  if (std::string conflict = staticIdentityConflict(bootstrap); !conflict.empty()) {
    return conflict;
  }
  out.host = server->address().address();
  out.port = static_cast<uint16_t>(server->address().port());
  out.token_file = server->token_file();
  if (server->has_timeout()) {
    out.timeout = std::max(std::chrono::milliseconds(1), toMillis(server->timeout()));
  }
  if (ca.has_validity() && ca.validity().seconds() > 0) {
    out.validity = std::chrono::seconds(ca.validity().seconds());
  }
  if (ca.has_renew_at_percent()) {
    out.renew_at_percent = ca.renew_at_percent().value();
  }
  out.key_type = ca.key_type();
  return {};
}

}  // namespace weft::proxy::identity
