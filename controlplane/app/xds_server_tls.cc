#include "controlplane/app/xds_server_tls.h"

#include <fmt/chrono.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/fs/atomic_file.h"
#include "common/log/logger.h"
#include "common/tls/pem.h"
#include "controlplane/ca/serving_certificate.h"

namespace weft::controlplane {
namespace {

spdlog::logger& tlsLog() {
  static spdlog::logger& logger = weft::log::logger("xds-tls");
  return logger;
}

std::string readFile(const std::string& path, std::string& error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = "cannot read " + path;
    return {};
  }
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out.append(out.empty() ? "" : ", ").append(item);
  }
  return out;
}

}  // namespace

XdsServerTls::XdsServerTls(boost::asio::io_context& loop, XdsServerTlsOptions options,
                           const ca::CertificateAuthority* authority)
    : options_(std::move(options)), authority_(authority), renewal_(loop) {
  if (options_.ca_hosts.empty()) {
    cert_file_ = options_.cert_file;
    key_file_ = options_.key_file;
  } else {
    cert_file_ = options_.directory + "/tls.crt";
    key_file_ = options_.directory + "/tls.key";
  }
}

std::string XdsServerTls::start() {
  if (!options_.ca_hosts.empty()) {
    if (authority_ == nullptr) {
      return "--xds-tls-hosts needs the CA (--ca-dir) to issue the serving certificate";
    }
    if (::mkdir(options_.directory.c_str(), 0700) != 0 && errno != EEXIST) {
      return "cannot create " + options_.directory + ": " + std::strerror(errno);
    }
    return issue();
  }
  // File mode: check now what gRPC would otherwise only report at the first handshake.
  std::string error;
  const std::string chain = readFile(cert_file_, error);
  const std::string key = error.empty() ? readFile(key_file_, error) : std::string();
  if (!error.empty()) {
    return "--xds-tls-cert-file/--xds-tls-key-file: " + error;
  }
  auto certs = tls::readCertificateChainPem(chain);
  if (!certs) {
    return "--xds-tls-cert-file " + cert_file_ + ": " + certs.error();
  }
  auto private_key = tls::readPrivateKeyPem(key);
  if (!private_key) {
    return "--xds-tls-key-file " + key_file_ + ": " + private_key.error();
  }
  if (X509_check_private_key(certs->front().get(), private_key->get()) != 1) {
    return "--xds-tls-key-file " + key_file_ + " is not the key of the first certificate in " +
           cert_file_;
  }
  tlsLog().info("xDS port serves TLS with {} (re-read every {} s)", cert_file_,
                options_.refresh_interval.count());
  return {};
}

std::string XdsServerTls::issue() {
  const ca::SigningMaterialPtr material = authority_->material();
  if (!material) {
    return "the CA has no signing material; cannot issue the serving certificate";
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto issued =
      ca::issueServingCredentials(*material, options_.ca_hosts, now, options_.ca_validity);
  if (!issued) {
    return "serving certificate for " + joined(options_.ca_hosts) + ": " + issued.error();
  }
  // The key first: between the two renames gRPC may read the new key with the old
  // certificate, which it refuses (the pair does not match) and keeps the old pair until its
  // next look, by which time both are new.
  if (std::string error = fs::replaceFileAtomically(key_file_, issued->key_pem, 0600);
      !error.empty()) {
    return error;
  }
  if (std::string error = fs::replaceFileAtomically(cert_file_, issued->chain_pem, 0644);
      !error.empty()) {
    return error;
  }
  const auto lifetime = issued->not_after - issued->not_before;
  tlsLog().info(
      "xDS port serves TLS as {} with a certificate from the mesh CA, valid until {:%F %T}Z",
      joined(options_.ca_hosts), issued->not_after);
  // Renewed at half life, as the proxies renew theirs.
  scheduleRenewal(issued->not_before + lifetime / 2 - std::chrono::system_clock::now());
  return {};
}

void XdsServerTls::scheduleRenewal(std::chrono::system_clock::duration after) {
  renewal_.expires_after(std::max<std::chrono::steady_clock::duration>(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(after),
      std::chrono::seconds(1)));
  renewal_.async_wait([this](const boost::system::error_code& error) {
    if (error) {
      return;  // cancelled: shutting down, or renewNow() rescheduled
    }
    if (std::string failure = issue(); !failure.empty()) {
      tlsLog().error("renewing the xDS serving certificate failed, retrying in 60 s: {}", failure);
      scheduleRenewal(std::chrono::seconds(60));
    }
  });
}

void XdsServerTls::renewNow() {
  if (options_.ca_hosts.empty()) {
    return;
  }
  if (std::string failure = issue(); !failure.empty()) {
    tlsLog().error("reissuing the xDS serving certificate failed: {}", failure);
  }
}

std::shared_ptr<grpc::ServerCredentials> XdsServerTls::credentials() const {
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      key_file_, cert_file_, static_cast<unsigned>(options_.refresh_interval.count()));
  grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
  tls_options.watch_identity_key_cert_pairs();
  tls_options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(tls_options);
}

}  // namespace weft::controlplane
