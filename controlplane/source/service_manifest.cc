#include "controlplane/source/service_manifest.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "common/config/field_path.h"
#include "controlplane/source/kubernetes_names.h"

namespace weft::controlplane {
namespace {

using config::appendField;
using config::appendIndex;
using config::appendKey;

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Fields of Kubernetes' ServiceSpec (as of 1.31) that do not change what the mesh does.
const std::set<std::string, std::less<>>& ignoredSpecFields() {
  static const std::set<std::string, std::less<>> fields = {
      "allocateLoadBalancerNodePorts",
      "clusterIP",
      "clusterIPs",
      "externalIPs",
      "externalName",
      "externalTrafficPolicy",
      "healthCheckNodePort",
      "internalTrafficPolicy",
      "ipFamilies",
      "ipFamilyPolicy",
      "loadBalancerClass",
      "loadBalancerIP",
      "loadBalancerSourceRanges",
      "publishNotReadyAddresses",
      "sessionAffinity",
      "sessionAffinityConfig",
      "trafficDistribution",
  };
  return fields;
}

void readType(const YAML::Node& node, const std::string& path, DocumentErrors& errors) {
  const std::optional<std::string> type = readString(node, path, errors);
  if (!type || *type == "ClusterIP" || *type == "NodePort" || *type == "LoadBalancer") {
    return;
  }
  if (*type == "ExternalName") {
    errors.add(node, path,
               "type ExternalName is not supported by the mesh: such a Service is a DNS alias "
               "with no endpoints to route to (route to the external host with a "
               "DestinationPolicy and a Workload instead)");
    return;
  }
  errors.add(node, path,
             "unknown Service type " + quoted(*type) +
                 " (expected one of: ClusterIP, NodePort, LoadBalancer)");
}

void readSelector(const YAML::Node& node, const std::string& path, Service& service,
                  DocumentErrors& errors) {
  for (StringEntry& entry : readStringMap(node, path, errors)) {
    const std::string entry_path = appendKey(path, entry.key);
    if (std::string problem = checkQualifiedName(entry.key); !problem.empty()) {
      errors.add(entry.key_node, entry_path, std::move(problem));
    } else if (std::string value_problem = checkLabelValue(entry.value); !value_problem.empty()) {
      errors.add(entry.key_node, entry_path, std::move(value_problem));
    } else {
      service.selector.emplace(std::move(entry.key), std::move(entry.value));
    }
  }
}

// Reads one entry of spec.ports; false when it has errors.
bool readPort(const YAML::Node& node, const std::string& path, ServicePort& port,
              DocumentErrors& errors) {
  if (!node.IsMap()) {
    errors.add(node, path, "expected a map, found " + std::string(nodeKindName(node)));
    return false;
  }
  const size_t errors_before = errors.size();
  std::string app_protocol;
  bool has_port = false;
  std::optional<YAML::Node> target_port;  // a default YAML::Node would count as defined
  for (const MapEntry& entry : mapEntries(node, path, errors)) {
    const std::string field_path = appendField(path, entry.name);
    if (entry.name == "name") {
      if (auto name = readString(entry.value, field_path, errors)) {
        if (std::string problem = checkDns1123Label(*name); !problem.empty()) {
          errors.add(entry.value, field_path, "port name " + problem);
        }
        port.name = std::move(*name);
      }
    } else if (entry.name == "port") {
      if (auto number = readInteger(entry.value, field_path, 1, 65535, errors)) {
        port.port = static_cast<uint32_t>(*number);
        has_port = true;
      }
    } else if (entry.name == "targetPort") {
      target_port = entry.value;
    } else if (entry.name == "protocol") {
      if (auto protocol = readString(entry.value, field_path, errors)) {
        if (*protocol == "UDP" || *protocol == "SCTP") {
          errors.add(entry.value, field_path,
                     "protocol " + *protocol +
                         " is not supported by the mesh: its proxies carry TCP only (leave the "
                         "port out of the manifests the mesh reads, or use TCP)");
        } else if (*protocol != "TCP") {
          errors.add(entry.value, field_path,
                     "unknown protocol " + quoted(*protocol) + " (expected TCP)");
        }
      }
    } else if (entry.name == "appProtocol") {
      if (auto value = readString(entry.value, field_path, errors)) {
        app_protocol = std::move(*value);
      }
    } else if (entry.name == "nodePort") {
      // Assigned for NodePort and LoadBalancer services; the mesh routes by service port.
    } else {
      errors.add(entry.key, path,
                 unknownFieldReason(
                     entry.name, "a Service port",
                     {"name", "port", "targetPort", "protocol", "appProtocol", "nodePort"}));
    }
  }
  if (!has_port && errors.size() == errors_before) {
    errors.add(node, appendField(path, "port"), "is required");
  }
  const std::string target_path = appendField(path, "targetPort");
  if (!target_port) {
    port.target_port = port.port;  // Kubernetes' default: the same number as the port
  } else if (isPlainScalar(*target_port) && !target_port->Scalar().empty() &&
             std::isdigit(static_cast<unsigned char>(target_port->Scalar().front()))) {
    if (auto number = readInteger(*target_port, target_path, 1, 65535, errors)) {
      port.target_port = static_cast<uint32_t>(*number);
    }
  } else if (auto name = readString(*target_port, target_path, errors)) {
    // A name refers to a named port of the selected workloads (containerPort name, or a
    // Workload's ports[].name); Kubernetes resolves it per endpoint, and so does translation.
    if (std::string problem = checkPortName(*name); !problem.empty()) {
      const bool digits = std::all_of(name->begin(), name->end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      });
      errors.add(
          *target_port, target_path,
          problem + (digits ? " (a quoted number is a name; write the number unquoted)" : ""));
    } else {
      port.target_port_name = std::move(*name);
    }
  }
  port.protocol = inferPortProtocol(port.name, app_protocol);
  return errors.size() == errors_before;
}

void readPorts(const YAML::Node& node, const std::string& path, Service& service,
               DocumentErrors& errors) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsSequence()) {
    errors.add(node, path, "expected a list, found " + std::string(nodeKindName(node)));
    return;
  }
  std::map<std::string, size_t> names;
  std::map<uint32_t, size_t> numbers;
  size_t index = 0;
  for (const YAML::Node& element : node) {
    const std::string port_path = appendIndex(path, index);
    ServicePort port;
    if (readPort(element, port_path, port, errors)) {
      if (port.name.empty() && node.size() > 1) {
        errors.add(element, appendField(port_path, "name"),
                   "is required when a Service has more than one port (a Kubernetes rule)");
      } else if (const auto [it, inserted] = names.emplace(port.name, index); !inserted) {
        errors.add(element, appendField(port_path, "name"),
                   "port names must be unique within a Service: " + quoted(port.name) +
                       " is also " + appendIndex(path, it->second));
      } else if (const auto [number, fresh] = numbers.emplace(port.port, index); !fresh) {
        errors.add(element, appendField(port_path, "port"),
                   "port " + std::to_string(port.port) + " is also " +
                       appendIndex(path, number->second) + " (each port may appear once)");
      } else {
        service.ports.push_back(std::move(port));
      }
    }
    ++index;
  }
}

}  // namespace

void readServiceSpec(const YAML::Node& spec, const std::string& path, Service& service,
                     DocumentErrors& errors) {
  if (!spec.IsMap()) {
    errors.add(spec, path, "expected a map, found " + std::string(nodeKindName(spec)));
    return;
  }
  for (const MapEntry& entry : mapEntries(spec, path, errors)) {
    const std::string field_path = appendField(path, entry.name);
    if (entry.name == "selector") {
      readSelector(entry.value, field_path, service, errors);
    } else if (entry.name == "ports") {
      readPorts(entry.value, field_path, service, errors);
    } else if (entry.name == "type") {
      readType(entry.value, field_path, errors);
    } else if (ignoredSpecFields().count(entry.name) == 0) {
      errors.add(entry.key, path,
                 "unknown field " + quoted(entry.name) +
                     " in a Service spec: the mesh reads selector, ports and type, and ignores "
                     "the other fields of Kubernetes' ServiceSpec, but this is not one of them");
    }
  }
}

PortProtocol inferPortProtocol(std::string_view port_name, std::string_view app_protocol) {
  if (!app_protocol.empty()) {
    const std::string protocol = lowerCase(app_protocol);
    if (protocol == "http" || protocol == "kubernetes.io/ws") {
      return PortProtocol::kHttp;
    }
    if (protocol == "http2" || protocol == "kubernetes.io/h2c") {
      return PortProtocol::kHttp2;
    }
    if (protocol == "grpc") {
      return PortProtocol::kGrpc;
    }
    return PortProtocol::kTcp;
  }
  const std::string name = lowerCase(port_name.substr(0, port_name.find('-')));
  if (name == "http") {
    return PortProtocol::kHttp;
  }
  if (name == "http2" || name == "h2c") {
    return PortProtocol::kHttp2;
  }
  if (name == "grpc") {
    return PortProtocol::kGrpc;
  }
  if (name == "tcp" || name == "tls" || name == "https" || name == "mongo" || name == "mysql" ||
      name == "redis") {
    return PortProtocol::kTcp;
  }
  return PortProtocol::kHttp;
}

}  // namespace weft::controlplane
