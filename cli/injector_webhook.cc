#include "cli/injector_webhook.h"

#include "cli/yaml_output.h"
#include "common/text/base64.h"

namespace weft::cli {
namespace {

YAML::Node labels() {
  YAML::Node node;
  node["app.kubernetes.io/part-of"] = textNode("weft");
  node["app.kubernetes.io/component"] = textNode("sidecar-injector");
  return node;
}

YAML::Node textList(std::initializer_list<std::string_view> values) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (std::string_view value : values) {
    list.push_back(textNode(std::string(value)));
  }
  return list;
}

}  // namespace

YAML::Node injectorTlsSecret(const InjectorTls& tls) {
  YAML::Node secret;
  secret["apiVersion"] = "v1";
  secret["kind"] = "Secret";
  secret["metadata"]["name"] = std::string(kInjectorSecret);
  secret["metadata"]["namespace"] = std::string(kInjectorNamespace);
  secret["metadata"]["labels"] = labels();
  secret["type"] = "kubernetes.io/tls";
  secret["data"]["tls.crt"] = textNode(text::encodeBase64(tls.cert_pem));
  secret["data"]["tls.key"] = textNode(text::encodeBase64(tls.key_pem));
  secret["data"]["ca.crt"] = textNode(text::encodeBase64(tls.ca_pem));
  return secret;
}

YAML::Node injectorWebhookConfiguration(const std::string& ca_pem) {
  YAML::Node webhook;
  webhook["name"] = std::string(kWebhookName);
  YAML::Node service;
  service["namespace"] = std::string(kInjectorNamespace);
  service["name"] = std::string(kInjectorService);
  service["path"] = std::string(kWebhookPath);
  service["port"] = kWebhookServicePort;
  webhook["clientConfig"]["service"] = service;
  webhook["clientConfig"]["caBundle"] = textNode(text::encodeBase64(ca_pem));
  YAML::Node rule;
  rule["operations"] = textList({"CREATE"});
  rule["apiGroups"] = textList({""});
  rule["apiVersions"] = textList({"v1"});
  rule["resources"] = textList({"pods"});
  webhook["rules"].push_back(rule);
  // The namespaces a user opts in, never the cluster's own nor Weft's: the injector's own pods
  // must not wait for the injector, and a broken webhook must not stop kube-system.
  webhook["namespaceSelector"]["matchLabels"]["weft.dev/inject"] = textNode("enabled");
  YAML::Node excluded;
  excluded["key"] = "kubernetes.io/metadata.name";
  excluded["operator"] = "NotIn";
  excluded["values"] = textList({"kube-system", "kube-public", "kube-node-lease", "weft-system"});
  webhook["namespaceSelector"]["matchExpressions"].push_back(excluded);
  webhook["admissionReviewVersions"] = textList({"v1"});
  webhook["sideEffects"] = textNode("None");
  webhook["failurePolicy"] = textNode("Fail");
  webhook["timeoutSeconds"] = 10;
  // Called again when a later webhook changed the pod, so the injection accounts for what the
  // pod finally holds (containers another webhook added).
  webhook["reinvocationPolicy"] = textNode("IfNeeded");
  webhook["matchPolicy"] = textNode("Equivalent");

  YAML::Node configuration;
  configuration["apiVersion"] = "admissionregistration.k8s.io/v1";
  configuration["kind"] = "MutatingWebhookConfiguration";
  configuration["metadata"]["name"] = std::string(kWebhookConfiguration);
  configuration["metadata"]["labels"] = labels();
  configuration["webhooks"].push_back(webhook);
  return configuration;
}

}  // namespace weft::cli
