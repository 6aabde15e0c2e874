#pragma once

#include <string>

namespace weft::tls {

// Empties this thread's OpenSSL error queue and describes what was in it, oldest first, e.g.
// "PEM routines: bad end line; asn1 encoding routines: header too long". Returns an empty
// string when the queue was empty.
//
// Call it on every failure path: OpenSSL keeps errors per thread until someone reads them, so a
// stale entry left behind would be blamed on the next, unrelated failure on that thread.
std::string opensslErrors();

}  // namespace weft::tls
