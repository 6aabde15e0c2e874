#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "common/kube/api_client.h"
#include "common/kube/api_server.h"

namespace weft::kube {

// The API server for long-lived work on an event loop: the control plane's lists and watches of
// the mesh's resources, its status writes and its leader Lease. Each request is a coroutine on
// the given executor; nothing blocks the loop. Like ApiClient, every request opens its own
// connection, reading the token and the CA file afresh (both rotate in a pod): a watch lasts
// minutes, so a handshake per request is noise, and no pool means no state to get wrong after
// the server restarts.
//
// One thread: construct, call and destroy on the executor's thread. Requests may outlive the
// client: they hold what they use.
class AsyncApiClient {
 public:
  struct Connection;  // a request's stream, registered while in flight

  AsyncApiClient(boost::asio::any_io_executor executor, ApiServer server);
  ~AsyncApiClient();
  AsyncApiClient(const AsyncApiClient&) = delete;
  AsyncApiClient& operator=(const AsyncApiClient&) = delete;

  // One request with its whole answer (at most `max_body` bytes). `content_type` is the body's
  // ("application/merge-patch+json" for a merge patch). Never throws; a transport failure or
  // the deadline is ApiResponse::error.
  //
  // Arguments are references, and must outlive the co_await (as they do when the call is
  // written inside it). No class is taken by value: built with GCC 12, a by-value argument of
  // a coroutine awaited by another was released once too often (valgrind caught it).
  boost::asio::awaitable<ApiResponse> call(const std::string& method, const std::string& target,
                                           const std::string& body,
                                           std::chrono::milliseconds timeout,
                                           const std::string& content_type,
                                           size_t max_body = kMaxApiResponseBytes);

  // Receives one line of a streamed answer (a watch event: one JSON object per line, without
  // its newline). Returning false ends the stream.
  using LineHandler = std::function<bool(std::string_view line)>;

  // Lets its owner end one request in flight (a watch) while the client's others go on.
  class RequestHandle {
   public:
    // Ends the request in flight, if any, with an error; later requests are not affected.
    void cancel();

   private:
    friend class AsyncApiClient;
    Connection* connection_ = nullptr;
  };

  // A streaming GET: a watch. The connection, the handshake and the answer's head must come
  // within `head_timeout`; then `on_line` gets each line as it arrives, and the result has
  // `status` 200 and an empty body. `error` says why the stream ended when the server did not
  // end it properly: the connection closed before the last chunk, nothing read for
  // `idle_timeout`, a line longer than `max_line` (also `line_too_long`), cancelled. TCP
  // keepalive probes the connection while it is quiet, so a peer that vanished is noticed
  // within about a minute. Any other status is read whole, like call(). `handle`, when given,
  // can cancel this request alone. Never throws.
  boost::asio::awaitable<ApiResponse> stream(const std::string& target,
                                             std::chrono::milliseconds head_timeout,
                                             std::chrono::milliseconds idle_timeout,
                                             const LineHandler& on_line, size_t max_line,
                                             RequestHandle* handle);

  // Ends every request in flight (they return with an error; one still resolving the server's
  // name does when the resolver answers) and makes later ones fail at once.
  void cancelAll();

  const ApiServer& server() const { return server_; }
  const boost::asio::any_io_executor& executor() const { return executor_; }

  // What requests in flight touch after resuming: shared with their frames, so the client may
  // be destroyed while a cancelled request has yet to resume.
  struct Shared {
    bool cancelled = false;
    std::set<Connection*> in_flight;
  };

 private:
  boost::asio::any_io_executor executor_;
  ApiServer server_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace weft::kube
