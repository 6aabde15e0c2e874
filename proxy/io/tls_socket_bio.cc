#include "proxy/io/tls_socket_bio.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace weft::proxy {

namespace {

struct SocketBioState {
  int fd = -1;
  std::string replay;
  size_t replayed = 0;
};

SocketBioState* stateOf(BIO* bio) {
  return static_cast<SocketBioState*>(BIO_get_data(bio));
}

bool wouldBlock(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int readBytes(BIO* bio, char* out, size_t length, size_t* read) {
  SocketBioState* state = stateOf(bio);
  BIO_clear_retry_flags(bio);
  if (state->replayed < state->replay.size()) {
    const size_t count = std::min(length, state->replay.size() - state->replayed);
    std::memcpy(out, state->replay.data() + state->replayed, count);
    state->replayed += count;
    if (state->replayed == state->replay.size()) {
      std::string().swap(state->replay);
      state->replayed = 0;
    }
    *read = count;
    return 1;
  }
  const ssize_t received = ::recv(state->fd, out, length, MSG_DONTWAIT);
  if (received > 0) {
    *read = static_cast<size_t>(received);
    return 1;
  }
  if (received < 0 && wouldBlock(errno)) {
    BIO_set_retry_read(bio);
  }
  *read = 0;
  return 0;  // EOF (0) or an error, which SSL_get_error reports as SSL_ERROR_SYSCALL
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
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING: {
      SocketBioState* state = stateOf(bio);
      return command == BIO_CTRL_PENDING ? static_cast<long>(state->replay.size() - state->replayed)
                                         : 0;
    }
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
  auto* state = new SocketBioState{fd, std::string(replay), 0};
  BIO_set_data(bio, state);
  return bio;
}

}  // namespace weft::proxy
