// The audit's replayed state (cli/replay_state.h) against std::map as the model: the same
// puts and erases must give the same answers to every read, and the tree must keep its
// shape (CheckStructure) through splits, shrinking prefixes and leaves that empty.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cli/replay_state.h"

namespace nanum::audit {
namespace {

using Model = std::map<std::string, std::string, std::less<>>;

std::string Be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

// Keys shaped like the ledger's: families with long shared prefixes, big-endian numbers
// with zero bytes, hashes, keys that are prefixes of other keys.
std::string RandomKey(std::mt19937_64& rng, std::uint64_t space) {
  const std::uint64_t n = rng() % space;
  switch (rng() % 7) {
    case 0: return "mctr/member-" + std::to_string(n % 97) + "/" + Be64(n);
    case 1: return "rd/meter-" + std::to_string(n % 41) + "/" + Be64(n / 41);
    case 2: {
      std::string h = "ord/";
      for (int i = 0; i < 4; ++i) h += Be64(n * std::uint64_t{0x9E3779B97F4A7C15} + static_cast<std::uint64_t>(i));
      return h;
    }
    case 3: return "book/" + Be64(n % 5) + std::string(1, static_cast<char>(n % 2)) + Be64(n);
    case 4: return std::string(1 + n % 60, 'a');  // a, aa, aaa, ...: each a prefix of the next
    case 5: return "srd/" + Be64(n % 3) + "member-with-a-rather-long-name-" + std::to_string(n) + "/meter";
    default: return std::string(1, static_cast<char>(n % 4)) + Be64(n);
  }
}

std::string RandomValue(std::mt19937_64& rng) { return std::string(rng() % 90, static_cast<char>('a' + rng() % 26)); }

void ExpectSame(const ReplayState& s, const Model& m, std::mt19937_64& rng, std::uint64_t space) {
  ASSERT_TRUE(s.CheckStructure().ok()) << s.CheckStructure().ToString();
  ASSERT_EQ(s.size(), m.size());
  // The whole state in order.
  auto it = s.NewIterator("");
  for (const auto& [k, v] : m) {
    ASSERT_TRUE(it->Valid());
    ASSERT_EQ(it->key(), k);
    ASSERT_EQ(it->value(), v);
    it->Next();
  }
  EXPECT_FALSE(it->Valid());
  // Point reads of present and absent keys, and prefix scans from a start.
  for (int i = 0; i < 300; ++i) {
    const std::string k = RandomKey(rng, space);
    std::string got;
    const Status st = s.Get(k, &got);
    auto mit = m.find(k);
    ASSERT_EQ(st.ok(), mit != m.end()) << k;
    if (st.ok()) {
      ASSERT_EQ(got, mit->second);
    } else {
      ASSERT_TRUE(st.IsNotFound());
    }
  }
  for (int i = 0; i < 100; ++i) {
    const std::string a = RandomKey(rng, space), b = RandomKey(rng, space);
    const std::string prefix = a.substr(0, rng() % (a.size() + 1));
    const std::string start = rng() % 2 ? b : std::string();
    const std::string from = std::max(prefix, start);
    auto sit = s.NewIterator(prefix, start);
    for (auto mit = m.lower_bound(from); mit != m.end() && mit->first.starts_with(prefix); ++mit) {
      ASSERT_TRUE(sit->Valid()) << "prefix of " << prefix.size() << " bytes";
      ASSERT_EQ(sit->key(), mit->first);
      sit->Next();
    }
    ASSERT_FALSE(sit->Valid());
  }
}

TEST(ReplayStateTest, AnswersLikeASortedMapThroughGrowthAndDeletion) {
  std::mt19937_64 rng(20261121);
  ReplayState s;
  Model m;
  const std::uint64_t space = 40000;
  ExpectSame(s, m, rng, space);
  // Grow, with updates of values bigger and smaller than the ones they replace.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 15000; ++i) {
      const std::string k = RandomKey(rng, space), v = RandomValue(rng);
      s.Put(k, v);
      m[k] = v;
    }
    ExpectSame(s, m, rng, space);
  }
  // Delete most keys, in random order and in whole ranges, so that leaves empty out and
  // inner nodes lose children; then grow again over the gaps.
  for (int i = 0; i < 40000; ++i) {
    const std::string k = RandomKey(rng, space);
    s.Erase(k);
    m.erase(k);
  }
  ExpectSame(s, m, rng, space);
  std::vector<std::string> family;
  for (auto it = m.lower_bound("mctr/"); it != m.end() && it->first.starts_with("mctr/"); ++it) family.push_back(it->first);
  ASSERT_GT(family.size(), 1000U);
  for (const auto& k : family) {
    s.Erase(k);
    m.erase(k);
  }
  ExpectSame(s, m, rng, space);
  EXPECT_FALSE(s.NewIterator("mctr/")->Valid());
  for (int i = 0; i < 30000; ++i) {
    const std::string k = RandomKey(rng, space), v = RandomValue(rng);
    s.Put(k, v);
    m[k] = v;
  }
  ExpectSame(s, m, rng, space);
}

TEST(ReplayStateTest, KeysInIncreasingOrderFillTheirLeavesAndAllCanGo) {
  ReplayState s;
  Model m;
  std::mt19937_64 rng(7);
  // Contract ids and reading slots come in increasing order.
  for (std::uint64_t id = 0; id < 20000; ++id) {
    const std::string k = "ctr/" + Be64(id);
    s.Put(k, "contract");
    m[k] = "contract";
  }
  ExpectSame(s, m, rng, 20000);
  // Erasing every key leaves an empty state that still works.
  for (std::uint64_t id = 0; id < 20000; ++id) s.Erase("ctr/" + Be64(id));
  m.clear();
  ExpectSame(s, m, rng, 20000);
  s.Put("x", "1");
  std::string v;
  ASSERT_TRUE(s.Get("x", &v).ok());
  EXPECT_EQ(v, "1");
  EXPECT_TRUE(s.CheckStructure().ok());
}

TEST(ReplayStateTest, ApplyPutsAndErasesAWriteSet) {
  ReplayState s;
  s.Put("a", "1");
  s.Put("b", "2");
  WriteSet w;
  w.Put("a", "one");
  w.Delete("b");
  w.Delete("never-there");
  w.Put("c", "3");
  s.Apply(w);
  std::string v;
  ASSERT_TRUE(s.Get("a", &v).ok());
  EXPECT_EQ(v, "one");
  EXPECT_TRUE(s.Get("b", &v).IsNotFound());
  ASSERT_TRUE(s.Get("c", &v).ok());
  EXPECT_EQ(v, "3");
  EXPECT_EQ(s.size(), 2U);
}

}  // namespace
}  // namespace nanum::audit
