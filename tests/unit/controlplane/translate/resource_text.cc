#include "tests/unit/controlplane/translate/resource_text.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "weft/v1/authorization.pb.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::controlplane::testing {

std::unique_ptr<google::protobuf::Message> parseResource(const BuiltResource& resource) {
  std::unique_ptr<google::protobuf::Message> message;
  switch (resource.type) {
    case ResourceType::kSecret:
      message = std::make_unique<weft::v1::Secret>();
      break;
    case ResourceType::kCluster:
      message = std::make_unique<weft::v1::Cluster>();
      break;
    case ResourceType::kEndpoints:
      message = std::make_unique<weft::v1::ClusterLoadAssignment>();
      break;
    case ResourceType::kListener:
      message = std::make_unique<weft::v1::Listener>();
      break;
    case ResourceType::kRoute:
      message = std::make_unique<weft::v1::RouteConfiguration>();
      break;
    case ResourceType::kAuthorization:
      message = std::make_unique<weft::v1::AuthorizationPolicy>();
      break;
  }
  if (!message->ParseFromString(resource.bytes)) {
    ADD_FAILURE() << "resource " << resource.name << " does not parse";
    return nullptr;
  }
  return message;
}

std::string renderResources(const ProxyResources& resources) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string text;
  for (ResourceType type : kPushOrder) {
    for (const BuiltResourcePtr& resource : resources.of(type)) {
      text.append("-- ")
          .append(shortName(type))
          .append(" ")
          .append(resource->name)
          .append(" @")
          .append(resource->version)
          .append("\n");
      auto message = parseResource(*resource);
      if (message == nullptr) {
        continue;
      }
      std::string json;
      const auto status = google::protobuf::util::MessageToJsonString(*message, &json, options);
      EXPECT_TRUE(status.ok()) << status.ToString();
      text.append(json);
    }
  }
  return text;
}

}  // namespace weft::controlplane::testing
