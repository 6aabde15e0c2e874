#include "proxy/http2/stream_exchange.h"

#include <charconv>
#include <cstring>

#include "proxy/http2/http2_attempts.h"
#include "proxy/http2/stream_idle_watch.h"
#include "proxy/router/grpc_timeout.h"

namespace weft::proxy {

size_t BodyPipe::take(uint8_t* out, size_t max) {
  const size_t length = std::min(max, size());
  std::memcpy(out, data_.data() + offset_, length);
  drop(length);
  return length;
}

void BodyPipe::drop(size_t length) {
  moved_ += std::min(length, size());
  offset_ += std::min(length, size());
  if (offset_ == data_.size()) {
    data_.clear();
    offset_ = 0;
  } else if (offset_ > 64 * 1024 && offset_ * 2 > data_.size()) {
    // Compact once most of the buffer is consumed, so it never grows past
    // twice what is in flight.
    data_.erase(0, offset_);
    offset_ = 0;
  }
}

StreamExchange::StreamExchange(boost::asio::any_io_executor executor) : wake(executor) {}

StreamExchange::~StreamExchange() {
  if (idle_watch.watcher != nullptr) {
    idle_watch.watcher->unwatch(*this);
  }
}

namespace {

// A numeric field's value, or -1.
int numericField(const HeaderList& fields, std::string_view name) {
  for (const HeaderField& field : fields) {
    if (field.name == name) {
      int value = 0;
      const auto [end, error] =
          std::from_chars(field.value.data(), field.value.data() + field.value.size(), value);
      return error == std::errc() && end == field.value.data() + field.value.size() ? value : -1;
    }
  }
  return -1;
}

}  // namespace

RequestSeries StreamExchange::metricSeries() const {
  RequestSeries series = metrics.series;
  if (response_started) {
    const int status = numericField(response_fields, ":status");
    series.response_code = status > 0 ? static_cast<uint16_t>(status) : 0;
    // A gRPC status is in the trailers, or in the header of a trailers-only response.
    int grpc = numericField(response_body.trailers, "grpc-status");
    if (grpc < 0) {
      grpc = numericField(response_fields, "grpc-status");
    }
    series.grpc_status = grpc >= 0 && grpc < 64 ? static_cast<int8_t>(grpc) : int8_t{-1};
  }
  if (answered_locally && local_reason != LocalReplyReason::kDirectResponse &&
      local_reason != LocalReplyReason::kRedirect) {
    series.response_flag = responseFlag(local_reason);
  } else if (metrics.broke_off != kNoResponseFlag) {
    series.response_flag = metrics.broke_off;
  } else if (!response_started || !response_body.ended || response_body.size() > 0) {
    series.response_flag = kFlagDownstreamDisconnect;
  }
  return series;
}

bool StreamExchange::isGrpc() const {
  for (const HeaderField& field : request.fields) {
    if (field.name == "content-type") {
      return isGrpcContentType(field.value);
    }
  }
  return false;
}

void StreamExchange::setResponse(HeaderList fields) {
  response_fields = std::move(fields);
  response_mutations.apply(response_fields);
  response_fields.insert(response_fields.end(), response_additions.begin(),
                         response_additions.end());
  response_started = true;
}

void StreamExchange::localReply(LocalReplyReason reason, unsigned status, std::string_view detail,
                                int grpc_status) {
  if (response_started) {
    return;
  }
  answered_locally = true;
  local_reason = reason;
  if (reason != LocalReplyReason::kDirectResponse && reason != LocalReplyReason::kRedirect &&
      isGrpc()) {
    // A gRPC client reads the status from grpc-status, not :status: a
    // trailers-only response (HEADERS with END_STREAM) says what happened.
    HeaderList fields{
        {":status", "200"},
        {"content-type", "application/grpc"},
        {"grpc-status", std::to_string(grpc_status > 0 ? static_cast<unsigned>(grpc_status)
                                                       : grpcStatusFor(reason))},
        {"grpc-message", grpcMessageText(detail)}};
    if (!hide_local_reply_reason) {
      fields.push_back({"x-weft-reason", std::string(localReplyCode(reason))});
    }
    setResponse(std::move(fields));
    response_body = BodyPipe();
    response_body.ended = true;
    discard_request_body = true;
    if (downstream != nullptr) {
      downstream->responseHeadersReady(*this);
    }
    return;
  }
  localReply(makeLocalReply(reason, status, detail, 11, true, head_request));
}

void StreamExchange::localReply(const LocalResponse& reply) {
  if (response_started) {
    return;
  }
  if (!answered_locally) {  // the router's redirect or direct response (the other overload
                            // set its reason)
    answered_locally = true;
    local_reason = reply.result_int() >= 300 && reply.result_int() < 400
                       ? LocalReplyReason::kRedirect
                       : LocalReplyReason::kDirectResponse;
  }
  HeaderList fields = http2ResponseFields(reply.base());
  if (hide_local_reply_reason) {
    std::erase_if(fields, [](const HeaderField& field) { return field.name == "x-weft-reason"; });
  }
  setResponse(std::move(fields));
  response_body = BodyPipe();
  response_body.append(reply.body());
  response_body.ended = true;
  discard_request_body = true;
  if (downstream != nullptr) {
    downstream->responseHeadersReady(*this);
  }
}

}  // namespace weft::proxy
