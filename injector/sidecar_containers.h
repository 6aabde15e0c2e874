#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>

#include "injector/injection_settings.h"
#include "injector/pod_annotations.h"

namespace weft::injector {

// Volumes the injector adds; a pod that already has one of these names is refused.
inline constexpr std::string_view kTokenVolumeName = "weft-token";
inline constexpr std::string_view kDataVolumeName = "weft-data";

// The init step: `weft-proxy init` with the pod's exclusions. It runs as root with only
// NET_ADMIN and NET_RAW, which iptables needs, and exits before anything else starts.
boost::json::object captureInitContainer(const InjectionSettings& settings,
                                         const PodInjectionOptions& options);

// The proxy, for `options.mode`: as a native sidecar (restartPolicy Always, ready before the
// next container starts, via its startup probe) or as a classic first container whose
// postStart hook holds the app until the proxy is ready. `bootstrap` is its WEFT_BOOTSTRAP.
boost::json::object proxyContainer(const InjectionSettings& settings,
                                   const PodInjectionOptions& options,
                                   const std::string& bootstrap);

// The projected service-account token for the control plane (the mesh audience, rotated by
// the kubelet) and the proxy's scratch directory.
boost::json::array sidecarVolumes(const InjectionSettings& settings);

}  // namespace weft::injector
