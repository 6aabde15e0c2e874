#include "cli/proxy_status_command.h"

#include <grpcpp/grpcpp.h>

#include "cli/text_table.h"
#include "weft/v1/proxy_status.grpc.pb.h"

namespace weft::cli {

namespace {

using weft::v1::TypeSyncStatus;

// The columns of the table, in push order, with their short headings.
struct Column {
  const char* heading;
  const char* type_url;
};
constexpr Column kColumns[] = {
    {"CLUSTERS", "type.googleapis.com/weft.v1.Cluster"},
    {"ENDPOINTS", "type.googleapis.com/weft.v1.ClusterLoadAssignment"},
    {"LISTENERS", "type.googleapis.com/weft.v1.Listener"},
    {"ROUTES", "type.googleapis.com/weft.v1.RouteConfiguration"},
    {"SECRETS", "type.googleapis.com/weft.v1.Secret"},
    {"AUTHZ", "type.googleapis.com/weft.v1.AuthorizationPolicy"},
};

std::string stateName(TypeSyncStatus::State state) {
  switch (state) {
    case TypeSyncStatus::SYNCED:
      return "SYNCED";
    case TypeSyncStatus::STALE:
      return "STALE";
    case TypeSyncStatus::REJECTED:
      return "REJECTED";
    default:
      return "NOT SENT";
  }
}

const TypeSyncStatus* findType(const weft::v1::ProxySyncStatus& proxy, const char* type_url) {
  for (const auto& type : proxy.types()) {
    if (type.type_url() == type_url) {
      return &type;
    }
  }
  return nullptr;
}

std::string shortType(const std::string& type_url) {
  return type_url.substr(type_url.rfind('.') + 1);
}

std::string describeError(const weft::v1::ErrorDetail& error) {
  std::string out;
  if (!error.resource_name().empty()) {
    out += error.resource_name();
  }
  if (!error.field().empty()) {
    out += (out.empty() ? "" : " ") + std::string("field ") + error.field();
  }
  return out + (out.empty() ? "" : ": ") + error.message();
}

}  // namespace

std::string fetchProxyStatus(const ControlPlaneTarget& target, weft::v1::ListProxiesResponse& out) {
  const std::string& control_plane = target.address;
  std::string channel_error;
  auto channel = controlPlaneChannel(target, channel_error);
  if (!channel) {
    return channel_error;
  }
  auto stub = weft::v1::ProxyStatusService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const grpc::Status status = stub->ListProxies(&context, weft::v1::ListProxiesRequest(), &out);
  if (status.ok()) {
    return {};
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return "cannot reach the control plane at " + control_plane + " (" + status.error_message() +
           "); is weft-controlplane running there? Use --control-plane <host:port>.";
  }
  return "the control plane at " + control_plane +
         " answered with an error: " + status.error_message();
}

std::string renderProxyStatusTable(const weft::v1::ListProxiesResponse& response) {
  std::vector<std::string> header = {"NAME", "NAMESPACE", "WORKLOAD"};
  for (const Column& column : kColumns) {
    header.push_back(column.heading);
  }
  header.push_back("VERSION");
  TextTable table(std::move(header));
  std::string rejections;
  for (const auto& proxy : response.proxies()) {
    std::vector<std::string> row = {proxy.node().id(), proxy.node().namespace_(),
                                    proxy.node().workload_name()};
    for (const Column& column : kColumns) {
      const TypeSyncStatus* type = findType(proxy, column.type_url);
      row.push_back(type ? stateName(type->state()) : "-");
      if (type && type->nacks() > 0 && type->state() == TypeSyncStatus::REJECTED) {
        rejections += proxy.node().id() + " rejected " + shortType(type->type_url()) + " " +
                      type->sent_version() + ": " + describeError(type->last_error()) + "\n";
      }
    }
    row.push_back(proxy.node().proxy_version().empty() ? "-" : proxy.node().proxy_version());
    table.add(std::move(row));
  }
  if (table.empty()) {
    return "No proxy is connected to the control plane " + response.control_plane() + ".\n";
  }
  return table.render() + (rejections.empty() ? "" : "\n" + rejections);
}

std::string renderProxyStatusDetail(const weft::v1::ListProxiesResponse& response,
                                    const std::string& proxy_id) {
  for (const auto& proxy : response.proxies()) {
    if (proxy.node().id() != proxy_id) {
      continue;
    }
    std::string out = "Proxy " + proxy.node().id() + " (" + proxy.node().namespace_() + "/" +
                      proxy.node().workload_name() + "), connected from " + proxy.peer() + " to " +
                      response.control_plane() + "\n\n";
    TextTable table({"TYPE", "STATE", "SENT", "ACKED", "NAMES", "RESPONSES", "ACKS", "NACKS"});
    std::string errors;
    for (const auto& type : proxy.types()) {
      table.add({shortType(type.type_url()), stateName(type.state()),
                 type.sent_version().empty() ? "-" : type.sent_version(),
                 type.acked_version().empty() ? "-" : type.acked_version(),
                 std::to_string(type.subscribed_names()), std::to_string(type.responses()),
                 std::to_string(type.acks()), std::to_string(type.nacks())});
      if (type.nacks() > 0) {
        errors += "last rejection of " + shortType(type.type_url()) + ": " +
                  describeError(type.last_error()) + "\n";
      }
    }
    return out + table.render() + (errors.empty() ? "" : "\n" + errors);
  }
  return {};
}

int runProxyStatus(const ControlPlaneTarget& control_plane, const std::string& proxy_id,
                   std::ostream& out, std::ostream& err) {
  weft::v1::ListProxiesResponse response;
  if (std::string error = fetchProxyStatus(control_plane, response); !error.empty()) {
    err << "weftctl: " << error << "\n";
    return 1;
  }
  if (proxy_id.empty()) {
    out << renderProxyStatusTable(response);
    return 0;
  }
  const std::string detail = renderProxyStatusDetail(response, proxy_id);
  if (detail.empty()) {
    err << "weftctl: no proxy named \"" << proxy_id << "\" is connected to "
        << response.control_plane() << "; `weftctl proxy-status` lists them.\n";
    return 1;
  }
  out << detail;
  return 0;
}

}  // namespace weft::cli
