// weftctl check's verdicts from canned API answers, its report, and how it chooses the API
// server it talks to.
#include "cli/check_command.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/injector_tls.h"
#include "cli/kube_connection.h"
#include "common/text/base64.h"

namespace weft::cli {
namespace {

using std::chrono::system_clock;

// 2026-01-01T00:00:00Z
const system_clock::time_point kNow = system_clock::time_point(std::chrono::seconds(1767225600));

kube::ApiResponse answer(unsigned status, std::string body = "{}") {
  kube::ApiResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// An API that answers the paths it was given and 404 to the rest, and remembers what was asked.
class FakeApi {
 public:
  void set(const std::string& target, kube::ApiResponse response) { answers_[target] = response; }

  ApiGet get() {
    return [this](const std::string& target) {
      asked_.push_back(target);
      const auto found = answers_.find(target);
      return found == answers_.end() ? answer(404, R"({"kind":"Status","code":404})")
                                     : found->second;
    };
  }

  const std::vector<std::string>& asked() const { return asked_; }

 private:
  std::map<std::string, kube::ApiResponse> answers_;
  std::vector<std::string> asked_;
};

const std::string kPods =
    "/api/v1/namespaces/weft-system/"
    "pods?labelSelector=app.kubernetes.io%2Fname%3Dweft-controlplane";
const std::string kLease =
    "/apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-controlplane";
const std::string kSecret = "/api/v1/namespaces/weft-system/secrets/weft-ca";

ClusterExpectations expectations() {
  ClusterExpectations expected;
  expected.crds = {"trafficroutes.weft.dev", "meshconfigs.weft.dev"};
  return expected;
}

std::string establishedCrd() {
  return R"({"status":{"conditions":[{"type":"Established","status":"True"}]}})";
}

std::string pod(const std::string& name, bool ready, const std::string& waiting = "") {
  return R"({"metadata":{"name":")" + name + R"("},"status":{"phase":"Running",)" +
         (waiting.empty()
              ? ""
              : R"("containerStatuses":[{"state":{"waiting":{"reason":")" + waiting + R"("}}}],)") +
         R"("conditions":[{"type":"Ready","status":")" + (ready ? "True" : "False") + R"("}]}})";
}

std::string lease(const std::string& renew_time, int duration = 15) {
  return R"({"spec":{"holderIdentity":"cp-0","leaseDurationSeconds":)" + std::to_string(duration) +
         R"(,"renewTime":")" + renew_time + R"("}})";
}

void installAll(FakeApi& api) {
  api.set("/version", answer(200, R"({"gitVersion":"v1.32.4"})"));
  for (const char* crd : {"trafficroutes.weft.dev", "meshconfigs.weft.dev"}) {
    api.set(std::string("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/") + crd,
            answer(200, establishedCrd()));
  }
  api.set(kPods, answer(200, R"({"items":[)" + pod("cp-0", true) + "," + pod("cp-1", true) + "]}"));
  api.set(kLease, answer(200, lease("2025-12-31T23:59:55.123456Z")));
}

const CheckResult& result(const std::vector<CheckResult>& results, const std::string& name) {
  for (const CheckResult& entry : results) {
    if (entry.name == name) {
      return entry;
    }
  }
  static const CheckResult kMissing{CheckStatus::kOk, "missing", "", ""};
  ADD_FAILURE() << "no result named " << name;
  return kMissing;
}

TEST(CheckClusterTest, AnApiThatDoesNotAnswerEndsTheChecks) {
  FakeApi api;
  api.set("/version", kube::ApiResponse{0, "", "connecting to https://10.0.0.1:6443: timed out"});
  const auto results = checkCluster(api.get(), expectations(), kNow, "https://10.0.0.1:6443");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, CheckStatus::kFail);
  EXPECT_NE(results[0].detail.find("timed out"), std::string::npos);
  EXPECT_EQ(api.asked(), std::vector<std::string>{"/version"});
}

TEST(CheckClusterTest, RefusedCredentialsEndTheChecks) {
  FakeApi api;
  api.set("/version", answer(401, R"({"kind":"Status","message":"Unauthorized","code":401})"));
  const auto results = checkCluster(api.get(), expectations(), kNow, "x");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, CheckStatus::kFail);
  EXPECT_NE(results[0].detail.find("refuses the credentials"), std::string::npos);
}

TEST(CheckClusterTest, MissingAndUnestablishedCrds) {
  FakeApi api;
  installAll(api);
  api.set("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshconfigs.weft.dev",
          answer(404));
  auto verdict = result(checkCluster(api.get(), expectations(), kNow, "x"), "CRDs");
  EXPECT_EQ(verdict.status, CheckStatus::kFail);
  EXPECT_NE(verdict.detail.find("1 of 2 missing: meshconfigs.weft.dev"), std::string::npos)
      << verdict.detail;
  api.set("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshconfigs.weft.dev",
          answer(200, R"({"status":{"conditions":[{"type":"Established","status":"False",)"
                      R"("message":"names conflict"}]}})"));
  verdict = result(checkCluster(api.get(), expectations(), kNow, "x"), "CRDs");
  EXPECT_EQ(verdict.status, CheckStatus::kFail);
  EXPECT_NE(verdict.detail.find("not Established: meshconfigs.weft.dev (names conflict)"),
            std::string::npos)
      << verdict.detail;
}

TEST(CheckClusterTest, PodsReadyPartlyOrNotAtAll) {
  FakeApi api;
  installAll(api);
  EXPECT_EQ(result(checkCluster(api.get(), expectations(), kNow, "x"), "control plane pods").status,
            CheckStatus::kOk);
  api.set(kPods, answer(200, R"({"items":[)" + pod("cp-0", true) + "," +
                                 pod("cp-1", false, "ImagePullBackOff") + "]}"));
  auto verdict = result(checkCluster(api.get(), expectations(), kNow, "x"), "control plane pods");
  EXPECT_EQ(verdict.status, CheckStatus::kWarn);
  EXPECT_NE(verdict.detail.find("cp-1 (ImagePullBackOff)"), std::string::npos) << verdict.detail;
  api.set(kPods, answer(200, R"({"items":[)" + pod("cp-1", false) + "]}"));
  verdict = result(checkCluster(api.get(), expectations(), kNow, "x"), "control plane pods");
  EXPECT_EQ(verdict.status, CheckStatus::kFail);
  EXPECT_NE(verdict.detail.find("0 of 1 Ready"), std::string::npos) << verdict.detail;
  // A pod on its way out does not count.
  api.set(kPods, answer(200, R"({"items":[{"metadata":{"name":"old","deletionTimestamp":"x"}}]})"));
  verdict = result(checkCluster(api.get(), expectations(), kNow, "x"), "control plane pods");
  EXPECT_NE(verdict.detail.find("no pod labelled"), std::string::npos) << verdict.detail;
}

TEST(CheckClusterTest, LeaseFreshnessFollowsItsDuration) {
  FakeApi api;
  installAll(api);
  auto lease_verdict = [&](const std::string& body) {
    api.set(kLease, answer(200, body));
    return result(checkCluster(api.get(), expectations(), kNow, "x"), "leader Lease");
  };
  EXPECT_EQ(lease_verdict(lease("2025-12-31T23:59:50.000000Z")).status, CheckStatus::kOk);
  EXPECT_EQ(lease_verdict(lease("2025-12-31T23:59:40Z")).status, CheckStatus::kFail);  // 20 s
  EXPECT_EQ(lease_verdict(lease("2025-12-31T23:59:40Z", 30)).status, CheckStatus::kOk);
  // Offsets are honoured: 23:59:50 UTC written as 00:59:50+01:00.
  EXPECT_EQ(lease_verdict(lease("2026-01-01T00:59:50+01:00")).status, CheckStatus::kOk);
  // A leader's clock a little ahead is still a fresh Lease.
  EXPECT_EQ(lease_verdict(lease("2026-01-01T00:00:03.5Z")).status, CheckStatus::kOk);
  const CheckResult stale = lease_verdict(lease("2025-12-31T23:00:00Z"));
  EXPECT_NE(stale.detail.find("3600 seconds ago"), std::string::npos) << stale.detail;
  EXPECT_EQ(lease_verdict(R"({"spec":{"renewTime":"2025-12-31T23:59:59Z"}})").status,
            CheckStatus::kFail);  // no holder
  EXPECT_EQ(lease_verdict(lease("yesterday")).status, CheckStatus::kFail);
}

TEST(CheckClusterTest, UnreadableSecretIsAWarningAndSoIsInjectionNotInstalled) {
  FakeApi api;
  installAll(api);
  api.set(kSecret, answer(403, R"({"kind":"Status","code":403,"message":"forbidden"})"));
  const auto results = checkCluster(api.get(), expectations(), kNow, "x");
  EXPECT_EQ(result(results, "CA Secret").status, CheckStatus::kWarn);
  // Without the webhook nothing is refused: the injector and its mesh root missing only mean
  // that pods get no sidecar.
  for (const char* name : {"sidecar injection", "sidecar injector", "mesh root"}) {
    EXPECT_EQ(result(results, name).status, CheckStatus::kWarn) << name;
  }
  EXPECT_NE(result(results, "sidecar injection").detail.find("sidecar injection not installed"),
            std::string::npos);
  EXPECT_NE(result(results, "sidecar injection").action.find("--injector-webhook-only"),
            std::string::npos);
}

// --- the sidecar injector -----------------------------------------------------------------

const std::string kWebhook =
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/weft-sidecar-injector";
const std::string kInjectorService = "/api/v1/namespaces/weft-system/services/weft-injector";
const std::string kInjectorSecret = "/api/v1/namespaces/weft-system/secrets/weft-injector-tls";
const std::string kInjector = "/apis/apps/v1/namespaces/weft-system/deployments/weft-injector";
const std::string kMeshRoot = "/api/v1/namespaces/weft-system/configmaps/weft-mesh-root";

std::chrono::sys_seconds seconds(system_clock::time_point time) {
  return std::chrono::floor<std::chrono::seconds>(time);
}

// An injector's CA and certificate made at `made` (valid ten years from then).
InjectorTls madeAt(system_clock::time_point made) {
  auto tls = generateInjectorTls(seconds(made));
  EXPECT_TRUE(tls.ok()) << tls.error();
  return tls.ok() ? *tls : InjectorTls{};
}

std::string webhook(const std::string& ca_pem, const std::string& port = "443") {
  boost::json::object config{{"caBundle", text::encodeBase64(ca_pem)},
                             {"service", boost::json::parse(R"({"namespace":"weft-system",)"
                                                            R"("name":"weft-injector",)"
                                                            R"("path":"/inject","port":)" +
                                                            port + "}")}};
  if (ca_pem.empty()) {
    config.erase("caBundle");
  }
  return boost::json::serialize(boost::json::object{
      {"webhooks", boost::json::array{boost::json::object{{"name", "sidecar.weft.dev"},
                                                          {"clientConfig", config}}}}});
}

std::string tlsSecret(const InjectorTls& tls) {
  return boost::json::serialize(boost::json::object{
      {"data", boost::json::object{{"tls.crt", text::encodeBase64(tls.cert_pem)},
                                   {"ca.crt", text::encodeBase64(tls.ca_pem)}}}});
}

std::string deployment(int replicas, int ready) {
  return R"({"spec":{"replicas":)" + std::to_string(replicas) + R"(},"status":{"readyReplicas":)" +
         std::to_string(ready) + "}}";
}

std::string meshRoot(const std::string& pem) {
  return boost::json::serialize(
      boost::json::object{{"data", boost::json::object{{"root-cert.pem", pem}}}});
}

void installInjector(FakeApi& api, const InjectorTls& tls) {
  api.set(kWebhook, answer(200, webhook(tls.ca_pem)));
  api.set(kInjectorService, answer(200, R"({"spec":{"ports":[{"port":443},{"port":15014}]}})"));
  api.set(kInjectorSecret, answer(200, tlsSecret(tls)));
  api.set(kInjector, answer(200, deployment(2, 2)));
}

TEST(CheckClusterTest, AnInstalledInjectorPasses) {
  FakeApi api;
  installAll(api);
  const InjectorTls tls = madeAt(kNow);
  installInjector(api, tls);
  api.set(kMeshRoot, answer(200, meshRoot(tls.ca_pem)));
  const auto results = checkCluster(api.get(), expectations(), kNow, "x");
  const CheckResult& injection = result(results, "sidecar injection");
  EXPECT_EQ(injection.status, CheckStatus::kOk) << injection.detail << injection.action;
  EXPECT_NE(injection.detail.find("calls Service weft-system/weft-injector:443/inject"),
            std::string::npos)
      << injection.detail;
  EXPECT_NE(injection.detail.find("the injector's certificate (Secret "
                                  "weft-system/weft-injector-tls) valid until 2035-"),
            std::string::npos)
      << injection.detail;
  EXPECT_EQ(result(results, "sidecar injector").status, CheckStatus::kOk);
  EXPECT_EQ(result(results, "sidecar injector").detail,
            "Deployment weft-system/weft-injector: 2 of 2 replicas Ready");
  EXPECT_EQ(result(results, "mesh root").status, CheckStatus::kOk);
  // The mesh root comes before the webhook and the injector in the report.
  std::vector<std::string> names;
  for (const CheckResult& entry : results) {
    names.push_back(entry.name);
  }
  EXPECT_EQ(std::vector<std::string>(names.end() - 3, names.end()),
            (std::vector<std::string>{"mesh root", "sidecar injection", "sidecar injector"}));
}

TEST(CheckClusterTest, TheWebhooksCaAndCertificateAreJudged) {
  FakeApi api;
  installAll(api);
  auto verdict = [&] {
    return result(checkCluster(api.get(), expectations(), kNow, "x"), "sidecar injection");
  };
  // Made ten years ago less ten and a half days: it expires in ten days.
  const InjectorTls old = madeAt(kNow - std::chrono::hours(24 * 3650 - 252));
  installInjector(api, old);
  EXPECT_EQ(verdict().status, CheckStatus::kWarn);
  EXPECT_NE(verdict().detail.find("the injector's CA (caBundle of MutatingWebhookConfiguration "
                                  "weft-sidecar-injector) expires on"),
            std::string::npos)
      << verdict().detail;
  EXPECT_NE(verdict().detail.find("in 10 days"), std::string::npos) << verdict().detail;
  // Expired: the API server refuses the injector, so pods are refused.
  installInjector(api, madeAt(kNow - std::chrono::hours(24 * 3651)));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  EXPECT_NE(verdict().detail.find("expired on"), std::string::npos) << verdict().detail;

  const InjectorTls tls = madeAt(kNow);
  installInjector(api, tls);
  api.set(kWebhook, answer(200, webhook("")));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  EXPECT_NE(verdict().detail.find("has no caBundle"), std::string::npos) << verdict().detail;
  api.set(kWebhook, answer(200, R"({"webhooks":[{"name":"other.example.com"}]})"));
  EXPECT_NE(verdict().detail.find("has no webhook sidecar.weft.dev"), std::string::npos);
  api.set(kWebhook, answer(200, R"({"webhooks":[{"name":"sidecar.weft.dev","clientConfig":)"
                                R"({"url":"https://injector.example.com/inject"}}]})"));
  EXPECT_NE(verdict().detail.find("it calls https://injector.example.com/inject"),
            std::string::npos);

  // The certificate the injector serves must verify with the caBundle.
  api.set(kWebhook, answer(200, webhook(tls.ca_pem)));
  api.set(kInjectorSecret, answer(200, tlsSecret(madeAt(kNow))));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  EXPECT_NE(verdict().detail.find("fails the webhook's caBundle"), std::string::npos)
      << verdict().detail;
  api.set(kInjectorSecret, answer(404, R"({"kind":"Status","code":404})"));
  EXPECT_NE(verdict().detail.find("does not exist: the injector cannot start"), std::string::npos);
  api.set(kInjectorSecret, answer(403, R"({"kind":"Status","code":403})"));
  EXPECT_EQ(verdict().status, CheckStatus::kOk);
  EXPECT_NE(verdict().detail.find("certificate not checked"), std::string::npos);

  // The Service the API server calls, and its port.
  api.set(kInjectorService, answer(404, R"({"kind":"Status","code":404})"));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  EXPECT_NE(verdict().detail.find("calls Service weft-system/weft-injector, which does not exist"),
            std::string::npos)
      << verdict().detail;
  api.set(kInjectorService, answer(200, R"({"spec":{"ports":[{"port":15014}]}})"));
  EXPECT_NE(verdict().detail.find("has no port 443"), std::string::npos) << verdict().detail;
}

TEST(CheckClusterTest, AnUnreadyInjectorFailsOnlyWithTheWebhookInstalled) {
  FakeApi api;
  installAll(api);
  const InjectorTls tls = madeAt(kNow);
  installInjector(api, tls);
  api.set(kMeshRoot, answer(200, meshRoot(tls.ca_pem)));
  auto verdict = [&] {
    return result(checkCluster(api.get(), expectations(), kNow, "x"), "sidecar injector");
  };
  api.set(kInjector, answer(200, deployment(2, 1)));
  EXPECT_EQ(verdict().status, CheckStatus::kWarn);
  EXPECT_NE(verdict().detail.find("1 of 2 replicas Ready"), std::string::npos);
  api.set(kInjector, answer(200, deployment(2, 0)));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  EXPECT_NE(verdict().detail.find("pods of injected namespaces are refused"), std::string::npos);
  api.set(kInjector, answer(404, R"({"kind":"Status","code":404})"));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  api.set(kWebhook, answer(404, R"({"kind":"Status","code":404})"));
  EXPECT_EQ(verdict().status, CheckStatus::kWarn);
  api.set(kInjector, answer(200, deployment(2, 0)));
  EXPECT_EQ(verdict().status, CheckStatus::kWarn);
}

TEST(CheckClusterTest, TheMeshRootMustHoldTheCasRoot) {
  FakeApi api;
  installAll(api);
  const InjectorTls tls = madeAt(kNow);
  installInjector(api, tls);
  // The CA Secret's root, self-signed, stands in for the mesh's (any CA certificate will do).
  const InjectorTls mesh = madeAt(kNow);
  api.set(
      kSecret,
      answer(200, boost::json::serialize(boost::json::object{
                      {"data", boost::json::object{{"ca-cert.pem", text::encodeBase64(mesh.ca_pem)},
                                                   {"ca-key.pem", "eA=="}}}})));
  auto verdict = [&] {
    return result(checkCluster(api.get(), expectations(), kNow, "x"), "mesh root");
  };
  EXPECT_EQ(verdict().status, CheckStatus::kFail);  // missing, with the webhook installed
  EXPECT_NE(verdict().detail.find("the injector stays unready"), std::string::npos);
  EXPECT_NE(verdict().action.find("--mesh-root-configmap"), std::string::npos);
  api.set(kMeshRoot, answer(200, meshRoot(tls.ca_pem)));
  EXPECT_EQ(verdict().status, CheckStatus::kWarn);
  EXPECT_NE(verdict().detail.find("does not hold the root of Secret weft-system/weft-ca"),
            std::string::npos)
      << verdict().detail;
  // During a rotation the bundle holds two roots; the CA's is one of them.
  api.set(kMeshRoot, answer(200, meshRoot(tls.ca_pem + mesh.ca_pem)));
  EXPECT_EQ(verdict().status, CheckStatus::kOk);
  EXPECT_EQ(verdict().detail,
            "ConfigMap weft-system/weft-mesh-root holds 2 root certificates, the CA's among them");
  api.set(kMeshRoot, answer(200, meshRoot("not PEM")));
  EXPECT_EQ(verdict().status, CheckStatus::kFail);
  api.set(kMeshRoot, answer(200, R"({"data":{}})"));
  EXPECT_NE(verdict().detail.find("holds no root-cert.pem"), std::string::npos);
}

TEST(CheckClusterTest, SecretWithoutTheSigningCertificateFails) {
  FakeApi api;
  installAll(api);
  api.set(kSecret, answer(200, R"({"data":{"ca-key.pem":"eA=="}})"));
  const CheckResult verdict =
      result(checkCluster(api.get(), expectations(), kNow, "x"), "CA Secret");
  EXPECT_EQ(verdict.status, CheckStatus::kFail);
  EXPECT_NE(verdict.detail.find("no ca-cert.pem"), std::string::npos);
  api.set(kSecret, answer(200, R"({"data":{"ca-cert.pem":"bm90IGEgY2VydA=="}})"));
  EXPECT_EQ(result(checkCluster(api.get(), expectations(), kNow, "x"), "CA Secret").status,
            CheckStatus::kFail);
}

TEST(CheckReportTest, OneLinePerCheckThenASummary) {
  const std::vector<CheckResult> results = {
      {CheckStatus::kOk, "A", "fine", ""},
      {CheckStatus::kWarn, "B", "so-so", "look"},
      {CheckStatus::kFail, "C", "broken", "fix it"},
  };
  EXPECT_EQ(renderCheckReport(results),
            "OK    A: fine\n"
            "WARN  B: so-so -> look\n"
            "FAIL  C: broken -> fix it\n"
            "1 check failed, 1 warning\n");
  EXPECT_EQ(renderCheckReport({results[0]}), "OK    A: fine\nall 1 checks passed\n");
  EXPECT_EQ(renderCheckReport({results[0], results[1]}),
            "OK    A: fine\nWARN  B: so-so -> look\nno check failed; 1 warning\n");
}

TEST(CheckReportTest, TheCrdsCheckedAreTheOnesInstalled) {
  const std::vector<std::string> names = installedCrdNames();
  EXPECT_EQ(names.size(), 6u);
  EXPECT_NE(std::find(names.begin(), names.end(), "workloads.weft.dev"), names.end());
}

// --- choosing the API server ------------------------------------------------------------------

auto environmentOf(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    const auto found = values.find(name);
    return found == values.end() ? nullptr : found->second.c_str();
  };
}

TEST(KubeConnectionTest, ExplicitServer) {
  KubeConnectionOptions options;
  options.server = "https://[fd00::1]:6443";
  options.token_file = "/t";
  options.ca_file = "/ca";
  const KubeConnection connection = resolveKubeConnection(options, environmentOf({}));
  ASSERT_EQ(connection.error, "");
  EXPECT_EQ(connection.server.host, "fd00::1");
  EXPECT_EQ(connection.server.port, 6443);
  EXPECT_EQ(connection.server.token_file, "/t");
  EXPECT_EQ(connection.server.ca_file, "/ca");
}

TEST(KubeConnectionTest, MisusedOptionsAreUsageErrors) {
  auto usage = [](const std::string& kubeconfig, const std::string& server,
                  const std::string& token_file, const std::string& ca_file) {
    KubeConnectionOptions options;
    options.kubeconfig = kubeconfig;
    options.server = server;
    options.token_file = token_file;
    options.ca_file = ca_file;
    const KubeConnection connection = resolveKubeConnection(options, environmentOf({}));
    EXPECT_TRUE(connection.usage_error) << connection.error;
    return connection.error;
  };
  EXPECT_NE(usage("", "https://h", "", "").find("--ca-file"), std::string::npos);
  EXPECT_NE(usage("", "http://h", "", "/ca").find("https://"), std::string::npos);
  EXPECT_NE(usage("k", "https://h", "", "/ca").find("exclude each other"), std::string::npos);
  EXPECT_NE(usage("", "", "/t", "").find("go with --server"), std::string::npos);
}

TEST(KubeConnectionTest, InClusterWhenNoKubeconfig) {
  const KubeConnection connection =
      resolveKubeConnection({}, environmentOf({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                               {"KUBERNETES_SERVICE_PORT", "443"},
                                               {"HOME", "/nonexistent"}}));
  ASSERT_EQ(connection.error, "");
  EXPECT_EQ(connection.server.url(), "https://10.96.0.1:443");
  EXPECT_EQ(connection.server.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(connection.source, "in-cluster service account");
  const KubeConnection nowhere = resolveKubeConnection({}, environmentOf({{"HOME", "/none"}}));
  EXPECT_FALSE(nowhere.usage_error);
  EXPECT_NE(nowhere.error.find("no kubeconfig"), std::string::npos);
}

TEST(KubeConnectionTest, KubeconfigFromTheEnvironmentWithItsInlineDataInAPrivateDirectory) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("weftctl-kubeconfig-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "config").string();
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                         "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443', "
                         "certificate-authority-data: 'eA=='}}]\n"
                         "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                         "users: [{name: u, user: {token: abc}}]\n";
  std::string runtime_dir;
  {
    const KubeConnection connection =
        resolveKubeConnection({}, environmentOf({{"KUBECONFIG", path + ":/other/config"},
                                                 {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                 {"KUBERNETES_SERVICE_PORT", "443"}}));
    ASSERT_EQ(connection.error, "");
    EXPECT_EQ(connection.source, "kubeconfig " + path);
    EXPECT_EQ(connection.server.url(), "https://127.0.0.1:6443");
    std::ifstream token(connection.server.token_file);
    std::string text;
    std::getline(token, text);
    EXPECT_EQ(text, "abc");
    runtime_dir = std::filesystem::path(connection.server.token_file).parent_path().string();
    EXPECT_EQ(std::filesystem::status(runtime_dir).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
  }
  EXPECT_FALSE(std::filesystem::exists(runtime_dir));  // removed with the connection
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weft::cli
