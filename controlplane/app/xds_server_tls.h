#pragma once

#include <grpcpp/security/server_credentials.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/ca/certificate_authority.h"
#include "controlplane/ca/serving_certificate.h"

namespace weft::controlplane {

// How the gRPC port (xDS, CA, proxy status) is secured. Nothing set: plaintext.
struct XdsServerTlsOptions {
  // A certificate chain and key the operator provides (e.g. from cert-manager). Re-read when
  // they change on disk.
  std::string cert_file;
  std::string key_file;
  // Or: the mesh CA issues the serving certificate for these DNS names and IP addresses, keeps
  // it in `directory` (one subdirectory per certificate, `current` linking to the newest) and
  // renews it at half life. Proxies verify it with the mesh root.
  std::vector<std::string> ca_hosts;
  std::string directory;
  std::chrono::seconds ca_validity{std::chrono::hours(24)};
  // How often gRPC looks at the files for a new certificate.
  std::chrono::seconds refresh_interval{10};
};

// The server side of the control plane's TLS: gRPC credentials that read the certificate and
// key from files (gRPC's file watcher, so a renewed certificate is served without a restart),
// and, in CA mode, the writer of those files. Runs its renewal timer on the control plane's
// loop thread.
class XdsServerTls {
 public:
  XdsServerTls(boost::asio::io_context& loop, XdsServerTlsOptions options,
               const ca::CertificateAuthority* authority);

  // Checks the files (file mode) or issues the first certificate (CA mode). An error text,
  // empty on success; the server must not start without it.
  std::string start();

  // Issues a new certificate now (CA mode; nothing otherwise): after a CA reload, so the
  // serving certificate chains to the current signing certificate.
  void renewNow();

  std::shared_ptr<grpc::ServerCredentials> credentials() const;

  // Where the chain and key are read from.
  const std::string& certFile() const { return cert_file_; }
  const std::string& keyFile() const { return key_file_; }

 private:
  std::string issue();
  std::string install(const ca::ServingCredentials& issued);
  void scheduleRenewal(std::chrono::system_clock::duration after);

  const XdsServerTlsOptions options_;
  const ca::CertificateAuthority* const authority_;
  boost::asio::steady_timer renewal_;
  std::string cert_file_;
  std::string key_file_;
  // CA mode: generations of the pair written so far, and the directory of the one before the
  // current.
  uint64_t generation_ = 0;
  std::string previous_;
};

}  // namespace weft::controlplane
