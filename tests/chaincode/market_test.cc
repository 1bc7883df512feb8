// One test (or a few) per rule of MARKET.md, named after the rule.
#include <gtest/gtest.h>

#include "market_fixture.h"

namespace nanum::market {
namespace {

using testing::kAtGate;
using testing::kBeforeGate;
using testing::kSettleAt;
using testing::kSlot;
using testing::kSlotEnd;
using testing::MarketFixture;
using R = Result;
using Results = std::vector<Result>;

constexpr std::int64_t kGrant = 100000;

std::vector<Contract> Contracts(const MarketFixture& f, std::uint64_t slot = kSlot) {
  std::vector<Contract> out;
  EXPECT_TRUE(ContractsBySlot(f.state(), slot, 100, &out).ok());
  return out;
}

Order OrderOf(const MarketFixture& f, const Transaction& tx) {
  Order o;
  EXPECT_TRUE(GetOrder(f.state(), tx.id(), &o).ok());
  return o;
}

Settlement SettlementOf(const MarketFixture& f, const std::string& member, std::uint64_t slot = kSlot) {
  std::vector<Settlement> out;
  EXPECT_TRUE(SettlementsByMember(f.state(), member, slot, 1, &out).ok());
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Settlement{} : out[0];
}

// ---------------------------------------------------------------- Members and governance

TEST(Members, RegistrationMintsTheInitialGrant) {
  MarketFixture f;
  Supply before;
  ASSERT_TRUE(GetSupply(f.state(), &before).ok());
  EXPECT_EQ(before.grants, 5u * kGrant);  // op, a, b, c, d
  auto tx = f.Tx("op", Govern{1, RegisterMember{"e", testing::KeyOf("e").public_key()}});
  EXPECT_EQ(f.Block(81'000'000, {tx}), Results{R::kOk});
  EXPECT_EQ(f.Available("e"), kGrant);
  Supply after;
  ASSERT_TRUE(GetSupply(f.state(), &after).ok());
  EXPECT_EQ(after.grants, 6u * kGrant);
  EXPECT_EQ(f.TotalBalances(), static_cast<std::int64_t>(after.grants));
  // The new member can act at once.
  EXPECT_EQ(f.Block(81'000'001, {f.Tx("e", Transfer{"a", 5})}), Results{R::kOk});
}

TEST(Members, RegistrationRefusesTakenIdsAndKeys) {
  MarketFixture f;
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("op", Govern{1, RegisterMember{"a", testing::KeyOf("x").public_key()}}),
                                 f.Tx("op", Govern{2, RegisterMember{"x", testing::KeyOf("a").public_key()}}),
                                 f.Tx("op", Govern{3, RegisterMember{"y", testing::KeyOf("oracle-a").public_key()}})}),
            (Results{R::kMemberExists, R::kKeyInUse, R::kKeyInUse}));
}

TEST(Governance, OnlyAdminsApprove) {
  MarketFixture f;
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("a", Govern{1, Deposit{"a", 1000}})}), Results{R::kNotAdmin});
  EXPECT_EQ(f.Available("a"), kGrant);
}

TEST(Governance, ThresholdNeedsDistinctAdmins) {
  Params p;
  p.governance_threshold = 2;
  Genesis g;
  g.info.chain_id = "test";
  g.info.genesis_time_ms = testing::kGenesisMs;
  g.params = p;
  g.validators = {testing::KeyOf("validator").public_key()};
  g.members = {{"op", testing::KeyOf("op").public_key(), true},
               {"op2", testing::KeyOf("op2").public_key(), true},
               {"a", testing::KeyOf("a").public_key(), false}};
  auto store = Store::NewInMemory();
  StateOverlay s(store.get());
  // Genesis refuses a threshold that its admins cannot reach.
  Genesis one_admin = g;
  one_admin.members[1].admin = false;
  EXPECT_EQ(InitGenesis(one_admin, &s).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(s.writes().empty());
  ASSERT_TRUE(InitGenesis(g, &s).ok());
  auto run = [&](std::uint64_t h, std::uint64_t t, const std::string& who, std::uint64_t nonce, Govern gov) {
    TxBody b{"test", testing::KeyOf(who).public_key(), nonce, gov};
    std::vector<TxResult> r;
    WriteSet w;
    EXPECT_TRUE(ExecuteBlock(s, h, t, {Transaction::Sign(b, testing::KeyOf(who))}, &r, &w).ok());
    s.Apply(w);
    return static_cast<Result>(r[0].code);
  };
  Member a;
  const Govern dep{9, Deposit{"a", 700}};
  EXPECT_EQ(run(1, 81'000'000, "op", 1, dep), R::kOk);  // recorded, not carried out
  ASSERT_TRUE(GetMember(s, "a", &a).ok());
  EXPECT_EQ(a.available, kGrant);
  EXPECT_EQ(run(2, 81'000'001, "op", 2, dep), R::kAlreadyApproved);
  EXPECT_EQ(run(3, 81'000'002, "op2", 1, dep), R::kOk);  // second admin: carried out
  ASSERT_TRUE(GetMember(s, "a", &a).ok());
  EXPECT_EQ(a.available, kGrant + 700);
  EXPECT_EQ(run(4, 81'000'003, "op2", 2, dep), R::kProposalDone);  // not twice
  EXPECT_EQ(run(5, 81'000'004, "op2", 3, Govern{10, Deposit{"a", 700}}), R::kOk);  // a new salt is a new proposal
  ASSERT_TRUE(GetMember(s, "a", &a).ok());
  EXPECT_EQ(a.available, kGrant + 700);
}

TEST(Governance, ValidatorChangeTakesEffectAfterTheDelay) {
  Params p;
  p.validator_change_delay_blocks = 3;
  MarketFixture f(p);
  std::vector<PublicKey> next{testing::KeyOf("v1").public_key(), testing::KeyOf("v2").public_key()};
  std::sort(next.begin(), next.end());
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("op", Govern{1, SetValidators{next}})}), Results{R::kOk});
  std::vector<PublicKey> at;
  ASSERT_TRUE(ValidatorsAt(f.state(), f.height() + 2, &at).ok());
  EXPECT_EQ(at, std::vector<PublicKey>{testing::KeyOf("validator").public_key()});
  ASSERT_TRUE(ValidatorsAt(f.state(), f.height() + 3, &at).ok());
  EXPECT_EQ(at, next);
}

TEST(Governance, OneValidatorChangeAtATimeSoConsensusKnowsTheSetAhead) {
  Params p;
  p.validator_change_delay_blocks = 3;
  MarketFixture f(p);
  const std::vector<PublicKey> first{testing::KeyOf("validator").public_key()};
  std::vector<PublicKey> next{testing::KeyOf("v1").public_key(), testing::KeyOf("v2").public_key()};
  std::sort(next.begin(), next.end());
  ValidatorEpoch e;
  ASSERT_TRUE(ValidatorEpochAt(f.state(), f.height() + 1, &e).ok());
  EXPECT_EQ(e.start, 1u);
  EXPECT_EQ(e.end, f.height() + 3) << "nothing pending: a change in the next block lands after";
  EXPECT_EQ(e.validators, first);

  EXPECT_EQ(f.Block(81'000'000, {f.Tx("op", Govern{1, SetValidators{next}})}), Results{R::kOk});
  const std::uint64_t h = f.height();
  ASSERT_TRUE(ValidatorEpochAt(f.state(), h + 1, &e).ok());
  EXPECT_EQ(e.start, 1u);
  EXPECT_EQ(e.end, h + 2) << "the old set ends before the change";
  EXPECT_EQ(e.validators, first);
  EXPECT_EQ(f.Block(81'000'001, {f.Tx("op", Govern{2, SetValidators{first}})}),
            Results{R::kChangePending});
  EXPECT_EQ(f.Block(81'000'002, {}), Results{});
  ASSERT_EQ(f.height(), h + 2);
  ASSERT_TRUE(ValidatorEpochAt(f.state(), h + 3, &e).ok());
  EXPECT_EQ(e.start, h + 3);
  EXPECT_EQ(e.end, h + 5);
  EXPECT_EQ(e.validators, next);

  // In force now, so the next change may be approved; the set in force stays until it lands.
  EXPECT_EQ(f.Block(81'000'003, {f.Tx("op", Govern{3, SetValidators{first}})}), Results{R::kOk});
  ASSERT_TRUE(ValidatorEpochAt(f.state(), h + 4, &e).ok());
  EXPECT_EQ(e.start, h + 3);
  EXPECT_EQ(e.end, h + 5);
  EXPECT_EQ(e.validators, next);
  std::vector<PublicKey> at;
  ASSERT_TRUE(ValidatorsAt(f.state(), h + 6, &at).ok());
  EXPECT_EQ(at, first);
}

TEST(Members, SuspendedMembersCannotActUntilReactivated) {
  MarketFixture f;
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("op", Govern{1, SetMemberStatus{"a", false}})}), Results{R::kOk});
  EXPECT_EQ(f.Block(81'000'001, {f.Tx("a", Transfer{"b", 10}), f.Buy("a", 10, 1)}),
            (Results{R::kSuspended, R::kSuspended}));
  EXPECT_EQ(f.Block(81'000'002, {f.Tx("op", Govern{2, SetMemberStatus{"a", true}})}), Results{R::kOk});
  EXPECT_EQ(f.Block(81'000'003, {f.Tx("a", Transfer{"b", 10})}), Results{R::kOk});
}

TEST(Supply, DepositsAndWithdrawalsChangeSupplyOnly) {
  MarketFixture f;
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("op", Govern{1, Deposit{"a", 5000}}),
                                 f.Tx("op", Govern{2, Withdraw{"b", 3000}}),
                                 f.Tx("op", Govern{3, Withdraw{"c", kGrant + 1}}),
                                 f.Tx("op", Govern{4, Deposit{"nobody", 1}})}),
            (Results{R::kOk, R::kOk, R::kInsufficientFunds, R::kUnknownMember}));
  Supply s;
  ASSERT_TRUE(GetSupply(f.state(), &s).ok());
  EXPECT_EQ(s.deposits, 5000u);
  EXPECT_EQ(s.withdrawals, 3000u);
  EXPECT_EQ(f.TotalBalances(), static_cast<std::int64_t>(s.grants + s.deposits - s.withdrawals));
}

TEST(Transfers, MoveMoneyAndRefuseOverdraftsUnknownAndSelf) {
  MarketFixture f;
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("a", Transfer{"b", 400}), f.Tx("a", Transfer{"b", kGrant}),
                                 f.Tx("a", Transfer{"zz", 1}), f.Tx("a", Transfer{"a", 1})}),
            (Results{R::kOk, R::kInsufficientFunds, R::kUnknownMember, R::kSelfTransfer}));
  EXPECT_EQ(f.Available("a"), kGrant - 400);
  EXPECT_EQ(f.Available("b"), kGrant + 400);
}

TEST(Signers, UnknownSignerAndStaleNonceChangeNothing) {
  MarketFixture f;
  EXPECT_EQ(f.Block(81'000'000, {f.Tx("stranger", Transfer{"a", 1})}), Results{R::kUnknownSigner});
  auto t1 = f.Tx("a", Transfer{"b", 1});
  EXPECT_EQ(f.Block(81'000'001, {t1}), Results{R::kOk});
  // The same nonce again (a new body, so a new id) is refused.
  TxBody again = t1.body();
  again.payload = Transfer{"b", 2};
  EXPECT_EQ(f.Block(81'000'002, {Transaction::Sign(again, testing::KeyOf("a"))}), Results{R::kStaleNonce});
  EXPECT_EQ(f.Available("b"), kGrant + 1);
  // A failed transaction does not use its nonce.
  auto overdraft = f.Tx("a", Transfer{"b", 10 * kGrant});
  EXPECT_EQ(f.Block(81'000'003, {overdraft}), Results{R::kInsufficientFunds});
  EXPECT_EQ(LastNonce(f.state(), testing::KeyOf("a").public_key()), 1u);
  // A member key cannot submit readings and an oracle key cannot trade.
  EXPECT_EQ(f.Block(81'000'004, {f.Tx("oracle-a", Transfer{"b", 1})}), Results{R::kWrongPayloadSigner});
}

TEST(Blocks, TimeMustMoveForward) {
  MarketFixture f;
  std::vector<Result> r;
  EXPECT_EQ(f.TryBlock(testing::kGenesisMs, {}, &r).code(), Status::Code::kInvalidArgument);
  f.Block(81'000'000, {});
  EXPECT_EQ(f.TryBlock(81'000'000, {}, &r).code(), Status::Code::kInvalidArgument);
}

// ---------------------------------------------------------------- Orders

TEST(Orders, BuyLocksQuantityTimesPriceSellLocksNothing) {
  MarketFixture f;
  EXPECT_EQ(f.Block(kBeforeGate, {f.Buy("a", 100, 150), f.Sell("b", 100, 200)}), (Results{R::kOk, R::kOk}));
  EXPECT_EQ(f.Available("a"), kGrant - 15000);
  EXPECT_EQ(f.Escrow("a"), 15000);
  EXPECT_EQ(f.Available("b"), kGrant);
  EXPECT_EQ(f.Escrow("b"), 0);
}

TEST(Orders, BuyWithoutEnoughAvailableIsRejected) {
  MarketFixture f;
  EXPECT_EQ(f.Block(kBeforeGate, {f.Buy("a", 1001, 100)}), Results{R::kInsufficientFunds});
  EXPECT_EQ(f.Escrow("a"), 0);
  EXPECT_EQ(f.Block(kBeforeGate + 1, {f.Buy("a", 1000, 100)}), Results{R::kOk});
}

TEST(Orders, OppositeSideOrderForTheSameSlotIsRejected) {
  MarketFixture f;
  EXPECT_EQ(f.Block(kBeforeGate, {f.Buy("a", 10, 5), f.Sell("a", 10, 50), f.Sell("a", 10, 50, kSlot + 1)}),
            (Results{R::kOk, R::kOppositeSideOrder, R::kOk}));
}

TEST(Orders, GateAndHorizon) {
  MarketFixture f;
  // Horizon: at most 96 slots past the current one (slot 88 at genesis time + a bit).
  const std::uint64_t now_slot = 81'000'000 / 900'000;
  EXPECT_EQ(f.Block(81'000'000, {f.Sell("a", 1, 1, now_slot + 96), f.Sell("b", 1, 1, now_slot + 97),
                                 f.Sell("c", 1, 1, now_slot)}),
            (Results{R::kOk, R::kBeyondHorizon, R::kGateClosed}));
  // An order placed in a block at the gate time is rejected.
  EXPECT_EQ(f.Block(kAtGate, {f.Sell("d", 1, 1)}), Results{R::kGateClosed});
}

TEST(Orders, ZeroPriceIsAllowedAndOverflowIsRejected) {
  MarketFixture f;
  EXPECT_EQ(f.Block(kBeforeGate, {f.Buy("a", 10, 0), f.Sell("b", 1ULL << 40, 1ULL << 30), f.Buy("c", 1ULL << 33, 1ULL << 31)}),
            (Results{R::kOk, R::kOverflow, R::kOverflow}));
}

// ---------------------------------------------------------------- Continuous matching

TEST(Continuous, PartialFillAtTheRestingPriceWithEscrowReturned) {
  MarketFixture f;
  auto sell = f.Sell("b", 100, 10);
  auto buy = f.Buy("a", 30, 12);
  EXPECT_EQ(f.Block(kBeforeGate, {sell, buy}), (Results{R::kOk, R::kOk}));
  auto cs = Contracts(f);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].seller, "b");
  EXPECT_EQ(cs[0].buyer, "a");
  EXPECT_EQ(cs[0].quantity_wh, 30u);
  EXPECT_EQ(cs[0].price, 10u);  // the resting order's price
  EXPECT_EQ(f.Escrow("a"), 300);  // 30 × 10 stays locked for settlement
  EXPECT_EQ(f.Available("a"), kGrant - 300);  // (12 − 10) × 30 came back at once
  EXPECT_EQ(OrderOf(f, sell).remaining_wh, 70u);
  EXPECT_EQ(OrderOf(f, buy).status, static_cast<std::uint8_t>(OrderStatus::kFilled));
  std::vector<PriceLevel> buys, sells;
  ASSERT_TRUE(BookLevels(f.state(), kSlot, &buys, &sells).ok());
  EXPECT_TRUE(buys.empty());
  EXPECT_EQ(sells, (std::vector<PriceLevel>{{10, 70, 1}}));
}

TEST(Continuous, BestPriceFirstThenOldestAtEqualPrices) {
  MarketFixture f;
  auto b_old = f.Sell("b", 20, 10);
  auto c_new = f.Sell("c", 20, 10);
  auto d_worse = f.Sell("d", 20, 11);
  EXPECT_EQ(f.Block(kBeforeGate, {d_worse, b_old}), (Results{R::kOk, R::kOk}));
  EXPECT_EQ(f.Block(kBeforeGate + 1, {c_new}), Results{R::kOk});
  EXPECT_EQ(f.Block(kBeforeGate + 2, {f.Buy("a", 50, 11)}), Results{R::kOk});
  auto cs = Contracts(f);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].seller, "b");  // price 10, oldest
  EXPECT_EQ(cs[0].quantity_wh, 20u);
  EXPECT_EQ(cs[1].seller, "c");  // price 10, newer
  EXPECT_EQ(cs[1].quantity_wh, 20u);
  EXPECT_EQ(cs[2].seller, "d");  // price 11, though older than both
  EXPECT_EQ(cs[2].quantity_wh, 10u);
  EXPECT_EQ(cs[2].price, 11u);
  // Escrow: 50 × 11 locked; (11−10) × 40 returned.
  EXPECT_EQ(f.Escrow("a"), 20 * 10 + 20 * 10 + 10 * 11);
}

TEST(Continuous, IncomingSellMeetsHighestBuyFirst) {
  MarketFixture f;
  EXPECT_EQ(f.Block(kBeforeGate, {f.Buy("a", 10, 8), f.Buy("b", 10, 9), f.Sell("c", 15, 7)}),
            (Results{R::kOk, R::kOk, R::kOk}));
  auto cs = Contracts(f);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].buyer, "b");
  EXPECT_EQ(cs[0].price, 9u);
  EXPECT_EQ(cs[1].buyer, "a");
  EXPECT_EQ(cs[1].price, 8u);
  EXPECT_EQ(cs[1].quantity_wh, 5u);
}

TEST(Orders, CancelAfterPartialFillReturnsTheUnfilledEscrow) {
  MarketFixture f;
  auto buy = f.Buy("a", 100, 10);
  EXPECT_EQ(f.Block(kBeforeGate, {buy, f.Sell("b", 40, 10)}), (Results{R::kOk, R::kOk}));
  EXPECT_EQ(f.Escrow("a"), 1000);
  EXPECT_EQ(f.Block(kBeforeGate + 1, {f.Tx("b", CancelOrder{buy.id()}), f.Tx("a", CancelOrder{Sha256Of("none")}),
                                      f.Tx("a", CancelOrder{buy.id()})}),
            (Results{R::kNotOrderOwner, R::kUnknownOrder, R::kOk}));
  EXPECT_EQ(f.Escrow("a"), 400);  // the contract's 40 × 10 stays
  EXPECT_EQ(f.Available("a"), kGrant - 400);
  EXPECT_EQ(OrderOf(f, buy).status, static_cast<std::uint8_t>(OrderStatus::kCancelled));
  EXPECT_EQ(f.Block(kBeforeGate + 2, {f.Tx("a", CancelOrder{buy.id()})}), Results{R::kOrderClosed});
  // After a cancel the member may take the other side.
  EXPECT_EQ(f.Block(kBeforeGate + 3, {f.Sell("a", 5, 1)}), Results{R::kOk});
}

TEST(Orders, GateClosureExpiresRemaindersAndReturnsEscrow) {
  MarketFixture f;
  auto buy = f.Buy("a", 100, 10);
  auto sell = f.Sell("b", 100, 20);
  EXPECT_EQ(f.Block(kBeforeGate, {buy, sell}), (Results{R::kOk, R::kOk}));
  EXPECT_EQ(f.Escrow("a"), 1000);
  EXPECT_EQ(f.Block(kAtGate, {f.Tx("a", CancelOrder{buy.id()})}), Results{R::kOrderClosed});
  EXPECT_EQ(OrderOf(f, buy).status, static_cast<std::uint8_t>(OrderStatus::kExpired));
  EXPECT_EQ(OrderOf(f, sell).status, static_cast<std::uint8_t>(OrderStatus::kExpired));
  EXPECT_EQ(f.Escrow("a"), 0);
  EXPECT_EQ(f.Available("a"), kGrant);
  EXPECT_EQ(f.M("a").open_orders, 0u);
  Slot s;
  ASSERT_TRUE(GetSlot(f.state(), kSlot, &s).ok());
  EXPECT_EQ(s.phase, static_cast<std::uint8_t>(SlotPhase::kClosed));
}

// ---------------------------------------------------------------- Uniform price

TEST(UniformPrice, OrdersRestUntilTheGateThenClearAtTheLastPairsMidpoint) {
  Params p;
  p.mechanism = static_cast<std::uint8_t>(Mechanism::kUniformPrice);
  MarketFixture f(p);
  EXPECT_EQ(f.Block(kBeforeGate, {f.Buy("a", 50, 12), f.Buy("b", 50, 10), f.Sell("c", 60, 7), f.Sell("d", 60, 9)}),
            (Results{R::kOk, R::kOk, R::kOk, R::kOk}));
  EXPECT_TRUE(Contracts(f).empty());  // nothing matches before the gate
  f.Block(kAtGate, {});
  auto cs = Contracts(f);
  // Pairs: (12,7) 50; (10,7) 10; (10,9) 40. Last pair (10, 9): floor(19 / 2) = 9.
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].buyer, "a");
  EXPECT_EQ(cs[0].seller, "c");
  EXPECT_EQ(cs[0].quantity_wh, 50u);
  EXPECT_EQ(cs[1].buyer, "b");
  EXPECT_EQ(cs[1].seller, "c");
  EXPECT_EQ(cs[1].quantity_wh, 10u);
  EXPECT_EQ(cs[2].buyer, "b");
  EXPECT_EQ(cs[2].seller, "d");
  EXPECT_EQ(cs[2].quantity_wh, 40u);
  for (const auto& c : cs) EXPECT_EQ(c.price, 9u);
  Slot s;
  ASSERT_TRUE(GetSlot(f.state(), kSlot, &s).ok());
  EXPECT_EQ(s.clearing_price, 9u);
  // Escrow above the clearing price came back; d's unfilled 20 expired.
  EXPECT_EQ(f.Escrow("a"), 50 * 9);
  EXPECT_EQ(f.Available("a"), kGrant - 50 * 9);
  EXPECT_EQ(f.Escrow("b"), 50 * 9);
  EXPECT_EQ(f.Available("b"), kGrant - 50 * 9);
}

// ---------------------------------------------------------------- Readings

TEST(Readings, DuplicateIsHarmlessAndOtherFaultsAreRejected) {
  MarketFixture f;
  f.Block(kSlotEnd - 1, {});
  EXPECT_EQ(f.Block(kSlotEnd - 1 + 1, {f.Reading("a", kSlot, 10, 0)}), Results{R::kOk});
  StoredReading first;
  ASSERT_TRUE(GetReading(f.state(), "m-a", kSlot, &first).ok());
  // The identical reading again, in a new transaction.
  EXPECT_EQ(f.Block(kSlotEnd + 1, {f.Tx("oracle-a", first.reading)}), Results{R::kDuplicate});
  SubmitReading changed = first.reading;
  changed.export_wh = 9;
  EXPECT_EQ(f.Block(kSlotEnd + 2, {f.Tx("oracle-a", changed)}), Results{R::kConflictingReading});
  SubmitReading stale = first.reading;
  stale.slot = kSlot + 1;
  EXPECT_EQ(f.Block(kSlotEnd + 3, {f.Tx("oracle-a", stale)}), Results{R::kStaleSequence});
  SubmitReading down = stale;
  down.sequence = 99;
  down.cum_export_wh = first.reading.cum_export_wh - 1;
  down.export_wh = 0;
  EXPECT_EQ(f.Block(kSlotEnd + 4, {f.Tx("oracle-a", down)}), Results{R::kRegisterDecreased});
  SubmitReading future = down;
  future.cum_export_wh = first.reading.cum_export_wh;
  EXPECT_EQ(f.Block(kSlotEnd + 5, {f.Tx("oracle-a", future)}), Results{R::kSlotNotEnded});
  SubmitReading b = {"m-b", kSlot, 1, 50, 0, 40, 0, 0, 230000, 0, 1000};  // 50 Wh from a 40 Wh rise
  EXPECT_EQ(f.Block(kSlotEnd + 6, {f.Tx("oracle-b", b)}), Results{R::kEnergyExceedsRegister});
  EXPECT_EQ(f.Block(kSlotEnd + 7, {f.Tx("oracle-a", SubmitReading{"m-b", kSlot, 1, 1, 0, 1, 0, 0, 0, 0, 0})}),
            Results{R::kWrongOracle});
  EXPECT_EQ(f.Block(kSlotEnd + 8, {f.Tx("oracle-a", SubmitReading{"m-zz", kSlot, 1, 1, 0, 1, 0, 0, 0, 0, 0})}),
            Results{R::kUnknownMeter});
  Meter m;
  ASSERT_TRUE(GetMeter(f.state(), "m-a", &m).ok());
  EXPECT_EQ(m.last_sequence, 1u);
  EXPECT_EQ(m.cum_export_wh, 10u);
}

// ---------------------------------------------------------------- Settlement

// a buys 100 Wh from b at 10, contracted in slot 100.
MarketFixture Contracted(Params p = Params()) {
  MarketFixture f(p);
  EXPECT_EQ(f.Block(kBeforeGate, {f.Sell("b", 100, 10), f.Buy("a", 100, 10)}), (Results{R::kOk, R::kOk}));
  return f;
}

TEST(Settlement, FullDeliveryPaysTheSeller) {
  MarketFixture f = Contracted();
  EXPECT_EQ(f.Block(kSlotEnd, {f.Reading("b", kSlot, 100, 0), f.Reading("a", kSlot, 0, 100)}),
            (Results{R::kOk, R::kOk}));
  f.Block(kSettleAt, {});
  EXPECT_EQ(f.Available("b"), kGrant + 1000);
  EXPECT_EQ(f.Available("a"), kGrant - 1000);
  EXPECT_EQ(f.Escrow("a"), 0);
  auto c = Contracts(f)[0];
  EXPECT_TRUE(c.settled);
  EXPECT_EQ(c.delivered_wh, 100u);
  EXPECT_EQ(SettlementOf(f, "b").received, 1000);
  EXPECT_EQ(SettlementOf(f, "a").paid, 1000);
}

TEST(Settlement, NotBeforeTheSettlementTime) {
  MarketFixture f = Contracted();
  f.Block(kSettleAt - 1, {});
  EXPECT_FALSE(Contracts(f)[0].settled);
  f.Block(kSettleAt, {});
  EXPECT_TRUE(Contracts(f)[0].settled);
}

TEST(Settlement, MissingSellerReadingIsUndeliveredAndPenalised) {
  Params p;
  p.shortfall_penalty = 2;
  MarketFixture f = Contracted(p);
  f.Block(kSlotEnd, {f.Reading("a", kSlot, 0, 100)});
  f.Block(kSettleAt, {});
  auto c = Contracts(f)[0];
  EXPECT_EQ(c.delivered_wh, 0u);
  EXPECT_EQ(c.penalty, 200);  // (100 − 0) × 2
  EXPECT_EQ(f.Available("a"), kGrant + 200);  // escrow back, plus the penalty
  EXPECT_EQ(f.Available("b"), kGrant - 200);
  EXPECT_FALSE(SettlementOf(f, "b").export_measured);
}

TEST(Settlement, MissingBuyerReadingCountsAsFullImport) {
  MarketFixture f = Contracted();
  f.Block(kSlotEnd, {f.Reading("b", kSlot, 100, 0)});
  f.Block(kSettleAt, {});
  EXPECT_EQ(Contracts(f)[0].delivered_wh, 100u);
  EXPECT_EQ(f.Available("a"), kGrant - 1000);
  EXPECT_EQ(f.Available("b"), kGrant + 1000);
  EXPECT_FALSE(SettlementOf(f, "a").import_measured);
  EXPECT_EQ(SettlementOf(f, "a").imported_wh, 100u);
}

TEST(Settlement, DeliveryWithinToleranceCountsAsFull) {
  MarketFixture f = Contracted();  // tolerance 30 ‰: 97 of 100 is full
  f.Block(kSlotEnd, {f.Reading("b", kSlot, 97, 0), f.Reading("a", kSlot, 0, 97)});
  f.Block(kSettleAt, {});
  EXPECT_EQ(Contracts(f)[0].delivered_wh, 100u);
  EXPECT_EQ(f.Available("b"), kGrant + 1000);
}

TEST(Settlement, JustOutsideToleranceIsProRata) {
  Params p;
  p.shortfall_penalty = 1;
  MarketFixture f = Contracted(p);
  f.Block(kSlotEnd, {f.Reading("b", kSlot, 96, 0), f.Reading("a", kSlot, 0, 100)});
  f.Block(kSettleAt, {});
  auto c = Contracts(f)[0];
  EXPECT_EQ(c.delivered_wh, 96u);
  EXPECT_EQ(c.paid, 960);
  EXPECT_EQ(c.penalty, 4);
  EXPECT_EQ(f.Available("a"), kGrant - 960 + 4);
  EXPECT_EQ(f.Available("b"), kGrant + 960 - 4);
}

TEST(Settlement, OverDeliveryPaysOnlyTheContract) {
  MarketFixture f = Contracted();
  f.Block(kSlotEnd, {f.Reading("b", kSlot, 150, 0), f.Reading("a", kSlot, 0, 100)});
  f.Block(kSettleAt, {});
  EXPECT_EQ(Contracts(f)[0].delivered_wh, 100u);
  EXPECT_EQ(f.Available("b"), kGrant + 1000);
}

TEST(Settlement, BuyerShortfallReducesDeliveryWithoutPenalty) {
  Params p;
  p.shortfall_penalty = 5;
  MarketFixture f = Contracted(p);
  f.Block(kSlotEnd, {f.Reading("b", kSlot, 100, 0), f.Reading("a", kSlot, 0, 40)});
  f.Block(kSettleAt, {});
  auto c = Contracts(f)[0];
  EXPECT_EQ(c.delivered_wh, 40u);
  EXPECT_EQ(c.penalty, 0);  // the seller delivered in full
  EXPECT_EQ(f.Available("a"), kGrant - 400);
}

TEST(Settlement, ProRataAcrossASellersContracts) {
  MarketFixture f;
  EXPECT_EQ(f.Block(kBeforeGate, {f.Sell("b", 100, 10), f.Buy("a", 60, 10), f.Buy("c", 40, 10)}),
            (Results{R::kOk, R::kOk, R::kOk}));
  f.Block(kSlotEnd, {f.Reading("b", kSlot, 50, 0)});  // half of 100
  f.Block(kSettleAt, {});
  auto cs = Contracts(f);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].delivered_wh, 30u);  // floor(60 × 50 / 100)
  EXPECT_EQ(cs[1].delivered_wh, 20u);  // floor(40 × 50 / 100)
  EXPECT_EQ(SettlementOf(f, "b").delivered_sold_wh, 50u);
}

TEST(Settlement, PenaltyIsCappedByTheSellersAvailableBalance) {
  Params p;
  p.shortfall_penalty = 100000;
  MarketFixture f = Contracted(p);
  // b gives away almost everything first.
  EXPECT_EQ(f.Block(kBeforeGate + 1, {f.Tx("b", Transfer{"c", kGrant - 50})}), Results{R::kOk});
  f.Block(kSettleAt, {});
  auto c = Contracts(f)[0];
  EXPECT_EQ(c.penalty, 50);
  EXPECT_EQ(f.Available("b"), 0);
  EXPECT_EQ(f.Available("a"), kGrant + 50);
}

TEST(Settlement, LateReadingIsHistoryOnly) {
  MarketFixture f = Contracted();
  f.Block(kSettleAt, {});  // no readings: b delivered nothing
  EXPECT_EQ(Contracts(f)[0].delivered_wh, 0u);
  const auto a_before = f.Available("a"), b_before = f.Available("b");
  EXPECT_EQ(f.Block(kSettleAt + 1, {f.Reading("b", kSlot, 100, 0)}), Results{R::kOk});
  StoredReading r;
  ASSERT_TRUE(GetReading(f.state(), "m-b", kSlot, &r).ok());
  EXPECT_TRUE(r.late);
  EXPECT_EQ(f.Available("a"), a_before);
  EXPECT_EQ(f.Available("b"), b_before);
  EXPECT_EQ(Contracts(f)[0].delivered_wh, 0u);
}

TEST(Settlement, AReadingInTheSettlingBlockArrivesLate) {
  MarketFixture f = Contracted();
  EXPECT_EQ(f.Block(kSettleAt, {f.Reading("b", kSlot, 100, 0)}), Results{R::kOk});
  EXPECT_EQ(Contracts(f)[0].delivered_wh, 0u);
}

TEST(Settlement, SlotIsResetButHistoryStays) {
  MarketFixture f = Contracted();
  auto extra = f.Buy("c", 5, 1);
  f.Block(kBeforeGate + 1, {extra});
  f.Block(kSettleAt, {});
  Order o;
  EXPECT_TRUE(GetOrder(f.state(), extra.id(), &o).IsNotFound());
  std::vector<Order> orders;
  ASSERT_TRUE(MemberOrders(f.state(), "a", 10, &orders).ok());
  EXPECT_TRUE(orders.empty());
  // Nothing of the slot's orders is left: no order, no entry in the slot's, a member's or
  // the book's index, no slot energy.
  for (const char* family : {"ord/", "sord/", "mord/", "book/", "srd/"}) {
    EXPECT_FALSE(f.state().NewIterator(family)->Valid()) << family;
  }
  Slot s;
  ASSERT_TRUE(GetSlot(f.state(), kSlot, &s).ok());
  EXPECT_EQ(s.phase, static_cast<std::uint8_t>(SlotPhase::kSettled));
  EXPECT_EQ(Contracts(f).size(), 1u);
  std::vector<Settlement> st;
  ASSERT_TRUE(SettlementsBySlot(f.state(), kSlot, 10, &st).ok());
  EXPECT_EQ(st.size(), 2u);
  EXPECT_EQ(f.TotalBalances(), 5 * kGrant);
}

TEST(Queries, ContractsByMemberAndPaging) {
  MarketFixture f;
  f.Block(kBeforeGate, {f.Sell("b", 100, 10), f.Buy("a", 10, 10), f.Buy("c", 10, 10), f.Buy("d", 10, 10)});
  std::vector<Contract> cs;
  ASSERT_TRUE(ContractsByMember(f.state(), "b", 0, 2, &cs).ok());
  ASSERT_EQ(cs.size(), 2u);
  ASSERT_TRUE(ContractsByMember(f.state(), "b", cs.back().id + 1, 10, &cs).ok());
  EXPECT_EQ(cs.size(), 1u);
  ASSERT_TRUE(ContractsByMember(f.state(), "c", 0, 10, &cs).ok());
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].buyer, "c");
}

}  // namespace
}  // namespace nanum::market
