#include "cli/check_command.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <optional>

#include "cli/install_manifest_files.h"
#include "cli/manifest_bundle.h"
#include "common/text/base64.h"
#include "common/tls/certificate.h"
#include "common/tls/pem.h"

namespace weft::cli {
namespace {

namespace json = boost::json;
using std::chrono::system_clock;

CheckResult ok(std::string name, std::string detail) {
  return {CheckStatus::kOk, std::move(name), std::move(detail), {}};
}

CheckResult warn(std::string name, std::string detail, std::string action) {
  return {CheckStatus::kWarn, std::move(name), std::move(detail), std::move(action)};
}

CheckResult fail(std::string name, std::string detail, std::string action) {
  return {CheckStatus::kFail, std::move(name), std::move(detail), std::move(action)};
}

std::optional<json::object> parseObject(const std::string& body) {
  boost::system::error_code error;
  json::value value = json::parse(body, error);
  if (error || !value.is_object()) {
    return std::nullopt;
  }
  return std::move(value.get_object());
}

const json::object* objectAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

const json::array* arrayAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_array() ? &value->get_array() : nullptr;
}

std::string stringAt(const json::object* object, std::string_view key) {
  if (object == nullptr) {
    return {};
  }
  const json::value* value = object->if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

// The condition of `type` in object.status.conditions, or nullptr.
const json::object* condition(const json::object& object, std::string_view type) {
  const json::object* status = objectAt(object, "status");
  const json::array* conditions = status == nullptr ? nullptr : arrayAt(*status, "conditions");
  if (conditions == nullptr) {
    return nullptr;
  }
  for (const json::value& entry : *conditions) {
    if (entry.is_object() && stringAt(&entry.get_object(), "type") == type) {
      return &entry.get_object();
    }
  }
  return nullptr;
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) {
    text += (text.empty() ? "" : ", ") + word;
  }
  return text;
}

// RFC 3339 as Kubernetes writes times ("2025-01-02T03:04:05Z", with fractional seconds for
// MicroTime, or an offset); the fraction is dropped.
std::optional<std::chrono::sys_seconds> parseTime(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &used) != 6) {
    return std::nullopt;
  }
  size_t at = static_cast<size_t>(used);
  if (at < text.size() && text[at] == '.') {
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      ++at;
    }
  }
  long offset = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int offset_hours = 0, offset_minutes = 0;
    if (std::sscanf(text.c_str() + at + 1, "%2d:%2d", &offset_hours, &offset_minutes) != 2) {
      return std::nullopt;
    }
    offset = (text[at] == '-' ? -1 : 1) * (offset_hours * 3600L + offset_minutes * 60L);
    at += 6;
  } else if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) {
    return std::nullopt;
  }
  std::tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return std::chrono::sys_seconds(std::chrono::seconds(::timegm(&parts) - offset));
}

std::string formatDate(std::chrono::sys_seconds time) {
  const std::time_t seconds = time.time_since_epoch().count();
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

std::string plural(long long count, const std::string& word) {
  return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

// --- the checks -------------------------------------------------------------------------------

CheckResult checkApi(const ApiGet& get, const std::string& where, bool& go_on) {
  const std::string name = "Kubernetes API";
  const kube::ApiResponse response = get("/version");
  go_on = false;
  if (response.status == 0) {
    return fail(name, where + ": " + response.error,
                "check the server address and the network, and that the API server's "
                "certificate chains to the CA given");
  }
  if (response.status == 401) {
    return fail(name, where + " refuses the credentials: " + response.describe(),
                "the token is wrong or expired; get a new one (kubectl create token ...)");
  }
  go_on = true;
  if (response.status != 200) {
    // 403: /version is not readable by this user; the other checks still say what they find.
    return warn(name, where + " answers GET /version with " + response.describe(),
                "the API server answers but not with its version; the checks below go on");
  }
  std::string version;
  if (const auto object = parseObject(response.body)) {
    version = stringAt(&*object, "gitVersion");
  }
  return ok(name, where + " answers" + (version.empty() ? "" : ": Kubernetes " + version));
}

CheckResult checkCrds(const ApiGet& get, const ClusterExpectations& expected) {
  const std::string name = "CRDs";
  std::vector<std::string> missing;
  std::vector<std::string> not_established;
  for (const std::string& crd : expected.crds) {
    const kube::ApiResponse response =
        get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + crd);
    if (response.status == 404) {
      missing.push_back(crd);
      continue;
    }
    if (response.status != 200) {
      return fail(name, "reading CustomResourceDefinition " + crd + ": " + response.describe(),
                  response.status == 403 ? "weftctl check needs get on "
                                           "customresourcedefinitions (apiextensions.k8s.io)"
                                         : "check the API server");
    }
    const auto object = parseObject(response.body);
    const json::object* established =
        object ? condition(*object, "Established") : static_cast<const json::object*>(nullptr);
    if (established == nullptr || stringAt(established, "status") != "True") {
      const std::string reason = stringAt(established, "message");
      not_established.push_back(crd + (reason.empty() ? "" : " (" + reason + ")"));
    }
  }
  if (!missing.empty()) {
    return fail(name,
                std::to_string(missing.size()) + " of " + std::to_string(expected.crds.size()) +
                    " missing: " + joined(missing),
                "install them: weftctl install | kubectl apply -f -");
  }
  if (!not_established.empty()) {
    return fail(name, "not Established: " + joined(not_established),
                "the API server has not accepted them yet; kubectl describe crd <name> says "
                "why (a name conflict with another CRD, for instance)");
  }
  return ok(name, "all " + std::to_string(expected.crds.size()) +
                      " weft.dev CRDs are installed and Established");
}

// Why a pod is not Ready, in a few words: a waiting container's reason, else its phase.
std::string notReadyReason(const json::object& pod) {
  const json::object* status = objectAt(pod, "status");
  if (const json::array* containers =
          status == nullptr ? nullptr : arrayAt(*status, "containerStatuses")) {
    for (const json::value& container : *containers) {
      if (!container.is_object()) {
        continue;
      }
      const json::object* state = objectAt(container.get_object(), "state");
      const json::object* waiting = state == nullptr ? nullptr : objectAt(*state, "waiting");
      if (const std::string reason = stringAt(waiting, "reason"); !reason.empty()) {
        return reason;
      }
    }
  }
  const std::string phase = stringAt(status, "phase");
  return phase.empty() ? "not Ready" : phase;
}

CheckResult checkPods(const ApiGet& get, const ClusterExpectations& expected) {
  const std::string name = "control plane pods";
  std::string selector;  // URL-encoded: '/' and '=' are the only reserved characters used
  for (const char c : expected.pod_selector) {
    selector += c == '/' ? "%2F" : c == '=' ? "%3D" : c == ',' ? "%2C" : std::string(1, c);
  }
  const kube::ApiResponse response =
      get("/api/v1/namespaces/" + expected.namespace_ + "/pods?labelSelector=" + selector);
  const std::string logs =
      "kubectl -n " + expected.namespace_ + " describe pods -l " + expected.pod_selector;
  if (response.status != 200) {
    return fail(name, "listing pods in " + expected.namespace_ + ": " + response.describe(),
                response.status == 403
                    ? "weftctl check needs list on pods in " + expected.namespace_
                    : "check the API server");
  }
  const auto list = parseObject(response.body);
  const json::array* items = list ? arrayAt(*list, "items") : nullptr;
  size_t total = 0;
  std::vector<std::string> not_ready;
  static const json::array kNone;
  for (const json::value& item : items == nullptr ? kNone : *items) {
    if (!item.is_object()) {
      continue;
    }
    const json::object& pod = item.get_object();
    const json::object* metadata = objectAt(pod, "metadata");
    if (metadata != nullptr && metadata->contains("deletionTimestamp")) {
      continue;  // on its way out; its replacement counts
    }
    ++total;
    const json::object* ready = condition(pod, "Ready");
    if (ready == nullptr || stringAt(ready, "status") != "True") {
      not_ready.push_back(stringAt(metadata, "name") + " (" + notReadyReason(pod) + ")");
    }
  }
  if (total == 0) {
    return fail(name, "no pod labelled " + expected.pod_selector + " in " + expected.namespace_,
                "install the control plane (weftctl install | kubectl apply -f -), then "
                "kubectl -n " +
                    expected.namespace_ +
                    " describe deployment weft-controlplane says why no pod starts");
  }
  const size_t ready = total - not_ready.size();
  const std::string counts = std::to_string(ready) + " of " + std::to_string(total) + " Ready";
  if (ready == 0) {
    return fail(name, counts + ": " + joined(not_ready), logs + " and kubectl logs");
  }
  if (!not_ready.empty()) {
    return warn(name, counts + "; not Ready: " + joined(not_ready), logs);
  }
  return ok(name, counts);
}

CheckResult checkLease(const ApiGet& get, const ClusterExpectations& expected,
                       system_clock::time_point now) {
  const std::string name = "leader Lease";
  const std::string lease = expected.namespace_ + "/" + expected.lease;
  const std::string logs =
      "kubectl -n " + expected.namespace_ + " logs -l " + expected.pod_selector + " says why";
  const kube::ApiResponse response = get("/apis/coordination.k8s.io/v1/namespaces/" +
                                         expected.namespace_ + "/leases/" + expected.lease);
  if (response.status == 404) {
    return fail(name,
                "no Lease " + lease +
                    ": no replica has been leader yet, so no status "
                    "conditions are written",
                logs + " (a 403 there means its Role is missing)");
  }
  if (response.status != 200) {
    return fail(name, "reading Lease " + lease + ": " + response.describe(),
                response.status == 403
                    ? "weftctl check needs get on leases in " + expected.namespace_
                    : "check the API server");
  }
  const auto object = parseObject(response.body);
  const json::object* spec = object ? objectAt(*object, "spec") : nullptr;
  const std::string holder = stringAt(spec, "holderIdentity");
  if (holder.empty()) {
    return fail(name, "Lease " + lease + " has no holder: no replica leads", logs);
  }
  long long duration = 15;
  if (spec != nullptr) {
    if (const json::value* value = spec->if_contains("leaseDurationSeconds");
        value != nullptr && value->is_int64()) {
      duration = value->get_int64();
    }
  }
  const auto renewed = parseTime(stringAt(spec, "renewTime"));
  if (!renewed) {
    return fail(name, "Lease " + lease + " held by " + holder + " has no renewTime", logs);
  }
  const long long age = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::floor<std::chrono::seconds>(now) - *renewed)
                            .count();
  if (age > duration) {
    return fail(name,
                "Lease " + lease + " held by " + holder + " was last renewed " +
                    plural(age, "second") + " ago, longer than its " + plural(duration, "second") +
                    ": the leader is gone or cannot reach the API",
                logs);
  }
  return ok(name, "held by " + holder + ", renewed " +
                      (age <= 0 ? std::string("just now") : plural(age, "second") + " ago"));
}

// One certificate of the CA Secret: nullopt when fine, else the result to report.
std::optional<CheckResult> judgeCertificate(const std::string& pem, const std::string& what,
                                            const ClusterExpectations& expected,
                                            system_clock::time_point now, std::string& fine) {
  const std::string name = "CA Secret";
  const std::string rotate = "rotate it before then (docs/security.md, \"Root rotation\")";
  auto cert = tls::readCertificatePem(pem);
  if (!cert) {
    return fail(name, what + " is not a certificate: " + cert.error(),
                "the control plane refuses this Secret; put the CA's PEM certificate there");
  }
  auto validity = tls::certificateValidity(**cert);
  if (!validity) {
    return fail(name, what + ": " + validity.error(), "put a valid certificate there");
  }
  const auto seconds_now = std::chrono::floor<std::chrono::seconds>(now);
  if (seconds_now < validity->not_before) {
    return fail(name, what + " is not valid before " + formatDate(validity->not_before),
                "check the clocks, or the certificate's notBefore");
  }
  if (seconds_now > validity->not_after) {
    return fail(name, what + " expired on " + formatDate(validity->not_after),
                "workload certificates can no longer be issued; replace the CA "
                "(docs/security.md, \"The CA in a cluster\")");
  }
  const auto left = validity->not_after - seconds_now;
  const long long days = std::chrono::duration_cast<std::chrono::hours>(left).count() / 24;
  if (left < expected.ca_warning_window) {
    return warn(
        name,
        what + " expires on " + formatDate(validity->not_after) + ", in " + plural(days, "day"),
        rotate);
  }
  fine += (fine.empty() ? "" : "; ") + what + " valid until " + formatDate(validity->not_after) +
          " (" + plural(days, "day") + ")";
  return std::nullopt;
}

CheckResult checkCaSecret(const ApiGet& get, const ClusterExpectations& expected,
                          system_clock::time_point now) {
  const std::string name = "CA Secret";
  const std::string secret = expected.namespace_ + "/" + expected.ca_secret;
  const kube::ApiResponse response =
      get("/api/v1/namespaces/" + expected.namespace_ + "/secrets/" + expected.ca_secret);
  if (response.status == 404) {
    return fail(name, "Secret " + secret + " does not exist",
                "the control plane creates it on its first start (weftctl install's default "
                "--ca-mode secret); with --ca-mode provided, create it "
                "(docs/security.md, \"The CA in a cluster\")");
  }
  if (response.status == 403) {
    return warn(name, "not allowed to read Secret " + secret + ": not checked",
                "run weftctl check as a user who may get secrets in " + expected.namespace_);
  }
  if (response.status != 200) {
    return fail(name, "reading Secret " + secret + ": " + response.describe(),
                "check the API server");
  }
  const auto object = parseObject(response.body);
  const json::object* data = object ? objectAt(*object, "data") : nullptr;
  auto entry = [&](std::string_view key) -> std::optional<std::string> {
    const std::string encoded = stringAt(data, key);
    if (encoded.empty()) {
      return std::nullopt;
    }
    return text::decodeBase64(encoded);
  };
  const std::optional<std::string> signing = entry("ca-cert.pem");
  if (!signing) {
    return fail(name, "Secret " + secret + " holds no ca-cert.pem",
                "the control plane refuses it; delete it to have a root generated, or add the "
                "CA's certificate and key (docs/security.md)");
  }
  // The root is root-cert.pem when the signing certificate is an intermediate, else the
  // self-signed ca-cert.pem. An intermediate that expires stops issuance as surely as the
  // root, so both are judged.
  std::string fine;
  const std::optional<std::string> root = entry("root-cert.pem");
  if (root) {
    if (auto result =
            judgeCertificate(*root, "root certificate (root-cert.pem)", expected, now, fine)) {
      return *result;
    }
  }
  if (auto result = judgeCertificate(
          *signing, root ? "signing certificate (ca-cert.pem)" : "root certificate (ca-cert.pem)",
          expected, now, fine)) {
    return *result;
  }
  return ok(name, "Secret " + secret + ": " + fine);
}

CheckResult checkWebhook(const ApiGet& get, const ClusterExpectations& expected) {
  const std::string name = "sidecar injection";
  const kube::ApiResponse response = get(
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + expected.webhook);
  if (response.status == 404) {
    return warn(name,
                "sidecar injection not installed (no MutatingWebhookConfiguration " +
                    expected.webhook + ")",
                "pods get no sidecar automatically; this version of Weft has no injector yet");
  }
  if (response.status == 403) {
    return warn(name, "not allowed to read MutatingWebhookConfiguration " + expected.webhook,
                "run weftctl check as a user who may get mutatingwebhookconfigurations");
  }
  if (response.status != 200) {
    return fail(
        name,
        "reading MutatingWebhookConfiguration " + expected.webhook + ": " + response.describe(),
        "check the API server");
  }
  return ok(name, "MutatingWebhookConfiguration " + expected.webhook + " is installed");
}

}  // namespace

std::vector<CheckResult> checkCluster(const ApiGet& get, const ClusterExpectations& expected,
                                      system_clock::time_point now, const std::string& where) {
  std::vector<CheckResult> results;
  bool go_on = false;
  results.push_back(checkApi(get, where, go_on));
  if (!go_on) {
    return results;
  }
  results.push_back(checkCrds(get, expected));
  results.push_back(checkPods(get, expected));
  results.push_back(checkLease(get, expected, now));
  results.push_back(checkCaSecret(get, expected, now));
  results.push_back(checkWebhook(get, expected));
  return results;
}

std::string renderCheckReport(const std::vector<CheckResult>& results) {
  std::string report;
  size_t failed = 0, warned = 0;
  for (const CheckResult& result : results) {
    const char* status = result.status == CheckStatus::kOk     ? "OK  "
                         : result.status == CheckStatus::kWarn ? "WARN"
                                                               : "FAIL";
    failed += result.status == CheckStatus::kFail ? 1 : 0;
    warned += result.status == CheckStatus::kWarn ? 1 : 0;
    report += std::string(status) + "  " + result.name + ": " + result.detail;
    if (!result.action.empty()) {
      report += " -> " + result.action;
    }
    report += "\n";
  }
  const std::string warnings = plural(static_cast<long long>(warned), "warning");
  if (failed > 0) {
    report += plural(static_cast<long long>(failed), "check") + " failed" +
              (warned > 0 ? ", " + warnings : "") + "\n";
  } else if (warned > 0) {
    report += "no check failed; " + warnings + "\n";
  } else {
    report += "all " + std::to_string(results.size()) + " checks passed\n";
  }
  return report;
}

std::vector<std::string> installedCrdNames() {
  std::vector<std::string> names;
  for (const ManifestDocument& document : readManifestBundle(installManifestFiles()).documents) {
    if (document.object["kind"].as<std::string>() == "CustomResourceDefinition") {
      names.push_back(document.object["metadata"]["name"].as<std::string>());
    }
  }
  return names;
}

int runCheck(const KubeConnectionOptions& options, std::ostream& out, std::ostream& err) {
  const KubeConnection connection =
      resolveKubeConnection(options, [](const char* name) { return std::getenv(name); });
  if (connection.usage_error) {
    err << "weftctl check: " << connection.error << "\n";
    return 2;
  }
  std::vector<CheckResult> results;
  if (!connection.error.empty()) {
    results.push_back(
        fail("Kubernetes API", "cannot connect: " + connection.error,
             "see the connection options in `weftctl --help` (--kubeconfig, --server)"));
  } else {
    ClusterExpectations expected;
    expected.crds = installedCrdNames();
    const kube::ApiClient client(connection.server, std::chrono::seconds(10));
    results = checkCluster(
        [&client](const std::string& target) { return client.call("GET", target); }, expected,
        system_clock::now(), connection.server.url() + " (" + connection.source + ")");
  }
  out << renderCheckReport(results);
  out.flush();
  for (const CheckResult& result : results) {
    if (result.status == CheckStatus::kFail) {
      return 1;
    }
  }
  return 0;
}

}  // namespace weft::cli
