#pragma once

#include <string>

#include "common/kube/api_server.h"
#include "common/tls/result.h"

namespace weft::kube {

// The API server a kubeconfig file names, for running outside the cluster (a developer's
// machine, a test): the current context's (or `context`'s) cluster and user.
//
// Read: clusters[].cluster.server (https only), certificate-authority or
// certificate-authority-data; users[].user.token or tokenFile, client-certificate(-data) and
// client-key(-data). When both forms are given, the *-data fields win over their files and
// tokenFile over token, as in client-go. Paths are relative to the kubeconfig's directory, as
// kubectl takes them. Inline data (the *-data fields, an inline token) is written to private files
// (0600) under `runtime_dir`, since the clients read credentials from files on every request.
// Refused with a clear error: exec and auth-provider plugins (they run programs; give a token
// or a client certificate instead), insecure-skip-tls-verify (the API must be verified),
// tls-server-name and proxy-url (not supported), a user with neither a token nor a client
// certificate.
tls::Result<ApiServer> kubeconfigApiServer(const std::string& path, const std::string& context,
                                           const std::string& runtime_dir);

// $KUBECONFIG (its first entry) or ~/.kube/config; empty when neither is known.
std::string defaultKubeconfigPath();

}  // namespace weft::kube
