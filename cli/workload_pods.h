#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::cli {

// Where the objects that run pods keep them: a Pod is its own pod; Deployments, StatefulSets,
// DaemonSets, ReplicaSets and Jobs keep a template in spec.template, CronJobs in
// spec.jobTemplate.spec.template. Matched by kind and API group (v1 Pod, apps/*, batch/*),
// so a custom resource that happens to be called Deployment is left alone.

// The path of the pod template (empty for a Pod), or nothing for an object that runs no pods.
std::optional<std::vector<std::string_view>> podTemplatePath(std::string_view api_version,
                                                             std::string_view kind);

// The pod the injector decides on: {"metadata": template.metadata, "spec": template.spec}
// (each only if present). Returns false with `error` naming the field when the template is
// missing or not a map.
bool extractPod(const boost::json::object& object, const std::vector<std::string_view>& path,
                boost::json::object& pod, std::string& error);

// Puts the (patched) pod's metadata and spec back where extractPod found them (nothing when
// the template is not there); a field the template did not have is appended after its own.
void storePod(boost::json::object& object, const std::vector<std::string_view>& path,
              boost::json::object pod);

}  // namespace weft::cli
