#include "proxy/router/grpc_timeout.h"

#include "proxy/http1/local_reply.h"

#include <gtest/gtest.h>

namespace weft::proxy {
namespace {

using std::chrono::milliseconds;

TEST(GrpcTimeoutTest, ParsesEveryUnit) {
  EXPECT_EQ(parseGrpcTimeout("2H"), milliseconds(7'200'000));
  EXPECT_EQ(parseGrpcTimeout("3M"), milliseconds(180'000));
  EXPECT_EQ(parseGrpcTimeout("10S"), milliseconds(10'000));
  EXPECT_EQ(parseGrpcTimeout("250m"), milliseconds(250));
  EXPECT_EQ(parseGrpcTimeout("1500u"), milliseconds(2));  // rounded up
  EXPECT_EQ(parseGrpcTimeout("1n"), milliseconds(1));     // never rounds to "none"
  EXPECT_EQ(parseGrpcTimeout("0m"), milliseconds(0));
  EXPECT_EQ(parseGrpcTimeout("99999999H"), milliseconds(99'999'999LL * 3'600'000));
}

TEST(GrpcTimeoutTest, RefusesAnythingElse) {
  for (const char* bad : {"", "m", "5", "123456789m", "-5m", "5s", "5 m", " 5m", "5mm", "1.5S",
                          "5h", "0x5m", "5\x00m"}) {
    EXPECT_EQ(parseGrpcTimeout(bad), std::nullopt) << bad;
  }
}

TEST(GrpcTimeoutTest, FormatsInTheFinestUnitThatFits) {
  EXPECT_EQ(grpcTimeoutText(milliseconds(250)), "250m");
  EXPECT_EQ(grpcTimeoutText(milliseconds(99'999'999)), "99999999m");
  EXPECT_EQ(grpcTimeoutText(milliseconds(100'000'000)), "100000S");
  EXPECT_EQ(grpcTimeoutText(milliseconds(-3)), "0m");
}

TEST(GrpcTimeoutTest, ARetryForwardsTheTimeLeft) {
  using std::chrono::microseconds;
  EXPECT_EQ(grpcTimeoutLeft("5S", milliseconds(1200)), "3800m");
  EXPECT_EQ(grpcTimeoutLeft("250m", microseconds(100'400)), "150m");  // rounded up
  EXPECT_EQ(grpcTimeoutLeft("250m", milliseconds(300)), "1m");        // late: no time, not none
  EXPECT_EQ(grpcTimeoutLeft("soon", milliseconds(1)), std::nullopt);
}

TEST(GrpcTimeoutTest, RecognisesGrpcContentTypes) {
  EXPECT_TRUE(isGrpcContentType("application/grpc"));
  EXPECT_TRUE(isGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(isGrpcContentType("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(isGrpcContentType("application/grpc-web"));
  EXPECT_FALSE(isGrpcContentType("application/json"));
  EXPECT_FALSE(isGrpcContentType(""));
}

RouteEntry routeWith(std::optional<milliseconds> cap, milliseconds offset) {
  RouteEntry route;
  route.timeout = milliseconds(15'000);
  route.max_grpc_timeout = cap;
  route.grpc_timeout_offset = offset;
  return route;
}

TEST(GrpcTimeoutTest, DeadlineIsTheHeaderLessTheOffsetCappedByTheRoute) {
  const RouteEntry route = routeWith(milliseconds(2'000), milliseconds(100));
  RequestDeadline deadline = requestDeadline(route, "application/grpc", "1S");
  EXPECT_EQ(deadline.timeout, milliseconds(900));
  EXPECT_EQ(deadline.forwarded_grpc_timeout, "900m");
  deadline = requestDeadline(route, "application/grpc", "30S");
  EXPECT_EQ(deadline.timeout, milliseconds(2'000));
  EXPECT_EQ(deadline.forwarded_grpc_timeout, "2000m");
  // An offset larger than the value leaves the smallest deadline, not none.
  deadline = requestDeadline(route, "application/grpc", "50m");
  EXPECT_EQ(deadline.timeout, milliseconds(1));
}

TEST(GrpcTimeoutTest, ZeroCapMeansTheHeaderAlone) {
  const RouteEntry route = routeWith(milliseconds(0), milliseconds(0));
  EXPECT_EQ(requestDeadline(route, "application/grpc", "2H").timeout, milliseconds(7'200'000));
}

TEST(GrpcTimeoutTest, RouteTimeoutWhenTheHeaderDoesNotApply) {
  const RouteEntry capped = routeWith(milliseconds(2'000), milliseconds(0));
  // Not gRPC, no header, or no max_grpc_timeout on the route: unchanged.
  EXPECT_EQ(requestDeadline(capped, "application/json", "1S").timeout, milliseconds(15'000));
  EXPECT_EQ(requestDeadline(capped, "application/grpc", std::nullopt).timeout,
            milliseconds(15'000));
  const RouteEntry plain = routeWith(std::nullopt, milliseconds(0));
  const RequestDeadline deadline = requestDeadline(plain, "application/grpc", "1S");
  EXPECT_EQ(deadline.timeout, milliseconds(15'000));
  EXPECT_FALSE(deadline.forwarded_grpc_timeout);
  // A malformed header is ignored, and said so.
  const RequestDeadline malformed = requestDeadline(capped, "application/grpc", "1.5S");
  EXPECT_EQ(malformed.timeout, milliseconds(15'000));
  EXPECT_TRUE(malformed.malformed_grpc_timeout);
  EXPECT_FALSE(malformed.forwarded_grpc_timeout);
}

TEST(GrpcTimeoutTest, LocalReplyStatusesAndMessages) {
  EXPECT_EQ(grpcStatusFor(LocalReplyReason::kUpstreamTimeout), 4u);
  EXPECT_EQ(grpcStatusFor(LocalReplyReason::kUpstreamConnectFail), 14u);
  EXPECT_EQ(grpcStatusFor(LocalReplyReason::kNoRoute), 12u);
  EXPECT_EQ(grpcMessageText("50% done\n\xc3\xa9"), "50%25 done%0A%C3%A9");
}

}  // namespace
}  // namespace weft::proxy
