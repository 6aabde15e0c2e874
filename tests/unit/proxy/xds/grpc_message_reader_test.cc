#include "proxy/xds/grpc_message_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weft::proxy::xds {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(GrpcMessageReaderTest, FramesAndReadsBackMessagesCutAnywhere) {
  const std::string stream =
      frameGrpcMessage("first") + frameGrpcMessage("") + frameGrpcMessage(std::string(300, 'x'));
  // Every way of cutting the bytes in two gives the same messages.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    GrpcMessageReader reader(1024);
    std::vector<std::string> messages;
    ASSERT_EQ(reader.feed(std::string_view(stream).substr(0, cut), messages), "");
    ASSERT_EQ(reader.feed(std::string_view(stream).substr(cut), messages), "");
    ASSERT_THAT(messages, ElementsAre("first", "", std::string(300, 'x'))) << "cut at " << cut;
    EXPECT_FALSE(reader.midMessage());
  }
}

TEST(GrpcMessageReaderTest, KnowsWhenAMessageIsUnfinished) {
  GrpcMessageReader reader(1024);
  std::vector<std::string> messages;
  ASSERT_EQ(reader.feed(frameGrpcMessage("abc").substr(0, 6), messages), "");
  EXPECT_TRUE(reader.midMessage());
  EXPECT_TRUE(messages.empty());
}

TEST(GrpcMessageReaderTest, RefusesAMessageOverTheLimitFromItsPrefix) {
  GrpcMessageReader reader(16);
  std::vector<std::string> messages;
  // Only the prefix has arrived: the length alone is refused, nothing is buffered.
  const std::string error =
      reader.feed(frameGrpcMessage(std::string(17, 'a')).substr(0, 5), messages);
  EXPECT_THAT(error, HasSubstr("a message of 17 bytes, more than the limit of 16"));
  // And stays failed.
  EXPECT_EQ(reader.feed(frameGrpcMessage("ok"), messages), error);
  EXPECT_TRUE(messages.empty());
}

TEST(GrpcMessageReaderTest, RefusesCompressedMessages) {
  GrpcMessageReader reader(1024);
  std::vector<std::string> messages;
  std::string framed = frameGrpcMessage("zipped");
  framed[0] = 1;
  EXPECT_THAT(reader.feed(framed, messages), HasSubstr("no compression was negotiated"));
  framed[0] = 7;
  GrpcMessageReader other(1024);
  EXPECT_THAT(other.feed(framed, messages), HasSubstr("invalid compressed flag 7"));
}

TEST(GrpcMessageReaderTest, PrefixIsBigEndianLength) {
  const std::string framed = frameGrpcMessage(std::string(0x0102, 'b'));
  EXPECT_EQ(framed.substr(0, 5), std::string("\0\0\0\x01\x02", 5));
}

}  // namespace
}  // namespace weft::proxy::xds
