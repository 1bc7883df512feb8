#include "ledger/state_cache.h"

namespace nanum {

std::optional<std::optional<std::string>> StateCache::Lookup(std::string_view key, std::uint64_t* generation) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    *generation = generation_;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.value;
}

void StateCache::Insert(std::string_view key, std::optional<std::string> value, std::uint64_t generation) {
  std::lock_guard<std::mutex> l(mu_);
  if (generation != generation_) return;  // an append ran meanwhile: the value may be old
  PutLocked(key, std::move(value));
  EvictLocked();
}

void StateCache::Update(const WriteSet& writes) {
  std::lock_guard<std::mutex> l(mu_);
  ++generation_;
  for (const auto& [k, v] : writes.entries()) {
    if (map_.find(std::string_view(k)) != map_.end()) PutLocked(k, v);
  }
  EvictLocked();
}

void StateCache::PutLocked(std::string_view key, std::optional<std::string> value) {
  auto it = map_.find(key);
  if (it != map_.end()) {
    bytes_ -= Cost(key, it->second.value);
    bytes_ += Cost(key, value);
    it->second.value = std::move(value);
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  bytes_ += Cost(key, value);
  lru_.emplace_front(key);
  map_.emplace(std::string_view(lru_.front()), Entry{std::move(value), lru_.begin()});
}

void StateCache::EvictLocked() {
  while (bytes_ > capacity_ && !lru_.empty()) {
    auto it = map_.find(std::string_view(lru_.back()));
    bytes_ -= Cost(lru_.back(), it->second.value);
    map_.erase(it);
    lru_.pop_back();
  }
}

std::size_t StateCache::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

std::size_t StateCache::entries() const {
  std::lock_guard<std::mutex> l(mu_);
  return map_.size();
}

}  // namespace nanum
