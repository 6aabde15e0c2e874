#pragma once

#include <string>
#include <vector>

#include "injector/app_probe_rewrite.h"
#include "injector/injection_settings.h"

namespace weft::injector {

// The ports and paths the injected proxy uses; the capture rules of `weft-proxy init` never
// redirect the first two.
inline constexpr uint16_t kProxyAdminPort = 15000;
inline constexpr uint16_t kProxyStatusPort = 15020;
inline constexpr const char* kProxyTokenDirectory = "/var/run/secrets/weft";
inline constexpr const char* kProxyDataDirectory = "/var/run/weft";

// The proxy's bootstrap, the value of its WEFT_BOOTSTRAP variable (`weft-proxy --config-env
// WEFT_BOOTSTRAP`). The pod's name, namespace, service account and IPs are not known at
// admission (a ReplicaSet's pods get their names later), so the text refers to them as
// $(POD_NAME), $(POD_NAMESPACE), $(SERVICE_ACCOUNT) and $(POD_IPS), which the kubelet expands
// from the container's earlier variables when it starts the container. Every value from the
// pod or the settings is written as a JSON string, so no value can change the document's
// structure.
std::string sidecarBootstrap(const InjectionSettings& settings,
                             const std::vector<AppProbe>& app_probes);

}  // namespace weft::injector
