#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "bench/loadgen/latency_histogram.h"
#include "bench/loadgen/open_loop_schedule.h"
#include "bench/loadgen/response_framer.h"

namespace weft::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.valueAtQuantile(0.99), 0u);
  EXPECT_EQ(histogram.max(), 0u);
}

TEST(LatencyHistogramTest, ExactToTheMicrosecondInTheLowRange) {
  LatencyHistogram histogram;
  for (std::uint64_t us = 1; us <= 1000; ++us) {
    histogram.record(us);
  }
  EXPECT_EQ(histogram.count(), 1000u);
  EXPECT_EQ(histogram.valueAtQuantile(0.5), 500u);
  EXPECT_EQ(histogram.valueAtQuantile(0.9), 900u);
  EXPECT_EQ(histogram.valueAtQuantile(0.99), 990u);
  EXPECT_EQ(histogram.valueAtQuantile(0.999), 999u);
  EXPECT_EQ(histogram.valueAtQuantile(1.0), 1000u);
  EXPECT_EQ(histogram.max(), 1000u);
  EXPECT_DOUBLE_EQ(histogram.mean(), 500.5);
}

TEST(LatencyHistogramTest, QuantileIsTheSmallestValueCoveringTheRank) {
  LatencyHistogram histogram;
  // 99 fast requests and one slow one: p99 is still fast, p99.9 is the slow one.
  for (int i = 0; i < 99; ++i) {
    histogram.record(100);
  }
  histogram.record(1500);
  EXPECT_EQ(histogram.valueAtQuantile(0.99), 100u);
  EXPECT_EQ(histogram.valueAtQuantile(0.991), 1500u);
  EXPECT_EQ(histogram.valueAtQuantile(0.999), 1500u);
  EXPECT_EQ(histogram.valueAtQuantile(0.0), 100u);  // the first value, never below it
}

TEST(LatencyHistogramTest, LargeValuesKeepARelativeErrorUnderOnePerMille) {
  for (std::uint64_t value :
       {2048ull, 2049ull, 4095ull, 4096ull, 123456ull, 9999999ull, (1ull << 39) + 12345}) {
    const std::size_t index = LatencyHistogram::bucketIndex(value);
    const std::uint64_t upper = LatencyHistogram::bucketUpperValue(index);
    EXPECT_GE(upper, value);
    EXPECT_LE(static_cast<double>(upper - value), static_cast<double>(value) / 1000.0) << value;
  }
  LatencyHistogram histogram;
  histogram.record(123456);
  EXPECT_EQ(histogram.valueAtQuantile(0.5), 123456u);  // capped at the exact maximum
  histogram.record(123400);
  EXPECT_GE(histogram.valueAtQuantile(0.5), 123400u);
  EXPECT_LE(histogram.valueAtQuantile(0.5), 123456u);
}

TEST(LatencyHistogramTest, BucketsAreContiguousAndOrdered) {
  // Every value maps to a bucket whose upper edge is >= the value and below the next bucket's
  // values: walk the boundaries of the first few power-of-two ranges.
  std::size_t previous = 0;
  for (std::uint64_t value = 0; value < (1u << 16); ++value) {
    const std::size_t index = LatencyHistogram::bucketIndex(value);
    EXPECT_TRUE(index == previous || index == previous + 1) << value;
    EXPECT_GE(LatencyHistogram::bucketUpperValue(index), value);
    if (index > 0) {
      EXPECT_LT(LatencyHistogram::bucketUpperValue(index - 1), value);
    }
    previous = index;
  }
}

TEST(LatencyHistogramTest, HugeValuesAreClampedNotLost) {
  LatencyHistogram histogram;
  histogram.record(~0ull);
  EXPECT_EQ(histogram.count(), 1u);
  EXPECT_EQ(histogram.max(), ~0ull);
  EXPECT_EQ(histogram.valueAtQuantile(1.0),
            LatencyHistogram::bucketUpperValue(
                LatencyHistogram::bucketIndex(LatencyHistogram::kLargest)));
  histogram.reset();
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.valueAtQuantile(1.0), 0u);
}

TEST(OpenLoopScheduleTest, SpacesRequestsEvenlyFromTheStart) {
  const OpenLoopSchedule schedule(1000, seconds(2));
  EXPECT_EQ(schedule.total(), 2000u);
  EXPECT_EQ(schedule.offsetOf(0), nanoseconds(0));
  EXPECT_EQ(schedule.offsetOf(1), milliseconds(1));
  EXPECT_EQ(schedule.offsetOf(1999), milliseconds(1999));
}

TEST(OpenLoopScheduleTest, DueCountFollowsTheClockNotTheResponses) {
  const OpenLoopSchedule schedule(1000, seconds(1));
  EXPECT_EQ(schedule.dueBy(nanoseconds(-1)), 0u);
  EXPECT_EQ(schedule.dueBy(nanoseconds(0)), 1u);  // request 0 is due at the start
  EXPECT_EQ(schedule.dueBy(milliseconds(1) - nanoseconds(1)), 1u);
  EXPECT_EQ(schedule.dueBy(milliseconds(1)), 2u);
  // A generator that wakes up late sends everything that fell due meanwhile at once.
  EXPECT_EQ(schedule.dueBy(milliseconds(250) + nanoseconds(5)), 251u);
  EXPECT_EQ(schedule.dueBy(seconds(10)), 1000u);  // never beyond the run
}

TEST(OpenLoopScheduleTest, FractionalRatesAgreeWithOffsets) {
  const OpenLoopSchedule schedule(3, milliseconds(1000));
  EXPECT_EQ(schedule.total(), 3u);  // at 0, 333.3 and 666.7 ms
  EXPECT_EQ(schedule.offsetOf(1), nanoseconds(333333333));
  EXPECT_EQ(schedule.offsetOf(2), nanoseconds(666666667));
  for (std::uint64_t i = 0; i < schedule.total(); ++i) {
    EXPECT_EQ(schedule.dueBy(schedule.offsetOf(i)), i + 1);
    EXPECT_EQ(schedule.dueBy(schedule.offsetOf(i) - nanoseconds(1)), i);
  }
  const OpenLoopSchedule odd(7777.7, seconds(3));
  for (std::uint64_t i = 1; i < odd.total(); i += 97) {
    EXPECT_EQ(odd.dueBy(odd.offsetOf(i)), i + 1);
    EXPECT_EQ(odd.dueBy(odd.offsetOf(i) - nanoseconds(1)), i);
  }
  EXPECT_LT(odd.offsetOf(odd.total() - 1), seconds(3));
  EXPECT_GE(odd.offsetOf(odd.total()), seconds(3));
}

TEST(OpenLoopScheduleTest, NothingToSendForAnEmptyRun) {
  EXPECT_EQ(OpenLoopSchedule(0, seconds(1)).total(), 0u);
  EXPECT_EQ(OpenLoopSchedule(100, nanoseconds(0)).total(), 0u);
  EXPECT_EQ(OpenLoopSchedule(100, nanoseconds(0)).dueBy(seconds(1)), 0u);
}

// Feeds `stream` to a framer in pieces of `step` bytes the way a connection does: unconsumed
// bytes stay and more are appended. Returns the statuses of the complete responses.
std::string frameAll(std::string_view stream, std::size_t step) {
  ResponseFramer framer;
  std::string pending;
  std::string statuses;
  for (std::size_t offset = 0; offset < stream.size(); offset += step) {
    pending.append(stream.substr(offset, step));
    for (;;) {
      std::size_t consumed = 0;
      const auto result = framer.feed(pending, consumed);
      pending.erase(0, consumed);
      if (result == ResponseFramer::Result::kError) {
        return statuses + "error";
      }
      if (result == ResponseFramer::Result::kNeedMore) {
        break;
      }
      statuses += std::to_string(framer.status()) + (framer.closeAfter() ? "c" : "") + " ";
    }
  }
  return statuses + (pending.empty() ? "" : "leftover");
}

TEST(ResponseFramerTest, FramesKeepAliveResponsesInAnyPieces) {
  const std::string stream =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello"
      "HTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n\r\n"
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";
  for (std::size_t step : {1u, 2u, 7u, 64u, 10000u}) {
    EXPECT_EQ(frameAll(stream, step), "200 404 200 204 503c ") << "step " << step;
  }
}

TEST(ResponseFramerTest, RejectsWhatItCannotFrame) {
  EXPECT_EQ(frameAll("SSH-2.0-OpenSSH\r\n\r\n", 100), "error");
  EXPECT_EQ(frameAll("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100), "error");
  // No length and not chunked: the body would end at close, which keep-alive cannot use.
  EXPECT_EQ(frameAll("HTTP/1.1 200 OK\r\n\r\nbody", 100), "error");
  EXPECT_EQ(frameAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100), "error");
}

TEST(ResponseFramerTest, Http10ClosesUnlessKeptAlive) {
  EXPECT_EQ(frameAll("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 100), "200c ");
  EXPECT_EQ(frameAll("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 100),
            "200 ");
}

}  // namespace
}  // namespace weft::loadgen
