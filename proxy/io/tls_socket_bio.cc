#include "proxy/io/tls_socket_bio.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace weft::proxy {

namespace {

// A receive that fills the small buffer means bigger messages flow on this connection; the
// buffer then grows to hold a whole TLS record (16 KiB of plaintext, plus header, padding and
// tag) so one recv() takes one record.
constexpr size_t kSmallReceiveBytes = 4 * 1024;
constexpr size_t kLargeReceiveBytes = 16 * 1024 + 512;
// Unread bytes are moved to the front once the free tail is smaller than this.
constexpr size_t kMinimumReceiveSpace = 1024;

struct SocketBioState {
  int fd = -1;
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  size_t begin = 0;  // first unread byte
  size_t end = 0;    // one past the last received byte
  bool eof = false;
};

SocketBioState* stateOf(BIO* bio) {
  return static_cast<SocketBioState*>(BIO_get_data(bio));
}

void reallocate(SocketBioState& state, size_t capacity) {
  auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
  const size_t unread = state.end - state.begin;
  if (unread > 0) {
    std::memcpy(bigger.get(), state.buffer.get() + state.begin, unread);
  }
  state.buffer = std::move(bigger);
  state.capacity = capacity;
  state.begin = 0;
  state.end = unread;
}

int readBytes(BIO* bio, char* out, size_t length, size_t* read) {
  SocketBioState* state = stateOf(bio);
  BIO_clear_retry_flags(bio);
  const size_t unread = state->end - state->begin;
  if (unread == 0) {
    *read = 0;
    if (!state->eof) {
      BIO_set_retry_read(bio);
    } else {
      errno = 0;  // end of stream, not a failed system call
    }
    return 0;
  }
  const size_t count = std::min(length, unread);
  std::memcpy(out, state->buffer.get() + state->begin, count);
  state->begin += count;
  if (state->begin == state->end) {
    state->begin = state->end = 0;
  }
  *read = count;
  return 1;
}

bool wouldBlock(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int writeBytes(BIO* bio, const char* data, size_t length, size_t* written) {
  SocketBioState* state = stateOf(bio);
  BIO_clear_retry_flags(bio);
  const ssize_t sent = ::send(state->fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent >= 0) {
    *written = static_cast<size_t>(sent);
    return 1;
  }
  if (wouldBlock(errno)) {
    BIO_set_retry_write(bio);
  }
  *written = 0;
  return 0;
}

long control(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // every write went to the kernel already
    case BIO_CTRL_PENDING: {
      const SocketBioState* state = stateOf(bio);
      return static_cast<long>(state->end - state->begin);
    }
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_EOF:
      return stateOf(bio)->eof && stateOf(bio)->begin == stateOf(bio)->end ? 1 : 0;
    default:
      return 0;
  }
}

int create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int destroy(BIO* bio) {
  delete stateOf(bio);
  BIO_set_data(bio, nullptr);
  return 1;
}

const BIO_METHOD* socketBioMethod() {
  // Made once, kept for the life of the process (OpenSSL holds no reference to free).
  static BIO_METHOD* method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft socket");
    if (made != nullptr) {
      BIO_meth_set_read_ex(made, &readBytes);
      BIO_meth_set_write_ex(made, &writeBytes);
      BIO_meth_set_ctrl(made, &control);
      BIO_meth_set_create(made, &create);
      BIO_meth_set_destroy(made, &destroy);
    }
    return made;
  }();
  return method;
}

}  // namespace

BIO* newTlsSocketBio(int fd, std::string_view replay) {
  const BIO_METHOD* method = socketBioMethod();
  if (method == nullptr) {
    return nullptr;
  }
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    return nullptr;
  }
  auto* state = new SocketBioState{};
  state->fd = fd;
  if (!replay.empty()) {
    reallocate(*state, std::max(kSmallReceiveBytes, replay.size()));
    std::memcpy(state->buffer.get(), replay.data(), replay.size());
    state->end = replay.size();
  }
  BIO_set_data(bio, state);
  return bio;
}

boost::asio::mutable_buffer tlsBioReceiveSpace(BIO* bio) {
  SocketBioState& state = *stateOf(bio);
  if (!state.buffer) {
    reallocate(state, kSmallReceiveBytes);
  } else if (state.capacity - state.end < kMinimumReceiveSpace) {
    // Unread bytes are at most one partial record: the stream receives only when TLS wants
    // more than the buffer holds.
    const size_t unread = state.end - state.begin;
    if (unread + kMinimumReceiveSpace <= state.capacity) {
      std::memmove(state.buffer.get(), state.buffer.get() + state.begin, unread);
      state.begin = 0;
      state.end = unread;
    } else {
      reallocate(state, std::max(kLargeReceiveBytes, unread + kMinimumReceiveSpace));
    }
  }
  return boost::asio::mutable_buffer(state.buffer.get() + state.end, state.capacity - state.end);
}

void tlsBioReceived(BIO* bio, size_t bytes) {
  SocketBioState& state = *stateOf(bio);
  const bool filled = state.end + bytes == state.capacity;
  state.end += bytes;
  if (filled && state.capacity < kLargeReceiveBytes) {
    reallocate(state, kLargeReceiveBytes);
  }
}

void tlsBioReceivedEof(BIO* bio) {
  stateOf(bio)->eof = true;
}

}  // namespace weft::proxy
