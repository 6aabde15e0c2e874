#pragma once

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <string_view>

namespace weft::proxy {

// The BIO under a DeadlineStream's TLS: writes go straight to the non-blocking socket, one
// send() per record; reads come from a per-connection receive buffer that the stream fills
// with Asio's own async_receive.
//
// Why reads go through Asio rather than recv() in the BIO: OpenSSL without read-ahead reads a
// record in two recv() calls (header, then body), and once the socket is drained, a third that
// fails with EAGAIN; waiting for readability with async_wait then costs an epoll_ctl, because
// Asio re-arms the descriptor for every wait. One async_receive into this buffer takes
// everything that arrived in one recv(), and Asio parks it without a system call when its
// last read drained the socket. Per TLS message that is one system call instead of four
// (decision 45).
//
// The buffer starts small (most mesh requests and responses fit) and grows to a full record
// once a receive fills it, so idle connections stay cheap. The socket stays owned by its Asio
// object; the BIO never closes it. An empty buffer sets the BIO's retry flag, so SSL_read
// reports SSL_ERROR_WANT_READ and the stream receives (tlsBioReceiveSpace, tlsBioReceived);
// a would-block write reports SSL_ERROR_WANT_WRITE and the stream waits for the socket.
//
// `replay` holds bytes already read from the socket (what protocol detection took to
// recognise a ClientHello); TLS reads them first. Returns null only when memory runs out.
BIO* newTlsSocketBio(int fd, std::string_view replay);

// The free space the next socket read should fill: never empty. Moves unread bytes to the
// front or grows the buffer as needed.
boost::asio::mutable_buffer tlsBioReceiveSpace(BIO* bio);

// `bytes` were received into the space tlsBioReceiveSpace returned.
void tlsBioReceived(BIO* bio, size_t bytes);

// The peer closed its sending side: once the buffer is drained, reads report end of stream.
void tlsBioReceivedEof(BIO* bio);

}  // namespace weft::proxy
