// The benchmark's shape (1,000 services, 10,000 endpoints, 1,000 proxies): translating every
// proxy after a change must stay far below the 200 ms the whole push may take, which needs
// the sharing to work. The times are printed; the assertions check that every proxy got its
// resources and that namespaces share them.

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "controlplane/translate/translator.h"
#include "tests/unit/controlplane/translate/model_builder.h"

namespace weft::controlplane::testing {
namespace {

constexpr int kNamespaces = 10;
constexpr int kServicesPerNamespace = 100;
constexpr int kEndpointsPerService = 10;

// `local`: the first instance of each service runs a sidecar in local mode (every proxy with
// its own ports, as on one host); otherwise all are pods with traffic capture.
MeshModelPtr benchmarkModel(bool mesh_wide, bool local) {
  ModelBuilder builder;
  if (mesh_wide) {
    builder.meshConfig("visibility: {mode: MESH}\n");
  }
  MeshModel& model = builder.model();
  for (int n = 0; n < kNamespaces; ++n) {
    const std::string namespace_ = "ns-" + std::to_string(n);
    for (int s = 0; s < kServicesPerNamespace; ++s) {
      const std::string name = "svc-" + std::to_string(s);
      builder.service(namespace_, name, {{"app", name}}, {port(8080)});
      for (int e = 0; e < kEndpointsPerService; ++e) {
        Workload workload;
        workload.meta.name = name + "-" + std::to_string(e);
        workload.meta.namespace_ = namespace_;
        workload.meta.labels = {{"app", name}};
        workload.spec.set_address("10." + std::to_string(n) + "." + std::to_string(s) + "." +
                                  std::to_string(e + 1));
        if (local && e == 0) {
          const auto proxy = static_cast<uint32_t>(20000 + 2 * (n * kServicesPerNamespace + s));
          workload.spec.mutable_sidecar()->set_inbound_port(proxy);
          workload.spec.mutable_sidecar()->set_outbound_port(proxy + 1);
        }
        const std::string key = objectKey(namespace_, workload.meta.name);
        model.workloads[key] = std::make_shared<const Workload>(std::move(workload));
      }
    }
  }
  return builder.build();
}

void translateAll(bool mesh_wide, bool local, size_t expected_outbound_clusters) {
  const MeshModelPtr model = benchmarkModel(mesh_wide, local);
  const auto start = std::chrono::steady_clock::now();
  Translator translator(model);
  const auto built = std::chrono::steady_clock::now();
  std::vector<ProxyResources> proxies;
  proxies.reserve(kNamespaces * kServicesPerNamespace);
  for (int n = 0; n < kNamespaces; ++n) {
    for (int s = 0; s < kServicesPerNamespace; ++s) {
      proxies.push_back(translator.forProxy(
          proxyNode("ns-" + std::to_string(n), "svc-" + std::to_string(s) + "-0")));
    }
  }
  const auto done = std::chrono::steady_clock::now();
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  std::cout << (mesh_wide ? "mesh-wide" : "per-namespace") << " visibility, "
            << (local ? "local mode" : "capture") << ": model "
            << duration_cast<microseconds>(built - start).count() / 1000.0 << " ms, "
            << proxies.size() << " proxies "
            << duration_cast<microseconds>(done - built).count() / 1000.0 << " ms\n";

  for (const ProxyResources& resources : proxies) {
    // The proxy's own "inbound/8080" plus the visible services (and, with capture, the
    // catch-all chains' "passthrough" and "inbound-passthrough").
    ASSERT_EQ(resources.of(ResourceType::kCluster).size(),
              expected_outbound_clusters + (local ? 1 : 3));
    ASSERT_EQ(resources.of(ResourceType::kEndpoints).size(), expected_outbound_clusters);
    ASSERT_EQ(resources.of(ResourceType::kListener).size(), 2u);
  }
  // Proxies of one namespace hold the very same outbound resources.
  const ProxyResources& first = proxies[0];
  const ProxyResources& last_of_namespace = proxies[kServicesPerNamespace - 1];
  EXPECT_EQ(first.of(ResourceType::kEndpoints), last_of_namespace.of(ResourceType::kEndpoints));
  if (!local) {
    EXPECT_EQ(first.of(ResourceType::kListener).back(),
              last_of_namespace.of(ResourceType::kListener).back());
  }
  EXPECT_TRUE(translator.problems().empty());
}

TEST(ScaleTest, ThousandPodsWithNamespaceVisibility) {
  translateAll(false, false, kServicesPerNamespace);
}

TEST(ScaleTest, ThousandPodsWithMeshVisibility) {
  translateAll(true, false, kNamespaces * kServicesPerNamespace);
}

TEST(ScaleTest, ThousandLocalModeProxiesWithNamespaceVisibility) {
  translateAll(false, true, kServicesPerNamespace);
}

TEST(ScaleTest, ThousandLocalModeProxiesWithMeshVisibility) {
  translateAll(true, true, kNamespaces * kServicesPerNamespace);
}

}  // namespace
}  // namespace weft::controlplane::testing
