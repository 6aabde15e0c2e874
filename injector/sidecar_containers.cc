#include "injector/sidecar_containers.h"

#include "injector/pod_injector.h"
#include "injector/sidecar_bootstrap.h"

namespace weft::injector {

namespace json = boost::json;

namespace {

constexpr const char* kProxyBinary = "/usr/local/bin/weft-proxy";

json::object fieldEnv(std::string_view name, std::string_view field_path) {
  return {{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", field_path}}}}}};
}

json::object readyProbe(int64_t period_seconds, int64_t failure_threshold) {
  return {{"httpGet", {{"path", "/healthz/ready"}, {"port", kProxyStatusPort}}},
          {"periodSeconds", period_seconds},
          {"timeoutSeconds", 1},
          {"failureThreshold", failure_threshold}};
}

json::object resources(const InjectionSettings& settings) {
  json::object requests;
  json::object limits;
  if (!settings.proxy_cpu_request.empty()) {
    requests["cpu"] = settings.proxy_cpu_request;
  }
  if (!settings.proxy_memory_request.empty()) {
    requests["memory"] = settings.proxy_memory_request;
  }
  if (!settings.proxy_cpu_limit.empty()) {
    limits["cpu"] = settings.proxy_cpu_limit;
  }
  if (!settings.proxy_memory_limit.empty()) {
    limits["memory"] = settings.proxy_memory_limit;
  }
  json::object out;
  if (!requests.empty()) {
    out["requests"] = std::move(requests);
  }
  if (!limits.empty()) {
    out["limits"] = std::move(limits);
  }
  return out;
}

}  // namespace

json::object captureInitContainer(const InjectionSettings& settings,
                                  const PodInjectionOptions& options) {
  const std::string uid = std::to_string(settings.proxy_uid);
  json::array args{"init", "--proxy-uid", uid, "--proxy-gid", uid};
  const std::pair<const char*, const std::string*> exclusions[] = {
      {"--exclude-inbound-ports", &options.exclude_inbound_ports},
      {"--exclude-outbound-ports", &options.exclude_outbound_ports},
      {"--exclude-outbound-cidrs", &options.exclude_outbound_cidrs},
  };
  for (const auto& [flag, value] : exclusions) {
    if (!value->empty()) {
      args.emplace_back(flag);
      args.emplace_back(*value);
    }
  }
  return {
      {"name", kInitContainerName},
      {"image", settings.proxy_image},
      {"imagePullPolicy", settings.image_pull_policy},
      {"command", json::array{kProxyBinary}},
      {"args", std::move(args)},
      {"resources",
       {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}},
        {"limits", {{"cpu", "100m"}, {"memory", "64Mi"}}}}},
      // Root, for iptables, but no other capability, no privilege escalation. The root
      // filesystem stays writable: iptables takes its lock in /run/xtables.lock.
      {"securityContext",
       {{"runAsUser", 0},
        {"runAsGroup", 0},
        {"runAsNonRoot", false},
        {"privileged", false},
        {"allowPrivilegeEscalation", false},
        {"capabilities",
         {{"add", json::array{"NET_ADMIN", "NET_RAW"}}, {"drop", json::array{"ALL"}}}}}},
  };
}

json::object proxyContainer(const InjectionSettings& settings, const PodInjectionOptions& options,
                            const std::string& bootstrap) {
  json::object container{
      {"name", kProxyContainerName},
      {"image", settings.proxy_image},
      {"imagePullPolicy", settings.image_pull_policy},
      {"command", json::array{kProxyBinary}},
      {"args", json::array{"--config-env", "WEFT_BOOTSTRAP", "--log-format", "json", "--log-level",
                           settings.proxy_log_level}},
      // Defined before WEFT_BOOTSTRAP, whose $(...) references the kubelet expands from them.
      {"env", json::array{fieldEnv("POD_NAME", "metadata.name"),
                          fieldEnv("POD_NAMESPACE", "metadata.namespace"),
                          fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
                          fieldEnv("POD_IPS", "status.podIPs"),
                          json::object{{"name", "WEFT_BOOTSTRAP"}, {"value", bootstrap}}}},
      {"ports",
       json::array{json::object{
           {"name", "weft-status"}, {"containerPort", kProxyStatusPort}, {"protocol", "TCP"}}}},
      // Started means ready: up to ten minutes for the first configuration and certificate.
      {"startupProbe", readyProbe(1, 600)},
      {"readinessProbe", readyProbe(5, 3)},
      {"resources", resources(settings)},
      {"securityContext",
       {{"runAsUser", settings.proxy_uid},
        {"runAsGroup", settings.proxy_uid},
        {"runAsNonRoot", true},
        {"privileged", false},
        {"allowPrivilegeEscalation", false},
        {"readOnlyRootFilesystem", true},
        {"capabilities", {{"drop", json::array{"ALL"}}}}}},
      {"volumeMounts",
       json::array{
           json::object{
               {"name", kTokenVolumeName}, {"mountPath", kProxyTokenDirectory}, {"readOnly", true}},
           json::object{{"name", kDataVolumeName}, {"mountPath", kProxyDataDirectory}}}},
  };
  if (options.mode == SidecarMode::kNative) {
    container["restartPolicy"] = "Always";
  } else {
    // The kubelet starts a pod's containers in order and runs each postStart hook before the
    // next container: the app starts once this returns, with the proxy ready.
    container["lifecycle"] = {
        {"postStart",
         {{"exec", {{"command", json::array{kProxyBinary, "wait", "--timeout", "600s"}}}}}}};
  }
  return container;
}

json::array sidecarVolumes(const InjectionSettings& settings) {
  return {
      json::object{{"name", kTokenVolumeName},
                   {"projected",
                    {{"sources", json::array{json::object{{"serviceAccountToken",
                                                           {{"audience", settings.token_audience},
                                                            {"expirationSeconds", 43200},
                                                            {"path", "token"}}}}}}}}},
      json::object{{"name", kDataVolumeName},
                   {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "16Mi"}}}},
  };
}

}  // namespace weft::injector
