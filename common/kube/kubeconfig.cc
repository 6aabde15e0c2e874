#include "common/kube/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/fs/atomic_file.h"
#include "common/text/base64.h"

namespace weft::kube {
namespace {

// The entry of a named list (clusters, contexts, users) with that name, or a null node.
YAML::Node named(const YAML::Node& list, const std::string& name, const char* field) {
  if (list && list.IsSequence()) {
    for (const YAML::Node& entry : list) {
      if (entry.IsMap() && entry["name"] && entry["name"].IsScalar() &&
          entry["name"].as<std::string>() == name && entry[field]) {
        return entry[field];
      }
    }
  }
  return YAML::Node(YAML::NodeType::Null);
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) {
    return {};
  }
  const YAML::Node value = map[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

// A path as the kubeconfig means it: relative ones from the kubeconfig's directory.
std::string resolve(const std::string& path, const std::filesystem::path& base) {
  const std::filesystem::path value(path);
  return value.is_absolute() ? path : (base / value).lexically_normal().string();
}

}  // namespace

std::string defaultKubeconfigPath() {
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    const std::string list(env);
    return list.substr(0, list.find(':'));
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.kube/config";
  }
  return {};
}

tls::Result<ApiServer> kubeconfigApiServer(const std::string& path, const std::string& context,
                                           const std::string& runtime_dir) {
  YAML::Node config;
  try {
    config = YAML::LoadFile(path);
  } catch (const YAML::Exception& error) {
    return tls::Error{"kubeconfig " + path + ": " + error.what()};
  }
  if (!config.IsMap()) {
    return tls::Error{"kubeconfig " + path + ": not a kubeconfig (expected a mapping)"};
  }
  const std::string where = "kubeconfig " + path + ": ";
  const std::string context_name = context.empty() ? scalar(config, "current-context") : context;
  if (context_name.empty()) {
    return tls::Error{where + "no current-context, and no context given"};
  }
  const YAML::Node context_node = named(config["contexts"], context_name, "context");
  if (!context_node.IsMap()) {
    return tls::Error{where + "no context named \"" + context_name + "\""};
  }
  const std::string cluster_name = scalar(context_node, "cluster");
  const std::string user_name = scalar(context_node, "user");
  const YAML::Node cluster = named(config["clusters"], cluster_name, "cluster");
  if (!cluster.IsMap()) {
    return tls::Error{where + "context \"" + context_name + "\" names cluster \"" + cluster_name +
                      "\", which is not in clusters"};
  }
  const YAML::Node user = named(config["users"], user_name, "user");
  if (!user.IsMap()) {
    return tls::Error{where + "context \"" + context_name + "\" names user \"" + user_name +
                      "\", which is not in users"};
  }
  if (scalar(cluster, "insecure-skip-tls-verify") == "true") {
    return tls::Error{where + "cluster \"" + cluster_name +
                      "\" sets insecure-skip-tls-verify; the API server must be verified (give "
                      "certificate-authority)"};
  }
  for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
    if (!scalar(cluster, unsupported).empty()) {
      return tls::Error{where + "cluster \"" + cluster_name + "\" sets " + unsupported +
                        ", which is not supported: the server's name must be in its URL, and "
                        "the API reached directly"};
    }
  }
  if (user["exec"] || user["auth-provider"]) {
    return tls::Error{where + "user \"" + user_name +
                      "\" authenticates through a plugin (exec or auth-provider), which is not "
                      "supported: give a token, tokenFile or client certificate"};
  }

  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  std::error_code ignored;
  bool made_dir = false;
  // Inline credentials become private files; the clients read them per request.
  // Which of the two forms wins when both are given follows client-go: the *-data fields
  // over their files, tokenFile over token.
  auto materialize = [&](const YAML::Node& map, const char* file_key, const char* data_key,
                         const char* out_name, bool base64) -> tls::Result<std::string> {
    const std::string data = scalar(map, data_key);
    const std::string file = scalar(map, file_key);
    const bool file_wins = std::string_view(file_key) == "tokenFile";
    if (data.empty() || (file_wins && !file.empty())) {
      return file.empty() ? std::string() : resolve(file, base);
    }
    std::string contents = data;
    if (base64) {
      auto decoded = text::decodeBase64(data);
      if (!decoded) {
        return tls::Error{where + data_key + " is not base64"};
      }
      contents = std::move(*decoded);
    }
    if (!made_dir) {
      std::filesystem::create_directories(runtime_dir, ignored);
      std::filesystem::permissions(runtime_dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ignored);
      made_dir = true;
    }
    const std::string out = runtime_dir + "/" + out_name;
    if (std::string error = fs::replaceFileAtomically(out, contents, 0600); !error.empty()) {
      return tls::Error{where + "cannot write " + out + ": " + error};
    }
    return out;
  };

  auto server = apiServerFromUrl(scalar(cluster, "server"), "", "");
  if (!server) {
    return tls::Error{where + "cluster \"" + cluster_name + "\": " + server.error()};
  }
  auto ca =
      materialize(cluster, "certificate-authority", "certificate-authority-data", "ca.crt", true);
  auto token = materialize(user, "tokenFile", "token", "token", false);
  auto cert =
      materialize(user, "client-certificate", "client-certificate-data", "client.crt", true);
  auto key = materialize(user, "client-key", "client-key-data", "client.key", true);
  for (const auto* result : {&ca, &token, &cert, &key}) {
    if (!*result) {
      return tls::Error{result->error()};
    }
  }
  if (ca->empty()) {
    return tls::Error{where + "cluster \"" + cluster_name +
                      "\" has no certificate-authority(-data); the system roots are not "
                      "trusted for a cluster's API"};
  }
  if (cert->empty() != key->empty()) {
    return tls::Error{where + "user \"" + user_name +
                      "\" has a client certificate without its key, or a key without its "
                      "certificate"};
  }
  if (token->empty() && cert->empty()) {
    return tls::Error{where + "user \"" + user_name +
                      "\" has neither a token nor a client certificate"};
  }
  server->ca_file = *ca;
  server->token_file = *token;
  server->client_cert_file = *cert;
  server->client_key_file = *key;
  return server;
}

}  // namespace weft::kube
