#include "bench/loadgen/h2c_connection.h"

#include <algorithm>
#include <bit>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <cstring>
#include <new>

#include "bench/loadgen/allocation_count.h"

namespace weft::loadgen {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// nghttp2 allocates a little per stream (stream state, header buffers). Recycling those
// blocks through a free list per power-of-two size class means that once the first streams
// have run, a run allocates nothing more; the heap allocations that remain are counted.
class BlockPool {
 public:
  void* allocate(std::size_t size) {
    const unsigned size_class = sizeClass(size);
    if (size_class >= kClasses) {
      return withHeader(std::malloc(sizeof(Header) + size), kUnpooled, size);
    }
    if (FreeBlock* block = free_[size_class]) {
      free_[size_class] = block->next;
      return block;
    }
    countAllocation();
    const std::size_t capacity = std::size_t{1} << size_class;
    return withHeader(std::malloc(sizeof(Header) + capacity), size_class, capacity);
  }

  void release(void* pointer) {
    if (pointer == nullptr) {
      return;
    }
    Header* header = headerOf(pointer);
    if (header->size_class == kUnpooled) {
      std::free(header);
      return;
    }
    auto* block = static_cast<FreeBlock*>(pointer);
    block->next = free_[header->size_class];
    free_[header->size_class] = block;
  }

  void* reallocate(void* pointer, std::size_t size) {
    if (pointer == nullptr) {
      return allocate(size);
    }
    const Header* header = headerOf(pointer);
    if (header->size_class != kUnpooled && size <= header->capacity) {
      return pointer;
    }
    void* moved = allocate(size);
    if (moved != nullptr) {
      std::memcpy(moved, pointer, std::min(size, header->capacity));
      release(pointer);
    }
    return moved;
  }

 private:
  struct alignas(16) Header {
    unsigned size_class;
    std::size_t capacity;
  };
  struct FreeBlock {
    FreeBlock* next;
  };
  static constexpr unsigned kClasses = 17;  // blocks of 16 B .. 64 KiB
  static constexpr unsigned kUnpooled = ~0u;

  static unsigned sizeClass(std::size_t size) {
    return static_cast<unsigned>(std::bit_width(std::max<std::size_t>(size, 16) - 1));
  }
  static void* withHeader(void* raw, unsigned size_class, std::size_t capacity) {
    if (raw == nullptr) {
      return nullptr;
    }
    auto* header = new (raw) Header{size_class, capacity};
    return header + 1;
  }
  static Header* headerOf(void* pointer) { return static_cast<Header*>(pointer) - 1; }

  std::array<FreeBlock*, kClasses> free_{};
};

BlockPool pool;  // one thread: no locking

void* pooledMalloc(size_t size, void*) {
  return pool.allocate(size);
}
void pooledFree(void* pointer, void*) {
  pool.release(pointer);
}
void* pooledCalloc(size_t count, size_t size, void*) {
  void* pointer = pool.allocate(count * size);
  if (pointer != nullptr) {
    std::memset(pointer, 0, count * size);
  }
  return pointer;
}
void* pooledRealloc(void* pointer, size_t size, void*) {
  return pool.reallocate(pointer, size);
}

nghttp2_mem pooledMemory{nullptr, pooledMalloc, pooledFree, pooledCalloc, pooledRealloc};

nghttp2_nv header(std::string_view name, std::string_view value) {
  // NO_COPY: the names and values outlive the session (literals and members).
  return nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                    name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

}  // namespace

H2cConnection::H2cConnection(asio::io_context& context, RunCallbacks& run,
                             const std::string& authority, const std::string& path,
                             unsigned streams)
    : socket_(context), run_(run), authority_(authority), path_(path), slots_(streams) {
  headers_ = {header(":method", "GET"), header(":scheme", "http"), header(":authority", authority_),
              header(":path", path_)};
  free_slots_.reserve(slots_.size());
  for (Slot& slot : slots_) {
    free_slots_.push_back(&slot);
  }
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2cConnection::onHeader);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2cConnection::onStreamClose);
  nghttp2_session_client_new3(&session_, callbacks, this, nullptr, &pooledMemory);
  nghttp2_session_callbacks_del(callbacks);
}

H2cConnection::~H2cConnection() {
  nghttp2_session_del(session_);
}

bool H2cConnection::connect(const tcp::endpoint& endpoint) {
  boost::system::error_code error;
  socket_.connect(endpoint, error);
  if (error) {
    return false;
  }
  socket_.set_option(tcp::no_delay(true), error);
  open_ = true;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  flush();
  startReading();
  return open_;
}

void H2cConnection::send(Clock::time_point intended) {
  if (!open_ || free_slots_.empty()) {
    run_.onResponse(*this, intended, 0);
    return;
  }
  Slot* slot = free_slots_.back();
  free_slots_.pop_back();
  *slot = Slot{intended, 0, true};
  if (nghttp2_submit_request(session_, nullptr, headers_.data(), headers_.size(), nullptr, slot) <
      0) {
    slot->in_use = false;
    free_slots_.push_back(slot);
    run_.onResponse(*this, intended, 0);
    return;
  }
  if (!receiving_) {
    flush();
  }
}

int H2cConnection::onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                            const uint8_t* name, size_t name_length, const uint8_t* value,
                            size_t value_length, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS || name_length != 7 ||
      std::string_view(reinterpret_cast<const char*>(name), name_length) != ":status") {
    return 0;
  }
  auto* slot =
      static_cast<Slot*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (slot != nullptr && value_length == 3) {
    const int status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    if (status >= 200) {  // interim responses do not end the request
      slot->status = status;
    }
  }
  return 0;
}

int H2cConnection::onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                                 void* user_data) {
  auto* self = static_cast<H2cConnection*>(user_data);
  auto* slot = static_cast<Slot*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (slot == nullptr || !slot->in_use) {
    return 0;
  }
  slot->in_use = false;
  self->free_slots_.push_back(slot);
  self->run_.onResponse(*self, slot->intended, error_code == 0 ? slot->status : 0);
  return 0;
}

void H2cConnection::startReading() {
  socket_.async_read_some(
      asio::buffer(buffer_),
      [this](const boost::system::error_code& error, std::size_t bytes) { onRead(error, bytes); });
}

void H2cConnection::onRead(const boost::system::error_code& error, std::size_t bytes) {
  if (error) {
    fail();
    return;
  }
  receiving_ = true;
  const auto consumed =
      nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buffer_.data()), bytes);
  receiving_ = false;
  if (consumed < 0) {
    fail();
    return;
  }
  flush();  // requests submitted meanwhile, window updates, settings acknowledgements
  if (open_) {
    startReading();
  }
}

void H2cConnection::flush() {
  for (;;) {
    const uint8_t* data = nullptr;
    const auto length = nghttp2_session_mem_send(session_, &data);
    if (length < 0) {
      fail();
      return;
    }
    if (length == 0) {
      return;
    }
    boost::system::error_code error;
    asio::write(socket_, asio::buffer(data, static_cast<std::size_t>(length)), error);
    if (error) {
      fail();
      return;
    }
  }
}

// Every request in flight fails; the connection stays closed (see Http1Connection::fail).
void H2cConnection::fail() {
  if (!open_) {
    return;
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
  open_ = false;
  run_.onConnectionLost();
  for (Slot& slot : slots_) {
    if (slot.in_use) {
      slot.in_use = false;
      free_slots_.push_back(&slot);
      run_.onResponse(*this, slot.intended, 0);
    }
  }
}

}  // namespace weft::loadgen
