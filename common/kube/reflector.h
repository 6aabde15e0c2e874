#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/backoff/exponential_backoff.h"
#include "common/kube/async_api_client.h"

namespace weft::kube {

// A resource the API serves, as a path: "/api/v1" + "pods", "/apis/weft.dev/v1alpha1" +
// "trafficroutes". Watched across every namespace.
struct ResourceType {
  std::string api_path;  // "/api/v1", "/apis/discovery.k8s.io/v1"
  std::string plural;    // "endpointslices"
  std::string kind;      // "EndpointSlice", for logs

  std::string collection() const { return api_path + "/" + plural; }
};

struct ReflectorOptions {
  // Items per list page (limit/continue): bounds the memory of one answer in a large cluster.
  uint32_t page_size = 500;
  // A watch asks the server to end it after a random time in [watch_timeout, 2 * watch_timeout]
  // (timeoutSeconds), so the replicas' watches do not all reconnect at once; the next watch
  // resumes from the last resourceVersion seen, without a list.
  std::chrono::seconds watch_timeout{300};
  // Nothing at all for this long past the watch's own timeout (not even a bookmark) means the
  // connection is dead: it is closed and the watch resumed.
  std::chrono::seconds watch_grace{30};
  // A full list this often (jittered by up to a quarter), compared with what the watch
  // delivered: whatever a lost event left wrong is repaired. 0: never.
  std::chrono::seconds resync_period{std::chrono::minutes(30)};
  // Deadline of one list page.
  std::chrono::milliseconds request_timeout{30000};
  // Between failed attempts (lists, watches that could not start or broke).
  BackoffOptions backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(30000), 2.0};
  // The longest watch event (one object) accepted; larger ones end the watch and count as an
  // error (a relist then reads the object from the list, bounded by the list's own limit).
  size_t max_event_bytes = 4 * 1024 * 1024;
};

enum class WatchEventType : uint8_t { kAdded, kModified, kDeleted };

// Counters of one Reflector; a plain snapshot.
struct ReflectorStats {
  uint64_t lists = 0;            // complete lists (each of any number of pages)
  uint64_t list_pages = 0;       // pages read
  uint64_t relists_expired = 0;  // lists forced by 410 Gone (the resourceVersion compacted)
  uint64_t resyncs = 0;          // periodic lists
  uint64_t watches = 0;          // watch requests that started streaming
  uint64_t events = 0;           // ADDED/MODIFIED/DELETED received by watches
  uint64_t bookmarks = 0;
  uint64_t drift_repairs = 0;  // differences a list found from what the watches had delivered
  uint64_t failures = 0;       // failed lists and watches (transport, status, bad events)
  uint64_t objects = 0;        // objects held now (as of the last list and events)
  bool synced = false;         // a list has completed (or the resource is not served)
  bool served = true;          // false when the API answered 404 for the resource
  std::string last_error;
};

// Keeps a consumer in step with one resource type of the API, the way client-go's reflector
// does:
//  - list (paginated, most recent) then watch from the list's resourceVersion, with bookmarks
//    so that a resumed watch starts from a recent version;
//  - a watch that ends (the server's timeout, a dropped connection) resumes from the last
//    resourceVersion seen; 410 Gone (that version is compacted) leads to a new list;
//  - every list is compared with what the consumer was given: objects that appeared, changed
//    (another resourceVersion) or disappeared become the events the watch missed;
//  - failures are retried with exponential backoff and jitter, and logged with the reason;
//  - a resource the server does not serve (404: a CRD not installed) counts as empty and is
//    looked for again after a backoff, so the mesh comes up without it.
// The consumer receives the objects as parsed JSON and keeps what it needs; the reflector
// itself keeps only each object's key and resourceVersion.
//
// Runs on the client's executor, single-threaded; stop() before destroying.
class Reflector {
 public:
  struct Handler {
    // An object appeared, changed or disappeared. For kDeleted the object is its last state
    // (from the watch), or only its metadata (when a list found it gone).
    std::function<void(WatchEventType, const boost::json::object&)> on_event;
    // A list has been applied in full: the consumer's view matches the server's at that
    // resourceVersion. Called after every list, first and later.
    std::function<void()> on_synced;
  };

  Reflector(AsyncApiClient& client, ResourceType type, ReflectorOptions options, Handler handler);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  // Lists again soon (SIGHUP): ends the watch in flight.
  void relist();
  // Ends the work; the in-flight request is cancelled by the client's cancelAll().
  void stop();

  const ResourceType& type() const { return type_; }
  const ReflectorStats& stats() const { return stats_; }

 private:
  struct State;
  enum class WatchEnd : uint8_t { kResume, kRelist, kFailed };

  // The coroutines take the State by reference: co_spawn's completion handler owns it until
  // run() ends (see AsyncApiClient::call on by-value arguments under GCC 12).
  boost::asio::awaitable<void> run(State& state);
  // One list, then watches until a relist is due. Throws what the consumer throws.
  boost::asio::awaitable<void> listAndWatch(State& state);
  boost::asio::awaitable<bool> list(State& state);
  boost::asio::awaitable<WatchEnd> watch(State& state);
  boost::asio::awaitable<void> sleep(State& state, std::chrono::milliseconds delay);
  bool handleEvent(std::string_view line, WatchEnd& end);
  void failed(const std::string& what);

  AsyncApiClient& client_;
  const ResourceType type_;
  const ReflectorOptions options_;
  Handler handler_;
  ExponentialBackoff backoff_;
  // Key ("namespace/name", or "name") -> resourceVersion of what the consumer was given.
  std::map<std::string, std::string> known_;
  // Where the next watch starts.
  std::string resource_version_;
  std::chrono::steady_clock::time_point next_resync_;
  ReflectorStats stats_;
  std::shared_ptr<State> state_;
};

// "namespace/name" for namespaced objects, "name" for cluster-scoped ones; empty when the
// metadata has no name.
std::string objectKeyOf(const boost::json::object& object);

// metadata.resourceVersion, or empty.
std::string resourceVersionOf(const boost::json::object& object);

}  // namespace weft::kube
