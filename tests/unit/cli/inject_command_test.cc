// weftctl inject: the fixture stream injected with the real injector parses back to the input
// plus exactly the patch injectSidecar returns, everything else byte for byte; a second run
// changes nothing; which objects are injected, in which namespace, and how skips, refusals,
// bad input and a missing mesh root are reported; the settings and the mesh root's sources.
#include "cli/inject_command.h"

#include <gtest/gtest.h>
#include <openssl/objects.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/workload_pods.h"
#include "cli/yaml_stream.h"
#include "cli/yaml_to_json.h"
#include "common/tls/certificate_builder.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"
#include "injector/json_patch.h"

namespace weft::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kFixture = "tests/unit/cli/testdata/inject_workloads.yaml";

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << path;
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// A self-signed CA certificate, PEM: a mesh root as far as weftctl can tell.
std::string rootPem() {
  using std::chrono::seconds;
  using std::chrono::sys_seconds;
  auto key = tls::generateEcdsaP256Key();
  EXPECT_TRUE(key.ok());
  auto cert = tls::CertificateBuilder()
                  .setSubjectKey(**key)
                  .setSubjectName("weft test root", "Weft tests")
                  .setValidity(sys_seconds(seconds(1700000000)), sys_seconds(seconds(1900000000)))
                  .addExtension(NID_basic_constraints, "critical,CA:TRUE")
                  .sign(**key);
  EXPECT_TRUE(cert.ok());
  auto pem = tls::writeCertificatePem(**cert);
  EXPECT_TRUE(pem.ok());
  return *pem;
}

injector::InjectionSettings testSettings() {
  injector::InjectionSettings settings;
  settings.mesh_root_pem = rootPem();
  return settings;
}

PodInjector realInjector(const injector::InjectionSettings& settings) {
  return [&settings](const json::object& pod, std::string_view namespace_name) {
    return injector::injectSidecar(pod, namespace_name, settings);
  };
}

struct Document {
  std::string text;
  json::value object;  // null when not convertible or empty
};

std::vector<Document> documents(const std::string& text) {
  const YamlStream stream = readYamlStream(text);
  EXPECT_TRUE(stream.ok) << stream.error.message;
  std::vector<Document> out;
  for (const YamlPiece& piece : stream.pieces) {
    if (!piece.is_document) {
      continue;
    }
    Document document{text.substr(piece.begin, piece.end - piece.begin), nullptr};
    std::string error;
    if (!yamlToJson(piece.root, document.object, error)) {
      document.object = nullptr;
    }
    out.push_back(std::move(document));
  }
  return out;
}

// `object` with its pod (template) replaced by the injector's patch applied to it.
json::value expectedInjection(const json::value& object,
                              const injector::InjectionSettings& settings) {
  json::value expected = object;
  const auto path =
      podTemplatePath(object.at("apiVersion").as_string(), object.at("kind").as_string());
  EXPECT_TRUE(path.has_value());
  json::object pod;
  std::string error;
  EXPECT_TRUE(extractPod(expected.as_object(), *path, pod, error)) << error;
  const std::string namespace_name(object.at("metadata").at("namespace").as_string());
  const injector::InjectionResult result = injector::injectSidecar(pod, namespace_name, settings);
  EXPECT_EQ(result.outcome, injector::InjectionOutcome::kInjected) << result.message;
  json::value patched = pod;
  EXPECT_TRUE(injector::applyJsonPatch(patched, result.patch, error)) << error;
  storePod(expected.as_object(), *path, std::move(patched.as_object()));
  return expected;
}

class InjectFixtureTest : public ::testing::TestWithParam<injector::SidecarMode> {};

TEST_P(InjectFixtureTest, TheFixtureParsesBackToTheInputPlusExactlyThePatch) {
  const std::string input = readFile(kFixture);
  injector::InjectionSettings settings = testSettings();
  settings.mode = GetParam();
  const std::string injected_note =
      std::string("injected a ") + injector::sidecarModeName(settings.mode) + " sidecar";
  const InjectedStream result =
      injectYamlStream(input, "workloads.yaml", "default", realInjector(settings));
  ASSERT_FALSE(result.syntax_error);
  EXPECT_FALSE(result.refused);
  EXPECT_EQ(result.injected, 2u);

  const std::vector<Document> before = documents(input);
  const std::vector<Document> after = documents(result.output);
  ASSERT_EQ(before.size(), 6u);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    const std::string kind(before[i].object.at("kind").as_string());
    if (kind == "Deployment" || kind == "CronJob") {
      EXPECT_EQ(after[i].object, expectedInjection(before[i].object, settings))
          << "document " << i + 1 << ":\n"
          << after[i].text;
    } else {
      EXPECT_EQ(after[i].text, before[i].text) << "document " << i + 1;
    }
  }
  // The text between documents and after the last one is the input's.
  EXPECT_TRUE(result.output.starts_with(
      "# The shop's manifests: the web front end, its Service and settings, and a nightly "
      "report.\n# weftctl inject -f inject_workloads.yaml | kubectl apply -f -\n---\n"));
  EXPECT_TRUE(result.output.ends_with("...\n# The end of the stream.\n"));
  // Comments and spellings of the injected documents stay.
  for (const char* kept :
       {"    tier: \"1\"   # a string, not a number\n", "      # The application itself.\n",
        "              containerPort: 8080   # what the Service targets\n",
        "              value: \"08\"\n", "              value: 'true'\n",
        "              cpu: 0.5\n", "      backoffLimit: 0x3\n",
        "          args: [\"--listen\", \"0.0.0.0:8080\", '--verbose=yes']\n",
        "    matchLabels: {app: web}\n", "\n# The Service in front of it.\n---\n",
        "              # part of the script, not a YAML comment\n",
        "          # Rewritten to go through the proxy: it still answers under STRICT mTLS.\n"
        "          readinessProbe:\n"}) {
    EXPECT_NE(result.output.find(kept), std::string::npos) << kept << " in:\n" << result.output;
  }

  json::object skipped_pod = before[4].object.as_object();
  json::object kube_system_pod;
  std::string error;
  ASSERT_TRUE(extractPod(skipped_pod, {}, kube_system_pod, error));
  const std::string kube_system_message =
      injector::injectSidecar(kube_system_pod, "kube-system", settings).message;
  ASSERT_EQ(result.notes.size(), 4u);
  EXPECT_EQ(result.notes[0], "workloads.yaml: document 1 (Deployment web): " + injected_note);
  EXPECT_EQ(result.notes[1], "workloads.yaml: document 4 (CronJob report): " + injected_note);
  EXPECT_EQ(result.notes[2],
            "workloads.yaml: document 5 (Pod node-debugger): skipped: " + kube_system_message);
  EXPECT_TRUE(
      result.notes[3].starts_with("workloads.yaml: document 6 (DaemonSet log-shipper): skipped: "))
      << result.notes[3];
}

INSTANTIATE_TEST_SUITE_P(Modes, InjectFixtureTest,
                         ::testing::Values(injector::SidecarMode::kNative,
                                           injector::SidecarMode::kClassic),
                         [](const ::testing::TestParamInfo<injector::SidecarMode>& mode) {
                           return std::string(injector::sidecarModeName(mode.param));
                         });

TEST(InjectCommandTest, InjectingTwiceGivesTheSameBytesAsOnce) {
  const std::string input = readFile(kFixture);
  const injector::InjectionSettings settings = testSettings();
  const InjectedStream once = injectYamlStream(input, "a", "default", realInjector(settings));
  const InjectedStream twice =
      injectYamlStream(once.output, "a", "default", realInjector(settings));
  EXPECT_EQ(twice.output, once.output);
  EXPECT_EQ(twice.injected, 0u);
  EXPECT_FALSE(twice.refused);
  for (const std::string& note : twice.notes) {
    EXPECT_NE(note.find("skipped"), std::string::npos) << note;
  }
}

// A fake that adds the annotation fake: "yes" to every pod it is given (or applies `patch`),
// and records the namespaces.
struct FakeInjector {
  std::vector<std::string> namespaces;
  injector::InjectionOutcome outcome = injector::InjectionOutcome::kInjected;
  std::string message = "injected by the fake";
  std::optional<json::array> patch;

  PodInjector function() {
    return [this](const json::object& pod, std::string_view namespace_name) {
      namespaces.emplace_back(namespace_name);
      injector::InjectionResult result;
      result.outcome = outcome;
      result.message = message;
      if (patch) {
        result.patch = *patch;
      } else if (pod.contains("metadata")) {
        result.patch =
            json::parse(R"([{"op":"add","path":"/metadata/annotations","value":{"fake":"yes"}}])")
                .as_array();
      } else {
        result.patch =
            json::parse(
                R"([{"op":"add","path":"/metadata","value":{"annotations":{"fake":"yes"}}}])")
                .as_array();
      }
      return result;
    };
  }
};

TEST(InjectCommandTest, ObjectsThatRunNoPodsAreCopiedAsTheyAre) {
  const std::string input =
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n"
      "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: custom}\nspec: {}\n---\n"
      "kind: Pod\nmetadata: {name: no-api-version}\n---\n"
      "apiVersion: v2\nkind: Pod\n---\n"
      "- a list\n---\nplain text\n---\n"
      "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n";
  FakeInjector fake;
  const InjectedStream result = injectYamlStream(input, "f", "default", fake.function());
  EXPECT_EQ(result.output, input);
  EXPECT_TRUE(fake.namespaces.empty());
  EXPECT_TRUE(result.notes.empty());
}

TEST(InjectCommandTest, EveryKindThatRunsPodsIsInjectedWhereItKeepsItsPod) {
  const std::string input =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n---\n"
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {}}}\n"
      "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec: {template: {}}\n"
      "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\nspec: {template: {}}\n"
      "---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec: {template: {}}\n"
      "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {}}\n---\n"
      "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\n"
      "spec: {jobTemplate: {spec: {template: {}}}}\n";
  FakeInjector fake;
  const InjectedStream result = injectYamlStream(input, "f", "default", fake.function());
  EXPECT_EQ(result.injected, 7u);
  const std::vector<Document> out = documents(result.output);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].object.at("metadata").at("annotations").at("fake"), "yes");
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(out[i].object.at("spec").at("template").at("metadata"),
              json::parse(R"({"annotations":{"fake":"yes"}})"))
        << out[i].text;
  }
  EXPECT_EQ(out[6].object.at("spec").at("jobTemplate").at("spec").at("template").at("metadata"),
            json::parse(R"({"annotations":{"fake":"yes"}})"));
  // The objects' own metadata is not the pod's.
  EXPECT_EQ(out[1].object.at("metadata"), json::parse(R"({"name":"d"})"));
  EXPECT_EQ(result.notes[1], "f: document 2 (Deployment d): injected by the fake");
}

TEST(InjectCommandTest, TheNamespaceIsTheObjectsElseTheDefault) {
  const std::string input =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec: {}\n---\n"
      "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {}\n";
  FakeInjector fake;
  injectYamlStream(input, "f", "team", fake.function());
  EXPECT_EQ(fake.namespaces, (std::vector<std::string>{"shop", "team"}));
}

TEST(InjectCommandTest, SkipsAreNotedAndRefusalsFailButTheStreamIsStillWritten) {
  const std::string input =
      "# keep me\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  generateName: web-\n"
      "spec:\n  template:\n    spec: {}\n";
  FakeInjector fake;
  fake.outcome = injector::InjectionOutcome::kSkipped;
  fake.message = "the pod sets weft.dev/inject: false";
  InjectedStream result = injectYamlStream(input, "deploy.yaml", "default", fake.function());
  EXPECT_EQ(result.output, input);
  EXPECT_FALSE(result.refused);
  EXPECT_EQ(result.notes, std::vector<std::string>{
                              "deploy.yaml: document 1 (Deployment web-*): skipped: the pod sets "
                              "weft.dev/inject: false"});

  fake.outcome = injector::InjectionOutcome::kRefused;
  fake.message = "annotation weft.dev/sidecar-mode: 'x' is not native or classic";
  result = injectYamlStream(input, "deploy.yaml", "default", fake.function());
  EXPECT_EQ(result.output, input);
  EXPECT_TRUE(result.refused);
  EXPECT_EQ(result.notes,
            std::vector<std::string>{"deploy.yaml: document 1 (Deployment web-*): skipped: "
                                     "annotation weft.dev/sidecar-mode: 'x' is not native or "
                                     "classic"});
}

TEST(InjectCommandTest, WorkloadsOfTheWrongShapeAreRefusedNamingTheField) {
  const std::string input =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: 1}\n---\n"
      "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: b}\n"
      "spec: {jobTemplate: {spec: {template: [1]}}}\n---\n"
      "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec:\n  containers:\n  - x: .inf\n---\n"
      "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec: {}\n";
  FakeInjector fake;
  fake.patch = json::parse(R"([{"op":"remove","path":"/spec/nothing"}])").as_array();
  const InjectedStream result = injectYamlStream(input, "f", "default", fake.function());
  EXPECT_EQ(result.output, input);
  EXPECT_TRUE(result.refused);
  ASSERT_EQ(result.notes.size(), 4u);
  EXPECT_EQ(result.notes[0], "f: document 1 (Deployment a): skipped: spec.template is missing");
  EXPECT_EQ(result.notes[1],
            "f: document 2 (CronJob b): skipped: spec.jobTemplate.spec.template is not a map");
  EXPECT_EQ(result.notes[2],
            "f: document 3 (Pod c): skipped: spec.containers[0].x: .inf is not a number JSON "
            "can hold (infinity or NaN)");
  EXPECT_TRUE(result.notes[3].starts_with(
      "f: document 4 (Pod d): skipped: the injector's patch does not apply: "))
      << result.notes[3];
}

TEST(InjectCommandTest, TheItemsOfAListAreInjectedOneByOne) {
  const std::string input =
      R"({"apiVersion": "v1", "kind": "List", "items": [)"
      R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},)"
      R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}]})"
      "\n";
  FakeInjector fake;
  const InjectedStream result = injectYamlStream(input, "list.json", "default", fake.function());
  EXPECT_EQ(result.notes,
            std::vector<std::string>{"list.json: document 1 item 2 (Pod p): injected by the fake"});
  const std::vector<Document> out = documents(result.output);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].object,
            json::parse(R"({"apiVersion":"v1","kind":"List","items":[)"
                        R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}},)"
                        R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p",)"
                        R"("annotations":{"fake":"yes"}},"spec":{}}]})"));
}

TEST(InjectCommandTest, ASyntaxErrorWritesNothingAndSaysWhere) {
  FakeInjector fake;
  const InjectedStream result =
      injectYamlStream("a: 1\n---\nb: [1, 2\nc: 3\n", "bad.yaml", "default", fake.function());
  EXPECT_TRUE(result.syntax_error);
  EXPECT_TRUE(result.output.empty());
  ASSERT_EQ(result.notes.size(), 1u);
  EXPECT_TRUE(result.notes[0].starts_with("bad.yaml: line 4, column 2: ")) << result.notes[0];
}

TEST(InjectCommandTest, AByteOrderMarkIsKept) {
  FakeInjector fake;
  const InjectedStream result = injectYamlStream(
      "\xEF\xBB\xBF"
      "apiVersion: v1\nkind: Pod\nspec: {}\n",
      "f", "default", fake.function());
  EXPECT_EQ(result.output,
            "\xEF\xBB\xBF"
            "apiVersion: v1\nkind: Pod\nspec: {}\nmetadata:\n  annotations:\n"
            "    fake: \"yes\"\n");
}

// --- settings and the mesh root ---------------------------------------------------------------

class InjectSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("weftctl-inject-test-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

TEST_F(InjectSettingsTest, DefaultsThenTheSettingsDirectoryThenTheFlags) {
  InjectOptions options;
  injector::InjectionSettings settings;
  std::string error;
  ASSERT_TRUE(injectionSettingsFromOptions(options, settings, error)) << error;
  EXPECT_EQ(settings.proxy_image, injector::InjectionSettings{}.proxy_image);
  EXPECT_EQ(settings.mode, injector::SidecarMode::kNative);

  write("proxyImage", "registry.example/weft-proxy:dir");
  write("sidecarMode", "classic");
  options.settings_dir = dir_.string();
  ASSERT_TRUE(injectionSettingsFromOptions(options, settings, error)) << error;
  EXPECT_EQ(settings.proxy_image, "registry.example/weft-proxy:dir");
  EXPECT_EQ(settings.mode, injector::SidecarMode::kClassic);

  options.proxy_image = "registry.example/weft-proxy:flag";
  options.sidecar_mode = "native";
  ASSERT_TRUE(injectionSettingsFromOptions(options, settings, error)) << error;
  EXPECT_EQ(settings.proxy_image, "registry.example/weft-proxy:flag");
  EXPECT_EQ(settings.mode, injector::SidecarMode::kNative);
}

TEST_F(InjectSettingsTest, BadValuesNameTheOption) {
  injector::InjectionSettings settings;
  std::string error;
  InjectOptions options;
  options.sidecar_mode = "sometimes";
  EXPECT_FALSE(injectionSettingsFromOptions(options, settings, error));
  EXPECT_TRUE(error.starts_with("--sidecar-mode: ")) << error;

  options = {};
  options.proxy_image = "has space";
  EXPECT_FALSE(injectionSettingsFromOptions(options, settings, error));
  EXPECT_TRUE(error.starts_with("--proxy-image: ")) << error;

  options = {};
  write("proxyImagee", "typo");
  options.settings_dir = dir_.string();
  EXPECT_FALSE(injectionSettingsFromOptions(options, settings, error));
  EXPECT_TRUE(error.starts_with("--settings-dir " + dir_.string() + ": ")) << error;
}

kube::ApiResponse response(unsigned status, std::string body) {
  kube::ApiResponse answer;
  answer.status = status;
  answer.body = std::move(body);
  return answer;
}

TEST(InjectMeshRootTest, TheMeshRootComesFromItsConfigMap) {
  const std::string pem = rootPem();
  std::vector<std::string> targets;
  std::string error;
  const auto root = meshRootFromCluster(
      [&](const std::string& target) {
        targets.push_back(target);
        return response(
            200, json::serialize(json::object{{"kind", "ConfigMap"},
                                              {"data", json::object{{"root-cert.pem", pem}}}}));
      },
      error);
  ASSERT_TRUE(root.has_value()) << error;
  EXPECT_EQ(*root, pem);
  EXPECT_EQ(targets,
            std::vector<std::string>{"/api/v1/namespaces/weft-system/configmaps/weft-mesh-root"});
}

TEST(InjectMeshRootTest, AMissingOrUnusableConfigMapSaysWhy) {
  auto fetch = [](kube::ApiResponse answer) {
    std::string error;
    const auto root = meshRootFromCluster([&](const std::string&) { return answer; }, error);
    EXPECT_FALSE(root.has_value());
    return error;
  };
  EXPECT_EQ(fetch(response(404, "{}")),
            "ConfigMap weft-system/weft-mesh-root does not exist (the control plane publishes it "
            "when it runs its CA)");
  EXPECT_TRUE(
      fetch(response(403, "{}")).starts_with("reading ConfigMap weft-system/weft-mesh-root: 403"));
  EXPECT_EQ(fetch(response(200, R"({"data":{"other":"x"}})")),
            "ConfigMap weft-system/weft-mesh-root has no root-cert.pem");
  EXPECT_EQ(fetch(response(200, "not json")),
            "ConfigMap weft-system/weft-mesh-root has no root-cert.pem");
  EXPECT_TRUE(fetch(response(200, R"({"data":{"root-cert.pem":"garbage"}})"))
                  .starts_with("ConfigMap weft-system/weft-mesh-root, root-cert.pem: not PEM "
                               "certificates"));
  kube::ApiResponse unreachable;
  unreachable.error = "connection refused";
  EXPECT_EQ(fetch(unreachable), "reading ConfigMap weft-system/weft-mesh-root: connection refused");
}

// --- the command --------------------------------------------------------------------------------

TEST_F(InjectSettingsTest, TheCommandWritesTheStreamAndExitsByWhatHappened) {
  InjectOptions options;
  options.mesh_root_file = write("root.pem", rootPem());
  const KubeConnectionOptions kube;
  const std::string pod =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
      "  - {name: app, image: app}\n";
  {
    std::istringstream in(pod);
    std::ostringstream out, err;
    EXPECT_EQ(runInject(options, kube, in, out, err), 0) << err.str();
    EXPECT_NE(out.str().find("weft-proxy"), std::string::npos) << out.str();
    EXPECT_EQ(err.str(), "<stdin>: document 1 (Pod p): injected a native sidecar\n");
  }
  {
    options.file = write("pod.yaml", pod +
                                         "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: q\n"
                                         "  annotations: {weft.dev/sidecar-mode: bogus}\nspec:\n"
                                         "  containers: [{name: app, image: app}]\n");
    std::istringstream in;
    std::ostringstream out, err;
    options.sidecar_mode = "classic";
    EXPECT_EQ(runInject(options, kube, in, out, err), 1) << err.str();
    EXPECT_NE(out.str().find("weft.dev/injected: classic"), std::string::npos) << out.str();
    EXPECT_NE(err.str().find(options.file + ": document 2 (Pod q): skipped: "), std::string::npos)
        << err.str();
  }
  {
    options.file = write("bad.yaml", "a: [\n");
    std::istringstream in;
    std::ostringstream out, err;
    EXPECT_EQ(runInject(options, kube, in, out, err), 2);
    EXPECT_TRUE(out.str().empty());
    EXPECT_TRUE(err.str().starts_with("weftctl inject: " + options.file + ": line ")) << err.str();
  }
  {
    options.file = (dir_ / "missing.yaml").string();
    std::istringstream in;
    std::ostringstream out, err;
    EXPECT_EQ(runInject(options, kube, in, out, err), 2);
    EXPECT_EQ(err.str(), "weftctl inject: cannot read " + options.file + "\n");
  }
}

TEST_F(InjectSettingsTest, WithoutAMeshRootNothingIsWritten) {
  InjectOptions options;
  options.file = write("pod.yaml",
                       "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                       "  containers: [{name: app, image: app}]\n");
  KubeConnectionOptions kube;
  kube.kubeconfig = (dir_ / "no-kubeconfig").string();
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(runInject(options, kube, in, out, err), 1);
  EXPECT_TRUE(out.str().empty());
  EXPECT_TRUE(err.str().starts_with(
      "weftctl inject: the injected proxies need the mesh root to verify the control plane; "
      "give --mesh-root-file, or let weftctl read it from the cluster: "))
      << err.str();

  // A stream without pods needs no mesh root.
  options.file = write("service.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(runInject(options, kube, in, out2, err2), 0) << err2.str();
  EXPECT_EQ(out2.str(), "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n");

  options.mesh_root_file = write("not-a-root.pem", "hello");
  std::ostringstream out3, err3;
  EXPECT_EQ(runInject(options, kube, in, out3, err3), 2);
  EXPECT_TRUE(err3.str().starts_with("weftctl inject: --mesh-root-file ")) << err3.str();
}

}  // namespace
}  // namespace weft::cli
