#include "injector/injector_app.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "common/log/logger.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/signals/signal_watcher.h"
#include "common/version/version.h"
#include "injector/injector_metrics.h"
#include "injector/webhook_server.h"

namespace weft::injector {

namespace {

spdlog::logger& injectorLog() {
  static spdlog::logger& logger = weft::log::logger("injector");
  return logger;
}

// The file's bytes; nullopt when it cannot be read or is over 1 MiB (none of the mounted
// files is near that).
std::optional<std::string> readSmallFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) {
    return std::nullopt;
  }
  const std::streamoff size = file.tellg();
  if (size < 0 || size > 1024 * 1024) {
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(size), '\0');
  file.seekg(0);
  file.read(text.data(), size);
  if (!file) {
    return std::nullopt;
  }
  return text;
}

// Every key file of a mounted ConfigMap and its content, to notice a change.
std::string directoryFingerprint(const std::string& directory) {
  std::map<std::string, std::string> entries;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(".")) {
      entries[name] = readSmallFile(it->path().string()).value_or("<unreadable>");
    }
  }
  std::string fingerprint = ec ? "<" + ec.message() + ">" : "";
  for (const auto& [name, content] : entries) {
    fingerprint += name + '\0' + content + '\0';
  }
  return fingerprint;
}

// The number of certificates in `pem`.
int countCertificates(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int count = 0;
  while (X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_free(certificate);
    ++count;
  }
  BIO_free(bio);
  return count;
}

double notAfterSeconds(boost::asio::ssl::context& context) {
  const X509* leaf = SSL_CTX_get0_certificate(context.native_handle());
  std::tm when{};
  if (leaf == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &when) != 1) {
    return 0;
  }
  return static_cast<double>(timegm(&when));
}

// What the webhook serves with, re-read every reload interval. A file that turns invalid
// keeps the last good value (logged and counted once per new content).
class ReloadableInputs {
 public:
  ReloadableInputs(const InjectorOptions& options, WebhookServer& server, InjectorMetrics& metrics)
      : options_(options), server_(server), metrics_(metrics) {
    defaults_.excluded_namespaces.push_back(options.own_namespace);
    settings_ = std::make_shared<const InjectionSettings>(defaults_);
  }

  void refresh() {
    refreshCertificate();
    refreshSettings();
    refreshMeshRoot();
  }

  const InjectionSettings& settings() const { return *settings_; }

  // Empty when ready.
  std::string notReadyReason() const {
    if (!certificate_loaded_) {
      return "no serving certificate loaded from " + options_.tls_cert_file;
    }
    if (!settings_loaded_) {
      return "the settings in " + options_.config_dir + " are not valid";
    }
    return {};
  }

 private:
  void refreshCertificate() {
    auto certificate = readSmallFile(options_.tls_cert_file);
    auto key = readSmallFile(options_.tls_key_file);
    if (!certificate || !key) {
      failOnce(certificate_failure_, "<missing>", "certificate-reload",
               "cannot read the serving certificate " + options_.tls_cert_file + " or its key " +
                   options_.tls_key_file);
      return;
    }
    std::string fingerprint = *certificate + '\0' + *key;
    if (fingerprint == certificate_fingerprint_) {
      return;
    }
    std::string error;
    auto context = loadServerTlsContext(options_.tls_cert_file, options_.tls_key_file, error);
    if (!context) {
      // The kubelet may have swapped the Secret between the two reads: tried again next time.
      failOnce(certificate_failure_, fingerprint, "certificate-reload",
               "serving certificate not loaded: " + error);
      return;
    }
    certificate_fingerprint_ = std::move(fingerprint);
    certificate_failure_.clear();
    const double expiry = notAfterSeconds(*context);
    metrics_.certificateExpiry(expiry);
    server_.setTlsContext(std::move(context));
    injectorLog().info("serving certificate {} loaded{}", options_.tls_cert_file,
                       certificate_loaded_ ? " again (changed)" : "");
    certificate_loaded_ = true;
  }

  void refreshSettings() {
    if (options_.config_dir.empty()) {
      settings_loaded_ = true;
      return;
    }
    std::string fingerprint = directoryFingerprint(options_.config_dir);
    if (fingerprint == settings_fingerprint_) {
      return;
    }
    InjectionSettings loaded;
    std::string error;
    if (!loadSettingsDirectory(options_.config_dir, defaults_, loaded, error)) {
      failOnce(settings_failure_, fingerprint, "settings-reload",
               "settings not loaded (keeping the last good ones): " + error);
      return;
    }
    loaded.mesh_root_pem = settings_->mesh_root_pem;
    settings_fingerprint_ = std::move(fingerprint);
    settings_failure_.clear();
    injectorLog().info("settings from {}: proxy image {}, {} sidecars, control plane {}:{}",
                       options_.config_dir, loaded.proxy_image, sidecarModeName(loaded.mode),
                       loaded.control_plane_host, loaded.control_plane_port);
    publish(std::move(loaded));
    settings_loaded_ = true;
  }

  void refreshMeshRoot() {
    if (options_.mesh_root_file.empty()) {
      return;
    }
    auto pem = readSmallFile(options_.mesh_root_file);
    if (!pem) {
      // Missing until the control plane publishes it; the volume is optional.
      failOnce(mesh_root_failure_, "<missing>", "mesh-root-reload",
               "no mesh root at " + options_.mesh_root_file +
                   " yet (the control plane publishes it in ConfigMap weft-mesh-root): pods "
                   "are refused until it is there");
      return;
    }
    if (*pem == settings_->mesh_root_pem) {
      return;
    }
    const int count = countCertificates(*pem);
    if (count == 0) {
      failOnce(mesh_root_failure_, *pem, "mesh-root-reload",
               options_.mesh_root_file + " holds no PEM certificate; keeping the last good root");
      return;
    }
    mesh_root_failure_.clear();
    InjectionSettings updated = *settings_;
    updated.mesh_root_pem = std::move(*pem);
    injectorLog().info("mesh root from {}: {} certificate(s)", options_.mesh_root_file, count);
    publish(std::move(updated));
  }

  void publish(InjectionSettings settings) {
    settings_ = std::make_shared<const InjectionSettings>(std::move(settings));
  }

  // Logs and counts a failure once per distinct input, not at every check.
  void failOnce(std::string& last_failure, const std::string& fingerprint, const char* reason,
                const std::string& message) {
    if (last_failure == fingerprint) {
      return;
    }
    last_failure = fingerprint;
    metrics_.error(reason);
    injectorLog().error("{}", message);
  }

  const InjectorOptions& options_;
  WebhookServer& server_;
  InjectorMetrics& metrics_;
  InjectionSettings defaults_;
  std::shared_ptr<const InjectionSettings> settings_;
  std::string certificate_fingerprint_;
  std::string certificate_failure_;
  std::string settings_fingerprint_;
  std::string settings_failure_;
  std::string mesh_root_failure_;
  bool certificate_loaded_ = false;
  bool settings_loaded_ = false;
};

void logReview(const AdmissionAnswer& answer) {
  const InjectionResult& result = answer.result;
  if (answer.http_status != 200) {
    injectorLog().warn("malformed admission review refused: {}", result.message);
  } else if (result.outcome == InjectionOutcome::kInjected) {
    injectorLog().info("{}: {} (review {})", answer.pod, result.message, answer.uid);
  } else if (result.outcome == InjectionOutcome::kRefused) {
    injectorLog().warn("{}: denied ({}): {} (review {})", answer.pod, result.reason, result.message,
                       answer.uid);
  } else {
    injectorLog().debug("{}: not injected ({}): {}", answer.pod, result.reason, result.message);
  }
}

}  // namespace

int runInjector(const InjectorOptions& options) {
  boost::asio::io_context loop(1);
  auto registry = std::make_shared<prometheus::Registry>();
  InjectorMetrics metrics(*registry);
  ReloadableInputs* inputs_view = nullptr;
  WebhookServer server(
      loop,
      [&inputs_view](std::string_view body) {
        return answerAdmissionReview(body, inputs_view->settings());
      },
      [&metrics](const AdmissionAnswer& answer, double seconds) {
        metrics.reviewed(answer, seconds);
        logReview(answer);
      });
  ReloadableInputs inputs(options, server, metrics);
  inputs_view = &inputs;
  inputs.refresh();

  metrics::MetricsEndpoint endpoint(loop);
  bool stopping = false;
  endpoint.addCollectable(registry);
  endpoint.setReadiness([&] { return stopping ? "shutting down" : inputs.notReadyReason(); });
  if (std::string error = endpoint.listen(options.metrics_address); !error.empty()) {
    injectorLog().critical("cannot listen on {} for metrics: {}", options.metrics_address, error);
    return 1;
  }
  if (std::string error = server.listen(options.webhook_address); !error.empty()) {
    injectorLog().critical("cannot listen on {} for admission reviews: {}", options.webhook_address,
                           error);
    return 1;
  }
  injectorLog().info(
      "weft-injector {} serving admission reviews on {} (port {}), metrics on {} "
      "(port {})",
      weft::version(), options.webhook_address, server.port(), options.metrics_address,
      endpoint.port());

  boost::asio::steady_timer reload_timer(loop);
  uint64_t counted_handshakes = 0;
  uint64_t counted_bad_requests = 0;
  std::function<void()> schedule = [&] {
    reload_timer.expires_after(options.reload_interval);
    reload_timer.async_wait([&](const boost::system::error_code& error) {
      if (error || stopping) {
        return;
      }
      inputs.refresh();
      // The server counts on its own; the metrics follow at each tick.
      if (server.handshakeFailures() > counted_handshakes) {
        metrics.error("tls-handshake",
                      static_cast<double>(server.handshakeFailures() - counted_handshakes));
        counted_handshakes = server.handshakeFailures();
      }
      if (server.badRequests() > counted_bad_requests) {
        metrics.error("bad-request",
                      static_cast<double>(server.badRequests() - counted_bad_requests));
        counted_bad_requests = server.badRequests();
      }
      schedule();
    });
  };
  schedule();

  boost::asio::steady_timer shutdown_timer(loop);
  SignalWatcher signals(
      loop,
      [&](int signal_number) {
        if (stopping) {
          return;
        }
        stopping = true;
        reload_timer.cancel();
        injectorLog().info("signal {}: not ready; answering reviews {} ms more, then stopping",
                           signal_number, options.shutdown_delay.count());
        shutdown_timer.expires_after(options.shutdown_delay);
        shutdown_timer.async_wait([&](const boost::system::error_code&) {
          server.stop();
          endpoint.stop();
          loop.stop();
        });
      },
      nullptr);
  loop.run();
  signals.stop();
  injectorLog().info("weft-injector stopped");
  return 0;
}

}  // namespace weft::injector
