#include "cli/kube_connection.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/kube/kubeconfig.h"

namespace weft::cli {
namespace {

namespace fs = std::filesystem;

KubeConnection failed(std::string message, bool usage_error = false) {
  KubeConnection connection;
  connection.error = std::move(message);
  connection.usage_error = usage_error;
  return connection;
}

KubeConnection explicitConnection(const KubeConnectionOptions& options) {
  if (!options.kubeconfig.empty() || !options.context.empty()) {
    return failed("--server and --kubeconfig/--context exclude each other", true);
  }
  if (options.ca_file.empty()) {
    return failed("--server needs --ca-file: the roots the API server's certificate must chain to",
                  true);
  }
  auto server = kube::apiServerFromUrl(options.server, options.token_file, options.ca_file);
  if (!server) {
    return failed("--server " + server.error(), true);
  }
  KubeConnection connection;
  connection.server = std::move(*server);
  connection.source = "--server";
  return connection;
}

KubeConnection kubeconfigConnection(const std::string& path, const std::string& context) {
  auto files = std::make_shared<PrivateTempDir>();
  std::string error;
  const std::string runtime_dir = files->create(error);
  if (runtime_dir.empty()) {
    return failed(error);
  }
  auto server = kube::kubeconfigApiServer(path, context, runtime_dir);
  if (!server) {
    return failed(server.error());
  }
  KubeConnection connection;
  connection.server = std::move(*server);
  connection.source = "kubeconfig " + path + (context.empty() ? "" : ", context " + context);
  connection.files = std::move(files);
  return connection;
}

KubeConnection inClusterConnection(const std::function<const char*(const char*)>& environment) {
  const char* host = environment("KUBERNETES_SERVICE_HOST");
  const char* port = environment("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return failed(
        "no kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config) and not in a pod "
        "(KUBERNETES_SERVICE_HOST is not set): give --kubeconfig, or --server with "
        "--token-file and --ca-file");
  }
  const std::string host_text(host);
  const bool ipv6 = host_text.find(':') != std::string::npos;
  const std::string dir(kube::kServiceAccountDir);
  auto server =
      kube::apiServerFromUrl("https://" + (ipv6 ? "[" + host_text + "]" : host_text) + ":" + port,
                             dir + "/token", dir + "/ca.crt");
  if (!server) {
    return failed("in a pod, from KUBERNETES_SERVICE_HOST and _PORT: " + server.error());
  }
  server->namespace_file = dir + "/namespace";
  KubeConnection connection;
  connection.server = std::move(*server);
  connection.source = "in-cluster service account";
  return connection;
}

}  // namespace

PrivateTempDir::~PrivateTempDir() {
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

std::string PrivateTempDir::create(std::string& error) {
  if (dir_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/weftctl-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {  // mode 0700
      error = "cannot make a private temporary directory " + pattern + ": " + std::strerror(errno);
      return {};
    }
    dir_ = pattern;
  }
  return dir_;
}

KubeConnection resolveKubeConnection(const KubeConnectionOptions& options,
                                     const std::function<const char*(const char*)>& environment) {
  if (!options.server.empty()) {
    return explicitConnection(options);
  }
  if (!options.token_file.empty() || !options.ca_file.empty()) {
    return failed("--token-file and --ca-file go with --server", true);
  }
  if (!options.kubeconfig.empty()) {
    return kubeconfigConnection(options.kubeconfig, options.context);
  }
  if (const char* list = environment("KUBECONFIG"); list != nullptr && *list != '\0') {
    const std::string paths(list);
    return kubeconfigConnection(paths.substr(0, paths.find(':')), options.context);
  }
  if (const char* home = environment("HOME"); home != nullptr && *home != '\0') {
    const std::string path = std::string(home) + "/.kube/config";
    std::error_code ignored;
    if (fs::exists(path, ignored)) {
      return kubeconfigConnection(path, options.context);
    }
  }
  if (!options.context.empty()) {
    return failed("--context " + options.context +
                      ": no kubeconfig ($KUBECONFIG or ~/.kube/config); give --kubeconfig",
                  true);
  }
  return inClusterConnection(environment);
}

}  // namespace weft::cli
