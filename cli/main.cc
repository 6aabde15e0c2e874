// weftctl: the operator's command line for a Weft mesh.
#include <iostream>

#include "cli/check_command.h"
#include "cli/demo_command.h"
#include "cli/inject_command.h"
#include "cli/install_command.h"
#include "cli/proxy_config_command.h"
#include "cli/proxy_status_command.h"
#include "cli/stat_command.h"
#include "common/app/command_line.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weftctl", "operate a Weft service mesh",
      "weftctl [options] <command> [args]\n\n"
      "Commands:\n"
      "  proxy-status [proxy-id]       connected proxies and whether each runs the latest\n"
      "                                configuration of every resource type\n"
      "  proxy-config <proxy> [listeners|routes|clusters|endpoints|all]\n"
      "                                what one proxy runs, from its admin endpoint; <proxy> is\n"
      "                                its admin address (host:port) or its id\n"
      "  stat [namespace|service]      request rate, success rate and p50/p95/p99 latency of\n"
      "                                each service and of each edge (workload -> service),\n"
      "                                from Prometheus (--prometheus) or straight from proxies\n"
      "                                (--proxy); a namespace (shop, ns/shop) or a service\n"
      "                                (reviews.shop, svc/reviews) narrows it down\n"
      "  demo                          the local mesh demo: as root, a shop of three services\n"
      "                                in network namespaces with traffic capture, sidecars\n"
      "                                and a control plane, and a guided walkthrough; without\n"
      "                                root (or with --loopback), the loopback variant\n"
      "  inject [-f FILE|-]            the sidecar injector's change, applied to the pods and\n"
      "                                pod templates of a YAML stream (default: stdin) and\n"
      "                                written to stdout, for a cluster without the webhook"};
  weft::cli::ControlPlaneTarget control_plane;
  std::string output;
  weft::cli::StatOptions stat;
  weft::cli::DemoOptions demo;
  weft::cli::InstallOptions install;
  int replicas = 0;
  weft::cli::KubeConnectionOptions kube;
  weft::cli::InjectOptions inject;
  std::vector<std::string> arguments;
  po::options_description options("Options");
  options.add_options()("control-plane",
                        po::value(&control_plane.address)->default_value("127.0.0.1:15010"),
                        "the control plane's xDS address (host:port)")(
      "control-plane-ca-file", po::value(&control_plane.ca_file),
      "PEM roots that verify the control plane's TLS certificate (the mesh root when the CA "
      "issued it); given: TLS, unset: plaintext")(
      "control-plane-server-name", po::value(&control_plane.server_name),
      "the name checked against the control plane's certificate (default: the host of "
      "--control-plane)")("output,o", po::value(&output)->default_value("table"),
                          "table or json (proxy-config, stat)")(
      "prometheus", po::value(&stat.prometheus),
      "stat: the Prometheus server that scrapes the proxies (http://host:9090)")(
      "proxy", po::value(&stat.proxies)->composing(),
      "stat: read this proxy's metrics directly, from its status port (/metrics) or admin port "
      "(/stats/prometheus), host:port; repeat for more proxies")(
      "window", po::value(&stat.window),
      "stat: the time the numbers cover (500ms, 5s, 1m, ...); default 1m with --prometheus, "
      "5s with --proxy (the proxies are read twice, that far apart)")(
      "hold", po::value(&demo.hold)->default_value("auto"),
      "demo: after the walkthrough, keep traffic and the live view going until Ctrl-C: yes, "
      "no, or auto (when the output is a terminal)")(
      "loopback", po::bool_switch(&demo.loopback),
      "demo: the loopback variant (no namespaces, no root needed)")(
      "demo-dir", po::value(&demo.demo_dir),
      "demo: the directory of the demo scripts (default $WEFT_DEMO_DIR, else the source "
      "tree's scripts/demo)")("trust-domain", po::value(&install.trust_domain),
                              "install: the mesh's SPIFFE trust domain (adds MeshConfig "
                              "weft-system/default); unset: cluster.local")(
      "replicas", po::value(&replicas), "install: control plane replicas (default 2)")(
      "controlplane-image", po::value(&install.controlplane_image),
      "install: the control plane's image reference")(
      "proxy-image", po::value(&install.proxy_image),
      "install, inject: the sidecar's image reference, for the sidecar injector")(
      "ca-mode", po::value(&install.ca_mode)->default_value("secret"),
      "install: secret (the control plane generates the CA root into Secret "
      "weft-system/weft-ca on first start) or provided (you create that Secret first; the "
      "control plane may only read it)")(
      "namespace-selector", po::value(&install.namespace_selector),
      "install: only namespaces with these labels (key=value[,key=value]) are in the mesh")(
      "injector-tls-dir", po::value(&install.injector_tls_dir),
      "install: the sidecar injector's ca.crt, tls.crt and tls.key (e.g. from Secret "
      "weft-system/weft-injector-tls); unset: a new CA and certificate on every run")(
      "injector-webhook-only", po::bool_switch(&install.injector_webhook_only),
      "install: print only the injector's certificate Secret and MutatingWebhookConfiguration, "
      "for a cluster installed with kubectl apply -k deploy/k8s")(
      "kubeconfig", po::value(&kube.kubeconfig),
      "check, inject: the kubeconfig file (default: the first file of $KUBECONFIG, else "
      "~/.kube/config, else in-cluster); its user needs a token or a client certificate")(
      "context", po::value(&kube.context),
      "check, inject: the kubeconfig context (default current)")(
      "server", po::value(&kube.server),
      "check, inject: the API server (https://host:port) instead of a kubeconfig, with "
      "--token-file and --ca-file")("token-file", po::value(&kube.token_file),
                                    "check, inject: the bearer token for --server")(
      "ca-file", po::value(&kube.ca_file),
      "check, inject: the roots the --server certificate must chain to")(
      "filename,f", po::value(&inject.file),
      "inject: the YAML file to read, - for stdin (the default)")(
      "namespace,n", po::value(&inject.namespace_),
      "inject: the namespace of objects that name none (default: default)")(
      "sidecar-mode", po::value(&inject.sidecar_mode),
      "inject: native (the proxy is an init container that keeps running; Kubernetes 1.29+) "
      "or classic (a regular container); default: the settings' sidecarMode, else native")(
      "mesh-root-file", po::value(&inject.mesh_root_file),
      "inject: PEM roots the proxies verify the control plane with; unset: ConfigMap "
      "weft-system/weft-mesh-root, read from the cluster")(
      "settings-dir", po::value(&inject.settings_dir),
      "inject: a directory with the injector's settings, one file per key of ConfigMap "
      "weft-system/weft-sidecar-injector, as the webhook mounts it; flags override them")(
      "args", po::value(&arguments), "the command and its arguments");
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, positional, values)) {
    return *exit_code;
  }
  if (arguments.empty()) {
    std::cerr << "weftctl: no command given; see weftctl --help\n";
    return 2;
  }
  if (!control_plane.server_name.empty() && control_plane.ca_file.empty()) {
    std::cerr << "weftctl: --control-plane-server-name needs --control-plane-ca-file (TLS)\n";
    return 2;
  }
  const std::string& command = arguments.front();
  if (command == "proxy-status" && arguments.size() <= 2) {
    return weft::cli::runProxyStatus(control_plane, arguments.size() == 2 ? arguments[1] : "",
                                     std::cout, std::cerr);
  }
  if (command == "proxy-config" && arguments.size() >= 2 && arguments.size() <= 3) {
    return weft::cli::runProxyConfig(arguments[1], arguments.size() == 3 ? arguments[2] : "all",
                                     output, control_plane, std::cout, std::cerr);
  }
  if (command == "stat" && arguments.size() <= 2) {
    stat.filter = arguments.size() == 2 ? arguments[1] : "";
    stat.output = output;
    return weft::cli::runStat(stat, std::cout, std::cerr);
  }
  if (command == "demo" && arguments.size() == 1) {
    return weft::cli::runDemo(demo, std::cout, std::cerr);
  }
  if (command == "install" && arguments.size() == 1) {
    if (values.count("replicas") != 0) {
      install.replicas = replicas;
    }
    return weft::cli::runInstall(install, std::cout, std::cerr);
  }
  if (command == "check" && arguments.size() == 1) {
    return weft::cli::runCheck(kube, std::cout, std::cerr);
  }
  if (command == "inject" && arguments.size() == 1) {
    inject.proxy_image = install.proxy_image;
    return weft::cli::runInject(inject, kube, std::cin, std::cout, std::cerr);
  }
  std::cerr << "weftctl: unknown command or wrong arguments: " << command
            << "; see weftctl --help\n";
  return 2;
}
