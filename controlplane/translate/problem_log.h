#pragma once

#include <set>
#include <string>
#include <vector>

namespace weft::controlplane {

// What translation could not do as the user wrote it: a rule naming a missing service, two
// TrafficRoutes for one port, a setting that cannot be applied yet. None of these stops
// translation: the offending part is left out and the rest of the mesh is served. Messages
// are plain sentences that name the object as "<Kind> <namespace>/<name>", so `weftctl` and
// the CRD status can show them as they are.
class ProblemLog {
 public:
  void add(std::string message) { messages_.insert(std::move(message)); }

  // Sorted, each message once (the same problem met by several proxies is one problem).
  std::vector<std::string> messages() const { return {messages_.begin(), messages_.end()}; }

  bool empty() const { return messages_.empty(); }

 private:
  std::set<std::string> messages_;
};

}  // namespace weft::controlplane
