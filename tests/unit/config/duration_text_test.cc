#include "common/config/duration_text.h"

#include <gtest/gtest.h>

namespace weft::config {
namespace {

google::protobuf::Duration parsed(std::string_view text) {
  google::protobuf::Duration duration;
  const std::string problem = parseDurationText(text, duration);
  EXPECT_EQ(problem, "") << text;
  return duration;
}

std::string problemWith(std::string_view text) {
  google::protobuf::Duration duration;
  return parseDurationText(text, duration);
}

TEST(DurationTextTest, ParsesEachUnit) {
  EXPECT_EQ(parsed("5s").seconds(), 5);
  EXPECT_EQ(parsed("250ms").nanos(), 250'000'000);
  EXPECT_EQ(parsed("100us").nanos(), 100'000);
  EXPECT_EQ(parsed("7ns").nanos(), 7);
  EXPECT_EQ(parsed("2m").seconds(), 120);
  EXPECT_EQ(parsed("1h").seconds(), 3600);
}

TEST(DurationTextTest, ParsesCompoundAndFractional) {
  const auto compound = parsed("1h30m15s");
  EXPECT_EQ(compound.seconds(), 5415);
  const auto fractional = parsed("1.5s");
  EXPECT_EQ(fractional.seconds(), 1);
  EXPECT_EQ(fractional.nanos(), 500'000'000);
  // Protobuf JSON's own form is a subset.
  const auto json_form = parsed("0.250s");
  EXPECT_EQ(json_form.seconds(), 0);
  EXPECT_EQ(json_form.nanos(), 250'000'000);
  EXPECT_EQ(parsed("1.5m").seconds(), 90);
  EXPECT_EQ(parsed("0").seconds(), 0);
}

TEST(DurationTextTest, RejectsMissingOrUnknownUnits) {
  EXPECT_NE(problemWith("5").find("missing unit"), std::string::npos);
  EXPECT_NE(problemWith("5d").find("unknown unit"), std::string::npos);
  EXPECT_NE(problemWith("").find("empty"), std::string::npos);
  EXPECT_NE(problemWith("s").find("expected a number"), std::string::npos);
  EXPECT_NE(problemWith("abc").find("expected a number"), std::string::npos);
  EXPECT_NE(problemWith("+").find("expected a number"), std::string::npos);
}

TEST(DurationTextTest, RejectsNegativeAndOutOfRange) {
  EXPECT_NE(problemWith("-1s").find("negative"), std::string::npos);
  EXPECT_NE(problemWith("99999999999999h").find("out of range"), std::string::npos);
  EXPECT_NE(problemWith("999999999999999999999s").find("out of range"), std::string::npos);
}

TEST(DurationTextTest, FormatsShortestForm) {
  EXPECT_EQ(formatDurationText(parsed("250ms")), "250ms");
  EXPECT_EQ(formatDurationText(parsed("1h30m")), "1h30m");
  EXPECT_EQ(formatDurationText(parsed("0s")), "0s");
  EXPECT_EQ(formatDurationText(parsed("1.5s")), "1500ms");
  EXPECT_EQ(formatDurationText(parsed("100us")), "100us");
  EXPECT_EQ(formatDurationText(parsed("90s")), "1m30s");
  // Far beyond nanosecond range and negative (binary input only): no overflow.
  google::protobuf::Duration huge;
  huge.set_seconds(10'000'000'000);
  huge.set_nanos(500'000'000);
  EXPECT_EQ(formatDurationText(huge), "2777777h46m40s");
  google::protobuf::Duration negative;
  negative.set_seconds(-5);
  EXPECT_EQ(formatDurationText(negative), "-5s");
}

}  // namespace
}  // namespace weft::config
