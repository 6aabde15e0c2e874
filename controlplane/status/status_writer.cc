#include "controlplane/status/status_writer.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <exception>

#include "common/kube/leader_elector.h"
#include "common/log/logger.h"

namespace weft::controlplane {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

spdlog::logger& statusLog() {
  static spdlog::logger& logger = weft::log::logger("status");
  return logger;
}

const std::string kPatch = "PATCH";
const std::string kMergePatch = "application/merge-patch+json";

// A status message stays readable in `kubectl describe` and far below the schema's bound.
constexpr size_t kMaxMessageBytes = 4096;

// After a failed write, the next pass waits this long.
constexpr std::chrono::seconds kRetryDelay{5};
constexpr std::chrono::milliseconds kRequestTimeout{5000};

}  // namespace

AcceptedCondition desiredCondition(const ResourceOutcome& outcome, const std::string& now) {
  AcceptedCondition condition;
  condition.observed_generation = outcome.generation;
  if (outcome.accepted) {
    condition.status = "True";
    condition.reason = "Accepted";
    condition.message = "The control plane accepted the resource; proxies get it.";
  } else {
    condition.status = "False";
    condition.reason = "Invalid";
    std::string message;
    for (const std::string& error : outcome.errors) {
      message += (message.empty() ? "" : "; ") + error;
    }
    if (message.size() > kMaxMessageBytes) {
      // Cut at a character boundary: a split UTF-8 sequence would be stored as U+FFFD, never
      // match what is written, and be written again on every pass.
      size_t cut = kMaxMessageBytes;
      while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
        --cut;
      }
      message.resize(cut);
      message += "...";
    }
    condition.message = message + ". The last accepted version, if any, stays in effect.";
  }
  condition.last_transition_time = outcome.current && outcome.current->status == condition.status &&
                                           !outcome.current->last_transition_time.empty()
                                       ? outcome.current->last_transition_time
                                       : now;
  return condition;
}

bool statusNeedsWrite(const ResourceOutcome& outcome, const AcceptedCondition& desired) {
  if (!outcome.current || outcome.status_observed_generation != outcome.generation) {
    return true;
  }
  const AcceptedCondition& current = *outcome.current;
  return current.status != desired.status || current.reason != desired.reason ||
         current.message != desired.message ||
         current.observed_generation != desired.observed_generation;
}

std::string statusPatch(const ResourceOutcome& outcome, const AcceptedCondition& desired) {
  json::object condition{{"type", "Accepted"},
                         {"status", desired.status},
                         {"reason", desired.reason},
                         {"message", desired.message},
                         {"observedGeneration", desired.observed_generation},
                         {"lastTransitionTime", desired.last_transition_time}};
  // A merge patch replaces the list whole: the control plane owns every condition on it.
  json::object status{{"observedGeneration", outcome.generation},
                      {"conditions", json::array{std::move(condition)}}};
  return json::serialize(json::object{{"status", std::move(status)}});
}

struct StatusWriter::State {
  explicit State(const asio::any_io_executor& executor) : wake(executor) {}
  bool stopped = false;
  bool leading = false;
  bool pending = false;
  asio::steady_timer wake;
};

StatusWriter::StatusWriter(kube::AsyncApiClient& client, Outcomes outcomes)
    : client_(client), outcomes_(std::move(outcomes)) {
  state_ = std::make_shared<State>(client_.executor());
  asio::co_spawn(client_.executor(), run(*state_), [state = state_](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        statusLog().error("the status writer ended unexpectedly: {}", error.what());
      }
    }
  });
}

StatusWriter::~StatusWriter() {
  stop();
}

void StatusWriter::stop() {
  state_->stopped = true;
  state_->wake.cancel();
}

void StatusWriter::setLeading(bool leading) {
  state_->leading = leading;
  state_->pending = leading;  // a new leader checks every resource
  state_->wake.cancel();
}

void StatusWriter::outcomesChanged() {
  state_->pending = true;
  state_->wake.cancel();
}

asio::awaitable<void> StatusWriter::run(State& state) {
  boost::system::error_code ignored;
  while (!state.stopped) {
    if (!state.leading || !state.pending) {
      state.wake.expires_at(asio::steady_timer::time_point::max());
      co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    state.pending = false;
    ++stats_.passes;
    const std::map<ObjectId, ResourceOutcome> outcomes = outcomes_();
    const std::string now = kube::microTime(std::chrono::system_clock::now()).substr(0, 19) + "Z";
    bool failed = false;
    for (const auto& [id, outcome] : outcomes) {
      const AcceptedCondition desired = desiredCondition(outcome, now);
      if (!statusNeedsWrite(outcome, desired)) {
        continue;
      }
      const std::string path = "/apis/weft.dev/v1alpha1/namespaces/" + id.namespace_ + "/" +
                               outcome.plural + "/" + id.name + "/status";
      const std::string body = statusPatch(outcome, desired);
      const kube::ApiResponse response =
          co_await client_.call(kPatch, path, body, kRequestTimeout, kMergePatch);
      if (state.stopped || !state.leading) {
        break;
      }
      if (response.status == 200) {
        ++stats_.writes;
        statusLog().debug("{}: Accepted={} ({})", id.toString(), desired.status, desired.reason);
      } else if (response.status != 404) {  // 404: deleted meanwhile, nothing to say
        ++stats_.failures;
        failed = true;
        statusLog().warn("writing the status of {}: {}", id.toString(), response.describe());
      }
    }
    if (failed && !state.stopped) {
      state.wake.expires_after(kRetryDelay);
      co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      state.pending = true;
    }
  }
}

}  // namespace weft::controlplane
