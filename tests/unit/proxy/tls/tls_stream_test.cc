// TLS on DeadlineStream between two real sockets on loopback: handshake with the mesh
// contexts built from Secrets, data both ways, the peer identity, ALPN, the replayed ClientHello
// start, half-close by close_notify, session resumption through TlsSessionCache, and the mesh
// rules for a peer's leaf certificate.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "common/tls/certificate_builder.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"
#include "proxy/io/deadline_stream.h"
#include "proxy/io/stream_shutdown.h"
#include "proxy/tls/downstream_tls.h"
#include "proxy/tls/mesh_identity.h"
#include "proxy/tls/record_buffer_cache.h"
#include "proxy/tls/tls_contexts.h"
#include "proxy/tls/tls_session_cache.h"
#include "proxy/tls/upstream_tls.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kClientId = "spiffe://cluster.local/ns/default/sa/client";
constexpr std::string_view kServerId = "spiffe://cluster.local/ns/default/sa/server";

struct Issued {
  std::string cert_pem;
  std::string key_pem;
};

// A P-256 root and the workload certificates it signs.
class TestAuthority {
 public:
  TestAuthority() {
    key_ = weft::tls::generateEcdsaP256Key().value();
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    weft::tls::CertificateBuilder builder;
    builder.setSubjectKey(*key_)
        .setSubjectName("test root")
        .setValidity(now - 1h, now + 24h)
        .addExtension(NID_basic_constraints, "critical,CA:TRUE")
        .addExtension(NID_key_usage, "critical,keyCertSign,cRLSign")
        .addExtension(NID_subject_key_identifier, "hash");
    cert_ = builder.sign(*key_).value();
  }

  std::string rootPem() const { return *weft::tls::writeCertificatePem(*cert_); }

  // A leaf; `uris` become URI SANs (one call each: more than one makes a broken certificate).
  Issued issue(const std::vector<std::string>& uris, bool is_ca = false) const {
    auto key = weft::tls::generateEcdsaP256Key().value();
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    weft::tls::CertificateBuilder builder;
    builder.setSubjectKey(*key).setValidity(now - 1h, now + 1h).setIssuer(cert_.get());
    builder.addExtension(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    builder.addExtension(NID_ext_key_usage, "serverAuth,clientAuth");
    if (uris.size() == 1) {
      builder.addUriSubjectAltName(uris.front(), true);
    } else if (uris.size() > 1) {
      std::string list;
      for (const std::string& uri : uris) {
        list.append(list.empty() ? "" : ",").append("URI:").append(uri);
      }
      builder.addExtension(NID_subject_alt_name, list);
    }
    auto cert = builder.sign(*key_).value();
    return {*weft::tls::writeCertificatePem(*cert), *weft::tls::writePrivateKeyPem(*key)};
  }

 private:
  weft::tls::EvpPkeyPtr key_;
  weft::tls::X509Ptr cert_;
};

// The two secrets a proxy has: its identity and the trust bundle.
struct SecretStore {
  weft::v1::Secret identity;
  weft::v1::Secret bundle;

  SecretStore(const Issued& issued, const std::string& roots) {
    identity.set_name("identity");
    identity.mutable_tls_certificate()->set_certificate_chain(issued.cert_pem);
    identity.mutable_tls_certificate()->set_private_key(issued.key_pem);
    bundle.set_name("trust-bundle");
    bundle.mutable_validation_context()->set_trusted_ca(roots);
    bundle.mutable_validation_context()->set_trust_domain("cluster.local");
  }

  SecretLookup lookup() const {
    return [this](std::string_view name) -> const weft::v1::Secret* {
      return name == "identity" ? &identity : name == "trust-bundle" ? &bundle : nullptr;
    };
  }
};

std::unique_ptr<DownstreamTlsConfig> serverTls(const SecretStore& secrets,
                                               const std::vector<std::string>& alpn = {
                                                   "weft-h2", "weft-http/1.1", "weft-tcp"}) {
  weft::v1::DownstreamTls tls;
  tls.set_min_version(weft::v1::TLS_V1_3);
  auto built = buildDownstreamTls(tls, alpn, secrets.lookup());
  EXPECT_TRUE(built.ok()) << (built.ok() ? "" : built.error());
  return std::move(*built);
}

std::unique_ptr<UpstreamTlsConfig> clientTls(const SecretStore& secrets) {
  weft::v1::UpstreamTls tls;
  tls.set_mode(weft::v1::UpstreamTls::MUTUAL_MESH);
  auto built = buildUpstreamTls(tls, {"http/1.1"}, secrets.lookup());
  EXPECT_TRUE(built.ok()) << (built.ok() ? "" : built.error());
  return std::move(*built);
}

// Installs the proxy's allocator for OpenSSL, as weft-proxy's main() does, before the fixture's
// other members use OpenSSL (each test runs in a process of its own).
struct WithRecordBufferCache {
  WithRecordBufferCache() : installed(installTlsRecordBufferCache()) {}
  bool installed;
};

class TlsStreamTest : public ::testing::Test {
 protected:
  TlsStreamTest()
      : server_secrets_(authority_.issue({std::string(kServerId)}), authority_.rootPem()),
        client_secrets_(authority_.issue({std::string(kClientId)}), authority_.rootPem()),
        acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {}

  // Runs `body` as a coroutine until it finishes (bounded: a hang fails the test).
  template <class Body>
  void run(Body body) {
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          co_await body();
          done = true;
        },
        [](std::exception_ptr error) {
          if (error) {
            std::rethrow_exception(error);
          }
        });
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!done && std::chrono::steady_clock::now() < give_up) {
      io_.run_for(10ms);
    }
    ASSERT_TRUE(done) << "the exchange did not finish";
    io_.restart();
  }

  // A connected pair: `client` dialled, `server` accepted.
  std::pair<DeadlineStream, DeadlineStream> connectPair() {
    DeadlineStream client(io_);
    client.socket().connect(acceptor_.local_endpoint());
    asio::ip::tcp::socket accepted(io_);
    acceptor_.accept(accepted);
    return {std::move(client), DeadlineStream(std::move(accepted))};
  }

  WithRecordBufferCache record_buffers_;
  TestAuthority authority_;
  SecretStore server_secrets_;
  SecretStore client_secrets_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
};

TEST_F(TlsStreamTest, MeshHandshakeCarriesDataAndIdentitiesBothWays) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  auto [client, server] = connectPair();
  TlsSessionCache sessions;
  std::string client_failure = "not run";
  AcceptedTls accepted;
  std::string server_got;
  std::string client_got;
  run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const UpstreamTransport transport{client_tls.get(), kServerId, 1};
    auto client_side = [&]() -> asio::awaitable<void> {
      client_failure = co_await startUpstreamTls(client, transport, meshAlpnOffer(kMeshAlpnHttp1),
                                                 acceptor_.local_endpoint(), sessions);
      co_await asio::async_write(client, asio::buffer(std::string_view("ping")), kUseTuple);
      std::array<char, 4> reply{};
      co_await asio::async_read(client, asio::buffer(reply), kUseTuple);
      client_got.assign(reply.data(), reply.size());
    };
    auto server_side = [&]() -> asio::awaitable<void> {
      boost::beast::flat_buffer nothing;
      accepted = co_await acceptTls(server, *server_tls, nothing);
      std::array<char, 4> request{};
      co_await asio::async_read(server, asio::buffer(request), kUseTuple);
      server_got.assign(request.data(), request.size());
      co_await asio::async_write(server, asio::buffer(std::string_view("pong")), kUseTuple);
    };
    co_await (client_side() && server_side());
  });
  EXPECT_EQ(client_failure, "");
  EXPECT_EQ(accepted.failure, "");
  EXPECT_EQ(accepted.principal, kClientId);
  EXPECT_EQ(accepted.alpn, "weft-http/1.1");
  EXPECT_EQ(server_got, "ping");
  EXPECT_EQ(client_got, "pong");
  EXPECT_EQ(SSL_version(client.tlsHandle()), TLS1_3_VERSION);
}

// Many records both ways at once, in writes of odd sizes: the receive buffer grows from its
// small start, keeps partial records across receives, and every byte arrives in order.
TEST_F(TlsStreamTest, LargeTransfersBothWaysAtOnceArriveIntact) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  auto [client, server] = connectPair();
  TlsSessionCache sessions;
  auto pattern = [](size_t size, char seed) {
    std::string text(size, '\0');
    for (size_t i = 0; i < size; ++i) {
      text[i] = static_cast<char>(seed + (i * 7 + i / 4096) % 61);
    }
    return text;
  };
  const std::string upload = pattern(1024 * 1024 + 17, 'A');
  const std::string download = pattern(300 * 1024 + 5, 'a');
  std::string server_got;
  std::string client_got;
  std::string handshake = "not run";
  auto pump = [](DeadlineStream& stream, const std::string& out, std::string& in,
                 size_t expected) -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto writer = [&]() -> asio::awaitable<void> {
      size_t offset = 0;
      size_t chunk = 1;
      while (offset < out.size()) {
        const size_t size = std::min(chunk, out.size() - offset);
        co_await asio::async_write(stream, asio::buffer(out.data() + offset, size), kUseTuple);
        offset += size;
        chunk = chunk * 3 + 101;  // 1, 104, 413, ... up to whole records and beyond
        if (chunk > 70000) {
          chunk = 7;
        }
      }
    };
    auto reader = [&]() -> asio::awaitable<void> {
      std::array<char, 5000> buffer{};
      while (in.size() < expected) {
        auto [error, bytes] = co_await stream.async_read_some(asio::buffer(buffer), kUseTuple);
        in.append(buffer.data(), bytes);
        if (error) {
          break;
        }
      }
    };
    co_await (writer() && reader());
  };
  run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const UpstreamTransport transport{client_tls.get(), kServerId, 1};
    auto client_side = [&]() -> asio::awaitable<void> {
      handshake = co_await startUpstreamTls(client, transport, meshAlpnOffer(kMeshAlpnTcp),
                                            acceptor_.local_endpoint(), sessions);
      co_await pump(client, upload, client_got, download.size());
    };
    auto server_side = [&]() -> asio::awaitable<void> {
      boost::beast::flat_buffer nothing;
      co_await acceptTls(server, *server_tls, nothing);
      co_await pump(server, download, server_got, upload.size());
    };
    co_await (client_side() && server_side());
  });
  EXPECT_EQ(handshake, "");
  EXPECT_TRUE(server_got == upload) << server_got.size() << " of " << upload.size() << " bytes";
  EXPECT_TRUE(client_got == download) << client_got.size() << " of " << download.size();
  // The record buffers OpenSSL released went to the cache, ready for the next records.
  ASSERT_TRUE(record_buffers_.installed);
  EXPECT_GT(cachedRecordBuffersOnThisThread(), 0u);
}

// A peer that closes the connection without close_notify ends the stream as TCP would.
TEST_F(TlsStreamTest, APeerClosingWithoutCloseNotifyEndsTheStream) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  auto [client, server] = connectPair();
  TlsSessionCache sessions;
  boost::system::error_code server_end;
  std::string server_got;
  run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const UpstreamTransport transport{client_tls.get(), kServerId, 1};
    auto client_side = [&]() -> asio::awaitable<void> {
      co_await startUpstreamTls(client, transport, meshAlpnOffer(kMeshAlpnTcp),
                                acceptor_.local_endpoint(), sessions);
      co_await asio::async_write(client, asio::buffer(std::string_view("bye")), kUseTuple);
      client.socket().shutdown(asio::ip::tcp::socket::shutdown_send);  // a FIN, no close_notify
    };
    auto server_side = [&]() -> asio::awaitable<void> {
      boost::beast::flat_buffer nothing;
      co_await acceptTls(server, *server_tls, nothing);
      std::array<char, 64> buffer{};
      for (;;) {
        auto [error, bytes] = co_await server.async_read_some(asio::buffer(buffer), kUseTuple);
        server_got.append(buffer.data(), bytes);
        if (error) {
          server_end = error;
          break;
        }
      }
    };
    co_await (client_side() && server_side());
  });
  EXPECT_EQ(server_got, "bye");
  EXPECT_EQ(server_end, asio::error::eof) << server_end.message();
}

TEST_F(TlsStreamTest, ClientRefusesAServerWithAnotherIdentity) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  auto [client, server] = connectPair();
  TlsSessionCache sessions;
  std::string client_failure;
  run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const UpstreamTransport transport{client_tls.get(),
                                      "spiffe://cluster.local/ns/default/sa/other", 1};
    auto client_side = [&]() -> asio::awaitable<void> {
      client_failure = co_await startUpstreamTls(client, transport, meshAlpnOffer(kMeshAlpnHttp1),
                                                 acceptor_.local_endpoint(), sessions);
      client.close();
    };
    auto server_side = [&]() -> asio::awaitable<void> {
      boost::beast::flat_buffer nothing;
      co_await acceptTls(server, *server_tls, nothing);
    };
    co_await (client_side() && server_side());
  });
  EXPECT_NE(client_failure.find(std::string(kServerId)), std::string::npos) << client_failure;
  EXPECT_NE(client_failure.find("expected"), std::string::npos) << client_failure;
}

TEST_F(TlsStreamTest, BytesReadBeforeTheHandshakeAreReplayed) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  auto [client, server] = connectPair();
  TlsSessionCache sessions;
  AcceptedTls accepted;
  std::string client_failure = "not run";
  run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const UpstreamTransport transport{client_tls.get(), kServerId, 1};
    auto client_side = [&]() -> asio::awaitable<void> {
      client_failure = co_await startUpstreamTls(client, transport, meshAlpnOffer(kMeshAlpnHttp2),
                                                 acceptor_.local_endpoint(), sessions);
    };
    auto server_side = [&]() -> asio::awaitable<void> {
      // As protocol detection does: the first bytes of the ClientHello are read off the socket.
      boost::beast::flat_buffer sniffed;
      auto [error, bytes] = co_await server.socket().async_read_some(sniffed.prepare(5), kUseTuple);
      sniffed.commit(bytes);
      accepted = co_await acceptTls(server, *server_tls, sniffed);
    };
    co_await (client_side() && server_side());
  });
  EXPECT_EQ(client_failure, "");
  EXPECT_EQ(accepted.failure, "");
  EXPECT_EQ(accepted.alpn, "weft-h2");
}

TEST_F(TlsStreamTest, CloseNotifyHalfClosesAndTheOtherDirectionGoesOn) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  auto [client, server] = connectPair();
  TlsSessionCache sessions;
  boost::system::error_code server_read_end;
  boost::system::error_code client_end;
  boost::system::error_code server_write;
  std::string handshake = "not run";
  std::string client_got;
  run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    const UpstreamTransport transport{client_tls.get(), kServerId, 1};
    auto client_side = [&]() -> asio::awaitable<void> {
      handshake = co_await startUpstreamTls(client, transport, meshAlpnOffer(kMeshAlpnTcp),
                                            acceptor_.local_endpoint(), sessions);
      co_await shutdownSending(client);  // close_notify: "no more from me"
      std::array<char, 64> buffer{};
      for (;;) {
        auto [error, bytes] = co_await client.async_read_some(asio::buffer(buffer), kUseTuple);
        client_got.append(buffer.data(), bytes);
        if (error) {
          client_end = error;
          break;
        }
      }
    };
    auto server_side = [&]() -> asio::awaitable<void> {
      boost::beast::flat_buffer nothing;
      co_await acceptTls(server, *server_tls, nothing);
      std::array<char, 64> buffer{};
      auto [error, bytes] = co_await server.async_read_some(asio::buffer(buffer), kUseTuple);
      server_read_end = error;
      // The client stopped sending, not listening.
      auto [write_error, written] = co_await asio::async_write(
          server, asio::buffer(std::string_view("late reply")), kUseTuple);
      server_write = write_error;
      co_await shutdownSending(server);
    };
    co_await (client_side() && server_side());
  });
  EXPECT_EQ(handshake, "");
  EXPECT_EQ(server_read_end, asio::error::eof);
  EXPECT_FALSE(server_write) << server_write.message();
  EXPECT_EQ(client_got, "late reply");
  EXPECT_EQ(client_end, asio::error::eof) << client_end.message();
}

TEST_F(TlsStreamTest, SecondConnectionResumesTheSession) {
  auto server_tls = serverTls(server_secrets_);
  auto client_tls = clientTls(client_secrets_);
  TlsSessionCache sessions;
  std::vector<bool> resumed;
  std::vector<std::string> principals;
  for (int round = 0; round < 2; ++round) {
    auto [client, server] = connectPair();
    run([&]() -> asio::awaitable<void> {
      using namespace asio::experimental::awaitable_operators;
      const UpstreamTransport transport{client_tls.get(), kServerId, 1};
      AcceptedTls accepted;
      auto client_side = [&]() -> asio::awaitable<void> {
        const std::string failure = co_await startUpstreamTls(
            client, transport, meshAlpnOffer(kMeshAlpnHttp1), acceptor_.local_endpoint(), sessions);
        EXPECT_EQ(failure, "");
        // The ticket arrives after the handshake; reading the reply takes it in.
        std::array<char, 2> reply{};
        co_await asio::async_read(client, asio::buffer(reply), kUseTuple);
        resumed.push_back(SSL_session_reused(client.tlsHandle()) == 1);
      };
      auto server_side = [&]() -> asio::awaitable<void> {
        boost::beast::flat_buffer nothing;
        accepted = co_await acceptTls(server, *server_tls, nothing);
        principals.push_back(accepted.principal);
        co_await asio::async_write(server, asio::buffer(std::string_view("ok")), kUseTuple);
      };
      co_await (client_side() && server_side());
    });
  }
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_FALSE(resumed[0]);
  EXPECT_TRUE(resumed[1]);
  EXPECT_EQ(sessions.size(), 1u);
  // The resumed session still names the client (from the ticket, not a new certificate).
  EXPECT_EQ(principals[1], kClientId);
}

TEST_F(TlsStreamTest, MissingSecretLeavesTheContextUnavailableNotAnError) {
  weft::v1::DownstreamTls tls;
  auto built = buildDownstreamTls(tls, {"h2"}, [](std::string_view) { return nullptr; });
  ASSERT_TRUE(built.ok());
  EXPECT_EQ((*built)->context, nullptr);
  EXPECT_NE((*built)->unavailable.find("\"identity\""), std::string::npos);
}

TEST_F(TlsStreamTest, KeyNotMatchingTheCertificateIsAnError) {
  SecretStore mixed = server_secrets_;
  mixed.identity.mutable_tls_certificate()->set_private_key(
      client_secrets_.identity.tls_certificate().private_key());
  weft::v1::DownstreamTls tls;
  auto built = buildDownstreamTls(tls, {"h2"}, mixed.lookup());
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().find("does not match"), std::string::npos) << built.error();
}

// The rules for a peer's leaf, one at a time.
TEST_F(TlsStreamTest, MeshLeafRules) {
  auto leaf = [&](const std::vector<std::string>& uris, bool is_ca = false) {
    return weft::tls::readCertificatePem(authority_.issue(uris, is_ca).cert_pem).value();
  };
  EXPECT_EQ(meshLeafProblem(*leaf({std::string(kClientId)}), "cluster.local"), nullptr);
  EXPECT_EQ(meshLeafProblem(*leaf({std::string(kClientId)}), ""), nullptr);
  EXPECT_STREQ(meshLeafProblem(*leaf({std::string(kClientId)}, true), "cluster.local"),
               "peer certificate is a CA certificate");
  EXPECT_STREQ(meshLeafProblem(*leaf({}), "cluster.local"),
               "peer certificate has no URI SAN (no SPIFFE id)");
  EXPECT_STREQ(
      meshLeafProblem(*leaf({std::string(kClientId), std::string(kServerId)}), "cluster.local"),
      "peer certificate has more than one URI SAN");
  EXPECT_STREQ(meshLeafProblem(*leaf({"https://cluster.local/ns/default"}), "cluster.local"),
               "peer certificate's URI SAN is not a spiffe:// id");
  EXPECT_STREQ(meshLeafProblem(*leaf({"spiffe://evil.example/ns/default/sa/x"}), "cluster.local"),
               "peer certificate's SPIFFE id is in another trust domain");
  // A trust domain that merely starts like ours is another one.
  EXPECT_STREQ(
      meshLeafProblem(*leaf({"spiffe://cluster.local.evil/ns/default/sa/x"}), "cluster.local"),
      "peer certificate's SPIFFE id is in another trust domain");
}

}  // namespace
}  // namespace weft::proxy
