// The injection corpus: every testdata/pods/<case>.json ({"namespace", "pod", optional
// "settings"}) is injected and compared with testdata/golden/<case>.json (outcome, reason,
// message, patch). WEFT_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing; review
// the diff. Every injected case is also checked for what must hold of any injection: the patch
// applies, a second pass changes nothing, names stay unique, mounts name volumes.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "injector/app_probe_rewrite.h"
#include "injector/json_patch.h"
#include "injector/pod_injector.h"

namespace weft::injector {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const fs::path kTestData = "tests/unit/injector/testdata";

// A fixed root: the patch embeds it, so the golden files must not depend on a generated one.
constexpr const char* kMeshRoot =
    "-----BEGIN CERTIFICATE-----\nMIIBfixedTestRootForTheGoldenFiles\n-----END CERTIFICATE-----\n";

std::string readFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

const char* outcomeName(InjectionOutcome outcome) {
  switch (outcome) {
    case InjectionOutcome::kInjected:
      return "injected";
    case InjectionOutcome::kSkipped:
      return "skipped";
    case InjectionOutcome::kRefused:
      return "refused";
  }
  return "?";
}

InjectionSettings settingsOf(const json::object& test_case) {
  InjectionSettings settings;
  settings.mesh_root_pem = kMeshRoot;
  if (const json::value* overrides = test_case.if_contains("settings")) {
    for (const auto& [key, value] : overrides->as_object()) {
      if (key == "meshRoot") {
        settings.mesh_root_pem = value.as_string();
        continue;
      }
      std::string error;
      EXPECT_TRUE(applySetting(std::string(key), std::string(value.as_string()), settings, error))
          << error;
    }
  }
  return settings;
}

// A readable, stable rendering of a JSON value, for golden files and diffs.
void pretty(std::ostream& out, const json::value& value, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  if (const json::object* object = value.if_object(); object != nullptr && !object->empty()) {
    out << "{\n";
    size_t i = 0;
    for (const auto& [key, member] : *object) {
      out << pad << "  " << json::serialize(json::string(key)) << ": ";
      pretty(out, member, indent + 1);
      out << (++i < object->size() ? ",\n" : "\n");
    }
    out << pad << "}";
  } else if (const json::array* array = value.if_array(); array != nullptr && !array->empty()) {
    out << "[\n";
    for (size_t i = 0; i < array->size(); ++i) {
      out << pad << "  ";
      pretty(out, (*array)[i], indent + 1);
      out << (i + 1 < array->size() ? ",\n" : "\n");
    }
    out << pad << "]";
  } else {
    out << json::serialize(value);
  }
}

std::string prettyText(const json::value& value) {
  std::ostringstream out;
  pretty(out, value, 0);
  out << "\n";
  return out.str();
}

std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kTestData / "pods")) {
    if (entry.path().extension() == ".json") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

void expectUniqueNames(const json::object& spec) {
  std::set<std::string> containers;
  for (const char* list : {"initContainers", "containers"}) {
    if (const json::value* entries = spec.if_contains(list)) {
      for (const json::value& container : entries->as_array()) {
        EXPECT_TRUE(containers.insert(std::string(container.at("name").as_string())).second)
            << "duplicate container " << container.at("name");
      }
    }
  }
  std::set<std::string> volumes;
  if (const json::value* entries = spec.if_contains("volumes")) {
    for (const json::value& volume : entries->as_array()) {
      EXPECT_TRUE(volumes.insert(std::string(volume.at("name").as_string())).second)
          << "duplicate volume " << volume.at("name");
    }
  }
  for (const char* list : {"initContainers", "containers"}) {
    if (const json::value* entries = spec.if_contains(list)) {
      for (const json::value& container : entries->as_array()) {
        if (const json::value* mounts = container.as_object().if_contains("volumeMounts")) {
          for (const json::value& mount : mounts->as_array()) {
            EXPECT_TRUE(volumes.count(std::string(mount.at("name").as_string())))
                << container.at("name") << " mounts a volume the pod lacks: " << mount;
          }
        }
      }
    }
  }
}

class InjectionCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(InjectionCorpus, MatchesGoldenAndHoldsInvariants) {
  const std::string name = GetParam();
  const json::object test_case =
      json::parse(readFile(kTestData / "pods" / (name + ".json"))).as_object();
  const InjectionSettings settings = settingsOf(test_case);
  const json::object& pod = test_case.at("pod").as_object();
  const std::string namespace_name(test_case.at("namespace").as_string());

  const InjectionResult result = injectSidecar(pod, namespace_name, settings);
  json::object actual{{"outcome", outcomeName(result.outcome)},
                      {"reason", result.reason},
                      {"message", result.message},
                      {"patch", result.patch}};
  const std::string actual_text = prettyText(actual);
  const fs::path golden = kTestData / "golden" / (name + ".json");
  if (std::getenv("WEFT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden, std::ios::binary) << actual_text;
  } else {
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with WEFT_UPDATE_GOLDEN=1";
    EXPECT_EQ(readFile(golden), actual_text)
        << "the injection of " << name
        << " changed; if intended, run with WEFT_UPDATE_GOLDEN=1 and review the diff";
  }

  // Pure: the same input gives the same patch.
  EXPECT_EQ(json::serialize(injectSidecar(pod, namespace_name, settings).patch),
            json::serialize(result.patch));
  if (result.outcome != InjectionOutcome::kInjected) {
    EXPECT_TRUE(result.patch.empty());
    EXPECT_FALSE(result.message.empty());
    return;
  }
  json::value patched = pod;
  std::string error;
  ASSERT_TRUE(applyJsonPatch(patched, result.patch, error)) << error;
  // Idempotent: the injected pod is recognised, whatever reinvokes the webhook.
  const InjectionResult again = injectSidecar(patched.as_object(), namespace_name, settings);
  EXPECT_EQ(again.outcome, InjectionOutcome::kSkipped);
  EXPECT_EQ(again.reason, "already-injected");
  EXPECT_TRUE(again.patch.empty());
  expectUniqueNames(patched.at("spec").as_object());
  // The pod's own containers keep their order, and init runs before anything else.
  const json::array& init = patched.at("spec").at("initContainers").as_array();
  EXPECT_EQ(init.at(0).at("name"), "weft-init");
  if (result.mode == SidecarMode::kNative) {
    EXPECT_EQ(init.at(1).at("name"), "weft-proxy");
    EXPECT_EQ(init.at(1).at("restartPolicy"), "Always");
    EXPECT_EQ(patched.at("spec").at("containers").as_array().size(),
              pod.at("spec").at("containers").as_array().size());
  } else {
    EXPECT_EQ(patched.at("spec").at("containers").at(0).at("name"), "weft-proxy");
  }
  EXPECT_EQ(patched.at("metadata").at("annotations").at("weft.dev/injected"),
            sidecarModeName(result.mode));
}

INSTANTIATE_TEST_SUITE_P(Pods, InjectionCorpus, ::testing::ValuesIn(caseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(InjectionOutcomes, CorpusCoversEveryReason) {
  // A reason without a case would be an untested path.
  std::set<std::string> seen;
  for (const std::string& name : caseNames()) {
    const json::object test_case =
        json::parse(readFile(kTestData / "pods" / (name + ".json"))).as_object();
    seen.insert(injectSidecar(test_case.at("pod").as_object(),
                              std::string(test_case.at("namespace").as_string()),
                              settingsOf(test_case))
                    .reason);
  }
  for (const char* reason : {"injected", "namespace-excluded", "opted-out", "host-network",
                             "invalid-annotation", "invalid-pod", "no-mesh-root"}) {
    EXPECT_TRUE(seen.count(reason)) << reason;
  }
}

TEST(InjectionOutcomes, OwnNamespaceFromSettingsIsExcluded) {
  InjectionSettings settings;
  settings.mesh_root_pem = kMeshRoot;
  settings.excluded_namespaces.push_back("mesh");
  const json::object pod =
      json::parse(R"({"metadata":{"name":"a"},"spec":{"containers":[{"name":"a","image":"a"}]}})")
          .as_object();
  EXPECT_EQ(injectSidecar(pod, "mesh", settings).reason, "namespace-excluded");
  EXPECT_EQ(injectSidecar(pod, "shop", settings).reason, "injected");
}

TEST(ProbeRewrite, StaysWithinTheProxysBounds) {
  // 22 containers with three probes each (66): the proxy takes 64 app probes, and c21's
  // readiness and startup probes stay with the kubelet. A ten-minute probe timeout becomes the
  // proxy's five-minute maximum.
  json::array containers;
  for (int i = 0; i < 22; ++i) {
    json::object probe{{"tcpSocket", {{"port", 8000 + i}}}, {"timeoutSeconds", 600}};
    containers.push_back({{"name", "c" + std::to_string(i)},
                          {"image", "app"},
                          {"livenessProbe", probe},
                          {"readinessProbe", probe},
                          {"startupProbe", probe}});
  }
  const ProbeRewrite rewrite = rewriteAppProbes(containers, 15020);
  ASSERT_EQ(rewrite.app_probes.size(), 64u);
  EXPECT_EQ(rewrite.replacements.size(), 64u);
  EXPECT_EQ(rewrite.app_probes.back().key, "c21/livez");
  EXPECT_EQ(rewrite.app_probes.front().check.at("timeout"), "300s");
}

}  // namespace
}  // namespace weft::injector
