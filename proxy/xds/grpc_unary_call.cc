#include "proxy/xds/grpc_unary_call.h"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace weft::proxy::xds {
namespace {

constexpr int kDeadlineExceeded = 4;
constexpr int kInternal = 13;

}  // namespace

GrpcUnaryCall::GrpcUnaryCall(boost::asio::io_context& io_context, GrpcCallOptions options,
                             std::chrono::milliseconds timeout, Done done)
    : io_context_(io_context), timeout_(timeout), done_(std::move(done)), deadline_(io_context) {
  options.deadline = timeout;
  // Connecting counts against the call's deadline, not a separate, longer one.
  options.connect_timeout = std::min(options.connect_timeout, timeout);
  // The handlers hold `this` without owning it: the call owns the stream and cancels it when
  // destroyed, after which no handler runs.
  GrpcBidiStream::Handlers handlers;
  handlers.on_message = [this](std::string message) {
    if (finished_) {
      return;
    }
    if (response_) {
      stream_->cancel();
      finish({kInternal, "the server sent more than one response message to a unary call"});
      return;
    }
    response_ = std::move(message);
  };
  handlers.on_closed = [this](GrpcStatus status) {
    if (status.code == 0 && !response_) {
      status = {kInternal, "the call ended with OK but without a response message"};
    }
    finish(std::move(status));
  };
  stream_ = std::make_shared<GrpcBidiStream>(io_context, std::move(options), std::move(handlers));
}

GrpcUnaryCall::~GrpcUnaryCall() {
  // The stream's handlers refer to this call: they must never run once it is gone.
  stream_->cancel();
}

void GrpcUnaryCall::start(std::string_view request) {
  deadline_.expires_after(timeout_);
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    auto self = weak.lock();
    if (error || !self || self->finished_) {
      return;
    }
    self->stream_->cancel();
    self->finish({kDeadlineExceeded, "no answer from " + self->authority() + " within " +
                                         std::to_string(self->timeout_.count()) + " ms"});
  });
  stream_->start();
  stream_->send(request);
  stream_->finishSending();
}

void GrpcUnaryCall::cancel() {
  finished_ = true;
  done_ = {};
  deadline_.cancel();
  stream_->cancel();
}

void GrpcUnaryCall::finish(GrpcStatus status) {
  if (finished_) {
    return;
  }
  finished_ = true;
  deadline_.cancel();
  Done done = std::move(done_);
  done_ = {};
  std::string response = status.code == 0 && response_ ? std::move(*response_) : std::string();
  // Posted, so `done` never runs inside the stream's own callbacks, and it may drop the last
  // reference to this call.
  boost::asio::post(io_context_, [self = shared_from_this(), done = std::move(done),
                                  status = std::move(status), response = std::move(response)] {
    if (done) {
      done(status, response);
    }
  });
}

}  // namespace weft::proxy::xds
