// How the Kubernetes source reads API objects: Services and weft.dev resources as manifests
// (what the API server adds is not read), pods as Workloads, EndpointSlices as readiness.
#include "controlplane/source/kubernetes_objects.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace weft::controlplane {
namespace {

boost::json::object parse(std::string_view text) {
  return boost::json::parse(text).as_object();
}

// A Service as the API server returns it: everything it fills in is there.
constexpr std::string_view kServiceFromApi = R"({
  "kind": "Service", "apiVersion": "v1",
  "metadata": {"name": "reviews", "namespace": "shop", "uid": "4c1f",
               "resourceVersion": "812", "creationTimestamp": "2026-11-28T10:00:00Z",
               "labels": {"app": "reviews"},
               "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
  "spec": {"selector": {"app": "reviews"}, "type": "ClusterIP",
           "clusterIP": "10.96.4.7", "clusterIPs": ["10.96.4.7"], "ipFamilies": ["IPv4"],
           "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
           "internalTrafficPolicy": "Cluster",
           "ports": [{"name": "http", "port": 80, "targetPort": 9080, "protocol": "TCP"},
                     {"name": "grpc", "port": 81, "targetPort": "grpc", "protocol": "TCP",
                      "appProtocol": "grpc"}]},
  "status": {"loadBalancer": {}}
})";

TEST(KubernetesObjectsTest, ServiceFromTheApiIsReadLikeItsManifest) {
  const ManifestFile file = readApiObject(parse(kServiceFromApi), "v1", "Service", {});
  EXPECT_EQ(file.source, "Service shop/reviews");
  ASSERT_EQ(file.documents.size(), 1u);
  const ManifestDocument& document = file.documents[0];
  ASSERT_EQ(document.result, DocumentResult::kAccepted)
      << (document.errors.empty() ? "" : document.errors[0].toString());
  const auto& service = std::get<Service>(document.object->value);
  EXPECT_EQ(service.meta.namespace_, "shop");
  EXPECT_EQ(service.meta.origin, "kubernetes");
  EXPECT_EQ(service.selector.at("app"), "reviews");
  ASSERT_EQ(service.ports.size(), 2u);
  EXPECT_EQ(service.ports[0].target_port, 9080u);
  EXPECT_EQ(service.ports[1].target_port_name, "grpc");
  EXPECT_EQ(service.ports[1].protocol, PortProtocol::kGrpc);
}

TEST(KubernetesObjectsTest, ListItemWithoutTypeMetaTakesTheResourcesVersion) {
  // kube-apiserver's JSON lists of built-in kinds leave apiVersion and kind off each item.
  boost::json::object item = parse(kServiceFromApi);
  item.erase("apiVersion");
  item.erase("kind");
  const ManifestFile file = readApiObject(item, "v1", "Service", {});
  ASSERT_EQ(file.documents.size(), 1u);
  EXPECT_EQ(file.documents[0].result, DocumentResult::kAccepted)
      << (file.documents[0].errors.empty() ? "" : file.documents[0].errors[0].toString());
}

TEST(KubernetesObjectsTest, CustomResourceKeepsItsGenerationAndIgnoresStatus) {
  const ManifestFile file = readApiObject(parse(R"({
    "apiVersion": "weft.dev/v1alpha1", "kind": "TrafficRoute",
    "metadata": {"name": "canary", "namespace": "shop", "generation": 3, "uid": "9a",
                 "resourceVersion": "77"},
    "spec": {"hosts": ["reviews"],
             "rules": [{"backends": [{"service": "reviews", "weight": 100}]}]},
    "status": {"conditions": [{"type": "Accepted", "status": "True"}]}
  })"),
                                          "weft.dev/v1alpha1", "TrafficRoute", {});
  ASSERT_EQ(file.documents.size(), 1u);
  const ManifestDocument& document = file.documents[0];
  ASSERT_EQ(document.result, DocumentResult::kAccepted)
      << (document.errors.empty() ? "" : document.errors[0].toString());
  const auto& route = std::get<TrafficRoute>(document.object->value);
  EXPECT_EQ(route.meta.generation, 3);
  EXPECT_EQ(route.spec.hosts(0), "reviews");
}

TEST(KubernetesObjectsTest, InvalidCustomResourceIsRejectedWithTheField) {
  const ManifestFile file = readApiObject(parse(R"({
    "apiVersion": "weft.dev/v1alpha1", "kind": "TrafficRoute",
    "metadata": {"name": "bad", "namespace": "shop"},
    "spec": {"hosts": ["reviews"],
             "rules": [{"backends": [{"service": "reviews", "weight": 100, "colour": "red"}]}]}
  })"),
                                          "weft.dev/v1alpha1", "TrafficRoute", {});
  ASSERT_EQ(file.documents.size(), 1u);
  const ManifestDocument& document = file.documents[0];
  ASSERT_EQ(document.result, DocumentResult::kRejected);
  ASSERT_FALSE(document.errors.empty());
  EXPECT_EQ(document.errors[0].field_path, "spec.rules[0].backends[0]");
  EXPECT_NE(document.errors[0].reason.find("colour"), std::string::npos)
      << document.errors[0].reason;
  EXPECT_EQ(document.name, "bad");
}

constexpr std::string_view kMeshedPod = R"({
  "metadata": {"name": "reviews-v1-7d9f", "namespace": "shop",
               "labels": {"app": "reviews", "version": "v1"},
               "annotations": {"note": "x"}},
  "spec": {"serviceAccountName": "reviews", "nodeName": "node-1",
           "initContainers": [{"name": "weft-init", "ports": [{"containerPort": 7}]},
                              {"name": "weft-proxy", "restartPolicy": "Always",
                               "ports": [{"name": "admin", "containerPort": 15000}]}],
           "containers": [{"name": "app", "ports": [
               {"name": "http", "containerPort": 9080, "protocol": "TCP"},
               {"name": "dns", "containerPort": 53, "protocol": "UDP"},
               {"containerPort": 9080, "protocol": "TCP"},
               {"name": "grpc", "containerPort": 9090}]}]},
  "status": {"phase": "Running", "podIP": "10.244.1.7"}
})";

TEST(KubernetesObjectsTest, PodWithNativeSidecarIsMeshedWithItsAppPorts) {
  const std::optional<PodInfo> pod = readPod(parse(kMeshedPod));
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->ip, "10.244.1.7");
  EXPECT_EQ(pod->service_account, "reviews");
  EXPECT_TRUE(pod->meshed);
  // UDP is not the mesh's, a port declared twice counts once, init and sidecar ports are not
  // the application's.
  ASSERT_EQ(pod->ports.size(), 2u);
  EXPECT_EQ(pod->ports[0], (std::pair<std::string, uint32_t>{"http", 9080}));
  EXPECT_EQ(pod->ports[1], (std::pair<std::string, uint32_t>{"grpc", 9090}));
}

TEST(KubernetesObjectsTest, PodWithoutAddressOrFinishedIsNoWorkload) {
  boost::json::object pod = parse(kMeshedPod);
  pod["status"].as_object().erase("podIP");
  EXPECT_FALSE(readPod(pod));
  pod = parse(kMeshedPod);
  pod["status"].as_object()["phase"] = "Succeeded";
  EXPECT_FALSE(readPod(pod));
  pod = parse(kMeshedPod);
  pod["status"].as_object()["podIP"] = "not-an-ip";
  EXPECT_FALSE(readPod(pod));
}

TEST(KubernetesObjectsTest, PodWithoutSidecarOrAccountIsPlainDefault) {
  boost::json::object pod = parse(kMeshedPod);
  pod["spec"].as_object().erase("initContainers");
  pod["spec"].as_object().erase("serviceAccountName");
  const std::optional<PodInfo> read = readPod(pod);
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->meshed);
  EXPECT_EQ(read->service_account, "default");
}

TEST(KubernetesObjectsTest, PodWorkloadCarriesAddressIdentityCaptureAndReadiness) {
  const ManifestFile file = podWorkload(*readPod(parse(kMeshedPod)), false, "zone-b");
  EXPECT_EQ(file.source, "Pod shop/reviews-v1-7d9f");
  ASSERT_EQ(file.documents.size(), 1u);
  const auto& workload = std::get<Workload>(file.documents[0].object->value);
  EXPECT_EQ(workload.meta.name, "reviews-v1-7d9f");
  EXPECT_EQ(workload.meta.labels.at("version"), "v1");
  EXPECT_EQ(workload.spec.address(), "10.244.1.7");
  EXPECT_EQ(workload.spec.service_account(), "reviews");
  EXPECT_TRUE(workload.spec.traffic_capture());
  EXPECT_EQ(workload.spec.locality().zone(), "zone-b");
  ASSERT_EQ(workload.spec.ports_size(), 2);
  EXPECT_EQ(workload.spec.ports(1).name(), "grpc");
  EXPECT_FALSE(workload.ready);
}

TEST(KubernetesObjectsTest, EndpointSliceListsPodsWithReadinessAndZone) {
  const auto pods = readEndpointSlicePods(parse(R"({
    "metadata": {"name": "reviews-x7", "namespace": "shop",
                 "labels": {"kubernetes.io/service-name": "reviews"}},
    "addressType": "IPv4",
    "endpoints": [
      {"addresses": ["10.244.1.7"], "conditions": {"ready": true}, "zone": "zone-b",
       "targetRef": {"kind": "Pod", "namespace": "shop", "name": "reviews-v1-7d9f"}},
      {"addresses": ["10.244.1.8"], "conditions": {"ready": false, "terminating": true},
       "targetRef": {"kind": "Pod", "namespace": "shop", "name": "reviews-v1-old"}},
      {"addresses": ["10.244.1.9"],
       "targetRef": {"kind": "Pod", "namespace": "shop", "name": "reviews-v2-new"}},
      {"addresses": ["192.0.2.1"]}
    ],
    "ports": [{"name": "http", "port": 9080}]
  })"));
  ASSERT_EQ(pods.size(), 3u);
  EXPECT_TRUE(pods.at("shop/reviews-v1-7d9f").ready);
  EXPECT_EQ(pods.at("shop/reviews-v1-7d9f").zone, "zone-b");
  EXPECT_FALSE(pods.at("shop/reviews-v1-old").ready);
  // No conditions: consumers must take it as ready (discovery.k8s.io/v1).
  EXPECT_TRUE(pods.at("shop/reviews-v2-new").ready);
}

TEST(KubernetesObjectsTest, ServingAndTerminatingOverrideAForcedReady) {
  // A Service with publishNotReadyAddresses gets ready=true for every pod; serving still says
  // whether the pod itself is ready, and terminating whether it is leaving.
  const auto pods = readEndpointSlicePods(parse(R"({
    "metadata": {"name": "peers-1", "namespace": "shop"},
    "endpoints": [
      {"addresses": ["10.0.0.1"], "conditions": {"ready": true, "serving": false},
       "targetRef": {"kind": "Pod", "name": "probe-failing"}},
      {"addresses": ["10.0.0.2"],
       "conditions": {"ready": true, "serving": true, "terminating": true},
       "targetRef": {"kind": "Pod", "name": "leaving"}},
      {"addresses": ["10.0.0.3"], "conditions": {"ready": true, "serving": true},
       "targetRef": {"kind": "Pod", "name": "fine"}}
    ]
  })"));
  ASSERT_EQ(pods.size(), 3u);
  // targetRef without a namespace: the slice's own.
  EXPECT_FALSE(pods.at("shop/probe-failing").ready);
  EXPECT_FALSE(pods.at("shop/leaving").ready);
  EXPECT_TRUE(pods.at("shop/fine").ready);
}

}  // namespace
}  // namespace weft::controlplane
