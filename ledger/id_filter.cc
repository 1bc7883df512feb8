#include "ledger/id_filter.h"

#include "ledger/id_hash.h"

namespace nanum {
namespace {

constexpr int kProbes = 7;            // bits set per id, all in one 512-bit block
constexpr std::size_t kBitsPerId = 10;  // about 1 % false positives with 7 probes

}  // namespace

// 512-bit blocks: one cache line per look-up.
struct IdFilter::Part {
  explicit Part(std::size_t ids)
      : capacity(ids), blocks((ids * kBitsPerId + 511) / 512), words(new std::atomic<std::uint64_t>[blocks * 8]) {
    for (std::size_t i = 0; i < blocks * 8; ++i) words[i].store(0, std::memory_order_relaxed);
  }
  const std::size_t capacity;
  const std::size_t blocks;
  std::unique_ptr<std::atomic<std::uint64_t>[]> words;
};

IdFilter::IdFilter(std::size_t first_capacity)
    : salt_(RandomSalt()),
      first_capacity_(first_capacity == 0 ? 1 : first_capacity) {
  parts_[0] = std::make_unique<Part>(first_capacity_);
  used_.store(1, std::memory_order_release);
}

IdFilter::~IdFilter() = default;

void IdFilter::Add(const Hash256& id) {
  std::size_t used = used_.load(std::memory_order_relaxed);
  if (in_last_ == parts_[used - 1]->capacity && used < kMaxParts) {
    parts_[used] = std::make_unique<Part>(parts_[used - 1]->capacity * 2);
    used_.store(++used, std::memory_order_release);
    in_last_ = 0;
  }
  Part& p = *parts_[used - 1];
  const std::uint64_t h1 = MixIdWord(id, 0, salt_), h2 = MixIdWord(id, 1, salt_);
  std::atomic<std::uint64_t>* block = &p.words[h1 % p.blocks * 8];
  for (int i = 0; i < kProbes; ++i) {
    const unsigned bit = static_cast<unsigned>(h2 >> (9 * i)) & 511;
    block[bit / 64].fetch_or(std::uint64_t{1} << (bit % 64), std::memory_order_relaxed);
  }
  ++in_last_;
  added_.fetch_add(1, std::memory_order_relaxed);
}

bool IdFilter::MayContain(const Hash256& id) const {
  const std::uint64_t h1 = MixIdWord(id, 0, salt_), h2 = MixIdWord(id, 1, salt_);
  const std::size_t used = used_.load(std::memory_order_acquire);
  for (std::size_t k = 0; k < used; ++k) {
    const Part& p = *parts_[k];
    const std::atomic<std::uint64_t>* block = &p.words[h1 % p.blocks * 8];
    bool all = true;
    for (int i = 0; i < kProbes && all; ++i) {
      const unsigned bit = static_cast<unsigned>(h2 >> (9 * i)) & 511;
      all = (block[bit / 64].load(std::memory_order_relaxed) >> (bit % 64)) & 1;
    }
    if (all) return true;
  }
  return false;
}

std::size_t IdFilter::memory_bytes() const {
  std::size_t n = 0;
  const std::size_t used = used_.load(std::memory_order_acquire);
  for (std::size_t k = 0; k < used; ++k) n += parts_[k]->blocks * 64;
  return n;
}

}  // namespace nanum
