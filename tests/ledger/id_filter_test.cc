// IdFilter: no id added is ever missed, across the filter's growth; few others are claimed.
#include "ledger/id_filter.h"

#include <gtest/gtest.h>

#include <random>

namespace nanum {
namespace {

Hash256 RandomId(std::mt19937_64* rng) {
  Hash256 id;
  for (std::size_t i = 0; i < id.size(); i += 8) {
    const std::uint64_t w = (*rng)();
    for (std::size_t k = 0; k < 8; ++k) id[i + k] = static_cast<std::uint8_t>(w >> (8 * k));
  }
  return id;
}

TEST(IdFilterTest, EveryIdAddedIsFoundAsTheFilterGrows) {
  IdFilter f(1000);
  const std::size_t first_bytes = f.memory_bytes();
  EXPECT_EQ(first_bytes, (1000 * 10 + 511) / 512 * 64);
  std::mt19937_64 rng(1);
  std::vector<Hash256> ids;
  for (int i = 0; i < 50'000; ++i) ids.push_back(RandomId(&rng));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    f.Add(ids[i]);
    // The newest and an early one, while parts are being added.
    ASSERT_TRUE(f.MayContain(ids[i])) << i;
    ASSERT_TRUE(f.MayContain(ids[i / 2])) << i;
  }
  for (const Hash256& id : ids) ASSERT_TRUE(f.MayContain(id));
  EXPECT_EQ(f.size(), ids.size());
  // Parts of 1,000, 2,000, 4,000, … ids: 50,000 fill six (63,000), at 10 bits an id.
  EXPECT_GT(f.memory_bytes(), 63'000u * 10 / 8);
  EXPECT_LT(f.memory_bytes(), 63'000u * 10 / 8 + 6 * 64);
}

TEST(IdFilterTest, FewIdsNeverAddedAreClaimed) {
  IdFilter f(100'000);
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100'000; ++i) f.Add(RandomId(&rng));
  int claimed = 0;
  const int tries = 100'000;
  for (int i = 0; i < tries; ++i) claimed += f.MayContain(RandomId(&rng)) ? 1 : 0;
  // About 1 % at full capacity; 3 % would be a broken filter (or hash).
  EXPECT_LT(claimed, tries * 3 / 100) << claimed;
  EXPECT_GT(claimed, 0);  // it is a Bloom filter, not a set
}

TEST(IdFilterTest, AnEmptyFilterClaimsNothing) {
  IdFilter f;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(f.MayContain(RandomId(&rng)));
  EXPECT_EQ(f.size(), 0u);
}

}  // namespace
}  // namespace nanum
