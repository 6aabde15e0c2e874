#include "controlplane/translate/virtual_hosts.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "controlplane/translate/names.h"

namespace weft::controlplane {
namespace {

// Wire-format tag of a length-delimited field.
uint32_t lengthDelimitedTag(int field_number) {
  return (static_cast<uint32_t>(field_number) << 3) | 2;
}

void writeLengthDelimited(google::protobuf::io::CodedOutputStream& out, int field_number,
                          const std::string& bytes) {
  out.WriteTag(lengthDelimitedTag(field_number));
  out.WriteVarint32(static_cast<uint32_t>(bytes.size()));
  out.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

std::vector<std::string> serviceDomains(const CatalogService& service, uint32_t port,
                                        bool short_names) {
  const std::string& name = service.name();
  const std::string qualified = name + "." + service.namespace_();
  std::vector<std::string> hosts;
  if (short_names) {
    hosts.push_back(name);
  }
  hosts.push_back(qualified);
  hosts.push_back(qualified + ".svc");
  hosts.push_back(service.fqdn);
  const std::string suffix = ":" + std::to_string(port);
  std::vector<std::string> domains;
  domains.reserve(hosts.size() * 2);
  for (const std::string& host : hosts) {
    domains.push_back(host + suffix);
  }
  if (port == 80) {
    domains.insert(domains.end(), hosts.begin(), hosts.end());
  }
  return domains;
}

weft::v1::VirtualHost serviceVirtualHost(const CatalogService& service, uint32_t port,
                                         bool short_names,
                                         const std::vector<weft::v1::Route>& routes) {
  weft::v1::VirtualHost vhost;
  vhost.set_name(virtualHostName(service.fqdn, port));
  for (std::string& domain : serviceDomains(service, port, short_names)) {
    vhost.add_domains(std::move(domain));
  }
  vhost.mutable_routes()->Reserve(static_cast<int>(routes.size()));
  for (const auto& route : routes) {
    *vhost.add_routes() = route;
  }
  return vhost;
}

std::string serializeVirtualHost(const weft::v1::VirtualHost& vhost) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    vhost.SerializeToCodedStream(&out);
  }
  return bytes;
}

std::string virtualHostsField(const std::vector<const std::string*>& virtual_hosts) {
  size_t size = 0;
  for (const std::string* vhost : virtual_hosts) {
    size += vhost->size() + 8;
  }
  std::string field;
  field.reserve(size);
  {
    google::protobuf::io::StringOutputStream stream(&field);
    google::protobuf::io::CodedOutputStream out(&stream);
    for (const std::string* vhost : virtual_hosts) {
      writeLengthDelimited(out, weft::v1::RouteConfiguration::kVirtualHostsFieldNumber, *vhost);
    }
  }
  return field;
}

BuiltResourcePtr assembleRouteConfiguration(const std::string& name,
                                            const std::string& virtual_hosts_field) {
  auto resource = std::make_shared<BuiltResource>();
  resource->name = name;
  resource->type = ResourceType::kRoute;
  // Deterministic serialization writes fields in number order and leaves unset ones out.
  using weft::v1::RouteConfiguration;
  static_assert(RouteConfiguration::kNameFieldNumber <
                RouteConfiguration::kVirtualHostsFieldNumber);
  std::string& bytes = resource->bytes;
  if (!name.empty()) {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    writeLengthDelimited(out, RouteConfiguration::kNameFieldNumber, name);
  }
  // Appended directly: a stream would first zero-fill the space it hands out, which for a
  // large configuration costs as much as the copy.
  bytes.reserve(bytes.size() + virtual_hosts_field.size());
  bytes.append(virtual_hosts_field);
  resource->version = contentVersion(bytes);
  return resource;
}

}  // namespace weft::controlplane
