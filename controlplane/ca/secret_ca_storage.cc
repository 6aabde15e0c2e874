#include "controlplane/ca/secret_ca_storage.h"

#include <boost/json.hpp>

#include "common/log/logger.h"
#include "common/text/base64.h"

namespace weft::controlplane::ca {
namespace {

namespace json = boost::json;

spdlog::logger& caLog() {
  static spdlog::logger& logger = weft::log::logger("ca");
  return logger;
}

}  // namespace

SecretCaStorage::SecretCaStorage(kube::ApiClient client, std::string namespace_name,
                                 std::string name)
    : client_(std::move(client)), namespace_(std::move(namespace_name)), name_(std::move(name)) {}

std::string SecretCaStorage::location() const {
  return "Secret " + namespace_ + "/" + name_ + " (Kubernetes API " + client_.server().url() + ")";
}

tls::Result<CaFiles> SecretCaStorage::parseSecret(const std::string& body) {
  boost::system::error_code parse_error;
  const json::value secret = json::parse(body, parse_error);
  if (parse_error || !secret.is_object()) {
    return tls::Error{"the Secret is not a JSON object"};
  }
  CaFiles files;
  const json::value* data = secret.as_object().if_contains("data");
  if (data != nullptr && !data->is_object() && !data->is_null()) {
    return tls::Error{"the Secret's data is not an object"};
  }
  const std::pair<std::string_view, std::string CaFiles::*> keys[] = {
      {"ca-cert.pem", &CaFiles::signing_cert},
      {"ca-key.pem", &CaFiles::signing_key},
      {"root-cert.pem", &CaFiles::root_cert},
      {"cert-chain.pem", &CaFiles::cert_chain},
      {"extra-roots.pem", &CaFiles::extra_roots}};
  for (const auto& [key, field] : keys) {
    const json::value* value =
        data != nullptr && data->is_object() ? data->as_object().if_contains(key) : nullptr;
    if (value == nullptr) {
      continue;
    }
    std::optional<std::string> decoded =
        value->is_string() ? text::decodeBase64(value->as_string().subview()) : std::nullopt;
    if (!decoded) {
      return tls::Error{"data." + std::string(key) + " is not base64 text"};
    }
    files.*field = std::move(*decoded);
  }
  // A Secret that exists must hold the signing pair: an empty one (made ahead by an installer)
  // cannot be filled with a generated root, since the create that stores a root never replaces
  // an existing Secret.
  if (files.signing_cert.empty() || files.signing_key.empty()) {
    return tls::Error{files.signing_cert.empty() == files.signing_key.empty()
                          ? "the Secret exists but holds no data.ca-cert.pem and data.ca-key.pem; "
                            "delete it to have a root generated, or add the CA's certificate "
                            "and key"
                      : files.signing_cert.empty() ? "data.ca-key.pem without data.ca-cert.pem"
                                                   : "data.ca-cert.pem without data.ca-key.pem"};
  }
  return files;
}

tls::Result<CaFiles> SecretCaStorage::load() {
  const kube::ApiResponse response =
      client_.call("GET", "/api/v1/namespaces/" + namespace_ + "/secrets/" + name_);
  if (response.status == 404) {
    return CaFiles{};  // first start of the first replica
  }
  if (response.status != 200) {
    return tls::Error{"cannot read the Secret: " + response.describe()};
  }
  return parseSecret(response.body);
}

std::string SecretCaStorage::secretForRoot(std::string_view cert_pem,
                                           std::string_view key_pem) const {
  json::object metadata;
  metadata["name"] = name_;
  metadata["namespace"] = namespace_;
  metadata["labels"] =
      json::object{{"app.kubernetes.io/part-of", "weft"}, {"app.kubernetes.io/component", "ca"}};
  json::object secret;
  secret["apiVersion"] = "v1";
  secret["kind"] = "Secret";
  secret["metadata"] = std::move(metadata);
  secret["type"] = "Opaque";
  secret["data"] = json::object{{"ca-cert.pem", text::encodeBase64(cert_pem)},
                                {"ca-key.pem", text::encodeBase64(key_pem)}};
  return json::serialize(secret);
}

std::string SecretCaStorage::storeGeneratedRoot(std::string_view cert_pem,
                                                std::string_view key_pem) {
  const kube::ApiResponse response = client_.call(
      "POST", "/api/v1/namespaces/" + namespace_ + "/secrets", secretForRoot(cert_pem, key_pem));
  if (response.status == 201 || response.status == 200) {
    return {};
  }
  if (response.status == 409) {
    // Another replica created it first; the read-back that follows takes its root.
    caLog().info("{} was created by another replica meanwhile; using its root", location());
    return {};
  }
  return "creating the Secret failed: " + response.describe();
}

}  // namespace weft::controlplane::ca
