// The audit's replayed state: an ordered map from byte-string keys to byte-string values,
// made for a replay that reads and writes millions of keys from one thread.
//
// It is a B+ tree. Each node keeps the prefix that all its keys (a leaf) or separators (an
// inner node) share, up to kMaxPrefix bytes, and for each entry the 8 bytes of the key that
// follow that prefix, as a big-endian integer: its head. A search compares the search key
// with the node's prefix once, then the heads as integers, and reads a whole key only where
// heads are equal, which is mostly the key it is looking for. Inner nodes also keep the 8
// bytes after the head, since high in the tree a node's prefix is short and one family's
// separators tie on their heads. A leaf's entry points to one
// allocation holding the key and its value.
//
// Why not std::map<std::string, std::string>: at the audit's 3.8 million keys, a look-up
// there walks about 22 tree nodes and reads the heap-allocated key in each, two cache misses
// a level; here it is 4 levels of compact nodes, of which the upper ones stay in cache.
//
// Nodes are not rebalanced when entries go; a leaf that empties is unlinked at once, so an
// iteration never walks dead leaves, and an inner node left with no children goes too.
//
// Thread safety: none. Const methods may run concurrently with each other, not with Put,
// Erase or Apply, which also invalidate every iterator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/state.h"
#include "ledger/status.h"

namespace nanum::audit {

class ReplayState : public StateReader {
 public:
  ReplayState();
  ~ReplayState() override;
  ReplayState(const ReplayState&) = delete;
  ReplayState& operator=(const ReplayState&) = delete;

  // kNotFound when the key has no value.
  Status Get(std::string_view key, std::string* value) const override;
  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix, std::string_view start = {}) const override;

  // Sets `key` to `value`, adding the key if it is new.
  void Put(std::string_view key, std::string_view value);
  // Removes `key`; nothing happens when it is absent.
  void Erase(std::string_view key);
  // Puts and erases a block's writes.
  void Apply(const WriteSet& writes);

  std::size_t size() const { return size_; }
  // Keys that split the state into ranges of about equal size in key order (the root's
  // separators), to divide work by key range; none while the whole tree is one leaf.
  std::vector<std::string> SplitKeys() const;
  // Walks the whole tree and checks what the search relies on: keys in strictly increasing
  // order along the leaves, each node's prefix and heads, separators that bound their
  // children, leaves linked in order, no empty leaf but a lone root, and the size. Returns
  // kCorruption naming the first problem. For tests; it reads every key.
  Status CheckStructure() const;

  // The tree's parts, defined in replay_state.cc; named here only for its helpers there.
  struct Node;
  struct Leaf;
  struct Inner;
  struct Rec;

 private:
  class Iter;
  // The first entry with a key >= `key`: its leaf and index, or a null leaf when none.
  void LowerBound(std::string_view key, const Leaf** leaf, std::size_t* index) const;

  Node* root_;
  Leaf* first_;  // the leftmost leaf: iteration starts here
  std::size_t size_ = 0;
};

}  // namespace nanum::audit
