#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "controlplane/resources/resource_type.h"
#include "weft/v1/discovery.pb.h"

namespace weft::controlplane {

// What the control plane knows about one resource type on one stream, for proxy-status and
// metrics. Shared by the state-of-the-world and the delta sessions; for delta, "version" means
// the response's system_version_info.
struct TypeState {
  bool subscribed = false;
  // Delta: subscribed with "*" (every resource of the type computed for the proxy).
  bool wildcard = false;
  // By-name subscriptions: the names the proxy asked for.
  std::set<std::string> names;
  // The version of the latest response sent, and its nonce while it awaits an answer.
  std::string sent_version;
  std::string pending_nonce;
  // The version the proxy last acknowledged (or reported when it connected).
  std::string acked_version;
  // The version the proxy last rejected, never sent again, and why.
  std::string rejected_version;
  weft::v1::ErrorDetail last_error;
  uint64_t responses = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
};

// Observations a session reports to the server for metrics.
struct SessionEvents {
  std::function<void(ResourceType)> on_push;
  std::function<void(ResourceType, const weft::v1::ErrorDetail&)> on_nack;
  // A response carrying a change made at `changed_at` was acknowledged.
  std::function<void(ResourceType, std::chrono::steady_clock::time_point changed_at)> on_ack;
};

// The checks every discovery request passes first, in either variant: the message rules, then
// the node, which the first request of a stream must carry (`node` is stored from it). Returns
// an empty string, or why the stream must end with INVALID_ARGUMENT.
std::string admitRequest(const google::protobuf::Message& request, const weft::v1::Node* sent_node,
                         bool& has_node, weft::v1::Node& node);

}  // namespace weft::controlplane
