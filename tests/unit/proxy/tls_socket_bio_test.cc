// The TLS layer's socket BIO: reads come from the receive buffer the stream fills (replayed
// bytes first, then what each receive delivered, in order), an empty buffer asks to retry, end
// of stream shows only once the buffer is drained, and the buffer grows from its small start
// to a whole record once a receive fills it, keeping unread bytes.
#include "proxy/io/tls_socket_bio.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace weft::proxy {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Copies `text` into the receive space, as a receive would, and commits it.
void deliver(BIO* bio, std::string_view text) {
  const boost::asio::mutable_buffer space = tlsBioReceiveSpace(bio);
  ASSERT_GE(space.size(), text.size());
  std::memcpy(space.data(), text.data(), text.size());
  tlsBioReceived(bio, text.size());
}

std::string readUpTo(BIO* bio, size_t length) {
  std::string out(length, '\0');
  size_t read = 0;
  if (BIO_read_ex(bio, out.data(), length, &read) != 1) {
    return {};
  }
  out.resize(read);
  return out;
}

TEST(TlsSocketBioTest, ReplayedBytesComeFirstThenReceivedOnesInOrder) {
  BioPtr bio(newTlsSocketBio(-1, "hello "));
  ASSERT_NE(bio, nullptr);
  EXPECT_EQ(BIO_pending(bio.get()), 6);
  deliver(bio.get(), "world");
  EXPECT_EQ(readUpTo(bio.get(), 4), "hell");
  EXPECT_EQ(readUpTo(bio.get(), 100), "o world");
  EXPECT_EQ(BIO_pending(bio.get()), 0);
}

TEST(TlsSocketBioTest, AnEmptyBufferAsksToRetryAndEndOfStreamWaitsForTheBufferToDrain) {
  BioPtr bio(newTlsSocketBio(-1, ""));
  EXPECT_EQ(readUpTo(bio.get(), 10), "");
  EXPECT_TRUE(BIO_should_retry(bio.get()));
  EXPECT_TRUE(BIO_should_read(bio.get()));

  deliver(bio.get(), "last");
  tlsBioReceivedEof(bio.get());
  EXPECT_EQ(BIO_eof(bio.get()), 0);  // four bytes still to read
  EXPECT_EQ(readUpTo(bio.get(), 10), "last");
  EXPECT_EQ(BIO_eof(bio.get()), 1);
  EXPECT_EQ(readUpTo(bio.get(), 10), "");
  EXPECT_FALSE(BIO_should_retry(bio.get()));  // the end, not "try again"
}

TEST(TlsSocketBioTest, TheBufferStartsSmallAndGrowsToARecordOnceAReceiveFillsIt) {
  BioPtr bio(newTlsSocketBio(-1, ""));
  const size_t small = tlsBioReceiveSpace(bio.get()).size();
  EXPECT_LT(small, 16u * 1024);  // idle connections stay cheap
  // A receive that fills the space: bigger messages flow here.
  const std::string filled(small, 'a');
  deliver(bio.get(), filled);
  EXPECT_EQ(readUpTo(bio.get(), 10), std::string(10, 'a'));
  const size_t grown = tlsBioReceiveSpace(bio.get()).size();
  EXPECT_GE(grown + small - 10, 16u * 1024 + 5 + 256);  // a whole TLS record fits now
  // What was unread survived the move.
  EXPECT_EQ(readUpTo(bio.get(), small), std::string(small - 10, 'a'));
}

TEST(TlsSocketBioTest, UnreadBytesMoveToTheFrontWhenTheTailRunsShort) {
  BioPtr bio(newTlsSocketBio(-1, ""));
  const size_t small = tlsBioReceiveSpace(bio.get()).size();
  // Leave 100 unread bytes near the end of the buffer, with less than 1 KiB free after them.
  deliver(bio.get(), std::string(small - 600, 'x') + std::string(100, 'y'));
  EXPECT_EQ(readUpTo(bio.get(), small - 600), std::string(small - 600, 'x'));
  const boost::asio::mutable_buffer space = tlsBioReceiveSpace(bio.get());
  EXPECT_EQ(space.size(), small - 100);  // compacted in place, not grown
  deliver(bio.get(), "z");
  EXPECT_EQ(readUpTo(bio.get(), 1000), std::string(100, 'y') + "z");
}

}  // namespace
}  // namespace weft::proxy
