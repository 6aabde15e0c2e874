#include "cli/workload_pods.h"

#include <array>

namespace weft::cli {
namespace {

namespace json = boost::json;

std::string dotted(const std::vector<std::string_view>& path, size_t count) {
  std::string text;
  for (size_t i = 0; i < count; ++i) {
    text += (i == 0 ? "" : ".") + std::string(path[i]);
  }
  return text;
}

}  // namespace

std::optional<std::vector<std::string_view>> podTemplatePath(std::string_view api_version,
                                                             std::string_view kind) {
  const std::string_view group = api_version.substr(0, api_version.find('/'));
  const bool grouped = api_version.find('/') != std::string_view::npos;
  if (!grouped && api_version == "v1" && kind == "Pod") {
    return std::vector<std::string_view>{};
  }
  static constexpr std::array<std::string_view, 4> kApps = {"Deployment", "StatefulSet",
                                                            "DaemonSet", "ReplicaSet"};
  if (grouped && group == "apps") {
    for (std::string_view name : kApps) {
      if (kind == name) {
        return std::vector<std::string_view>{"spec", "template"};
      }
    }
  }
  if (grouped && group == "batch") {
    if (kind == "Job") {
      return std::vector<std::string_view>{"spec", "template"};
    }
    if (kind == "CronJob") {
      return std::vector<std::string_view>{"spec", "jobTemplate", "spec", "template"};
    }
  }
  return std::nullopt;
}

bool extractPod(const json::object& object, const std::vector<std::string_view>& path,
                json::object& pod, std::string& error) {
  const json::object* template_object = &object;
  for (size_t i = 0; i < path.size(); ++i) {
    const json::value* next = template_object->if_contains(path[i]);
    if (next == nullptr || next->is_null()) {
      error = dotted(path, i + 1) + " is missing";
      return false;
    }
    template_object = next->if_object();
    if (template_object == nullptr) {
      error = dotted(path, i + 1) + " is not a map";
      return false;
    }
  }
  pod = {};
  for (std::string_view field : {"metadata", "spec"}) {
    if (const json::value* value = template_object->if_contains(field)) {
      pod[field] = *value;
    }
  }
  return true;
}

void storePod(json::object& object, const std::vector<std::string_view>& path, json::object pod) {
  json::object* template_object = &object;
  for (std::string_view step : path) {
    json::value* next = template_object->if_contains(step);
    template_object = next != nullptr ? next->if_object() : nullptr;
    if (template_object == nullptr) {
      return;  // not where extractPod found a template
    }
  }
  for (std::string_view field : {"metadata", "spec"}) {
    if (json::value* value = pod.if_contains(field)) {
      (*template_object)[field] = std::move(*value);
    }
  }
}

}  // namespace weft::cli
