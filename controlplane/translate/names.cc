#include "controlplane/translate/names.h"

namespace weft::controlplane {

std::string serviceFqdn(std::string_view name, std::string_view namespace_,
                        std::string_view dns_suffix) {
  std::string fqdn;
  fqdn.reserve(name.size() + namespace_.size() + dns_suffix.size() + 2);
  fqdn.append(name).append(".").append(namespace_).append(".").append(dns_suffix);
  return fqdn;
}

std::string outboundClusterName(std::string_view fqdn, uint32_t port, std::string_view subset) {
  std::string name = "outbound/";
  name.append(fqdn).append(":").append(std::to_string(port));
  if (!subset.empty()) {
    name.append("/").append(subset);
  }
  return name;
}

std::string inboundClusterName(uint32_t port) {
  return "inbound/" + std::to_string(port);
}

std::string outboundRouteConfigName(uint32_t port) {
  return "outbound/" + std::to_string(port);
}

std::string inboundRouteConfigName(uint32_t port) {
  return "inbound/" + std::to_string(port);
}

std::string virtualHostName(std::string_view fqdn, uint32_t port) {
  return std::string(fqdn) + ":" + std::to_string(port);
}

std::string ruleRouteName(std::string_view namespace_, std::string_view traffic_route,
                          std::string_view rule_name, size_t rule_index) {
  std::string name(namespace_);
  name.append("/").append(traffic_route).append("/");
  if (rule_name.empty()) {
    name.append(std::to_string(rule_index));
  } else {
    name.append(rule_name);
  }
  return name;
}

std::string spiffeId(std::string_view trust_domain, std::string_view namespace_,
                     std::string_view service_account) {
  std::string id = "spiffe://";
  id.append(trust_domain).append("/ns/").append(namespace_).append("/sa/").append(service_account);
  return id;
}

std::string statPrefix(std::string_view direction, uint32_t port) {
  return std::string(direction) + "_" + std::to_string(port);
}

}  // namespace weft::controlplane
