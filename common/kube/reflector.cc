#include "common/kube/reflector.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <exception>
#include <random>
#include <set>

#include "common/kube/json_fields.h"
#include "common/log/logger.h"

namespace weft::kube {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

spdlog::logger& kubeLog() {
  static spdlog::logger& logger = log::logger("kube");
  return logger;
}

// A query parameter's value, percent-encoded (continue tokens are base64: '+', '/', '=').
std::string queryEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A uniform draw in [0, 1), for jitter.
double jitter() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

// A list answer is at most a page of objects; a page of 500 large objects (Pods with many
// containers) stays well under this.
constexpr size_t kMaxListPageBytes = 64 * 1024 * 1024;

const std::string kGet = "GET";
const std::string kNoBody;
const std::string kJson = "application/json";

}  // namespace

std::string objectKeyOf(const json::object& object) {
  const json::object* metadata = objectField(object, "metadata");
  if (metadata == nullptr) {
    return {};
  }
  const std::string_view name = stringField(*metadata, "name");
  if (name.empty()) {
    return {};
  }
  const std::string_view namespace_ = stringField(*metadata, "namespace");
  return namespace_.empty() ? std::string(name) : std::string(namespace_) + "/" + std::string(name);
}

std::string resourceVersionOf(const json::object& object) {
  const json::object* metadata = objectField(object, "metadata");
  return metadata == nullptr ? std::string()
                             : std::string(stringField(*metadata, "resourceVersion"));
}

struct Reflector::State {
  explicit State(const asio::any_io_executor& executor) : wake(executor) {}
  bool stopped = false;
  bool relist_requested = false;
  asio::steady_timer wake;
  // The watch in flight, which relist() ends.
  AsyncApiClient::RequestHandle watch;
};

Reflector::Reflector(AsyncApiClient& client, ResourceType type, ReflectorOptions options,
                     Handler handler)
    : client_(client),
      type_(std::move(type)),
      options_(options),
      handler_(std::move(handler)),
      backoff_(options.backoff) {}

Reflector::~Reflector() {
  stop();
}

void Reflector::start() {
  if (state_) {
    return;
  }
  state_ = std::make_shared<State>(client_.executor());
  asio::co_spawn(client_.executor(), run(*state_),
                 [state = state_, kind = type_.kind](std::exception_ptr failure) {
                   if (failure) {
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& error) {
                       kubeLog().error("the watch of {} ended unexpectedly: {}", kind,
                                       error.what());
                     }
                   }
                 });
}

void Reflector::relist() {
  if (state_) {
    state_->relist_requested = true;
    state_->wake.cancel();
    state_->watch.cancel();
  }
}

void Reflector::stop() {
  if (state_) {
    state_->stopped = true;
    state_->wake.cancel();
    state_->watch.cancel();
    state_.reset();
  }
}

void Reflector::failed(const std::string& what) {
  ++stats_.failures;
  stats_.last_error = what;
  kubeLog().warn("{}: {}", type_.kind, what);
}

asio::awaitable<void> Reflector::sleep(State& state, std::chrono::milliseconds delay) {
  state.wake.expires_after(delay);
  boost::system::error_code ignored;
  co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<void> Reflector::run(State& state) {
  while (!state.stopped) {
    bool crashed = false;
    try {
      co_await listAndWatch(state);
    } catch (const std::exception& error) {
      // The consumer threw on an object (memory, most likely): list again later rather than
      // leave the resource unwatched for good.
      if (state.stopped) {
        co_return;
      }
      failed(std::string("handling an object failed: ") + error.what() + "; listing again");
      crashed = true;
    }
    if (crashed && !state.stopped) {
      co_await sleep(state, backoff_.next());
    }
  }
}

asio::awaitable<void> Reflector::listAndWatch(State& state) {
  state.relist_requested = false;
  const bool listed = co_await list(state);
  if (state.stopped) {
    co_return;
  }
  if (!listed || !stats_.served) {
    // Not served (a CRD not installed yet) is looked for again at the backoff's pace.
    co_await sleep(state, backoff_.next());
    co_return;
  }
  // Resyncs and relist() requests are taken between watches; relist() also ends the watch
  // in flight, and a resync waits at most one watch (watch_timeout to twice that).
  while (!state.stopped) {
    if (state.relist_requested) {
      break;
    }
    if (options_.resync_period.count() > 0 && std::chrono::steady_clock::now() >= next_resync_) {
      ++stats_.resyncs;
      break;
    }
    const WatchEnd end = co_await watch(state);
    if (state.stopped) {
      co_return;
    }
    if (end == WatchEnd::kRelist) {
      break;
    }
    if (end == WatchEnd::kFailed) {
      co_await sleep(state, backoff_.next());
    }
  }
}

asio::awaitable<bool> Reflector::list(State& state) {
  const bool first = !stats_.synced;
  std::set<std::string> seen;
  std::string continue_token;
  std::string list_version;
  bool complete = false;
  while (!complete) {
    std::string target = type_.collection() + "?limit=" + std::to_string(options_.page_size);
    if (!continue_token.empty()) {
      target += "&continue=" + queryEscape(continue_token);
    }
    const ApiResponse response = co_await client_.call(
        kGet, target, kNoBody, options_.request_timeout, kJson, kMaxListPageBytes);
    if (state.stopped) {
      co_return false;
    }
    if (!response.error.empty()) {
      failed("list: " + response.error);
      co_return false;
    }
    if (response.status == 404) {
      if (stats_.served) {
        kubeLog().warn(
            "{}: the API does not serve {} (404); treated as empty and looked for "
            "again",
            type_.kind, type_.collection());
      }
      stats_.served = false;
      seen.clear();
      list_version.clear();
      complete = true;
      continue;
    }
    if (response.status == 410 && !continue_token.empty()) {
      // The continue token's snapshot was compacted while the pages were read: the list
      // starts over from the first page (what the earlier pages delivered is compared again).
      ++stats_.relists_expired;
      kubeLog().info("{}: the list's snapshot expired between pages (410); listing again",
                     type_.kind);
      continue_token.clear();
      list_version.clear();
      seen.clear();
      continue;
    }
    if (response.status != 200) {
      failed("list " + type_.collection() + ": " + response.describe());
      co_return false;
    }
    boost::system::error_code parse_error;
    json::value parsed = json::parse(response.body, parse_error);
    const json::object* page = parsed.is_object() ? &parsed.get_object() : nullptr;
    const json::value* items = page == nullptr ? nullptr : page->if_contains("items");
    const json::object* metadata = page == nullptr ? nullptr : objectField(*page, "metadata");
    if (parse_error || metadata == nullptr ||
        (items != nullptr && !items->is_array() && !items->is_null())) {
      failed("list " + type_.collection() + ": the answer is not a list");
      co_return false;
    }
    ++stats_.list_pages;
    stats_.served = true;
    if (continue_token.empty()) {
      list_version = std::string(stringField(*metadata, "resourceVersion"));
    }
    if (items != nullptr && items->is_array()) {
      for (const json::value& item : items->get_array()) {
        if (!item.is_object()) {
          continue;
        }
        const json::object& object = item.get_object();
        std::string key = objectKeyOf(object);
        if (key.empty()) {
          continue;
        }
        std::string version = resourceVersionOf(object);
        auto [known, added] = known_.try_emplace(key, version);
        if (!added && known->second == version) {
          seen.insert(std::move(key));
          continue;
        }
        known->second = version;
        if (!first) {
          ++stats_.drift_repairs;
        }
        handler_.on_event(added ? WatchEventType::kAdded : WatchEventType::kModified, object);
        seen.insert(std::move(key));
      }
    }
    continue_token = std::string(stringField(*metadata, "continue"));
    complete = continue_token.empty();
  }

  for (auto it = known_.begin(); it != known_.end();) {
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    json::object gone;
    json::object metadata;
    const size_t slash = it->first.find('/');
    if (slash == std::string::npos) {
      metadata["name"] = it->first;
    } else {
      metadata["namespace"] = it->first.substr(0, slash);
      metadata["name"] = it->first.substr(slash + 1);
    }
    gone["metadata"] = std::move(metadata);
    if (!first) {
      ++stats_.drift_repairs;
    }
    it = known_.erase(it);
    handler_.on_event(WatchEventType::kDeleted, gone);
  }
  resource_version_ = list_version;
  stats_.objects = known_.size();
  stats_.synced = true;
  if (stats_.served) {
    ++stats_.lists;
    backoff_.reset();  // a 404 keeps backing off: the CRD is looked for ever more slowly
  }
  if (options_.resync_period.count() > 0) {
    const auto period =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.resync_period);
    next_resync_ = std::chrono::steady_clock::now() + period +
                   std::chrono::milliseconds(
                       static_cast<int64_t>(static_cast<double>(period.count()) / 4.0 * jitter()));
  }
  handler_.on_synced();
  co_return true;
}

asio::awaitable<Reflector::WatchEnd> Reflector::watch(State& state) {
  const auto timeout =
      options_.watch_timeout + std::chrono::seconds(static_cast<int64_t>(
                                   static_cast<double>(options_.watch_timeout.count()) * jitter()));
  std::string target = type_.collection() + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                       std::to_string(timeout.count());
  if (!resource_version_.empty()) {
    target += "&resourceVersion=" + queryEscape(resource_version_);
  }
  WatchEnd end = WatchEnd::kResume;
  uint64_t received = 0;
  const AsyncApiClient::LineHandler on_line = [this, &state, &end,
                                               &received](std::string_view line) {
    // After stop() the reflector may be gone: `state` (owned elsewhere) says so.
    ++received;
    return !state.stopped && handleEvent(line, end);
  };
  const auto started = std::chrono::steady_clock::now();
  const ApiResponse response = co_await client_.stream(
      target, options_.request_timeout,
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout + options_.watch_grace),
      on_line, options_.max_event_bytes, &state.watch);
  if (state.stopped) {
    co_return WatchEnd::kResume;
  }
  if (response.status == 200) {
    ++stats_.watches;
  }
  if (end != WatchEnd::kResume) {
    co_return end;
  }
  if (state.relist_requested) {
    co_return WatchEnd::kRelist;  // relist() ended it
  }
  if (response.line_too_long) {
    // Resuming would read the same event again: only a list gets past it.
    failed("watch: " + response.error + "; listing again");
    co_await sleep(state, backoff_.next());
    co_return WatchEnd::kRelist;
  }
  if (!response.error.empty()) {
    failed("watch: " + response.error);
    co_return WatchEnd::kFailed;
  }
  if (response.status == 410) {
    ++stats_.relists_expired;
    co_return WatchEnd::kRelist;
  }
  if (response.status != 200) {
    failed("watch " + type_.collection() + ": " + response.describe());
    // Whatever went wrong (the resource no longer served, permissions), a list finds out.
    co_await sleep(state, backoff_.next());
    co_return WatchEnd::kRelist;
  }
  if (received == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
    // Ended at once, and cleanly, with nothing in it (a proxy in the way, a server going
    // down): as client-go does, that is a failure to back off from, not a watch to resume
    // in a tight loop.
    failed("watch: ended at once without an event");
    co_return WatchEnd::kFailed;
  }
  co_return WatchEnd::kResume;  // the server's timeout: resume from resource_version_
}

bool Reflector::handleEvent(std::string_view line, WatchEnd& end) {
  boost::system::error_code parse_error;
  json::value parsed = json::parse(line, parse_error);
  const json::object* event = parsed.is_object() ? &parsed.get_object() : nullptr;
  const json::object* object = event == nullptr ? nullptr : objectField(*event, "object");
  const std::string_view type = event == nullptr ? std::string_view() : stringField(*event, "type");
  if (parse_error || object == nullptr || type.empty()) {
    failed("watch: an event that is not a watch event; listing again");
    end = WatchEnd::kRelist;
    return false;
  }
  if (type == "ERROR") {
    const json::value* code = object->if_contains("code");
    if (code != nullptr && code->is_int64() && code->get_int64() == 410) {
      // The version this watch resumed from is compacted: only a list can catch up.
      ++stats_.relists_expired;
      kubeLog().info("{}: resourceVersion {} expired (410); listing again", type_.kind,
                     resource_version_);
      end = WatchEnd::kRelist;
      return false;
    }
    failed("watch: error event: " + std::string(stringField(*object, "message")));
    end = WatchEnd::kRelist;
    return false;
  }
  std::string version = resourceVersionOf(*object);
  if (type == "BOOKMARK") {
    ++stats_.bookmarks;
    if (!version.empty()) {
      resource_version_ = std::move(version);
    }
    return true;
  }
  WatchEventType event_type;
  if (type == "ADDED") {
    event_type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    event_type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    event_type = WatchEventType::kDeleted;
  } else {
    failed("watch: unknown event type \"" + std::string(type) + "\"; listing again");
    end = WatchEnd::kRelist;
    return false;
  }
  std::string key = objectKeyOf(*object);
  if (key.empty()) {
    failed("watch: a " + std::string(type) + " event for an object without a name");
    return true;
  }
  ++stats_.events;
  backoff_.reset();  // the watch works
  // The consumer first: if it throws, the version stays behind the event, and the list that
  // follows delivers it again. A MODIFIED for an object never seen (or an ADDED for a known
  // one) is passed on as the server says: the consumer replaces what it holds under that key.
  handler_.on_event(event_type, *object);
  if (event_type == WatchEventType::kDeleted) {
    known_.erase(key);
  } else {
    known_.insert_or_assign(key, version);
  }
  stats_.objects = known_.size();
  if (!version.empty()) {
    resource_version_ = std::move(version);
  }
  return true;
}

}  // namespace weft::kube
