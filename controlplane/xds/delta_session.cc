#include "controlplane/xds/delta_session.h"

#include <algorithm>

namespace weft::controlplane {

namespace {

// A by-name subscription of s names among n resources is compared name by name (two binary
// searches each) when that is cheaper than walking all n resources: a lookup costs about
// log2(n) string comparisons where the walk costs one pointer comparison per resource.
constexpr size_t kLookupCost = 32;

// FNV-1a over name and version: the contribution of one held resource to the type's digest.
uint64_t entryDigest(const BuiltResource& resource) {
  uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](std::string_view text) {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
  };
  mix(resource.name);
  mix(std::string_view("\0", 1));
  mix(resource.version);
  return hash;
}

const BuiltResource* findIn(const std::vector<BuiltResourcePtr>& sorted, std::string_view name) {
  const auto it =
      std::lower_bound(sorted.begin(), sorted.end(), name,
                       [](const BuiltResourcePtr& r, std::string_view n) { return r->name < n; });
  return it != sorted.end() && (*it)->name == name ? it->get() : nullptr;
}

// A stand-in for a resource the proxy holds but this session did not send (reported in
// initial_resource_versions): only its name and version are known.
BuiltResourcePtr standIn(ResourceType type, std::string_view name, std::string_view version) {
  auto resource = std::make_shared<BuiltResource>();
  resource->name = std::string(name);
  resource->type = type;
  resource->version = std::string(version);
  return resource;
}

}  // namespace

DeltaSession::DeltaSession(std::string control_plane_id, Send send, SessionEvents events)
    : control_plane_id_(std::move(control_plane_id)),
      send_(std::move(send)),
      events_(std::move(events)) {}

std::string DeltaSession::onRequest(const weft::v1::DeltaDiscoveryRequest& request) {
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

  // The subscription changes whatever the nonce: a stale request still says what the proxy
  // wants from now on.
  for (const std::string& name : request.resource_names_subscribe()) {
    subscribe(*type, slot, name);
  }
  for (const std::string& name : request.resource_names_unsubscribe()) {
    unsubscribe(slot, name);
  }
  slot.subscribed = slot.wildcard || !slot.names.empty();
  if (!slot.subscribed) {
    slot.force = false;
  }

  if (!slot.requested) {
    slot.requested = true;
    // What the proxy already holds, from a previous stream or its persisted configuration.
    // Only subscribed names count: a by-name resource it no longer asks for is its business.
    for (const auto& [name, version] : request.initial_resource_versions()) {
      if (covers(slot, name)) {
        putHeld(slot, standIn(*type, name, version));
        slot.dirty.insert(name);
      }
    }
    if (!request.initial_resource_versions().empty()) {
      slot.acked_version = systemVersion(slot);
    }
  }

  if (!request.response_nonce().empty() && request.response_nonce() == slot.pending_nonce) {
    handleAnswer(*type, slot, request);
  }
  pump();
  return {};
}

void DeltaSession::onResources(std::shared_ptr<const ProxyResources> resources,
                               std::chrono::steady_clock::time_point changed_at) {
  if (!resources) {
    return;  // nothing computed: the proxy keeps what it has
  }
  if (resources != resources_) {
    static const std::vector<BuiltResourcePtr> kNone;
    for (ResourceType type : kPushOrder) {
      markChanged(type, resources_ ? resources_->of(type) : kNone, resources->of(type));
    }
  }
  resources_ = std::move(resources);
  changed_at_ = changed_at;
  pump();
}

bool DeltaSession::covers(const TypeSlot& slot, const std::string& name) {
  return slot.wildcard || slot.names.count(name) != 0;
}

BuiltResourcePtr DeltaSession::find(ResourceType type, std::string_view name) const {
  if (!resources_) {
    return nullptr;
  }
  const auto& sorted = resources_->of(type);
  const auto it =
      std::lower_bound(sorted.begin(), sorted.end(), name,
                       [](const BuiltResourcePtr& r, std::string_view n) { return r->name < n; });
  return it != sorted.end() && (*it)->name == name ? *it : nullptr;
}

void DeltaSession::subscribe(ResourceType type, TypeSlot& slot, const std::string& name) {
  if (name == kWildcard) {
    if (slot.wildcard) {
      return;
    }
    slot.wildcard = true;
    slot.force = true;
    if (resources_) {
      for (const BuiltResourcePtr& resource : resources_->of(type)) {
        slot.dirty.insert(resource->name);
      }
    }
    return;
  }
  if (slot.names.insert(name).second) {
    slot.dirty.insert(name);
    slot.force = true;
  }
}

void DeltaSession::unsubscribe(TypeSlot& slot, const std::string& name) {
  if (name == kWildcard) {
    if (!slot.wildcard) {
      return;
    }
    slot.wildcard = false;
    std::vector<std::string> dropped;
    for (const auto& [held_name, held] : slot.held) {
      if (slot.names.count(std::string(held_name)) == 0) {
        dropped.emplace_back(held_name);
      }
    }
    for (const std::string& dropped_name : dropped) {
      forget(slot, dropped_name);
    }
    return;
  }
  if (slot.names.erase(name) == 0) {
    return;
  }
  if (!slot.wildcard) {
    forget(slot, name);  // still covered by the wildcard otherwise
  }
}

void DeltaSession::forget(TypeSlot& slot, std::string_view name) {
  // The proxy drops what it unsubscribed from by itself; nothing is announced, and a later
  // subscription starts from nothing.
  if (const auto it = slot.held.find(name); it != slot.held.end()) {
    eraseHeld(slot, it);
  }
  if (const auto it = slot.dirty.find(name); it != slot.dirty.end()) {
    slot.dirty.erase(it);
  }
  if (const auto it = slot.deferred.find(name); it != slot.deferred.end()) {
    slot.deferred.erase(it);
  }
  if (const auto it = slot.rejected.find(name); it != slot.rejected.end()) {
    slot.rejected.erase(it);
  }
  if (const auto it = slot.in_flight.find(name); it != slot.in_flight.end()) {
    slot.in_flight.erase(it);
  }
}

void DeltaSession::handleAnswer(ResourceType type, TypeSlot& slot,
                                const weft::v1::DeltaDiscoveryRequest& request) {
  slot.pending_nonce.clear();
  if (request.has_error_detail()) {
    // The proxy applied nothing from the response: it still holds what it held before, for
    // every name the response carried. What it rejected is not offered again; the next change
    // of those resources is.
    for (auto& [name, previous] : slot.in_flight) {
      const auto it = slot.held.find(name);
      slot.rejected[name] = it != slot.held.end() ? it->second->version : "";
      if (previous) {
        putHeld(slot, std::move(previous));
      } else if (it != slot.held.end()) {
        eraseHeld(slot, it);
      }
    }
    slot.rejected_version = slot.sent_version;
    slot.last_error = request.error_detail();
    ++slot.nacks;
    if (events_.on_nack) {
      events_.on_nack(type, request.error_detail());
    }
  } else {
    slot.acked_version = slot.sent_version;
    ++slot.acks;
    if (events_.on_ack) {
      events_.on_ack(type, slot.sent_change_time);
    }
  }
  slot.in_flight.clear();
}

void DeltaSession::markChanged(ResourceType type, const std::vector<BuiltResourcePtr>& before,
                               const std::vector<BuiltResourcePtr>& after) {
  TypeSlot& slot = types_[index(type)];
  if (!slot.subscribed) {
    return;  // a later subscription looks at the configuration of its time
  }
  if (!slot.wildcard && slot.names.size() * kLookupCost < before.size() + after.size()) {
    for (const std::string& name : slot.names) {
      const BuiltResource* was = findIn(before, name);
      const BuiltResource* is = findIn(after, name);
      if (was != is && (was == nullptr || is == nullptr || was->version != is->version)) {
        slot.dirty.insert(name);
      }
    }
    return;
  }
  // Both lists are sorted by name, and an unchanged resource is usually the same object in
  // both: equal pointers skip ahead without comparing names.
  const auto mark = [&slot](const std::string& name) {
    if (covers(slot, name)) {
      slot.dirty.insert(name);
    }
  };
  size_t i = 0;
  size_t j = 0;
  while (i < before.size() || j < after.size()) {
    if (i < before.size() && j < after.size() && before[i] == after[j]) {
      ++i;
      ++j;
    } else if (j == after.size() || (i < before.size() && before[i]->name < after[j]->name)) {
      mark(before[i++]->name);  // removed
    } else if (i == before.size() || after[j]->name < before[i]->name) {
      mark(after[j++]->name);  // added
    } else {
      if (before[i]->version != after[j]->version) {
        mark(after[j]->name);
      }
      ++i;
      ++j;
    }
  }
}

void DeltaSession::putHeld(TypeSlot& slot, BuiltResourcePtr resource) {
  slot.held_digest += entryDigest(*resource);
  const auto it = slot.held.find(resource->name);
  if (it == slot.held.end()) {
    const std::string_view key = resource->name;
    slot.held.emplace(key, std::move(resource));
    return;
  }
  slot.held_digest -= entryDigest(*it->second);
  // The key views the held resource's name, so it moves to the new resource with it.
  auto node = slot.held.extract(it);
  node.key() = resource->name;
  node.mapped() = std::move(resource);
  slot.held.insert(std::move(node));
}

void DeltaSession::eraseHeld(TypeSlot& slot, HeldMap::iterator it) {
  slot.held_digest -= entryDigest(*it->second);
  slot.held.erase(it);
}

std::string DeltaSession::systemVersion(const TypeSlot& slot) {
  // A digest of everything the proxy holds of the type once the response is applied: a sum of
  // per-resource hashes, so it follows each change at the cost of that change. Equal content
  // gives an equal value on every stream and replica.
  std::string bytes(sizeof(slot.held_digest), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((slot.held_digest >> (8 * i)) & 0xff);
  }
  return contentVersion(bytes);
}

DeltaSession::Action DeltaSession::decide(ResourceType type, const TypeSlot& slot,
                                          const std::string& name, const BuiltResourcePtr& desired,
                                          const std::function<bool()>& references_moving) const {
  if (!covers(slot, name)) {
    return Action::kNothing;
  }
  const auto it = slot.held.find(name);
  const BuiltResource* held = it == slot.held.end() ? nullptr : it->second.get();
  if (desired) {
    if (held != nullptr && (held == desired.get() || held->version == desired->version)) {
      return Action::kNothing;
    }
  } else if (held == nullptr && slot.names.count(name) == 0) {
    return Action::kNothing;  // neither held nor asked for by name
  }
  if (const auto rejected = slot.rejected.find(name);
      rejected != slot.rejected.end() &&
      rejected->second == (desired ? std::string_view(desired->version) : std::string_view())) {
    return Action::kWithheld;
  }
  if (desired) {
    return Action::kSend;
  }
  if (held != nullptr) {
    // Make before break: a cluster (and the endpoints of a cluster the proxy still holds)
    // stays while listeners or routes may still refer to it.
    const auto& clusters = types_[index(ResourceType::kCluster)].held;
    const bool retained = type == ResourceType::kCluster || (type == ResourceType::kEndpoints &&
                                                             clusters.find(name) != clusters.end());
    if (retained && references_moving()) {
      return Action::kDefer;
    }
  }
  // A held resource that is gone, or a newly subscribed name that does not exist (so the proxy
  // does not wait for it until its fetch timeout). Either is said once: a name missing from
  // the configuration before and after a change is not examined again.
  return Action::kRemove;
}

bool DeltaSession::earlierTypePending(ResourceType type) const {
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

bool DeltaSession::hasUnsentChanges(ResourceType type) {
  TypeSlot& slot = types_[index(type)];
  const std::function<bool()> never = [] { return false; };
  for (auto it = slot.dirty.begin(); it != slot.dirty.end();) {
    const Action action = decide(type, slot, *it, find(type, *it), never);
    if (action == Action::kSend || action == Action::kRemove) {
      return true;
    }
    it = slot.dirty.erase(it);  // needs nothing: no need to look at it again
  }
  return false;
}

bool DeltaSession::referencesMoving() {
  for (ResourceType referrer : {ResourceType::kListener, ResourceType::kRoute}) {
    const TypeSlot& slot = types_[index(referrer)];
    if (slot.subscribed && (!slot.pending_nonce.empty() || hasUnsentChanges(referrer))) {
      return true;
    }
  }
  return false;
}

void DeltaSession::pump() {
  if (!resources_) {
    return;  // nothing computed for this proxy yet; requests wait for the first model
  }
  for (ResourceType type : kPushOrder) {
    const TypeSlot& slot = types_[index(type)];
    if (!slot.pending_nonce.empty()) {
      continue;  // one response in flight per type: changes coalesce until it is answered
    }
    // One change reaches the types in push order: a type waits while an earlier one has a
    // response in flight, so clusters are in place before the routes that use them.
    if (earlierTypePending(type)) {
      break;
    }
    if (!slot.dirty.empty() || !slot.deferred.empty() || slot.force) {
      sendChanges(type);
    }
  }
}

void DeltaSession::sendChanges(ResourceType type) {
  TypeSlot& slot = types_[index(type)];
  // Delayed removals are looked at again: listeners and routes may have moved since.
  slot.dirty.merge(slot.deferred);
  slot.deferred.clear();

  std::optional<bool> moving;
  const std::function<bool()> references_moving = [this, &moving] {
    if (!moving) {
      moving = referencesMoving();
    }
    return *moving;
  };
  const std::string type_url(typeUrl(type));
  weft::v1::DeltaDiscoveryResponse response;
  // In name order, so equal changes make equal responses.
  while (!slot.dirty.empty()) {
    auto node = slot.dirty.extract(slot.dirty.begin());
    const std::string& name = node.value();
    const BuiltResourcePtr desired = find(type, name);
    const auto held = slot.held.find(name);
    switch (decide(type, slot, name, desired, references_moving)) {
      case Action::kNothing:
        if (desired && held != slot.held.end() && held->second != desired) {
          // Same content in a new object (or a reported version): keep the object, so the
          // next comparison is a pointer comparison.
          putHeld(slot, desired);
        }
        break;
      case Action::kWithheld:
        break;
      case Action::kDefer:
        slot.deferred.insert(std::move(node));
        break;
      case Action::kSend: {
        weft::v1::Resource* out = response.add_resources();
        out->set_name(name);
        out->set_version(desired->version);
        google::protobuf::Any* any = out->mutable_resource();
        any->set_type_url(type_url);
        any->set_value(desired->bytes);  // the one copy of the bytes
        slot.in_flight.emplace(name, held == slot.held.end() ? nullptr : held->second);
        putHeld(slot, desired);
        slot.rejected.erase(name);
        break;
      }
      case Action::kRemove:
        response.add_removed_resources(name);
        slot.in_flight.emplace(name, held == slot.held.end() ? nullptr : held->second);
        if (held != slot.held.end()) {
          eraseHeld(slot, held);
        }
        slot.rejected.erase(name);
        break;
    }
  }
  if (response.resources_size() == 0 && response.removed_resources_size() == 0 && !slot.force) {
    return;
  }
  slot.force = false;
  response.set_type_url(type_url);
  response.set_system_version_info(systemVersion(slot));
  response.set_nonce(std::to_string(next_nonce_++));
  response.set_control_plane(control_plane_id_);
  slot.sent_version = response.system_version_info();
  slot.pending_nonce = response.nonce();
  slot.sent_change_time = changed_at_;
  ++slot.responses;
  if (events_.on_push) {
    events_.on_push(type);
  }
  send_(std::move(response));
}

}  // namespace weft::controlplane
