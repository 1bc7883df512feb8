// IdFilter: a Bloom filter over 32-byte ids (the store's transaction ids), so that the
// question asked of every transaction at admission and again when its block is stored, "is
// this id new?", is answered from memory instead of a read of the store. Almost every answer
// is "new": each such read searched LevelDB's memtables and every level-0 table for a key
// that is not there.
//
// MayContain(id) is true for every id added, and for about 1 % of the others (the caller then
// reads the store); false means never added. It grows without rebuilding: parts of doubling
// capacity, a new one when the last is full, each checked by a look-up; 10 bits per id
// (1.25 MB per million ids). Positions are salted per process, so no one can choose ids that
// share bits here.
//
// Thread safety: one thread adds at a time; any number may look up meanwhile. A look-up
// running alongside Add(id) may or may not see id.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ledger/crypto.h"

namespace nanum {

class IdFilter {
 public:
  // `first_capacity`: ids the first part holds at the promised false-positive rate.
  explicit IdFilter(std::size_t first_capacity = std::size_t{1} << 20);
  ~IdFilter();
  IdFilter(const IdFilter&) = delete;
  IdFilter& operator=(const IdFilter&) = delete;

  void Add(const Hash256& id);
  bool MayContain(const Hash256& id) const;

  std::size_t size() const { return added_.load(std::memory_order_relaxed); }
  std::size_t memory_bytes() const;

 private:
  struct Part;
  static constexpr std::size_t kMaxParts = 40;  // 2^40 times the first capacity: never reached

  const std::uint64_t salt_;
  const std::size_t first_capacity_;
  std::array<std::unique_ptr<Part>, kMaxParts> parts_;
  std::atomic<std::size_t> used_{0};  // parts_[0, used_) are built
  std::atomic<std::size_t> added_{0};
  std::size_t in_last_ = 0;  // ids in the last part (the adding thread's)
};

}  // namespace nanum
