// Overlays over the state, write sets and the state root.
#include "ledger/state.h"

#include <gtest/gtest.h>

#include "ledger/encoding.h"
#include "ledger/limits.h"
#include "ledger/store.h"
#include "test_chain.h"

namespace nanum {
namespace {

std::vector<std::string> Keys(const StateReader& r, std::string_view prefix, std::string_view start = {}) {
  std::vector<std::string> keys;
  auto it = r.NewIterator(prefix, start);
  for (; it->Valid(); it->Next()) keys.emplace_back(std::string(it->key()) + "=" + std::string(it->value()));
  EXPECT_TRUE(it->status().ok());
  return keys;
}

// A base store holding a/1 b/1 b/3 c/1.
std::unique_ptr<Store> Base() {
  auto store = Store::NewInMemory();
  WriteSet w;
  w.Put("a/1", "A1");
  w.Put("b/1", "B1");
  w.Put("b/3", "B3");
  w.Put("c/1", "C1");
  Block g;
  g.header.tx_root = TxRoot({});
  g.header.results_root = ResultsRoot({});
  g.header.state_root = NextStateRoot(Hash256{}, 0, w);
  EXPECT_TRUE(store->Append(g, {}, w).ok());
  return store;
}

TEST(Overlay, ReadsSeeWritesFirst) {
  auto base = Base();
  StateOverlay o(base.get());
  std::string v;
  ASSERT_TRUE(o.Get("b/1", &v).ok());
  EXPECT_EQ(v, "B1");
  ASSERT_TRUE(o.Put("b/1", "new").ok());
  ASSERT_TRUE(o.Get("b/1", &v).ok());
  EXPECT_EQ(v, "new");
  ASSERT_TRUE(o.Delete("c/1").ok());
  EXPECT_TRUE(o.Get("c/1", &v).IsNotFound());
  ASSERT_TRUE(base->Get("c/1", &v).ok());  // the base is untouched
}

TEST(Overlay, IterationMergesInKeyOrder) {
  auto base = Base();
  StateOverlay o(base.get());
  ASSERT_TRUE(o.Put("b/2", "B2").ok());    // between two base keys
  ASSERT_TRUE(o.Put("b/3", "B3x").ok());   // replaces a base key
  ASSERT_TRUE(o.Delete("b/1").ok());       // hides a base key
  ASSERT_TRUE(o.Put("b/4", "B4").ok());    // after the last base key
  ASSERT_TRUE(o.Delete("b/9").ok());       // deletes a key that never existed
  ASSERT_TRUE(o.Put("a/0", "A0").ok());    // outside the prefix
  EXPECT_EQ(Keys(o, "b/"), (std::vector<std::string>{"b/2=B2", "b/3=B3x", "b/4=B4"}));
  EXPECT_EQ(Keys(o, "b/", "b/3"), (std::vector<std::string>{"b/3=B3x", "b/4=B4"}));
  EXPECT_EQ(Keys(o, ""), (std::vector<std::string>{"a/0=A0", "a/1=A1", "b/2=B2", "b/3=B3x",
                                                    "b/4=B4", "c/1=C1"}));
}

TEST(Overlay, NestedOverlaysFoldIntoTheirParent) {
  auto base = Base();
  StateOverlay block(base.get());
  StateOverlay tx(&block);
  ASSERT_TRUE(tx.Put("d/1", "D1").ok());
  ASSERT_TRUE(tx.Delete("a/1").ok());
  EXPECT_EQ(Keys(block, "d/").size(), 0u);  // not yet applied
  block.Apply(tx.writes());
  EXPECT_EQ(Keys(block, "d/"), (std::vector<std::string>{"d/1=D1"}));
  EXPECT_EQ(Keys(block, "a/").size(), 0u);
}

// The moving merge (what a block's executor uses) must give exactly what the copying one
// gives: later writes and deletions win, keys on either side alone stay, order is kept.
TEST(WriteSet, MovingMergeEqualsCopyingMerge) {
  WriteSet earlier, later;
  earlier.Put("a", "1");
  earlier.Put("c", "3");
  earlier.Delete("e");
  earlier.Put("g", "7");
  later.Put("b", "2");
  later.Put("c", "3x");   // overwrites a value
  later.Put("e", "5");    // overwrites a deletion
  later.Delete("g");      // deletes a value
  later.Put("z", "26");   // past the end
  WriteSet copied = earlier, moved = earlier;
  copied.Merge(later);
  WriteSet source = later;
  moved.Merge(std::move(source));
  EXPECT_EQ(moved, copied);
  EXPECT_TRUE(source.empty());
  EXPECT_EQ(moved.Encode(), copied.Encode());
  ASSERT_EQ(moved.size(), 6u);
  EXPECT_EQ(moved.entries().at("c"), std::optional<std::string>("3x"));
  EXPECT_EQ(moved.entries().at("e"), std::optional<std::string>("5"));
  EXPECT_EQ(moved.entries().at("g"), std::nullopt);

  StateOverlay o(nullptr);
  ASSERT_TRUE(o.Put("k", "v").ok());
  WriteSet taken = o.TakeWrites();
  EXPECT_EQ(taken.size(), 1u);
  EXPECT_TRUE(o.writes().empty());
}

TEST(Overlay, LimitsRejectAndWriteNothing) {
  auto base = Base();
  StateOverlay o(base.get());
  EXPECT_EQ(o.Put("", "x").code(), Status::Code::kTooLarge);
  EXPECT_EQ(o.Put(std::string(limits::kMaxStateKeyBytes + 1, 'k'), "x").code(), Status::Code::kTooLarge);
  EXPECT_EQ(o.Put("k", std::string(limits::kMaxStateValueBytes + 1, 'v')).code(), Status::Code::kTooLarge);
  EXPECT_TRUE(o.writes().empty());
}

TEST(WriteSet, GoldenLayout) {
  WriteSet w;
  w.Put("b", "2");
  w.Delete("a");
  EXPECT_EQ(ToHex(w.Encode()),
            "00000002"                    // two entries, in key order
            "00000001" "61" "00"          // "a": deleted
            "00000001" "62" "01" "00000001" "32");  // "b" = "2"
  WriteSet back;
  ASSERT_TRUE(WriteSet::Decode(w.Encode(), &back).ok());
  EXPECT_EQ(back, w);
}

TEST(WriteSet, UnorderedOrRepeatedKeysAreCorruption) {
  Writer e;
  e.U32(2);
  e.Bytes("b");
  e.Bool(false);
  e.Bytes("a");
  e.Bool(false);
  WriteSet back;
  EXPECT_EQ(WriteSet::Decode(e.data(), &back).code(), Status::Code::kCorruption);
}

TEST(StateRoot, ChainsEveryBlocksWrites) {
  WriteSet w1, w2;
  w1.Put("k", "1");
  w2.Put("k", "2");
  const Hash256 r0 = NextStateRoot(Hash256{}, 0, w1);
  Writer in;
  in.Fixed(Hash256{});
  in.U64(0);
  in.Fixed(WriteSetDigest(w1));
  EXPECT_EQ(r0, TaggedHash("nanum/state", in.data()));
  EXPECT_EQ(WriteSetDigest(w1), TaggedHash("nanum/writes", w1.Encode()));
  EXPECT_NE(NextStateRoot(r0, 1, w1), NextStateRoot(r0, 1, w2));
  EXPECT_NE(NextStateRoot(r0, 1, WriteSet()), NextStateRoot(r0, 2, WriteSet()));
  EXPECT_NE(NextStateRoot(r0, 1, WriteSet()), r0);  // an empty block still moves the root
}

}  // namespace
}  // namespace nanum
