#include "controlplane/xds/session_state.h"

#include "common/config/proto_validator.h"

namespace weft::controlplane {

std::string admitRequest(const google::protobuf::Message& request, const weft::v1::Node* sent_node,
                         bool& has_node, weft::v1::Node& node) {
  // Requests are validated on the server's loop thread; their patterns are compiled once per
  // thread.
  thread_local config::PatternCache patterns;
  const std::string& kind = request.GetDescriptor()->name();
  if (config::ConfigErrors errors = config::validateMessage(request, {}, &patterns);
      !errors.empty()) {
    return "invalid " + kind + ": " + errors.front().toString();
  }
  if (!has_node) {
    if (sent_node == nullptr) {
      return "the first " + kind + " on a stream must carry the node";
    }
    node = *sent_node;
    has_node = true;
  }
  return {};
}

}  // namespace weft::controlplane
