#include "controlplane/xds/sotw_session.h"

#include <algorithm>

namespace weft::controlplane {

namespace {

bool byName(const BuiltResourcePtr& a, const BuiltResourcePtr& b) {
  return a->name < b->name;
}

}  // namespace

SotwSession::SotwSession(std::string control_plane_id, Send send, SessionEvents events)
    : control_plane_id_(std::move(control_plane_id)),
      send_(std::move(send)),
      events_(std::move(events)) {}

std::string SotwSession::onRequest(const weft::v1::DiscoveryRequest& request) {
  if (std::string error =
          admitRequest(request, request.has_node() ? &request.node() : nullptr, has_node_, node_);
      !error.empty()) {
    return error;
  }
  const std::optional<ResourceType> type = typeFromUrl(request.type_url());
  if (!type) {
    // A newer proxy may know types this control plane does not; ignoring them keeps it
    // connected for the ones both know.
    return {};
  }
  TypeSlot& slot = types_[index(*type)];
  const std::set<std::string> names(request.resource_names().begin(),
                                    request.resource_names().end());
  const bool names_changed = !isWildcard(*type) && names != slot.names;
  if (!isWildcard(*type)) {
    slot.names = names;
  }

  if (request.response_nonce().empty()) {
    // A first request, or a pure subscription change: always answered, so a proxy that
    // reconnects with its version gets that version confirmed.
    if (!slot.subscribed) {
      slot.subscribed = true;
      slot.acked_version = request.version_info();
    }
    slot.force = true;
  } else if (request.response_nonce() == slot.pending_nonce) {
    slot.pending_nonce.clear();
    if (request.has_error_detail()) {
      slot.rejected_version = slot.sent_version;
      slot.last_error = request.error_detail();
      ++slot.nacks;
      if (events_.on_nack) {
        events_.on_nack(*type, request.error_detail());
      }
    } else {
      slot.acked_version = request.version_info();
      ++slot.acks;
      if (events_.on_ack) {
        events_.on_ack(*type, slot.sent_change_time);
      }
    }
    if (names_changed) {
      slot.force = true;
    }
  } else if (names_changed) {
    // Stale nonce: its subscription counts, its ACK/NACK meaning does not.
    slot.force = true;
  }
  pump();
  return {};
}

void SotwSession::onResources(std::shared_ptr<const ProxyResources> resources,
                              std::chrono::steady_clock::time_point changed_at) {
  resources_ = std::move(resources);
  changed_at_ = changed_at;
  pump();
}

std::vector<BuiltResourcePtr> SotwSession::desired(ResourceType type) const {
  std::vector<BuiltResourcePtr> out;
  if (!resources_) {
    return out;
  }
  const TypeSlot& slot = types_[index(type)];
  const auto& all = resources_->of(type);
  if (isWildcard(type)) {
    out = all;
  } else {
    for (const BuiltResourcePtr& resource : all) {
      if (slot.names.count(resource->name) != 0) {
        out.push_back(resource);
      }
    }
  }
  if (type != ResourceType::kCluster && type != ResourceType::kEndpoints) {
    return out;
  }
  // Make before break: while listeners or routes still have to move off removed clusters,
  // the proxy keeps those clusters (and their endpoints), so no request meets a route to a
  // cluster that is already gone.
  const bool references_moving = [&] {
    for (ResourceType referrer : {ResourceType::kListener, ResourceType::kRoute}) {
      const TypeSlot& r = types_[index(referrer)];
      if (r.subscribed &&
          (!r.pending_nonce.empty() || setVersion(desired(referrer)) != r.sent_version)) {
        return true;
      }
    }
    return false;
  }();
  if (references_moving) {
    const std::vector<BuiltResourcePtr>& clusters_sent = types_[index(ResourceType::kCluster)].sent;
    for (const BuiltResourcePtr& old : slot.sent) {
      const bool still_wanted = std::any_of(
          out.begin(), out.end(), [&](const BuiltResourcePtr& r) { return r->name == old->name; });
      const bool cluster_retained =
          type == ResourceType::kCluster ||
          std::any_of(clusters_sent.begin(), clusters_sent.end(),
                      [&](const BuiltResourcePtr& c) { return c->name == old->name; });
      if (!still_wanted && cluster_retained &&
          (isWildcard(type) || slot.names.count(old->name) != 0)) {
        out.push_back(old);
      }
    }
    std::sort(out.begin(), out.end(), byName);
  }
  return out;
}

std::string SotwSession::setVersion(const std::vector<BuiltResourcePtr>& resources) {
  // The set's version hashes each resource's name and content hash, in name order: equal
  // content gives an equal version on every replica and after every restart.
  std::string text;
  text.reserve(resources.size() * 48);
  for (const BuiltResourcePtr& resource : resources) {
    text += resource->name;
    text += '\0';
    text += resource->version;
    text += '\n';
  }
  return contentVersion(text);
}

bool SotwSession::earlierTypePending(ResourceType type) const {
  for (ResourceType earlier : kPushOrder) {
    if (earlier == type) {
      return false;
    }
    if (!types_[index(earlier)].pending_nonce.empty()) {
      return true;
    }
  }
  return false;
}

void SotwSession::pump() {
  if (!resources_) {
    return;  // nothing computed for this proxy yet; requests wait for the first model
  }
  for (ResourceType type : kPushOrder) {
    TypeSlot& slot = types_[index(type)];
    if (!slot.subscribed || !slot.pending_nonce.empty()) {
      continue;
    }
    // One change reaches the types in push order: a type waits while an earlier one has a
    // response in flight, so clusters are in place before the routes that use them.
    if (earlierTypePending(type)) {
      break;
    }
    std::vector<BuiltResourcePtr> resources = desired(type);
    const std::string version = setVersion(resources);
    const bool changed = version != slot.sent_version && version != slot.rejected_version;
    if (!changed && !slot.force) {
      continue;
    }
    slot.force = false;
    weft::v1::DiscoveryResponse response;
    response.set_type_url(std::string(typeUrl(type)));
    response.set_version_info(version);
    response.set_nonce(std::to_string(next_nonce_++));
    response.set_control_plane(control_plane_id_);
    for (const BuiltResourcePtr& resource : resources) {
      google::protobuf::Any* any = response.add_resources();
      any->set_type_url(std::string(typeUrl(type)));
      any->set_value(resource->bytes);
    }
    slot.sent_version = version;
    slot.pending_nonce = response.nonce();
    slot.sent = std::move(resources);
    slot.sent_change_time = changed_at_;
    ++slot.responses;
    if (events_.on_push) {
      events_.on_push(type);
    }
    send_(std::move(response));
  }
}

}  // namespace weft::controlplane
