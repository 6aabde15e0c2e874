#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "injector/injection_settings.h"

namespace weft::injector {

// Pod annotations and labels the injector reads (and, for kInjectedAnnotation, writes).
inline constexpr std::string_view kInjectAnnotation = "weft.dev/inject";
inline constexpr std::string_view kSidecarModeAnnotation = "weft.dev/sidecar-mode";
inline constexpr std::string_view kExcludeInboundPortsAnnotation = "weft.dev/exclude-inbound-ports";
inline constexpr std::string_view kExcludeOutboundPortsAnnotation =
    "weft.dev/exclude-outbound-ports";
inline constexpr std::string_view kExcludeOutboundCidrsAnnotation =
    "weft.dev/exclude-outbound-cidrs";
inline constexpr std::string_view kRewriteAppProbesAnnotation = "weft.dev/rewrite-app-probes";
inline constexpr std::string_view kInjectedAnnotation = "weft.dev/injected";

// The containers the injector adds. The control plane recognises a meshed pod by
// kProxyContainerName (controlplane/source/kubernetes_objects.h).
inline constexpr std::string_view kProxyContainerName = "weft-proxy";
inline constexpr std::string_view kInitContainerName = "weft-init";

enum class InjectionOutcome {
  kInjected,  // `patch` adds the sidecar
  kSkipped,   // the pod stays as it is, for `reason`; not an error
  kRefused,   // the pod cannot be injected as asked (`reason`, `message`): deny its creation
};

struct InjectionResult {
  InjectionOutcome outcome = InjectionOutcome::kSkipped;
  // A short fixed word, the metric label: for kSkipped "namespace-excluded", "opted-out",
  // "host-network", "already-injected"; for kRefused "invalid-annotation", "invalid-pod",
  // "no-mesh-root".
  std::string reason;
  // One line for people: the log, the AdmissionReview's status message, weftctl's stderr.
  std::string message;
  // RFC 6902 operations against the pod as given (empty unless kInjected).
  boost::json::array patch;
  // kInjected: how the proxy joins the pod.
  SidecarMode mode = SidecarMode::kNative;
};

// Decides what to do with `pod` (a v1 Pod as JSON: metadata and spec), to be created in
// `namespace_name`, and builds the patch. Pure: no I/O, the same input gives the same patch,
// and running it again on the patched pod skips it ("already-injected"), so a second webhook
// pass (reinvocationPolicy IfNeeded) or a second `weftctl inject` changes nothing. Never
// throws: a pod of unexpected shape is refused with the field named.
InjectionResult injectSidecar(const boost::json::object& pod, std::string_view namespace_name,
                              const InjectionSettings& settings);

}  // namespace weft::injector
