#include "chaincode/book.h"

#include <algorithm>

namespace nanum::market {

void Book::Add(Side side, BookOrder order) {
  if (side == Side::kBuy) {
    buys_[order.price].push_back(std::move(order));
  } else {
    sells_[order.price].push_back(std::move(order));
  }
}

namespace {
template <class Levels>
bool RemoveFrom(Levels& levels, std::uint64_t price, const Hash256& id) {
  auto level = levels.find(price);
  if (level == levels.end()) return false;
  auto& q = level->second;
  auto it = std::find_if(q.begin(), q.end(), [&](const BookOrder& o) { return o.id == id; });
  if (it == q.end()) return false;
  q.erase(it);
  if (q.empty()) levels.erase(level);
  return true;
}

// Takes from the best levels of `levels` while `crosses(level price)`.
template <class Levels, class Crosses, class MakeFill>
std::uint64_t Take(Levels& levels, std::uint64_t quantity, Crosses crosses, MakeFill make_fill,
                   std::vector<Fill>* fills) {
  while (quantity > 0 && !levels.empty()) {
    auto level = levels.begin();
    if (!crosses(level->first)) break;
    auto& q = level->second;
    while (quantity > 0 && !q.empty()) {
      BookOrder& resting = q.front();
      const std::uint64_t n = std::min(quantity, resting.remaining);
      fills->push_back(make_fill(resting, n));
      quantity -= n;
      resting.remaining -= n;
      if (resting.remaining == 0) q.pop_front();
    }
    if (q.empty()) levels.erase(level);
  }
  return quantity;
}
}  // namespace

bool Book::Remove(Side side, std::uint64_t price, const Hash256& id) {
  return side == Side::kBuy ? RemoveFrom(buys_, price, id) : RemoveFrom(sells_, price, id);
}

std::uint64_t Book::Match(Side side, const Hash256& id, std::uint64_t limit,
                          std::uint64_t quantity, std::vector<Fill>* fills) {
  if (side == Side::kBuy) {
    return Take(
        sells_, quantity, [&](std::uint64_t ask) { return ask <= limit; },
        [&](const BookOrder& sell, std::uint64_t n) { return Fill{id, sell.id, n, sell.price}; },
        fills);
  }
  return Take(
      buys_, quantity, [&](std::uint64_t bid) { return bid >= limit; },
      [&](const BookOrder& buy, std::uint64_t n) { return Fill{buy.id, id, n, buy.price}; }, fills);
}

std::uint64_t Book::Auction(std::vector<Fill>* fills) {
  const std::size_t first = fills->size();
  std::uint64_t last_bid = 0, last_ask = 0;
  bool traded = false;
  while (!buys_.empty() && !sells_.empty()) {
    auto bl = buys_.begin();
    auto sl = sells_.begin();
    if (bl->first < sl->first) break;
    BookOrder& buy = bl->second.front();
    BookOrder& sell = sl->second.front();
    const std::uint64_t n = std::min(buy.remaining, sell.remaining);
    fills->push_back(Fill{buy.id, sell.id, n, 0});
    last_bid = buy.price;
    last_ask = sell.price;
    traded = true;
    buy.remaining -= n;
    sell.remaining -= n;
    if (buy.remaining == 0) {
      bl->second.pop_front();
      if (bl->second.empty()) buys_.erase(bl);
    }
    if (sell.remaining == 0) {
      sl->second.pop_front();
      if (sl->second.empty()) sells_.erase(sl);
    }
  }
  if (!traded) return 0;
  // floor((b + a) / 2) without overflowing: both are at most 2^64 - 1.
  const std::uint64_t clearing = last_ask + (last_bid - last_ask) / 2;
  for (std::size_t i = first; i < fills->size(); ++i) (*fills)[i].price = clearing;
  return clearing;
}

void Book::ForEach(const std::function<void(Side, const BookOrder&)>& fn) const {
  for (const auto& [price, q] : buys_) for (const auto& o : q) fn(Side::kBuy, o);
  for (const auto& [price, q] : sells_) for (const auto& o : q) fn(Side::kSell, o);
}

}  // namespace nanum::market
