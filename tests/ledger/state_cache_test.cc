// StateCache: hits, absent keys, appends racing reads, and the byte bound.
#include "ledger/state_cache.h"

#include <gtest/gtest.h>

namespace nanum {
namespace {

using Cached = std::optional<std::optional<std::string>>;

TEST(StateCacheTest, AReadIsCachedAndAnAbsentKeyIsCachedAsAbsent) {
  StateCache c(1 << 20);
  std::uint64_t g = 0;
  EXPECT_EQ(c.Lookup("bal/a", &g), std::nullopt);
  c.Insert("bal/a", "7", g);
  c.Insert("bal/none", std::nullopt, g);
  EXPECT_EQ(c.Lookup("bal/a", &g), Cached(std::optional<std::string>("7")));
  EXPECT_EQ(c.Lookup("bal/none", &g), Cached(std::optional<std::string>()));
  EXPECT_EQ(c.entries(), 2u);
}

TEST(StateCacheTest, AValueReadBeforeAnAppendIsNotCachedAfterIt) {
  StateCache c(1 << 20);
  std::uint64_t g = 0;
  ASSERT_EQ(c.Lookup("bal/a", &g), std::nullopt);
  // The reader is slow: an append writes bal/a (and nothing of bal/b) before it inserts.
  WriteSet w;
  w.Put("bal/a", "new");
  c.Update(w);
  c.Insert("bal/a", "old", g);
  c.Insert("bal/b", "old", g);
  // Neither is cached (bal/a was not cached when written): the next reads go to the store,
  // which has the new values. Neither "old" is kept.
  EXPECT_EQ(c.Lookup("bal/a", &g), std::nullopt);
  EXPECT_EQ(c.Lookup("bal/b", &g), std::nullopt);
  // A read that starts after the append is cached.
  c.Insert("bal/b", "5", g);
  EXPECT_EQ(c.Lookup("bal/b", &g), Cached(std::optional<std::string>("5")));
}

TEST(StateCacheTest, AnAppendReplacesAndDeletesWhatIsCached) {
  StateCache c(1 << 20);
  std::uint64_t g = 0;
  c.Lookup("k1", &g);
  c.Insert("k1", "1", g);
  c.Insert("k2", "2", g);
  WriteSet w;
  w.Put("k1", "10");
  w.Delete("k2");
  w.Put("k3", "30");
  c.Update(w);
  EXPECT_EQ(c.Lookup("k1", &g), Cached(std::optional<std::string>("10")));
  EXPECT_EQ(c.Lookup("k2", &g), Cached(std::optional<std::string>()));
  EXPECT_EQ(c.Lookup("k3", &g), std::nullopt);  // never read: not cached
}

TEST(StateCacheTest, TheLeastRecentlyUsedGoFirstWithinTheBound) {
  // Each entry below costs 2 + 10 + 64 = 76 bytes: room for 5.
  StateCache c(5 * 76);
  std::uint64_t g = 0;
  c.Lookup("k0", &g);
  for (int i = 0; i < 5; ++i) c.Insert("k" + std::to_string(i), std::string(10, 'x'), g);
  EXPECT_EQ(c.entries(), 5u);
  EXPECT_TRUE(c.Lookup("k0", &g));  // k0 is now the most recent; k1 the least
  c.Insert("k5", std::string(10, 'x'), g);
  EXPECT_EQ(c.entries(), 5u);
  EXPECT_LE(c.bytes(), 5u * 76);
  EXPECT_FALSE(c.Lookup("k1", &g));
  EXPECT_TRUE(c.Lookup("k0", &g));
  EXPECT_TRUE(c.Lookup("k5", &g));
  // A larger value for a cached key counts too.
  WriteSet w;
  w.Put("k0", std::string(100, 'y'));
  c.Update(w);
  EXPECT_LE(c.bytes(), 5u * 76);
  EXPECT_EQ(c.Lookup("k0", &g), Cached(std::optional<std::string>(std::string(100, 'y'))));
}

}  // namespace
}  // namespace nanum
