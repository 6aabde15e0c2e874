#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/translate/http_routes.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/route.pb.h"

namespace weft::controlplane {

// The authorities a client may send for a service port, as Kubernetes DNS resolves names:
// "<name>.<ns>:<port>", "<name>.<ns>.svc:<port>", "<fqdn>:<port>", and "<name>:<port>" when
// the client is in the service's namespace (`short_names`); on port 80 also each form
// without the port, since clients leave the default port out.
std::vector<std::string> serviceDomains(const CatalogService& service, uint32_t port,
                                        bool short_names);

// The virtual host "<fqdn>:<port>" with the service's domains and `routes`.
weft::v1::VirtualHost serviceVirtualHost(const CatalogService& service, uint32_t port,
                                         bool short_names,
                                         const std::vector<weft::v1::Route>& routes);

// The virtual host serialized deterministically, for virtualHostsField().
std::string serializeVirtualHost(const weft::v1::VirtualHost& vhost);

// The RouteConfiguration.virtual_hosts field holding these serialized virtual hosts, in wire
// format. A repeated message field is the concatenation of its entries, so the same list of
// virtual hosts can be encoded once and reused by every configuration that holds it.
std::string virtualHostsField(const std::vector<const std::string*>& virtual_hosts);

// A RouteConfiguration named `name` with an encoded virtual_hosts field. The bytes are exactly
// what buildResource() produces for the equivalent message, so equal content keeps one
// version however it was built; but a configuration with a thousand virtual hosts is made
// by copying bytes, not by copying and serializing messages.
BuiltResourcePtr assembleRouteConfiguration(const std::string& name,
                                            const std::string& virtual_hosts_field);

}  // namespace weft::controlplane
