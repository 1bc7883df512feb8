// StateCache: the store's live-state values most recently read, in memory, so that
// execution's reads of the same few thousand keys block after block (members' balances and
// nonces, the market's records) do not each search LevelDB. An absent key is cached as absent.
// Bounded by the bytes of its keys and values; the least recently used go first.
//
// Reads race with appends. A value read from the engine goes in only if no append changed the
// cache while it was being read (the generation, below), so the cache never keeps a value
// older than the store's:
//   if (!cache.Lookup(k, &g)) { engine.Get(k, &v); cache.Insert(k, v, g); }   // a reader
//   engine.Write(batch); cache.Update(writes);                                 // the appender
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ledger/state.h"

namespace nanum {

class StateCache {
 public:
  explicit StateCache(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // nullopt: not cached, and `*generation` is set for the Insert of what the caller then
  // reads. Otherwise the value, or nullopt inside for a key cached as absent.
  std::optional<std::optional<std::string>> Lookup(std::string_view key, std::uint64_t* generation);
  // Caches what a read of `key` found, if nothing was updated since `generation`.
  void Insert(std::string_view key, std::optional<std::string> value, std::uint64_t generation);
  // An append's writes: the new values replace what is cached. Keys not cached stay out: a
  // key is cached when it is read (execution reads a balance or nonce before writing it), so
  // records written once and seldom read (orders, readings) take no memory here.
  void Update(const WriteSet& writes);

  std::size_t bytes() const;
  std::size_t entries() const;

 private:
  struct Entry {
    std::optional<std::string> value;
    std::list<std::string>::iterator lru;
  };
  static std::size_t Cost(std::string_view key, const std::optional<std::string>& v) {
    return key.size() + (v ? v->size() : 0) + 64;  // with the map's and the list's nodes
  }
  void PutLocked(std::string_view key, std::optional<std::string> value);
  void EvictLocked();

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::uint64_t generation_ = 0;
  std::size_t bytes_ = 0;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string_view, Entry> map_;  // keys point into lru_'s strings
};

}  // namespace nanum
