#include "cli/check_command.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <optional>

#include "cli/injector_tls.h"
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

// What to do about a certificate that is unusable, expires soon or has expired, per check.
struct CertificateAdvice {
  std::string name;      // the check: "CA Secret"
  std::string unusable;  // what to do about a certificate that is not one
  std::string rotate;    // before it expires
  std::string expired;   // once it has
};

const CertificateAdvice kCaSecretAdvice{
    "CA Secret", "the control plane refuses this Secret; put the CA's PEM certificate there",
    "rotate it before then (docs/security.md, \"Root rotation\")",
    "workload certificates can no longer be issued; replace the CA (docs/security.md, \"The CA "
    "in a cluster\")"};

// One certificate: nullopt when fine (then `fine` says until when), else the result to report.
std::optional<CheckResult> judgeCertificate(const std::string& pem, const std::string& what,
                                            const ClusterExpectations& expected,
                                            system_clock::time_point now, std::string& fine,
                                            const CertificateAdvice& advice = kCaSecretAdvice) {
  const std::string& name = advice.name;
  const std::string& rotate = advice.rotate;
  auto cert = tls::readCertificatePem(pem);
  if (!cert) {
    return fail(name, what + " is not a certificate: " + cert.error(), advice.unusable);
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
    return fail(name, what + " expired on " + formatDate(validity->not_after), advice.expired);
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

// `root_pem` receives the mesh's root when the Secret could be read (root-cert.pem, else the
// self-signed ca-cert.pem).
CheckResult checkCaSecret(const ApiGet& get, const ClusterExpectations& expected,
                          system_clock::time_point now, std::string& root_pem) {
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
  root_pem = root ? *root : *signing;
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

long long integerAt(const json::object* object, std::string_view key, long long fallback) {
  if (object == nullptr) {
    return fallback;
  }
  const json::value* value = object->if_contains(key);
  return value != nullptr && value->is_int64() ? value->get_int64() : fallback;
}

// The certificates of a PEM text, or an Error.
tls::Result<std::vector<tls::X509Ptr>> certificatesIn(const std::string& pem) {
  return tls::readCertificateChainPem(pem);
}

const std::string kReinstallInjector =
    "weftctl install | kubectl apply -f - (for an install made with kubectl apply -k "
    "deploy/k8s: weftctl install --injector-webhook-only | kubectl apply -f -)";

const CertificateAdvice kWebhookCaAdvice{
    "sidecar injection", "the API server cannot verify the injector with it; " + kReinstallInjector,
    "renew the injector's CA and certificate before then: " + kReinstallInjector,
    "the API server refuses the injector's certificate, so pods of injected namespaces are "
    "refused; " +
        kReinstallInjector};

// The injector's serving certificate in its Secret: empty when it verifies with `ca_bundle`
// for the Service's name and is not about to expire, else the result to report. `note`
// receives what was found (or why it was not checked).
std::optional<CheckResult> checkInjectorSecret(const ApiGet& get,
                                               const ClusterExpectations& expected,
                                               system_clock::time_point now,
                                               const std::string& ca_bundle, std::string& note) {
  const std::string name = "sidecar injection";
  const std::string secret = expected.namespace_ + "/" + expected.injector_secret;
  const kube::ApiResponse response =
      get("/api/v1/namespaces/" + expected.namespace_ + "/secrets/" + expected.injector_secret);
  if (response.status == 404) {
    return fail(name,
                "Secret " + secret +
                    " does not exist: the injector cannot start, so pods of injected namespaces "
                    "are refused",
                kReinstallInjector);
  }
  if (response.status == 403) {
    note = "the injector's certificate not checked (not allowed to read Secret " + secret + ")";
    return std::nullopt;
  }
  if (response.status != 200) {
    return fail(name, "reading Secret " + secret + ": " + response.describe(),
                "check the API server");
  }
  const auto object = parseObject(response.body);
  const json::object* data = object ? objectAt(*object, "data") : nullptr;
  const std::optional<std::string> cert = text::decodeBase64(stringAt(data, "tls.crt"));
  if (!cert || cert->empty()) {
    return fail(name, "Secret " + secret + " holds no tls.crt", kReinstallInjector);
  }
  const auto seconds_now = std::chrono::floor<std::chrono::seconds>(now);
  if (std::string problem = injectorCertificateProblem(ca_bundle, *cert, seconds_now);
      !problem.empty()) {
    return fail(name,
                "the injector's certificate (Secret " + secret +
                    ") fails the webhook's caBundle: " + problem +
                    "; the API server refuses to call it",
                "apply the Secret and the webhook of the same weftctl install (--injector-tls-dir "
                "keeps the certificate in use)");
  }
  CertificateAdvice advice = kWebhookCaAdvice;
  advice.rotate = "renew it before then: " + kReinstallInjector;
  if (auto result = judgeCertificate(*cert, "the injector's certificate (Secret " + secret + ")",
                                     expected, now, note, advice)) {
    return result;
  }
  return std::nullopt;
}

CheckResult checkWebhook(const ApiGet& get, const ClusterExpectations& expected,
                         system_clock::time_point now, bool& installed) {
  const std::string name = "sidecar injection";
  const std::string what = "MutatingWebhookConfiguration " + expected.webhook;
  installed = false;
  const kube::ApiResponse response = get(
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + expected.webhook);
  if (response.status == 404) {
    return warn(name, "sidecar injection not installed (no " + what + ")",
                "pods get no sidecar automatically; to install it: " + kReinstallInjector);
  }
  if (response.status == 403) {
    return warn(name, "not allowed to read " + what,
                "run weftctl check as a user who may get mutatingwebhookconfigurations");
  }
  if (response.status != 200) {
    return fail(name, "reading " + what + ": " + response.describe(), "check the API server");
  }
  installed = true;
  const auto object = parseObject(response.body);
  const json::object* hook = nullptr;
  if (const json::array* hooks = object ? arrayAt(*object, "webhooks") : nullptr) {
    for (const json::value& entry : *hooks) {
      if (entry.is_object() && stringAt(&entry.get_object(), "name") == expected.webhook_entry) {
        hook = &entry.get_object();
      }
    }
  }
  if (hook == nullptr) {
    return fail(name, what + " has no webhook " + expected.webhook_entry, kReinstallInjector);
  }
  const json::object* client = objectAt(*hook, "clientConfig");
  const json::object* service = client == nullptr ? nullptr : objectAt(*client, "service");
  if (service == nullptr) {
    const std::string url = stringAt(client, "url");
    return fail(name,
                what + " does not call the injector's Service (" +
                    (url.empty() ? "no clientConfig.service" : "it calls " + url) + ")",
                kReinstallInjector);
  }
  const std::string encoded = stringAt(client, "caBundle");
  if (encoded.empty()) {
    return fail(name,
                what +
                    " has no caBundle: the API server cannot verify the injector's certificate, "
                    "so pods of injected namespaces are refused",
                kReinstallInjector);
  }
  const std::optional<std::string> bundle = text::decodeBase64(encoded);
  auto cas = bundle ? certificatesIn(*bundle) : tls::Error{"not base64"};
  if (!cas) {
    return fail(name, what + ": the caBundle is not PEM certificates: " + cas.error(),
                kReinstallInjector);
  }
  std::string fine;
  for (const tls::X509Ptr& ca : *cas) {
    auto pem = tls::writeCertificatePem(*ca);
    if (!pem) {
      return fail(name, what + ": the caBundle cannot be read: " + pem.error(), kReinstallInjector);
    }
    if (auto result = judgeCertificate(*pem, "the injector's CA (caBundle of " + what + ")",
                                       expected, now, fine, kWebhookCaAdvice)) {
      return *result;
    }
  }
  // The Service the API server calls: without it, or without the port, every call fails.
  const std::string service_namespace = stringAt(service, "namespace");
  const std::string service_name = stringAt(service, "name");
  const long long port = integerAt(service, "port", 443);
  const std::string target = service_namespace + "/" + service_name;
  const kube::ApiResponse found =
      get("/api/v1/namespaces/" + service_namespace + "/services/" + service_name);
  if (found.status == 404) {
    return fail(name,
                what + " calls Service " + target +
                    ", which does not exist: pods of injected namespaces are refused",
                kReinstallInjector);
  }
  if (found.status == 403) {
    fine += "; Service " + target + " not checked (not allowed to read it)";
  } else if (found.status != 200) {
    return fail(name, "reading Service " + target + ": " + found.describe(),
                "check the API server");
  } else {
    const auto svc = parseObject(found.body);
    const json::object* spec = svc ? objectAt(*svc, "spec") : nullptr;
    bool has_port = false;
    if (const json::array* ports = spec == nullptr ? nullptr : arrayAt(*spec, "ports")) {
      for (const json::value& entry : *ports) {
        has_port =
            has_port || (entry.is_object() && integerAt(&entry.get_object(), "port", 0) == port);
      }
    }
    if (!has_port) {
      return fail(name,
                  "Service " + target + " has no port " + std::to_string(port) + ", which " + what +
                      " calls",
                  kReinstallInjector);
    }
  }
  if (auto result = checkInjectorSecret(get, expected, now, *bundle, fine)) {
    return *result;
  }
  return ok(name, what + " calls Service " + target + ":" + std::to_string(port) +
                      stringAt(service, "path") + "; " + fine);
}

CheckResult checkInjector(const ApiGet& get, const ClusterExpectations& expected,
                          bool webhook_installed) {
  const std::string name = "sidecar injector";
  const std::string deployment = expected.namespace_ + "/" + expected.injector_deployment;
  const std::string describe =
      "kubectl -n " + expected.namespace_ + " describe pods -l " + expected.injector_selector;
  // With the webhook installed (failurePolicy Fail) no injector means no pod creation in
  // injected namespaces; without it, only that pods get no sidecar.
  auto bad = [&](std::string detail, std::string action) {
    return webhook_installed
               ? fail(name, detail + ": pods of injected namespaces are refused", action)
               : warn(name, std::move(detail), std::move(action));
  };
  const kube::ApiResponse response = get("/apis/apps/v1/namespaces/" + expected.namespace_ +
                                         "/deployments/" + expected.injector_deployment);
  if (response.status == 404) {
    return bad("no Deployment " + deployment, "install it: " + kReinstallInjector);
  }
  if (response.status == 403) {
    return warn(name, "not allowed to read Deployment " + deployment,
                "run weftctl check as a user who may get deployments in " + expected.namespace_);
  }
  if (response.status != 200) {
    return fail(name, "reading Deployment " + deployment + ": " + response.describe(),
                "check the API server");
  }
  const auto object = parseObject(response.body);
  const long long replicas = integerAt(object ? objectAt(*object, "spec") : nullptr, "replicas", 1);
  const long long ready =
      integerAt(object ? objectAt(*object, "status") : nullptr, "readyReplicas", 0);
  const std::string counts =
      std::to_string(ready) + " of " + std::to_string(replicas) + " replicas Ready";
  if (replicas == 0) {
    return bad("Deployment " + deployment + " is scaled to 0",
               "kubectl -n " + expected.namespace_ + " scale deployment " +
                   expected.injector_deployment + " --replicas 2");
  }
  if (ready == 0) {
    return bad("Deployment " + deployment + ": " + counts,
               describe + " says why (a missing Secret " + expected.injector_secret +
                   " or mesh root, an image that cannot be pulled)");
  }
  if (ready < replicas) {
    return warn(name, "Deployment " + deployment + ": " + counts, describe);
  }
  return ok(name, "Deployment " + deployment + ": " + counts);
}

CheckResult checkMeshRoot(const ApiGet& get, const ClusterExpectations& expected,
                          const std::string& ca_root_pem, bool webhook_installed) {
  const std::string name = "mesh root";
  const std::string config_map = expected.namespace_ + "/" + expected.mesh_root_configmap;
  const std::string logs = "kubectl -n " + expected.namespace_ + " logs -l " +
                           expected.pod_selector + " says why (a 403: its Role lacks configmaps)";
  auto missing = [&](const std::string& detail) {
    const std::string action = "the control plane publishes it (--mesh-root-configmap); " + logs;
    return webhook_installed
               ? fail(name, detail + ": the injector stays unready and injects nothing", action)
               : warn(name, detail + ": the injector would inject nothing", action);
  };
  const kube::ApiResponse response = get("/api/v1/namespaces/" + expected.namespace_ +
                                         "/configmaps/" + expected.mesh_root_configmap);
  if (response.status == 404) {
    return missing("ConfigMap " + config_map + " does not exist");
  }
  if (response.status == 403) {
    return warn(name, "not allowed to read ConfigMap " + config_map,
                "run weftctl check as a user who may get configmaps in " + expected.namespace_);
  }
  if (response.status != 200) {
    return fail(name, "reading ConfigMap " + config_map + ": " + response.describe(),
                "check the API server");
  }
  const auto object = parseObject(response.body);
  const std::string bundle =
      stringAt(object ? objectAt(*object, "data") : nullptr, "root-cert.pem");
  if (bundle.empty()) {
    return missing("ConfigMap " + config_map + " holds no root-cert.pem");
  }
  auto roots = certificatesIn(bundle);
  if (!roots) {
    return fail(
        name,
        "ConfigMap " + config_map + ": root-cert.pem is not PEM certificates: " + roots.error(),
        logs);
  }
  const std::string counted = plural(static_cast<long long>(roots->size()), "root certificate");
  if (ca_root_pem.empty()) {
    return ok(name, "ConfigMap " + config_map + " holds " + counted);
  }
  auto ca_root = tls::readCertificatePem(ca_root_pem);
  if (!ca_root) {
    return ok(name, "ConfigMap " + config_map + " holds " + counted);  // the CA check said why
  }
  for (const tls::X509Ptr& root : *roots) {
    if (X509_cmp(root.get(), ca_root->get()) == 0) {
      return ok(name, "ConfigMap " + config_map + " holds " + counted + ", the CA's among them");
    }
  }
  return warn(name,
              "ConfigMap " + config_map + " (" + counted + ") does not hold the root of Secret " +
                  expected.namespace_ + "/" + expected.ca_secret +
                  ": pods injected now would not trust a control plane that uses it",
              "the control plane publishes its root at start and at SIGHUP; " + logs);
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
  std::string root_pem;
  results.push_back(checkCaSecret(get, expected, now, root_pem));
  // The webhook first: whether it is installed decides how much a missing injector or mesh
  // root matters (with it, pod creation in injected namespaces is refused).
  bool webhook_installed = false;
  CheckResult webhook = checkWebhook(get, expected, now, webhook_installed);
  results.push_back(checkMeshRoot(get, expected, root_pem, webhook_installed));
  results.push_back(std::move(webhook));
  results.push_back(checkInjector(get, expected, webhook_installed));
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
