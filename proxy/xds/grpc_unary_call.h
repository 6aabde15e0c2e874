#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/xds/grpc_bidi_stream.h"

namespace weft::proxy::xds {

// One unary gRPC call (one request message, one response message, the status from the
// trailers) on a GrpcBidiStream: the request is sent and the stream half-closed at once. The
// whole call, connecting included, is bounded by `timeout`, which is also sent to the server
// as grpc-timeout; past it the call ends with DEADLINE_EXCEEDED.
//
// `done` runs exactly once, from the io_context, unless cancel() ran first: with status OK and
// the response's bytes, or with the failure and an empty response. An OK status without
// exactly one response message is INTERNAL, as gRPC's own clients report it.
class GrpcUnaryCall : public std::enable_shared_from_this<GrpcUnaryCall> {
 public:
  using Done = std::function<void(GrpcStatus status, std::string response)>;

  GrpcUnaryCall(boost::asio::io_context& io_context, GrpcCallOptions options,
                std::chrono::milliseconds timeout, Done done);
  ~GrpcUnaryCall();

  GrpcUnaryCall(const GrpcUnaryCall&) = delete;
  GrpcUnaryCall& operator=(const GrpcUnaryCall&) = delete;

  void start(std::string_view request);
  // Abandons the call; `done` does not run.
  void cancel();

  std::string authority() const { return stream_->authority(); }

 private:
  void finish(GrpcStatus status);

  boost::asio::io_context& io_context_;
  std::chrono::milliseconds timeout_;
  Done done_;
  std::shared_ptr<GrpcBidiStream> stream_;
  boost::asio::steady_timer deadline_;
  std::optional<std::string> response_;
  bool finished_ = false;
};

}  // namespace weft::proxy::xds
