#include "proxy/admin/admin_address.h"

namespace weft::proxy::admin {

std::string adminAddress(const weft::v1::Bootstrap& bootstrap,
                         boost::asio::ip::tcp::endpoint& address) {
  if (!bootstrap.has_admin() || !bootstrap.admin().has_address()) {
    address = {boost::asio::ip::make_address_v4("127.0.0.1"), 15000};
    return {};
  }
  const weft::v1::SocketAddress& configured = bootstrap.admin().address();
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(configured.address(), error);
  if (error) {
    return "admin.address.address: '" + configured.address() +
           "' is not an IP address (the admin endpoint binds a loopback IP literal)";
  }
  if (!ip.is_loopback()) {
    return "admin.address.address: '" + configured.address() +
           "' is not a loopback address; the admin endpoint has no authentication, so it "
           "listens on 127.0.0.0/8 or ::1 only";
  }
  if (configured.port() == 0 || configured.port() > 65535) {
    return "admin.address.port: " + std::to_string(configured.port()) + " is not in 1..65535";
  }
  address = {ip, static_cast<uint16_t>(configured.port())};
  return {};
}

std::string statusAddress(const weft::v1::Bootstrap& bootstrap,
                          std::optional<boost::asio::ip::tcp::endpoint>& address) {
  address.reset();
  if (!bootstrap.has_status_server()) {
    return {};
  }
  if (!bootstrap.status_server().has_address()) {
    address.emplace(boost::asio::ip::address_v4::any(), 15020);
    return {};
  }
  const weft::v1::SocketAddress& configured = bootstrap.status_server().address();
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(configured.address(), error);
  if (error) {
    return "status_server.address.address: '" + configured.address() + "' is not an IP address";
  }
  if (configured.port() == 0 || configured.port() > 65535) {
    return "status_server.address.port: " + std::to_string(configured.port()) +
           " is not in 1..65535";
  }
  address.emplace(ip, static_cast<uint16_t>(configured.port()));
  return {};
}

}  // namespace weft::proxy::admin
