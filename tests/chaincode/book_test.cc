// The matching engine by itself.
#include "chaincode/book.h"

#include <gtest/gtest.h>

namespace nanum::market {
namespace {

Hash256 Id(int n) { return Sha256Of(std::to_string(n)); }
BookOrder O(int id, std::uint64_t price, std::uint64_t q, std::uint64_t h) {
  return BookOrder{Id(id), "m" + std::to_string(id), price, q, {h, 0}};
}

TEST(Book, MatchTakesBestPriceThenOldest) {
  Book b;
  b.Add(Side::kSell, O(1, 11, 10, 1));
  b.Add(Side::kSell, O(2, 10, 10, 2));
  b.Add(Side::kSell, O(3, 10, 10, 3));
  std::vector<Fill> fills;
  EXPECT_EQ(b.Match(Side::kBuy, Id(9), 10, 25, &fills), 5u);  // 11 is above the limit
  ASSERT_EQ(fills.size(), 2u);
  EXPECT_EQ(fills[0].sell_id, Id(2));
  EXPECT_EQ(fills[1].sell_id, Id(3));
  EXPECT_EQ(fills[0].buy_id, Id(9));
}

TEST(Book, AuctionClearsAtTheFlooredMidpointOfTheLastPair) {
  Book b;
  b.Add(Side::kBuy, O(1, 12, 50, 1));
  b.Add(Side::kBuy, O(2, 10, 50, 2));
  b.Add(Side::kSell, O(3, 7, 60, 3));
  b.Add(Side::kSell, O(4, 9, 60, 4));
  std::vector<Fill> fills;
  EXPECT_EQ(b.Auction(&fills), 9u);
  ASSERT_EQ(fills.size(), 3u);
  std::uint64_t traded = 0;
  for (const auto& f : fills) {
    EXPECT_EQ(f.price, 9u);
    traded += f.quantity;
  }
  EXPECT_EQ(traded, 100u);
  int left = 0;
  b.ForEach([&](Side s, const BookOrder& o) {
    EXPECT_EQ(s, Side::kSell);
    EXPECT_EQ(o.remaining, 20u);
    ++left;
  });
  EXPECT_EQ(left, 1);
}

TEST(Book, AuctionWithoutCrossingTradesNothing) {
  Book b;
  b.Add(Side::kBuy, O(1, 5, 50, 1));
  b.Add(Side::kSell, O(2, 6, 50, 2));
  std::vector<Fill> fills;
  EXPECT_EQ(b.Auction(&fills), 0u);
  EXPECT_TRUE(fills.empty());
}

TEST(Book, AuctionMidpointDoesNotOverflow) {
  Book b;
  const std::uint64_t top = ~0ULL;
  b.Add(Side::kBuy, O(1, top, 1, 1));
  b.Add(Side::kSell, O(2, top - 1, 1, 2));
  std::vector<Fill> fills;
  EXPECT_EQ(b.Auction(&fills), top - 1);  // floor((2^64-1 + 2^64-2) / 2)
}

TEST(Book, RemoveTakesOneOrder) {
  Book b;
  b.Add(Side::kBuy, O(1, 5, 50, 1));
  EXPECT_FALSE(b.Remove(Side::kBuy, 6, Id(1)));
  EXPECT_TRUE(b.Remove(Side::kBuy, 5, Id(1)));
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace nanum::market
