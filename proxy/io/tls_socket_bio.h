#pragma once

#include <openssl/ssl.h>

#include <string_view>

namespace weft::proxy {

// A BIO that reads and writes a non-blocking socket directly, after first replaying bytes that
// were already read from it (what protocol detection took to recognise a ClientHello).
//
// OpenSSL then reads records straight from the kernel into its own buffer and writes each
// record with one send(): no intermediate copy, unlike a memory BIO pair. The socket stays
// owned by its Asio object; the BIO never closes it. A would-block read or write sets the
// BIO's retry flags, so SSL_read / SSL_write report SSL_ERROR_WANT_READ / WANT_WRITE and the
// caller waits for the socket (DeadlineStream's TLS operations).
//
// Returns null only when memory runs out. The BIO copies `replay`.
BIO* newTlsSocketBio(int fd, std::string_view replay);

}  // namespace weft::proxy
