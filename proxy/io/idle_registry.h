#pragma once

#include "proxy/io/deadline_stream.h"

namespace weft::proxy {

// A worker's connections that are waiting for their next request, so that a
// drain can end those waits at once instead of letting them run into the drain
// deadline.
//
// Intrusive: a waiting connection links an Entry that lives in its own
// coroutine frame, so going idle and busy again (once per keep-alive request)
// allocates nothing, where a hash set allocated a node each time. One worker
// thread only.
class IdleRegistry {
 public:
  class Entry {
   public:
    Entry(IdleRegistry& registry, DeadlineStream& stream) : registry_(registry), stream_(stream) {
      next_ = registry_.head_;
      if (next_ != nullptr) {
        next_->prev_ = this;
      }
      registry_.head_ = this;
    }
    ~Entry() {
      if (prev_ != nullptr) {
        prev_->next_ = next_;
      } else {
        registry_.head_ = next_;
      }
      if (next_ != nullptr) {
        next_->prev_ = prev_;
      }
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    friend class IdleRegistry;
    IdleRegistry& registry_;
    DeadlineStream& stream_;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
  };

  IdleRegistry() = default;
  IdleRegistry(const IdleRegistry&) = delete;
  IdleRegistry& operator=(const IdleRegistry&) = delete;

  // Ends every idle connection's pending read (it completes as aborted).
  void cancelAll() {
    for (Entry* entry = head_; entry != nullptr; entry = entry->next_) {
      entry->stream_.cancel();  // completes later, on the loop: the list stays intact
    }
  }

  bool empty() const { return head_ == nullptr; }

 private:
  Entry* head_ = nullptr;
};

}  // namespace weft::proxy
