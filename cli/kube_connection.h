#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/kube/api_server.h"

namespace weft::cli {

// How weftctl reaches a Kubernetes API server: explicitly (--server, --token-file,
// --ca-file), through a kubeconfig file (common/kube/kubeconfig.h: a token or a client
// certificate; exec plugins are refused), or in-cluster (the pod's service account).

struct KubeConnectionOptions {
  std::string kubeconfig;  // --kubeconfig; empty: $KUBECONFIG (first entry), else ~/.kube/config
  std::string context;     // --context; empty: the kubeconfig's current-context
  std::string server;      // --server https://host:port: explicit, with the two below
  std::string token_file;
  std::string ca_file;
};

// A directory of its own (mode 0700, under $TMPDIR or /tmp) for the kubeconfig's inline
// credentials, which the API client reads from files; removed with everything in it when
// destroyed.
class PrivateTempDir {
 public:
  PrivateTempDir() = default;
  PrivateTempDir(const PrivateTempDir&) = delete;
  PrivateTempDir& operator=(const PrivateTempDir&) = delete;
  ~PrivateTempDir();

  // Makes the directory; its path, or an empty string and `error`.
  std::string create(std::string& error);

 private:
  std::string dir_;
};

struct KubeConnection {
  kube::ApiServer server;
  std::string source;        // how it was chosen: "kubeconfig /root/.kube/config", "--server"
  std::string error;         // empty when `server` is usable
  bool usage_error = false;  // the error is in the options given (exit 2), not the setup
  std::shared_ptr<PrivateTempDir> files;  // keep while the connection is used
};

// Chooses and builds the connection:
//  1. --server given: it, with --token-file (optional) and --ca-file (required);
//  2. else --kubeconfig, or the first file of $KUBECONFIG, or ~/.kube/config if it exists;
//  3. else in-cluster (KUBERNETES_SERVICE_HOST and the pod's service account).
// `environment` stands for getenv (tests pass their own).
KubeConnection resolveKubeConnection(const KubeConnectionOptions& options,
                                     const std::function<const char*(const char*)>& environment);

}  // namespace weft::cli
