// The invariant checker finds what it is meant to find: each check fails on a state built to
// break it (the chaincode itself never produces one, so the states are forged here).
#include "chaincode/invariants.h"

#include <gtest/gtest.h>

#include "../../chaincode/records.h"
#include "market_fixture.h"

namespace nanum::market {
namespace {

using testing::MarketFixture;

TEST(Invariants, HonestTradingPasses) {
  MarketFixture f;
  InvariantChecker checker;
  f.observer = checker.Observer();
  f.Block(testing::kBeforeGate, {f.Sell("b", 100, 10), f.Buy("a", 60, 12), f.Buy("c", 60, 11)});
  EXPECT_TRUE(checker.CheckBlock(f.state(), f.last_writes()).ok());
  f.Block(testing::kSlotEnd, {f.Reading("b", testing::kSlot, 100, 0)});
  f.Block(testing::kSettleAt, {});
  EXPECT_TRUE(checker.CheckBlock(f.state(), f.last_writes()).ok());
  EXPECT_TRUE(checker.CheckWholeState(f.state()).ok());
  EXPECT_TRUE(checker.status().ok()) << checker.status().ToString();
}

// Writes `rec` under `key` on top of the fixture's state.
template <class T>
std::unique_ptr<StateOverlay> Forge(const MarketFixture& f, const std::string& key, const T& rec, WriteSet* w) {
  auto o = std::make_unique<StateOverlay>(&f.state());
  EXPECT_TRUE(o->Put(key, Encode(rec)).ok());
  *w = o->writes();
  return o;
}

TEST(Invariants, MintedMoneyBreaksSupply) {
  MarketFixture f;
  Member a = f.M("a");
  a.available += 1;
  WriteSet w;
  auto forged = Forge(f, MemberKey("a"), a, &w);
  InvariantChecker checker;
  ASSERT_TRUE(checker.CheckBlock(*forged, w).ok());
  EXPECT_NE(checker.status().message().find("invariant 1"), std::string::npos) << checker.status().ToString();
}

TEST(Invariants, NegativeBalanceIsFound) {
  MarketFixture f;
  Member a = f.M("a"), b = f.M("b");
  a.available = -5;
  b.available += f.M("a").available + 5;
  auto o = std::make_unique<StateOverlay>(&f.state());
  ASSERT_TRUE(o->Put(MemberKey("a"), Encode(a)).ok());
  ASSERT_TRUE(o->Put(MemberKey("b"), Encode(b)).ok());
  InvariantChecker checker;
  ASSERT_TRUE(checker.CheckBlock(*o, o->writes()).ok());
  EXPECT_NE(checker.status().message().find("invariant 2"), std::string::npos) << checker.status().ToString();
}

TEST(Invariants, ContractPriceOutsideLimitsIsFound) {
  MarketFixture f;
  f.Block(testing::kBeforeGate, {f.Sell("b", 10, 10), f.Buy("a", 10, 12)});
  Contract c;
  ASSERT_TRUE(GetContract(f.state(), 0, &c).ok());
  c.price = 13;
  WriteSet w;
  auto forged = Forge(f, ContractKey(0), c, &w);
  InvariantChecker checker;
  ASSERT_TRUE(checker.CheckBlock(*forged, w).ok());
  EXPECT_NE(checker.status().message().find("invariant 3"), std::string::npos) << checker.status().ToString();
}

// Two sell orders resting, and a buy said to have matched the dearer one, leaving the cheaper
// one resting: a match that passed an order over.
struct PassedOver {
  MarketFixture f;
  Transaction buy;
  Contract contract;

  PassedOver() {
    auto cheap = f.Sell("c", 10, 9);
    auto dear = f.Sell("b", 10, 10);
    f.Block(testing::kBeforeGate, {cheap, dear});
    buy = f.Buy("a", 10, 10);
    contract.sell_order = dear.id();
    contract.buy_order = buy.id();
  }
};

TEST(Invariants, PassedOverOrderIsFound) {
  PassedOver s;
  StateOverlay after(&s.f.state());
  InvariantChecker checker;
  checker.Observer()(0, s.buy, Result::kOk, after, {s.contract});
  EXPECT_NE(checker.status().message().find("invariant 4"), std::string::npos) << checker.status().ToString();
}

// The checker keeps the parameters it last decoded and must still see them change: passing
// an order over breaks nothing under uniform-price clearing (rule 4 is continuous matching's),
// and is found as soon as the parameters say continuous again.
TEST(Invariants, ParametersThatChangeAreSeen) {
  PassedOver s;
  const MarketFixture& f = s.f;
  Params p;
  ASSERT_TRUE(GetParams(f.state(), &p).ok());
  ASSERT_EQ(p.mechanism, static_cast<std::uint8_t>(Mechanism::kContinuous));
  Params uniform = p;
  uniform.mechanism = static_cast<std::uint8_t>(Mechanism::kUniformPrice);
  StateOverlay auction(&f.state());
  ASSERT_TRUE(auction.Put("params", Encode(uniform)).ok());
  InvariantChecker checker;
  checker.Observer()(0, s.buy, Result::kOk, auction, {s.contract});
  EXPECT_TRUE(checker.status().ok()) << checker.status().ToString();
  StateOverlay continuous(&f.state());
  checker.Observer()(0, s.buy, Result::kOk, continuous, {s.contract});
  EXPECT_NE(checker.status().message().find("invariant 4"), std::string::npos) << checker.status().ToString();
}

TEST(Invariants, DeliveryWithoutReadingsIsFound) {
  MarketFixture f;
  f.Block(testing::kBeforeGate, {f.Sell("b", 100, 10), f.Buy("a", 100, 10)});
  f.Block(testing::kSettleAt, {});  // no readings: delivered 0
  Contract c;
  ASSERT_TRUE(GetContract(f.state(), 0, &c).ok());
  c.delivered_wh = 100;  // credit it anyway
  WriteSet w;
  auto forged = Forge(f, ContractKey(0), c, &w);
  ASSERT_TRUE(forged->Put(SettlementKey(testing::kSlot, "b"), "x").ok());
  InvariantChecker checker;
  ASSERT_TRUE(checker.CheckBlock(*forged, forged->writes()).ok());
  EXPECT_NE(checker.status().message().find("invariant 6"), std::string::npos) << checker.status().ToString();
}

}  // namespace
}  // namespace nanum::market
