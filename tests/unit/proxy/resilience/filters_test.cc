// The request filters' logic without I/O: which requests a fault picks, the
// header overrides, max_active_faults, and the shared token bucket's rate.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "proxy/filters/fault_injection.h"
#include "proxy/filters/local_rate_limit.h"
#include "proxy/http2/header_list_lookup.h"

namespace weft::proxy {
namespace {

using std::chrono::milliseconds;

struct Request {
  explicit Request(HeaderList fields_in) : fields(std::move(fields_in)), lookup(fields) {}
  RequestView view() const { return {"GET", "http", "shop", "/", &lookup, {}}; }
  HeaderList fields;
  HeaderListLookup lookup;
};

TEST(FaultInjectionTest, EachFaultHasItsOwnDrawAgainstItsShare) {
  FaultConfig config;
  config.delay = milliseconds(50);
  config.delay_share = 300'000;  // 30 %
  config.abort_http_status = 418;
  config.abort_share = 200'000;  // 20 %
  const Request request(HeaderList{});
  std::string scratch;
  FaultVerdict verdict = decideFault(config, request.view(), false, 299'999, 200'000, scratch);
  EXPECT_EQ(verdict.delay, milliseconds(50));
  EXPECT_EQ(verdict.abort_status, 0u);
  verdict = decideFault(config, request.view(), false, 300'000, 199'999, scratch);
  EXPECT_EQ(verdict.delay, milliseconds(0));
  EXPECT_EQ(verdict.abort_status, 418u);
}

TEST(FaultInjectionTest, HeaderConditionsAndHeaderControl) {
  FaultConfig config;
  config.abort_http_status = 503;
  HeaderMatchConfig user;
  user.name = "x-user";
  user.value.kind = ValueMatcher::Kind::kExact;
  user.value.text = "alice";
  config.headers.push_back(std::move(user));
  config.header_controlled = true;
  std::string scratch;
  EXPECT_FALSE(
      decideFault(config, Request(HeaderList{{"x-user", "bob"}}).view(), false, 0, 0, scratch)
          .any());
  const FaultVerdict chosen = decideFault(config,
                                          Request(HeaderList{{"x-user", "alice"},
                                                             {"x-weft-fault-abort", "429"},
                                                             {"x-weft-fault-delay-ms", "7"}})
                                              .view(),
                                          false, 0, 0, scratch);
  EXPECT_EQ(chosen.abort_status, 429u);
  EXPECT_EQ(chosen.delay, milliseconds(7));
  // A status outside 200..599 in the header is ignored: the configured one applies.
  EXPECT_EQ(
      decideFault(config,
                  Request(HeaderList{{"x-user", "alice"}, {"x-weft-fault-abort", "99"}}).view(),
                  false, 0, 0, scratch)
          .abort_status,
      503u);
}

TEST(FaultInjectionTest, GrpcRequestsGetTheGrpcStatusOthersGet503) {
  FaultConfig config;
  config.abort_grpc_status = 14;
  std::string scratch;
  const Request request(HeaderList{});
  const FaultVerdict grpc = decideFault(config, request.view(), true, 0, 0, scratch);
  EXPECT_EQ(grpc.abort_status, 200u);
  EXPECT_EQ(grpc.abort_grpc_status, 14);
  EXPECT_EQ(decideFault(config, request.view(), false, 0, 0, scratch).abort_status, 503u);
}

TEST(FaultInjectionTest, MaxActiveFaultsLetsFurtherRequestsPass) {
  FaultConfig config;
  config.delay = milliseconds(10);
  config.max_active = 2;
  std::string scratch;
  const Request request(HeaderList{});
  std::vector<FaultActivity> held;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(decideFault(config, request.view(), false, 0, 0, scratch).any());
    held.emplace_back(&config);
  }
  EXPECT_FALSE(decideFault(config, request.view(), false, 0, 0, scratch).any());
  held.pop_back();  // one faulted request ended
  EXPECT_TRUE(decideFault(config, request.view(), false, 0, 0, scratch).any());
  held.emplace_back(&config);
  held.clear();
  EXPECT_EQ(config.active.load(), 0u);
}

TEST(LocalRateLimitTest, ABurstThenTheFillRate) {
  const auto start = std::chrono::steady_clock::now();
  LocalRateLimit limit(5, 2, milliseconds(100), start);
  int passed = 0;
  for (int i = 0; i < 20; ++i) {
    passed += limit.tryTake(start) ? 1 : 0;
  }
  EXPECT_EQ(passed, 5);
  // 99 ms: no whole interval yet. 100 ms: two tokens. 450 ms: three more intervals, six tokens,
  // but the bucket holds five.
  EXPECT_FALSE(limit.tryTake(start + milliseconds(99)));
  EXPECT_TRUE(limit.tryTake(start + milliseconds(100)));
  EXPECT_TRUE(limit.tryTake(start + milliseconds(100)));
  EXPECT_FALSE(limit.tryTake(start + milliseconds(100)));
  passed = 0;
  for (int i = 0; i < 20; ++i) {
    passed += limit.tryTake(start + milliseconds(450)) ? 1 : 0;
  }
  EXPECT_EQ(passed, 5);
}

TEST(LocalRateLimitTest, ThreadsShareOneBucketExactly) {
  const auto start = std::chrono::steady_clock::now();
  LocalRateLimit limit(1000, 1, std::chrono::hours(1), start);
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limit.tryTake(start)) {
          passed.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(passed.load(), 1000);
}

TEST(LocalRateLimitTest, PerSourceBucketsAreSeparateByIdentityElseAddress) {
  const auto start = std::chrono::steady_clock::now();
  LocalRateLimit limit(2, 1, std::chrono::hours(1), start);
  const auto v4 = boost::asio::ip::make_address("127.0.0.1");
  const auto other_v4 = boost::asio::ip::make_address("127.0.0.2");
  const auto v6 = boost::asio::ip::make_address("::1");
  // Without per_source every client takes from the route's one bucket.
  EXPECT_EQ(&limit.bucketFor("spiffe://mesh/ns/a/sa/x", v4), &limit);
  limit.bucketPerSource(start);
  ASSERT_TRUE(limit.perSource());
  const auto drain = [&](std::string_view identity, const boost::asio::ip::address& address) {
    int passed = 0;
    for (int i = 0; i < 5; ++i) {
      passed += limit.bucketFor(identity, address).tryTake(start) ? 1 : 0;
    }
    return passed;
  };
  EXPECT_EQ(drain("", v4), 2);
  EXPECT_EQ(drain("", v4), 0);        // the same client: its bucket is empty
  EXPECT_EQ(drain("", other_v4), 2);  // another address: its own bucket
  EXPECT_EQ(drain("", v6), 2);
  // An identity wins over the address: two identities behind one address are two clients.
  EXPECT_EQ(drain("spiffe://mesh/ns/a/sa/x", v4), 2);
  EXPECT_EQ(drain("spiffe://mesh/ns/a/sa/y", v4), 2);
  EXPECT_EQ(drain("spiffe://mesh/ns/a/sa/x", other_v4), 0);
  EXPECT_EQ(&limit.bucketFor("", v4), &limit.bucketFor("", v4));
  EXPECT_NE(&limit.bucketFor("", v4), &limit);
}

TEST(LocalRateLimitTest, ClientsPastTheTableShareTheOverflowBucket) {
  const auto start = std::chrono::steady_clock::now();
  const LocalRateLimit settings(1, 1, std::chrono::hours(1), start);
  SourceBuckets buckets(settings, start);
  // Keys that all start probing at slot 5 fill its kProbes slots; the next one overflows.
  std::vector<LocalRateLimit*> seen;
  for (uint64_t i = 0; i < SourceBuckets::kProbes; ++i) {
    seen.push_back(&buckets.bucketFor(5 + i * SourceBuckets::kSlots));
  }
  EXPECT_EQ(buckets.claimed(), SourceBuckets::kProbes);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_NE(seen[i], seen[i - 1]);
  }
  LocalRateLimit& overflow = buckets.bucketFor(5 + SourceBuckets::kProbes * SourceBuckets::kSlots);
  EXPECT_EQ(&overflow,
            &buckets.bucketFor(5 + (SourceBuckets::kProbes + 1) * SourceBuckets::kSlots));
  EXPECT_EQ(buckets.claimed(), SourceBuckets::kProbes);
  // A known client finds its own bucket again.
  EXPECT_EQ(&buckets.bucketFor(5 + 3 * SourceBuckets::kSlots), seen[3]);
}

}  // namespace
}  // namespace weft::proxy
