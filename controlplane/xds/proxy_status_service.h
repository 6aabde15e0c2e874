#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "controlplane/xds/discovery_server.h"
#include "weft/v1/proxy_status.grpc.pb.h"

namespace weft::controlplane {

// Answers `weftctl proxy-status`: the connected proxies and, per resource type, whether they
// run the latest configuration. Reads the discovery server's state on its loop thread.
class ProxyStatusService final : public weft::v1::ProxyStatusService::CallbackService {
 public:
  ProxyStatusService(boost::asio::io_context& loop, const DiscoveryServer& discovery,
                     std::string control_plane_id);

  grpc::ServerUnaryReactor* ListProxies(grpc::CallbackServerContext* context,
                                        const weft::v1::ListProxiesRequest* request,
                                        weft::v1::ListProxiesResponse* response) override;

  // The answer, built from the discovery server's state; call on the loop thread.
  static void describe(const std::vector<StreamStatus>& streams, const std::string& control_plane,
                       weft::v1::ListProxiesResponse& response);

 private:
  boost::asio::io_context& loop_;
  const DiscoveryServer& discovery_;
  std::string control_plane_id_;
};

}  // namespace weft::controlplane
