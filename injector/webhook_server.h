#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "injector/admission_review.h"

namespace weft::injector {

// The admission webhook's HTTPS endpoint: POST /inject with an AdmissionReview, answered by
// `review` on the loop's thread. HTTP/1.1 with keep-alive over TLS 1.2+ (the API server keeps
// its connections to a webhook open). The serving certificate is swapped with
// setTlsContext() and used from the next handshake on; open connections keep theirs.
//
// Bounded: a head over 16 KiB or a body over 8 MiB (an AdmissionReview carries the pod
// twice at most, and the API server refuses objects over 1.5 MiB) is refused with 413/431,
// and each read and write must finish within 10 s. Anything but a POST to /inject is
// answered 404 or 405 with the reason.
class WebhookServer {
 public:
  using Review = std::function<AdmissionAnswer(std::string_view body)>;
  // Called after each review is answered (metrics, the log), with the time it took.
  using Observer = std::function<void(const AdmissionAnswer& answer, double seconds)>;

  WebhookServer(boost::asio::io_context& loop, Review review, Observer observer);
  ~WebhookServer();

  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // The context new connections handshake with. Until one is set, connections are closed.
  void setTlsContext(std::shared_ptr<boost::asio::ssl::context> context);

  // Listens on "host:port" (port 0: any). Returns an empty string, or why not.
  std::string listen(const std::string& address);
  uint16_t port() const;

  // Closes the listener and every connection.
  void stop();

  // Counted by the owner as errors: handshakes that failed (the API server does not trust
  // the certificate, or a scanner) and requests that were not a well-formed POST.
  uint64_t handshakeFailures() const;
  uint64_t badRequests() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// A server TLS context from PEM files: the certificate chain (leaf first) and its key.
// Returns null with `error` naming the file and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> loadServerTlsContext(const std::string& certificate_file,
                                                                const std::string& key_file,
                                                                std::string& error);

}  // namespace weft::injector
