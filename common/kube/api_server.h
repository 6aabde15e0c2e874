#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/tls/result.h"

namespace weft::kube {

// Where the Kubernetes API server is and how to authenticate to it: the two facts every
// in-cluster client needs. The token is a file, re-read for every request, because the kubelet
// rotates projected service-account tokens in place.
struct ApiServer {
  std::string host;  // a DNS name or an IP address; also the name its certificate must carry
  uint16_t port = 443;
  std::string token_file;  // the bearer token; empty: no Authorization header
  std::string ca_file;     // the roots its serving certificate must chain to
  // A client certificate and its key (PEM files), for a kubeconfig user that has one; empty:
  // none. Read for every request, like the token.
  std::string client_cert_file;
  std::string client_key_file;
  std::string namespace_file;  // the pod's namespace, in a pod; empty elsewhere

  // "https://host:port", for logs.
  std::string url() const;
};

// The bearer token in `path`, without surrounding whitespace (a file written by hand usually
// ends with a newline, which must not end up in the header). Read for every request.
tls::Result<std::string> readBearerToken(const std::string& path);

// The standard in-pod paths (/var/run/secrets/kubernetes.io/serviceaccount/...).
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// The API server as a pod sees it: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from the
// environment, token, ca.crt and namespace from kServiceAccountDir. An Error naming what is
// missing when the process does not run in a pod.
tls::Result<ApiServer> inClusterApiServer();

// An explicit server URL ("https://host[:port]", IPv6 in brackets) with the token and CA files;
// http:// and anything after the authority are refused, since the token must not travel in
// the clear and the client builds its own paths.
tls::Result<ApiServer> apiServerFromUrl(std::string_view url, std::string token_file,
                                        std::string ca_file);

}  // namespace weft::kube
