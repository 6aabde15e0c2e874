#include "proxy/xds/grpc_message_reader.h"

#include <algorithm>

namespace weft::proxy::xds {

std::string GrpcMessageReader::feed(std::string_view bytes, std::vector<std::string>& messages) {
  if (!error_.empty()) {
    return error_;
  }
  while (!bytes.empty()) {
    if (!in_message_) {
      const size_t take = std::min(bytes.size(), sizeof(prefix_) - have_prefix_);
      std::copy_n(bytes.data(), take, prefix_ + have_prefix_);
      have_prefix_ += take;
      bytes.remove_prefix(take);
      if (have_prefix_ < sizeof(prefix_)) {
        break;
      }
      have_prefix_ = 0;
      if (prefix_[0] != 0) {
        // No grpc-encoding is asked for or accepted, so a peer may not compress.
        error_ = prefix_[0] == 1
                     ? "a compressed message, though no compression was negotiated"
                     : "a message with an invalid compressed flag " + std::to_string(prefix_[0]);
        return error_;
      }
      expected_ = (size_t{prefix_[1]} << 24) | (size_t{prefix_[2]} << 16) |
                  (size_t{prefix_[3]} << 8) | size_t{prefix_[4]};
      if (expected_ > max_message_bytes_) {
        error_ = "a message of " + std::to_string(expected_) + " bytes, more than the limit of " +
                 std::to_string(max_message_bytes_);
        return error_;
      }
      in_message_ = true;
      message_.clear();
      message_.reserve(expected_);
    }
    const size_t take = std::min(bytes.size(), expected_ - message_.size());
    message_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (message_.size() == expected_) {
      messages.push_back(std::move(message_));
      message_ = std::string();
      expected_ = 0;
      in_message_ = false;
    }
  }
  return {};
}

std::string frameGrpcMessage(std::string_view message) {
  std::string framed;
  framed.reserve(message.size() + 5);
  const auto length = static_cast<uint32_t>(message.size());
  framed.push_back('\0');
  framed.push_back(static_cast<char>((length >> 24) & 0xff));
  framed.push_back(static_cast<char>((length >> 16) & 0xff));
  framed.push_back(static_cast<char>((length >> 8) & 0xff));
  framed.push_back(static_cast<char>(length & 0xff));
  framed.append(message);
  return framed;
}

}  // namespace weft::proxy::xds
