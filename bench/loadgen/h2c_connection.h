#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "bench/loadgen/connection.h"

namespace weft::loadgen {

// HTTP/2 over cleartext with prior knowledge: up to `streams` requests in flight on one
// connection. Our side keeps a fixed set of stream slots; nghttp2's per-stream allocations go
// through a recycling pool, so a run stops allocating once the first streams have run.
class H2cConnection final : public Connection {
 public:
  H2cConnection(boost::asio::io_context& context, RunCallbacks& run, const std::string& authority,
                const std::string& path, unsigned streams);
  ~H2cConnection() override;
  H2cConnection(const H2cConnection&) = delete;
  H2cConnection& operator=(const H2cConnection&) = delete;

  bool connect(const boost::asio::ip::tcp::endpoint& endpoint);

  unsigned slots() const override { return static_cast<unsigned>(slots_.size()); }
  bool open() const override { return open_; }
  void send(Clock::time_point intended) override;

 private:
  struct Slot {
    Clock::time_point intended{};
    int status = 0;
    bool in_use = false;
  };

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* user_data);
  static int onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user_data);

  void startReading();
  void onRead(const boost::system::error_code& error, std::size_t bytes);
  void flush();
  void fail();

  boost::asio::ip::tcp::socket socket_;
  RunCallbacks& run_;
  std::string authority_;
  std::string path_;
  std::array<nghttp2_nv, 4> headers_{};
  nghttp2_session* session_ = nullptr;
  std::vector<Slot> slots_;
  std::vector<Slot*> free_slots_;
  std::array<char, 64 * 1024> buffer_{};
  bool open_ = false;
  bool receiving_ = false;  // inside nghttp2_session_mem_recv: writes wait until it returns
};

}  // namespace weft::loadgen
