// Book: one delivery slot's order book, and the two matching rules of MARKET.md over it.
//
// Price-time priority: sells best (lowest) price first, buys best (highest) price first; at
// equal prices the older priority (block height, index in block) first. The book is a pure
// in-memory value: the market loads a slot's book from state, matches, and writes the changes
// back, so this is exactly the code that decides every fill.
//
// Thread safety: a Book is used by one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/payload.h"

namespace nanum::market {

struct Priority {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
  auto operator<=>(const Priority&) const = default;
};

struct BookOrder {
  Hash256 id{};
  std::string owner;
  std::uint64_t price = 0;
  std::uint64_t remaining = 0;
  Priority priority;
};

// One trade between a resting (or, in an auction, buy) order and an incoming (sell) order.
struct Fill {
  Hash256 buy_id{};
  Hash256 sell_id{};
  std::uint64_t quantity = 0;
  std::uint64_t price = 0;
};

class Book {
 public:
  // Rests an order. REQUIRES: its priority is newer than every order already on its side at
  // its price (orders arrive, and are loaded, in priority order).
  void Add(Side side, BookOrder order);
  // Removes a resting order; false if it is not in the book.
  bool Remove(Side side, std::uint64_t price, const Hash256& id);

  // Continuous matching of an incoming order against the opposite side: a buy at `limit`
  // meets sells priced <= limit, a sell meets buys priced >= limit, best price then oldest
  // first, each fill at the resting order's price. Fully filled resting orders leave the
  // book. Appends the fills and returns the incoming order's unfilled quantity.
  std::uint64_t Match(Side side, const Hash256& id, std::uint64_t limit, std::uint64_t quantity,
                      std::vector<Fill>* fills);

  // The uniform-price call auction: pairs buys (best first) with sells (best first) while
  // buy price >= sell price; every fill is at floor((b + a) / 2) of the last pair formed.
  // Filled quantities leave the book. Returns the clearing price (0 if nothing traded).
  std::uint64_t Auction(std::vector<Fill>* fills);

  // Every resting order, buys best first then sells best first.
  void ForEach(const std::function<void(Side, const BookOrder&)>& fn) const;
  bool empty() const { return buys_.empty() && sells_.empty(); }

 private:
  using Level = std::deque<BookOrder>;
  std::map<std::uint64_t, Level, std::greater<>> buys_;  // highest price first
  std::map<std::uint64_t, Level> sells_;                 // lowest price first
};

}  // namespace nanum::market
