#include "proxy/admin/certificate_status.h"

#include <boost/json/object.hpp>
#include <ctime>

#include "proxy/admin/json_text.h"

namespace weft::proxy::admin {
namespace {

// RFC 3339 in UTC, to the second: certificate times have no finer resolution.
std::string rfc3339(std::chrono::sys_seconds time) {
  const std::time_t whole = static_cast<std::time_t>(time.time_since_epoch().count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[40];
  const size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

boost::json::value timeOrNull(
    const std::optional<std::chrono::sys_time<std::chrono::milliseconds>>& time) {
  if (!time) {
    return nullptr;
  }
  return boost::json::string(rfc3339(std::chrono::floor<std::chrono::seconds>(*time)));
}

}  // namespace

std::string renderCertificateStatusJson(const CertificateStatus& status) {
  boost::json::object out{
      {"state", status.state},
      {"ca", status.ca},
  };
  if (status.certificate) {
    const CertificateSummary& certificate = *status.certificate;
    out["certificate"] = boost::json::object{
        {"spiffe_id", certificate.spiffe_id},
        {"serial", certificate.serial},
        {"key_type", certificate.key_type},
        {"not_before", rfc3339(certificate.not_before)},
        {"not_after", rfc3339(certificate.not_after)},
        {"chain_length", certificate.chain_length},
    };
  } else {
    out["certificate"] = nullptr;
  }
  out["next_request"] = timeOrNull(status.next_request);
  out["requesting"] = status.requesting;
  out["issued"] = status.issued;
  out["consecutive_failures"] = status.consecutive_failures;
  out["last_error"] = status.last_error.empty() ? boost::json::value(nullptr)
                                                : boost::json::value(status.last_error);
  out["last_error_at"] = timeOrNull(status.last_error_at);
  return prettyJson(out);
}

}  // namespace weft::proxy::admin
