#include "common/config/proto_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testdata/config_test.pb.h"

namespace weft::config {
namespace {

using ::testing::HasSubstr;

weft::test::Sample validSample() {
  weft::test::Sample sample;
  sample.set_name("web");
  sample.set_cluster("backend");
  sample.set_retries(1);
  sample.set_required_color(weft::test::RED);
  return sample;
}

TEST(ProtoValidatorTest, AcceptsAValidMessage) {
  EXPECT_TRUE(validateMessage(validSample()).empty());
}

TEST(ProtoValidatorTest, RejectsUndeclaredEnumNumbersFromBinaryInput) {
  weft::test::Sample sample = validSample();
  // A binary xDS message can carry any number in an enum field.
  sample.GetReflection()->SetEnumValue(&sample, sample.GetDescriptor()->FindFieldByName("color"),
                                       42);
  const ConfigErrors errors = validateMessage(sample, "xds:test");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].toString(), "xds:test: color: unknown value 42 for weft.test.Color");
}

TEST(ProtoValidatorTest, ChecksInsideMapsListsAndAny) {
  weft::test::Sample sample = validSample();
  (*sample.mutable_named_endpoints())["db"].set_port(5432);  // host missing
  sample.add_endpoints()->set_host("a");
  sample.add_endpoints()->set_port(99999);  // host missing, port too high
  weft::test::Endpoint bad;
  bad.set_host("x");
  bad.set_port(0);
  bad.mutable_weight()->set_value(500);
  sample.mutable_extension()->PackFrom(bad);
  std::vector<std::string> found;
  for (const auto& error : validateMessage(sample)) {
    found.push_back(error.field_path + ": " + error.reason);
  }
  EXPECT_THAT(found,
              ::testing::UnorderedElementsAre("named_endpoints[\"db\"].host: is required",
                                              "endpoints[1].host: is required",
                                              "endpoints[1].port: must be at most 65535, got 99999",
                                              "extension.weight: must be at most 128, got 500"));
}

TEST(ProtoValidatorTest, MapKeysMatchTheirPattern) {
  weft::test::Sample sample = validSample();
  (*sample.mutable_routes())["app/livez"].set_host("a");
  (*sample.mutable_routes())["db"].set_host("b");
  EXPECT_TRUE(validateMessage(sample).empty());
  (*sample.mutable_routes())["App Live"].set_host("c");
  (*sample.mutable_routes())["a/b/c"];  // and the entry itself is still checked
  std::vector<std::string> found;
  for (const auto& error : validateMessage(sample)) {
    found.push_back(error.field_path + ": " + error.reason);
  }
  EXPECT_THAT(found, ::testing::UnorderedElementsAre(
                         "routes[\"App Live\"]: the key \"App Live\" does not match the pattern "
                         "[a-z]+(/[a-z]+)?",
                         "routes[\"a/b/c\"]: the key \"a/b/c\" does not match the pattern "
                         "[a-z]+(/[a-z]+)?",
                         "routes[\"a/b/c\"].host: is required"));
}

TEST(ProtoValidatorTest, UndecodableAnyIsAnError) {
  weft::test::Sample sample = validSample();
  sample.mutable_extension()->set_type_url("type.googleapis.com/weft.test.Endpoint");
  sample.mutable_extension()->set_value("\xff\xff\xff");
  const ConfigErrors errors = validateMessage(sample);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].reason, HasSubstr("cannot decode"));
}

TEST(ProtoValidatorTest, DurationBoundsAreInSeconds) {
  weft::test::Sample sample = validSample();
  sample.mutable_timeout()->set_nanos(500'000);  // 0.5 ms, below the 1 ms minimum
  const ConfigErrors errors = validateMessage(sample);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "must be at least 1ms, got 500us");
}

TEST(ProtoValidatorTest, OptionalScalarPresenceCountsForRequired) {
  weft::test::Sample sample = validSample();
  sample.clear_retries();
  ASSERT_EQ(validateMessage(sample).size(), 1u);
  sample.set_retries(0);  // present, and zero is a real choice for an optional field
  EXPECT_TRUE(validateMessage(sample).empty());
  sample.set_retries(11);
  EXPECT_THAT(validateMessage(sample).front().reason, HasSubstr("at most 10"));
}

}  // namespace
}  // namespace weft::config
