// Overlays over the state, write sets and the state root.
#include "ledger/state.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

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
  ASSERT_NE(moved.Find("c"), nullptr);
  EXPECT_EQ(*moved.Find("c"), std::optional<std::string>("3x"));
  EXPECT_EQ(*moved.Find("e"), std::optional<std::string>("5"));
  EXPECT_EQ(*moved.Find("g"), std::nullopt);
  EXPECT_EQ(moved.Find("d"), nullptr);

  StateOverlay o(nullptr);
  ASSERT_TRUE(o.Put("k", "v").ok());
  WriteSet taken = o.TakeWrites();
  EXPECT_EQ(taken.size(), 1u);
  EXPECT_TRUE(o.writes().empty());
}

// A failed transaction's writes are undone from its savepoint: new keys vanish (from reads,
// iteration and the write set), replaced values and deletions come back, and writes made
// before the savepoint stay.
TEST(Overlay, RollbackUndoesEverySinceTheSavepoint) {
  auto base = Base();
  StateOverlay o(base.get());
  ASSERT_TRUE(o.Put("b/2", "B2").ok());  // before the savepoint: kept
  const std::size_t sp = o.Savepoint();
  ASSERT_TRUE(o.Put("b/2", "B2x").ok());  // replaces an overlay value
  ASSERT_TRUE(o.Put("b/5", "B5").ok());   // a new key
  ASSERT_TRUE(o.Delete("a/1").ok());      // hides a base key
  ASSERT_TRUE(o.Put("b/0", "B0").ok());   // another new key, seen by an iterator before the rollback
  EXPECT_EQ(Keys(o, "b/"), (std::vector<std::string>{"b/0=B0", "b/1=B1", "b/2=B2x", "b/3=B3", "b/5=B5"}));
  o.RollbackTo(sp);
  o.Release(sp);
  std::string v;
  EXPECT_TRUE(o.Get("b/5", &v).IsNotFound());
  ASSERT_TRUE(o.Get("a/1", &v).ok());
  EXPECT_EQ(v, "A1");
  ASSERT_TRUE(o.Get("b/2", &v).ok());
  EXPECT_EQ(v, "B2");
  EXPECT_EQ(Keys(o, "b/"), (std::vector<std::string>{"b/1=B1", "b/2=B2", "b/3=B3"}));
  WriteSet want;
  want.Put("b/2", "B2");
  EXPECT_EQ(o.writes(), want);

  // Released without a rollback, the writes stay.
  const std::size_t sp2 = o.Savepoint();
  ASSERT_TRUE(o.Put("c/2", "C2").ok());
  o.Release(sp2);
  want.Put("c/2", "C2");
  EXPECT_EQ(o.writes(), want);
}

TEST(Overlay, InnerRollbackKeepsTheOuterSavepointsWrites) {
  auto base = Base();
  StateOverlay o(base.get());
  const std::size_t outer = o.Savepoint();
  ASSERT_TRUE(o.Put("x/1", "1").ok());
  const std::size_t inner = o.Savepoint();
  ASSERT_TRUE(o.Put("x/2", "2").ok());
  ASSERT_TRUE(o.Put("x/1", "1x").ok());
  o.RollbackTo(inner);
  o.Release(inner);
  EXPECT_EQ(Keys(o, "x/"), (std::vector<std::string>{"x/1=1"}));
  o.RollbackTo(outer);
  o.Release(outer);
  EXPECT_TRUE(o.empty());
}

// The overlay against a plain ordered map, under many random writes, deletions, savepoints,
// rollbacks and iterations, across enough keys to grow its hash table several times.
TEST(Overlay, MatchesAnOrderedModel) {
  auto base = Base();
  StateOverlay o(base.get());
  std::map<std::string, std::optional<std::string>> model, saved;
  std::uint64_t x = 88172645463325252ULL;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  auto visible = [&](const std::string& prefix) {
    std::map<std::string, std::string> all = {{"a/1", "A1"}, {"b/1", "B1"}, {"b/3", "B3"}, {"c/1", "C1"}};
    for (const auto& [k, v] : model) {
      if (v) all[k] = *v; else all.erase(k);
    }
    std::vector<std::string> out;
    for (const auto& [k, v] : all) {
      if (k.rfind(prefix, 0) == 0) out.push_back(k + "=" + v);
    }
    return out;
  };
  std::size_t sp = 0;
  bool open = false;
  for (int step = 0; step < 20000; ++step) {
    // Most keys in a family ("a/..."), some without a '/' (each its own family), which sort
    // between the families' keys ("a1" after every "a/...").
    // Some keys share more than 8 bytes after the family name, as slot-keyed ones do.
    const std::string key = std::string(1, "abc"[next() % 3]) + (next() % 8 == 0 ? "" : "/") +
                            (next() % 2 ? "0123456789-" : "") + std::to_string(next() % 700);
    switch (next() % 10) {
      case 0:
        ASSERT_TRUE(o.Delete(key).ok());
        model[key] = std::nullopt;
        break;
      case 1:
        if (!open) {
          sp = o.Savepoint();
          saved = model;
          open = true;
        } else {
          if (next() % 2) {
            o.RollbackTo(sp);
            model = saved;
          }
          o.Release(sp);
          open = false;
        }
        break;
      case 2: {
        const std::string prefix = next() % 4 == 0 ? std::string(1, "abc"[next() % 3])
                                                   : std::string(1, "abc"[next() % 3]) + "/" + std::to_string(next() % 7);
        ASSERT_EQ(Keys(o, prefix), visible(prefix)) << "step " << step;
        break;
      }
      default: {
        const std::string value = std::to_string(next());
        ASSERT_TRUE(o.Put(key, value).ok());
        model[key] = value;
      }
    }
    std::string v;
    const Status got = o.Get(key, &v);
    const auto m = model.find(key);
    if (m != model.end()) {
      ASSERT_EQ(got.ok(), m->second.has_value()) << key;
      if (m->second) {
        ASSERT_EQ(v, *m->second);
      }
    }
  }
  if (open) o.Release(sp);
  ASSERT_EQ(Keys(o, ""), visible(""));
  WriteSet taken = o.TakeWrites();
  ASSERT_EQ(taken.size(), model.size());
  auto it = model.begin();
  for (const auto& [k, v] : taken.entries()) {
    ASSERT_EQ(k, it->first);
    ASSERT_EQ(v, it->second);
    ++it;
  }
  EXPECT_TRUE(o.empty());
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

// EncodesAs answers exactly whether Encode() gives the bytes: the audit relies on it to
// compare a replayed write set with the stored one without encoding it.
TEST(WriteSet, EncodesAsMatchesEncodeExactly) {
  WriteSet w;
  w.Put("b", "2");
  w.Delete("a");
  w.Put(std::string(300, 'k'), std::string(70000, 'v'));
  const std::string enc = w.Encode();
  EXPECT_TRUE(w.EncodesAs(enc));
  EXPECT_FALSE(w.EncodesAs(enc.substr(0, enc.size() - 1)));  // short
  EXPECT_FALSE(w.EncodesAs(enc + "x"));                       // trailing byte
  for (std::size_t at : {std::size_t{0}, std::size_t{3}, std::size_t{8}, std::size_t{13}, enc.size() / 2, enc.size() - 1}) {
    std::string changed = enc;
    changed[at] = static_cast<char>(changed[at] ^ 1);
    EXPECT_FALSE(w.EncodesAs(changed)) << "byte " << at;
  }
  EXPECT_TRUE(WriteSet().EncodesAs(WriteSet().Encode()));
  EXPECT_FALSE(WriteSet().EncodesAs(""));
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
