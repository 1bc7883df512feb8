// Payload encodings: golden bytes, round trips of every type and action, and bad payloads.
#include "ledger/payload.h"

#include <gtest/gtest.h>

#include "ledger/encoding.h"
#include "test_chain.h"

namespace nanum {
namespace {

Payload RoundTrip(const Payload& p) {
  Payload back;
  Status s = DecodePayload(static_cast<std::uint16_t>(TypeOf(p)), EncodePayload(p), &back);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return back;
}

TEST(Payload, GoldenPlaceOrder) {
  const Payload p = PlaceOrder{Side::kSell, 42, 1500, 150};
  EXPECT_EQ(TypeOf(p), PayloadType::kPlaceOrder);
  EXPECT_EQ(ToHex(EncodePayload(p)),
            "02" "000000000000002a" "00000000000005dc" "0000000000000096");
}

TEST(Payload, GoldenGovernDeposit) {
  const Payload p = Govern{7, Deposit{"apt-101", 500}};
  EXPECT_EQ(ToHex(EncodePayload(p)),
            "0000000000000007" "04" "00000007" "6170742d313031" "00000000000001f4");
}

TEST(Payload, GoldenReading) {
  SubmitReading m{"plug-1", 3, 9, 100, 20, 5000, 800, -250000, 230000, 1100, 950};
  EXPECT_EQ(ToHex(EncodePayload(m)),
            "00000006" "706c75672d31"   // meter id
            "0000000000000003"          // slot
            "0000000000000009"          // sequence
            "0000000000000064"          // export 100
            "0000000000000014"          // import 20
            "0000000000001388"          // cumulative export 5000
            "0000000000000320"          // cumulative import 800
            "fffffffffffc2f70"          // -250000 mW
            "00038270"                  // 230000 mV
            "0000044c"                  // 1100 mA
            "00000000000003b6");        // pf 950
}

TEST(Payload, EveryTypeAndActionRoundTrips) {
  const PublicKey k = testing::KeyFor("a").public_key();
  std::vector<PublicKey> vals{testing::KeyFor("v1").public_key(), testing::KeyFor("v2").public_key()};
  std::sort(vals.begin(), vals.end());
  const std::vector<Payload> all = {
      Transfer{"bob", 1},
      Govern{1, RegisterMember{"apt-1", k}},
      Govern{2, SetMemberStatus{"apt-1", false}},
      Govern{3, BindMeter{"meter.1", "apt-1", k}},
      Govern{4, Deposit{"apt-1", 9}},
      Govern{5, Withdraw{"apt-1", 9}},
      Govern{6, SetValidators{vals}},
      PlaceOrder{Side::kBuy, 1, 2, 0},
      CancelOrder{Sha256Of("x")},
      SubmitReading{"m", 1, 2, 3, 4, 5, 6, -7, 8, 9, -1000},
  };
  for (const auto& p : all) EXPECT_EQ(RoundTrip(p), p) << PayloadTypeName(TypeOf(p));
}

TEST(Payload, ProposalIdDependsOnSaltAndAction) {
  EXPECT_EQ(ProposalId(Govern{1, Deposit{"a", 5}}), ProposalId(Govern{1, Deposit{"a", 5}}));
  EXPECT_NE(ProposalId(Govern{1, Deposit{"a", 5}}), ProposalId(Govern{2, Deposit{"a", 5}}));
  EXPECT_NE(ProposalId(Govern{1, Deposit{"a", 5}}), ProposalId(Govern{1, Withdraw{"a", 5}}));
}

Status Decode(PayloadType t, const std::string& bytes) {
  Payload p;
  return DecodePayload(static_cast<std::uint16_t>(t), bytes, &p);
}

TEST(Payload, BadPayloadsHaveSpecificErrors) {
  std::string order = EncodePayload(PlaceOrder{Side::kBuy, 1, 2, 3});
  std::string bad_side = order;
  bad_side[0] = 3;
  EXPECT_EQ(Decode(PayloadType::kPlaceOrder, bad_side).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Decode(PayloadType::kPlaceOrder, EncodePayload(PlaceOrder{Side::kBuy, 1, 0, 3})).code(),
            Status::Code::kInvalidArgument);  // zero quantity
  EXPECT_EQ(Decode(PayloadType::kPlaceOrder, order.substr(0, 10)).code(), Status::Code::kTruncated);
  EXPECT_EQ(Decode(PayloadType::kPlaceOrder, order + "x").code(), Status::Code::kTrailingData);

  std::string gov = EncodePayload(Govern{1, Deposit{"a", 5}});
  gov[8] = 99;  // action kind
  EXPECT_EQ(Decode(PayloadType::kGovern, gov).code(), Status::Code::kUnsupported);

  Hash256 off_curve{};
  off_curve[31] = 5;
  Writer reg;
  reg.U64(1);
  reg.U8(1);
  reg.Bytes("apt-1");
  reg.Fixed(off_curve);
  EXPECT_EQ(Decode(PayloadType::kGovern, reg.data()).code(), Status::Code::kInvalidArgument);

  const PublicKey a = testing::KeyFor("v1").public_key(), b = testing::KeyFor("v2").public_key();
  Writer vals;
  vals.U64(1);
  vals.U8(6);
  vals.U32(2);
  vals.Fixed(std::max(a, b).bytes());  // out of order
  vals.Fixed(std::min(a, b).bytes());
  EXPECT_EQ(Decode(PayloadType::kGovern, vals.data()).code(), Status::Code::kInvalidArgument);

  SubmitReading m{"m", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  m.power_factor_permille = 1001;
  EXPECT_EQ(Decode(PayloadType::kSubmitReading, EncodePayload(m)).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Decode(PayloadType::kTransfer, EncodePayload(Transfer{"UPPER", 1})).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Decode(static_cast<PayloadType>(77), "").code(), Status::Code::kUnsupported);
}

}  // namespace
}  // namespace nanum
