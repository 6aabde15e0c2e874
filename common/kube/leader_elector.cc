#include "common/kube/leader_elector.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <exception>
#include <random>

#include "common/kube/json_fields.h"
#include "common/log/logger.h"

namespace weft::kube {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

spdlog::logger& electionLog() {
  static spdlog::logger& logger = log::logger("leader");
  return logger;
}

const std::string kGet = "GET";
const std::string kPost = "POST";
const std::string kPut = "PUT";
const std::string kNoBody;
const std::string kJson = "application/json";

// What one round found.
enum class Round : uint8_t {
  kHeld,         // this replica holds the Lease now
  kHeldByOther,  // another replica holds an unexpired Lease
  kUnknown,      // the API could not be asked, or the race was lost: try again
};

}  // namespace

std::string microTime(std::chrono::system_clock::time_point when) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros % 1'000'000));
  return text;
}

struct LeaderElector::State {
  explicit State(const asio::any_io_executor& executor) : wake(executor) {}
  bool stopped = false;
  asio::steady_timer wake;
  std::function<void()> done;
  bool finished = false;
  // The last round's result, read by run().
  Round round = Round::kUnknown;
};

LeaderElector::LeaderElector(AsyncApiClient& client, LeaderElectionOptions options,
                             Callback on_change)
    : client_(client), options_(std::move(options)), on_change_(std::move(on_change)) {}

LeaderElector::~LeaderElector() {
  if (state_) {
    state_->stopped = true;
    state_->wake.cancel();
  }
}

std::chrono::milliseconds LeaderElector::requestTimeout() const {
  if (!stats_.leader) {
    return options_.request_timeout;
  }
  // A leader's round must end by its renew deadline, which comes before the others may take
  // the Lease: a slow request must not keep a leader that has lost its claim writing.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      last_renewal_ + options_.renew_deadline - std::chrono::steady_clock::now());
  return std::clamp(left, std::chrono::milliseconds(100), options_.request_timeout);
}

int64_t LeaderElector::leaseSeconds() const {
  return std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count());
}

std::string LeaderElector::leasePath() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.namespace_ + "/leases";
}

void LeaderElector::start() {
  if (state_) {
    return;
  }
  state_ = std::make_shared<State>(client_.executor());
  electionLog().info("competing for Lease {}/{} as {}", options_.namespace_, options_.name,
                     options_.identity);
  asio::co_spawn(client_.executor(), run(*state_), [state = state_](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        electionLog().error("leader election ended unexpectedly: {}", error.what());
      }
    }
    state->finished = true;
    if (state->done) {
      std::exchange(state->done, nullptr)();
    }
  });
}

void LeaderElector::stop(std::function<void()> done) {
  if (!state_ || state_->finished) {
    if (done) {
      done();
    }
    return;
  }
  state_->stopped = true;
  state_->done = std::move(done);
  state_->wake.cancel();
}

void LeaderElector::setLeader(bool leading) {
  if (stats_.leader == leading) {
    return;
  }
  stats_.leader = leading;
  if (leading) {
    ++stats_.acquisitions;
    electionLog().info("{} is the leader now (Lease {}/{})", options_.identity, options_.namespace_,
                       options_.name);
  } else {
    electionLog().warn("{} is no longer the leader (Lease {}/{})", options_.identity,
                       options_.namespace_, options_.name);
  }
  if (on_change_) {
    on_change_(leading);
  }
}

asio::awaitable<void> LeaderElector::run(State& state) {
  std::mt19937_64 random{std::random_device{}()};
  while (!state.stopped) {
    const bool held = co_await tryAcquireOrRenew(state);
    if (state.stopped) {
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (held) {
      last_renewal_ = now;
      setLeader(true);
    } else if (stats_.leader && (state.round == Round::kHeldByOther ||
                                 now - last_renewal_ >= options_.renew_deadline)) {
      ++stats_.losses;
      setLeader(false);
    }
    // Followers spread their looks a little, so they do not all pounce at once.
    auto delay = options_.retry_period;
    if (!stats_.leader) {
      delay += std::chrono::milliseconds(
          static_cast<int64_t>(static_cast<double>(delay.count()) * 0.2 *
                               std::uniform_real_distribution<double>(0.0, 1.0)(random)));
    }
    state.wake.expires_after(delay);
    boost::system::error_code ignored;
    co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (stats_.leader) {
    co_await release(state);
    stats_.leader = false;  // the process is stopping: no callback
  }
}

asio::awaitable<bool> LeaderElector::tryAcquireOrRenew(State& state) {
  state.round = Round::kUnknown;
  const std::string item = leasePath() + "/" + options_.name;
  const ApiResponse read = co_await client_.call(kGet, item, kNoBody, requestTimeout(), kJson);
  if (state.stopped) {
    co_return false;
  }
  const auto now_steady = std::chrono::steady_clock::now();
  const std::string now = microTime(std::chrono::system_clock::now());
  if (!read.error.empty() || (read.status != 200 && read.status != 404)) {
    ++stats_.failures;
    electionLog().warn("reading Lease {}/{}: {}", options_.namespace_, options_.name,
                       read.describe());
    co_return false;
  }
  if (read.status == 404) {
    json::object lease{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}};
    lease["metadata"] = json::object{{"name", options_.name}, {"namespace", options_.namespace_}};
    lease["spec"] = json::object{{"holderIdentity", options_.identity},
                                 {"leaseDurationSeconds", leaseSeconds()},
                                 {"acquireTime", now},
                                 {"renewTime", now},
                                 {"leaseTransitions", 0}};
    const std::string body = json::serialize(lease);
    const std::string collection = leasePath();
    const ApiResponse created =
        co_await client_.call(kPost, collection, body, requestTimeout(), kJson);
    if (state.stopped) {
      co_return false;
    }
    if (created.status == 201) {
      observed_holder_ = options_.identity;
      observed_renew_time_ = now;
      observed_at_ = now_steady;
      stats_.holder = options_.identity;
      state.round = Round::kHeld;
      co_return true;
    }
    if (created.status == 409) {
      ++stats_.conflicts;  // another replica created it first
    } else {
      ++stats_.failures;
      electionLog().warn("creating Lease {}/{}: {}", options_.namespace_, options_.name,
                         created.describe());
    }
    co_return false;
  }

  boost::system::error_code parse_error;
  json::value parsed = json::parse(read.body, parse_error);
  if (parse_error || !parsed.is_object() || !parsed.get_object().contains("spec") ||
      !parsed.get_object().at("spec").is_object()) {
    ++stats_.failures;
    electionLog().warn("Lease {}/{} is not a Lease", options_.namespace_, options_.name);
    co_return false;
  }
  json::object& lease = parsed.get_object();
  json::object& spec = lease["spec"].get_object();
  const std::string holder = std::string(stringField(spec, "holderIdentity"));
  const std::string renew_time = std::string(stringField(spec, "renewTime"));
  if (holder != observed_holder_ || renew_time != observed_renew_time_ ||
      observed_at_ == std::chrono::steady_clock::time_point{}) {
    observed_holder_ = holder;
    observed_renew_time_ = renew_time;
    observed_at_ = now_steady;
  }
  stats_.holder = holder;
  const bool mine = holder == options_.identity;
  const auto duration =
      std::chrono::seconds(integerField(spec, "leaseDurationSeconds", leaseSeconds()));
  const bool expired = holder.empty() || now_steady >= observed_at_ + duration;
  if (!mine && !expired) {
    state.round = Round::kHeldByOther;
    co_return false;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = leaseSeconds();
  spec["renewTime"] = now;
  if (!mine) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = integerField(spec, "leaseTransitions", 0) + 1;
  }
  // The resourceVersion read stays in metadata: the update fails with 409 if anyone wrote in
  // between.
  const std::string body = json::serialize(lease);
  const ApiResponse updated = co_await client_.call(kPut, item, body, requestTimeout(), kJson);
  if (state.stopped) {
    co_return false;
  }
  if (updated.status == 200) {
    observed_holder_ = options_.identity;
    observed_renew_time_ = now;
    observed_at_ = now_steady;
    stats_.holder = options_.identity;
    if (mine) {
      ++stats_.renewals;
    } else {
      electionLog().info("took Lease {}/{} over from {}", options_.namespace_, options_.name,
                         holder.empty() ? "nobody" : holder);
    }
    state.round = Round::kHeld;
    co_return true;
  }
  if (updated.status == 409) {
    ++stats_.conflicts;
  } else {
    ++stats_.failures;
    electionLog().warn("updating Lease {}/{}: {}", options_.namespace_, options_.name,
                       updated.describe());
  }
  co_return false;
}

asio::awaitable<void> LeaderElector::release(State& state) {
  (void)state;
  const std::string item = leasePath() + "/" + options_.name;
  const ApiResponse read =
      co_await client_.call(kGet, item, kNoBody, options_.request_timeout, kJson);
  boost::system::error_code parse_error;
  json::value parsed = json::parse(read.body, parse_error);
  if (read.status != 200 || parse_error || !parsed.is_object() ||
      !parsed.get_object().contains("spec") || !parsed.get_object().at("spec").is_object()) {
    co_return;
  }
  json::object& spec = parsed.get_object()["spec"].get_object();
  if (std::string(stringField(spec, "holderIdentity")) != options_.identity) {
    co_return;
  }
  const std::string now = microTime(std::chrono::system_clock::now());
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = now;
  spec["acquireTime"] = now;
  const std::string body = json::serialize(parsed);
  const ApiResponse released =
      co_await client_.call(kPut, item, body, options_.request_timeout, kJson);
  if (released.status == 200) {
    electionLog().info("released Lease {}/{}", options_.namespace_, options_.name);
  } else {
    electionLog().warn("releasing Lease {}/{}: {}", options_.namespace_, options_.name,
                       released.describe());
  }
}

}  // namespace weft::kube
