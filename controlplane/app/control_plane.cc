#include "controlplane/app/control_plane.h"

#include <prometheus/registry.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "common/kube/kubeconfig.h"
#include "common/kube/leader_elector.h"
#include "common/log/logger.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/signals/signal_watcher.h"
#include "controlplane/app/kubernetes_source_metrics.h"
#include "controlplane/app/source_metrics.h"
#include "controlplane/app/xds_server_tls.h"
#include "controlplane/ca/ca_metrics.h"
#include "controlplane/ca/certificate_authority.h"
#include "controlplane/ca/certificate_service.h"
#include "controlplane/ca/directory_ca_storage.h"
#include "controlplane/ca/mesh_root_publisher.h"
#include "controlplane/ca/secret_ca_storage.h"
#include "controlplane/ca/token_file_authenticator.h"
#include "controlplane/ca/token_review_authenticator.h"
#include "controlplane/source/directory_source.h"
#include "controlplane/source/kubernetes_source.h"
#include "controlplane/status/status_writer.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/translator.h"
#include "controlplane/xds/discovery_server.h"
#include "controlplane/xds/proxy_status_service.h"
#include "controlplane/xds/push_debouncer.h"
#include "controlplane/xds/xds_metrics.h"

namespace weft::controlplane {

namespace {

// How long one request to the Kubernetes API may take (a TokenReview holds up one certificate
// request; the Secret, the start).
constexpr std::chrono::seconds kKubeApiTimeout{5};

spdlog::logger& cpLog() {
  static spdlog::logger& logger = weft::log::logger("controlplane");
  return logger;
}

std::string defaultId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) {
    return "weft-controlplane";
  }
  return std::string("weft-controlplane-") + host;
}

// "0.0.0.0:15010" with the port replaced by the one bound.
std::string withPort(const std::string& address, int port) {
  return address.substr(0, address.rfind(':') + 1) + std::to_string(port);
}

int fail(const std::string& message) {
  std::cerr << "weft-controlplane: " << message << "\n";
  cpLog().error("{}", message);
  return 1;
}

}  // namespace

int runControlPlane(const ControlPlaneOptions& options) {
  const std::string id = options.id.empty() ? defaultId() : options.id;
  boost::asio::io_context loop;

  auto registry = std::make_shared<prometheus::Registry>();
  auto xds_metrics = std::make_shared<XdsMetrics>(*registry);
  DiscoveryServer discovery(loop, id, xds_metrics);
  ProxyStatusService proxy_status(loop, discovery, id);

  // The CA is ready (its root loaded or generated, the token file read) before the port opens.
  std::unique_ptr<ca::CertificateAuthority> authority;
  std::unique_ptr<ca::CallerAuthenticator> authenticator;
  std::unique_ptr<ca::CertificateService> certificate_service;
  std::optional<kube::ApiServer> kube_server;
  // Inline kubeconfig credentials are written here for the clients, and removed at exit.
  std::string kube_runtime_dir;
  struct RemoveDirectory {
    const std::string& path;
    ~RemoveDirectory() {
      if (!path.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    }
  } remove_runtime_dir{kube_runtime_dir};
  if (options.kubernetes || !options.ca_secret_name.empty() || options.token_review) {
    tls::Result<kube::ApiServer> server = tls::Error{""};
    if (!options.kubeconfig.empty()) {
      std::string pattern = (std::filesystem::temp_directory_path() / "weft-kube-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        return fail("cannot create a private directory for the kubeconfig's credentials");
      }
      kube_runtime_dir = pattern;
      server =
          kube::kubeconfigApiServer(options.kubeconfig, options.kube_context, kube_runtime_dir);
    } else if (options.kube_api_server.empty()) {
      server = kube::inClusterApiServer();
    } else {
      server = kube::apiServerFromUrl(options.kube_api_server, options.kube_token_file,
                                      options.kube_ca_file);
    }
    if (!server) {
      return fail("the Kubernetes API: " + server.error());
    }
    kube_server = std::move(*server);
  }
  if (options.hasCa()) {
    std::optional<kube::ApiClient> kube_api;
    if (kube_server) {
      kube_api.emplace(*kube_server, kKubeApiTimeout);
    }
    auto ca_metrics = std::make_shared<ca::CaMetrics>(*registry);
    ca::CertificateAuthorityOptions ca_options;
    ca_options.max_validity = options.ca_max_validity;
    std::unique_ptr<ca::CaStorage> storage;
    if (!options.ca_dir.empty()) {
      storage = std::make_unique<ca::DirectoryCaStorage>(options.ca_dir);
    } else {
      storage = std::make_unique<ca::SecretCaStorage>(*kube_api, options.ca_secret_namespace,
                                                      options.ca_secret_name);
    }
    authority =
        std::make_unique<ca::CertificateAuthority>(std::move(storage), ca_options, ca_metrics);
    if (std::string error = authority->start(); !error.empty()) {
      return fail(error);
    }
    if (options.token_review) {
      authenticator =
          std::make_unique<ca::TokenReviewAuthenticator>(*kube_api, options.token_review_audiences);
      cpLog().info("CA callers are authenticated by TokenReview at {}", kube_api->server().url());
    } else {
      auto token_file = std::make_unique<ca::TokenFileAuthenticator>(options.bootstrap_token_file);
      if (std::string error = token_file->load(); !error.empty()) {
        return fail(error);
      }
      authenticator = std::move(token_file);
    }
    certificate_service =
        std::make_unique<ca::CertificateService>(*authority, *authenticator, ca_metrics);
  }

  // TLS on the gRPC port, ready (files checked, or the first certificate issued) before it
  // opens.
  std::unique_ptr<XdsServerTls> xds_tls;
  if (!options.xds_tls_cert_file.empty() || !options.xds_tls_hosts.empty()) {
    XdsServerTlsOptions tls_options;
    tls_options.cert_file = options.xds_tls_cert_file;
    tls_options.key_file = options.xds_tls_key_file;
    tls_options.ca_hosts = options.xds_tls_hosts;
    tls_options.directory =
        options.xds_tls_dir.empty() ? options.ca_dir + "/xds-serving" : options.xds_tls_dir;
    xds_tls = std::make_unique<XdsServerTls>(loop, tls_options, authority.get());
    if (std::string error = xds_tls->start(); !error.empty()) {
      return fail(error);
    }
  }

  grpc::ServerBuilder builder;
  int xds_port = 0;
  builder.AddListeningPort(options.xds_address,
                           xds_tls ? xds_tls->credentials() : grpc::InsecureServerCredentials(),
                           &xds_port);
  builder.RegisterService(&discovery);
  builder.RegisterService(&proxy_status);
  if (certificate_service) {
    builder.RegisterService(certificate_service.get());
  }
  // Proxies keep their stream for hours and ping it; allow that without a GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (!grpc_server || xds_port == 0) {
    return fail("cannot listen on " + options.xds_address + " for xDS");
  }
  cpLog().info("xDS server listening on {} ({})", withPort(options.xds_address, xds_port),
               xds_tls ? "TLS" : "plaintext");

  metrics::MetricsEndpoint metrics(loop);
  if (std::string error = metrics.listen(options.metrics_address); !error.empty()) {
    grpc_server->Shutdown();
    return fail("cannot listen on " + options.metrics_address + " for metrics: " + error);
  }
  cpLog().info("metrics listening on {}", withPort(options.metrics_address, metrics.port()));

  // The pipeline: the source's models go through the debouncer into translation.
  std::shared_ptr<Translator> translator;
  // The CA's trust bundle, which translation sends to proxies as the "trust-bundle" Secret and
  // which switches mesh mTLS on; null without a CA. Replaced when a reload changes the roots.
  std::shared_ptr<const std::string> trust_bundle;
  if (authority) {
    trust_bundle = std::make_shared<const std::string>(authority->material()->trust_bundle_pem);
  }
  // Cluster mode's CA publishes that bundle for the sidecar injector to put into pods.
  std::unique_ptr<kube::AsyncApiClient> mesh_root_client;
  std::unique_ptr<ca::MeshRootPublisher> mesh_root;
  if (authority && kube_server && !options.mesh_root_configmap_name.empty()) {
    mesh_root_client = std::make_unique<kube::AsyncApiClient>(loop.get_executor(), *kube_server);
    ca::MeshRootPublisherOptions publisher_options;
    publisher_options.namespace_ = options.mesh_root_configmap_namespace;
    publisher_options.name = options.mesh_root_configmap_name;
    mesh_root =
        std::make_unique<ca::MeshRootPublisher>(*mesh_root_client, publisher_options, *registry);
    mesh_root->publish(*trust_bundle);
  }
  std::atomic<size_t> problems{0};
  std::set<std::string> reported_problems;
  std::optional<std::chrono::steady_clock::time_point> pending_since;
  std::unique_ptr<MeshSource> source;
  PushDebouncer debouncer(loop, options.debounce, options.max_debounce, [&] {
    const auto changed_at = pending_since.value_or(std::chrono::steady_clock::now());
    pending_since.reset();
    // The previous translation lends what the change did not touch, and is freed only after
    // the push: tearing it down (every resource of the old model) is no part of convergence.
    std::shared_ptr<Translator> previous = std::move(translator);
    translator = std::make_shared<Translator>(source->current(), previous.get(), trust_bundle);
    discovery.setConfiguration(
        [translator](const weft::v1::Node& node) {
          return std::make_shared<const ProxyResources>(translator->forProxy(node));
        },
        changed_at);
    // Problems of the model are known now; those of a scope once a proxy of it was served.
    // problems() returns a copy: one copy, so that both iterators are of the same vector.
    const std::vector<std::string> found = translator->problems();
    std::set<std::string> now(found.begin(), found.end());
    for (const std::string& problem : now) {
      if (reported_problems.count(problem) == 0) {
        cpLog().warn("not translated: {}", problem);
      }
    }
    problems = now.size();
    reported_problems = std::move(now);
    boost::asio::post(loop, [previous = std::move(previous)] {});
  });

  auto on_model = [&](MeshModelPtr model) {
    if (authority && model) {
      // The trust domain comes from MeshConfig; the CA follows it without waiting for the
      // debounced translation.
      authority->setTrustDomain(meshSettings(*model).trust_domain);
    }
    if (!pending_since) {
      // From the first event of the change, so reading it is counted.
      pending_since = source->changeNoticedAt();
    }
    debouncer.notify();
  };
  std::shared_ptr<prometheus::Collectable> source_metrics;
  // Cluster mode: the replica holding the Lease writes the resources' status.
  std::unique_ptr<kube::AsyncApiClient> status_client;
  std::unique_ptr<StatusWriter> status_writer;
  std::unique_ptr<kube::LeaderElector> elector;
  if (options.kubernetes) {
    KubernetesSourceOptions source_options;
    source_options.server = *kube_server;
    source_options.namespace_selector = options.namespace_selector;
    source_options.reflector.resync_period = options.kube_resync_period;
    source_options.reflector.watch_timeout = options.kube_watch_timeout;
    source_options.reflector.page_size = options.kube_list_page_size;
    auto kubernetes = std::make_unique<KubernetesSource>(loop, source_options, on_model);
    status_client = std::make_unique<kube::AsyncApiClient>(loop.get_executor(), *kube_server);
    status_writer = std::make_unique<StatusWriter>(
        *status_client, [source = kubernetes.get()] { return source->outcomes(); });
    kubernetes->setOutcomesCallback([writer = status_writer.get()] { writer->outcomesChanged(); });
    kube::LeaderElectionOptions election;
    election.namespace_ = options.leader_election_namespace;
    election.name = options.leader_election_lease;
    election.identity = id;
    election.lease_duration = options.leader_lease_duration;
    // client-go's proportions: renew within 2/3 of the lease, look every 2/15 of it.
    election.renew_deadline = options.leader_lease_duration * 2 / 3;
    election.retry_period = options.leader_lease_duration * 2 / 15;
    elector = std::make_unique<kube::LeaderElector>(
        *status_client, election,
        [writer = status_writer.get()](bool leading) { writer->setLeading(leading); });
    source_metrics = std::make_shared<KubernetesSourceMetrics>(
        [source = kubernetes.get()] { return source->stats(); },
        [&problems] { return problems.load(); },
        [elector = elector.get(), writer = status_writer.get()] {
          return LeadershipStats{elector->stats(), writer->stats()};
        });
    source = std::move(kubernetes);
  } else {
    DirectorySourceOptions source_options;
    source_options.directory = options.config_dir;
    auto directory = std::make_unique<DirectorySource>(loop, source_options, on_model);
    source_metrics =
        std::make_shared<SourceMetrics>([source = directory.get()] { return source->stats(); },
                                        [&problems] { return problems.load(); });
    source = std::move(directory);
  }
  metrics.addCollectable(registry);
  metrics.addCollectable(source_metrics);
  metrics.setReadiness([&source] { return source->notReadyReason(); });
  if (std::string error = source->start(); !error.empty()) {
    grpc_server->Shutdown();
    return fail(error);
  }
  if (elector) {
    elector->start();
  }
  cpLog().info("weft-controlplane {} ready: {}{}", id, source->describe(),
               authority ? ", CA from " + authority->storage().location() : std::string());

  std::thread stopper;
  bool stopping = false;
  SignalWatcher signals(
      loop,
      [&](int signal_number) {
        if (stopper.joinable() || stopping) {
          return;
        }
        cpLog().info("signal {}: closing every stream and stopping", signal_number);
        source->stop();
        metrics.stop();
        if (mesh_root) {
          mesh_root->stop();
        }
        discovery.closeAll();
        // Shutdown waits for the streams' last callbacks, which post to this loop: wait for
        // it on another thread, then stop the loop.
        auto shut_down = [&] {
          stopper = std::thread([&] {
            grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
            loop.stop();
          });
        };
        if (elector) {
          // A leader hands the Lease back first, so another replica writes status at once.
          status_writer->stop();
          stopping = true;
          elector->stop(shut_down);
        } else {
          shut_down();
        }
      },
      [&](int) {
        source->reload();
        if (authority) {
          if (std::string error = authority->reload(); !error.empty()) {
            cpLog().error("{}", error);
          } else if (const std::string& pem = authority->material()->trust_bundle_pem;
                     pem != *trust_bundle) {
            // Root rotation: every proxy gets the new bundle (through a translation).
            trust_bundle = std::make_shared<const std::string>(pem);
            debouncer.notify();
          }
          if (mesh_root) {
            // Also when unchanged: the ConfigMap is read again and repaired if it differs.
            mesh_root->publish(*trust_bundle);
          }
          if (xds_tls) {
            // Chained to the signing certificate now in use.
            xds_tls->renewNow();
          }
        }
      });
  loop.run();
  if (stopper.joinable()) {
    stopper.join();
  }
  signals.stop();
  cpLog().info("weft-controlplane stopped");
  return 0;
}

}  // namespace weft::controlplane
