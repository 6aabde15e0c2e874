#include "controlplane/app/xds_server_tls.h"

#include <fmt/chrono.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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
    cert_file_ = options_.directory + "/current/tls.crt";
    key_file_ = options_.directory + "/current/tls.key";
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
  if (std::string error = install(*issued); !error.empty()) {
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

// gRPC's file watcher reads the key and the certificate one after the other, and pairs them
// without checking that they match; two files replaced one by one could be read half old, half
// new, and every handshake would fail until its next look. So each certificate goes into a new
// directory, and the symbolic link `current`, which the watcher reads through, is swapped in
// one rename: a read sees the old pair or the new one (the watcher reads again when a file's
// time changed during its read). The previous directory stays until the next swap, for a read
// that began before this one.
std::string XdsServerTls::install(const ca::ServingCredentials& issued) {
  // Unique across restarts too: an earlier process's directories are cleared below.
  const std::string name = "gen-" + std::to_string(issued.not_before.time_since_epoch().count()) +
                           "-" + std::to_string(::getpid()) + "-" + std::to_string(++generation_);
  const std::string directory = options_.directory + "/" + name;
  if (::mkdir(directory.c_str(), 0700) != 0) {
    return "cannot create " + directory + ": " + std::strerror(errno);
  }
  if (std::string error = fs::replaceFileAtomically(directory + "/tls.key", issued.key_pem, 0600);
      !error.empty()) {
    return error;
  }
  if (std::string error = fs::replaceFileAtomically(directory + "/tls.crt", issued.chain_pem, 0644);
      !error.empty()) {
    return error;
  }
  const std::string link = options_.directory + "/current";
  const std::string staged = link + ".tmp";
  ::unlink(staged.c_str());
  if (::symlink(name.c_str(), staged.c_str()) != 0 || ::rename(staged.c_str(), link.c_str()) != 0) {
    return "cannot point " + link + " at " + name + ": " + std::strerror(errno);
  }
  // Everything but the new pair and the one before it goes.
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(options_.directory, ignored)) {
    const std::string entry_name = entry.path().filename().string();
    if (entry_name.rfind("gen-", 0) == 0 && entry_name != name && entry_name != previous_) {
      std::filesystem::remove_all(entry.path(), ignored);
    }
  }
  previous_ = name;
  return {};
}

void XdsServerTls::scheduleRenewal(std::chrono::system_clock::duration after) {
  // At least a minute apart: near the CA's own expiry half a lifetime gets short.
  renewal_.expires_after(std::max<std::chrono::steady_clock::duration>(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(after),
      std::chrono::seconds(60)));
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
    tlsLog().error("reissuing the xDS serving certificate failed, retrying in 60 s: {}", failure);
    scheduleRenewal(std::chrono::seconds(60));
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
