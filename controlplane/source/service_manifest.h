#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "controlplane/model/mesh_model.h"
#include "controlplane/source/manifest_fields.h"

namespace weft::controlplane {

// Reads the spec of a core/v1 Service into `service` (selector and ports; service.meta is left
// alone). Fields of Kubernetes' ServiceSpec the mesh does not use (clusterIP, sessionAffinity,
// ipFamilies, ...) are ignored; a field Kubernetes does not know either is an error, as it is
// for `kubectl apply`, since it is most likely a typo ("selecter") that would otherwise change
// the meaning silently. `path` is where the spec is in its document ("spec").
void readServiceSpec(const YAML::Node& spec, const std::string& path, Service& service,
                     DocumentErrors& errors);

// The protocol of a service port, decided as follows:
//  1. appProtocol, when set (case-insensitive): "http" and "kubernetes.io/ws" -> HTTP,
//     "http2" and "kubernetes.io/h2c" -> HTTP/2, "grpc" -> gRPC; "tcp", and every other value
//     ("https", "tls", "kubernetes.io/wss", "mysql", ...) -> TCP: an application protocol the
//     mesh does not parse, or one already encrypted, is carried as opaque bytes rather than
//     misread as HTTP.
//  2. Else the port name's prefix, the part before the first '-' or the whole name (Istio's
//     convention): "http" -> HTTP, "http2" and "h2c" -> HTTP/2, "grpc" -> gRPC; "tcp", "tls",
//     "https", "mongo", "mysql" and "redis" -> TCP.
//  3. Else HTTP, so an unnamed web service gets routing, retries and metrics by default.
PortProtocol inferPortProtocol(std::string_view port_name, std::string_view app_protocol);

}  // namespace weft::controlplane
