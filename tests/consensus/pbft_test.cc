// Unit tests of the consensus messages and of single-replica rules: every message kind round
// trips and every malformed one is refused with its own code; hard state survives a round trip;
// reproposal selection after a view change; a replica refuses a forged, misattributed or
// badly timed pre-prepare and, restarted from its hard state, never votes for a second block at
// the same view and height.
#include <gtest/gtest.h>

#include "consensus/messages.h"
#include "consensus/pbft.h"
#include "tests/sim/sim_app.h"

namespace nanum::pbft {
namespace {

PrivateKey KeyFrom(std::uint8_t b) {
  std::array<std::uint8_t, 32> s{};
  s.fill(b);
  PrivateKey k;
  EXPECT_TRUE(PrivateKey::FromBytes(s, &k).ok());
  return k;
}

Hash256 H(std::uint8_t b) {
  Hash256 h{};
  h.fill(b);
  return h;
}

Transaction Tx(std::uint64_t nonce) {
  TxBody body;
  body.chain_id = "test";
  body.signer = KeyFrom(9).public_key();
  body.nonce = nonce;
  body.payload = Payload{Transfer{"someone", 1}};
  return Transaction::Unsigned(body);
}

Block SomeBlock(std::uint64_t height) {
  Block b;
  b.header.height = height;
  b.header.prev_hash = H(1);
  b.header.timestamp_ms = 1000 + height;
  b.header.proposer = KeyFrom(2).public_key();
  b.txs = {Tx(1), Tx(2)};
  b.header.tx_root = TxRoot(b.txs);
  return b;
}

std::vector<Message> OneOfEach() {
  std::vector<Message> out;
  auto add = [&](Body b) {
    Message m;
    m.from = KeyFrom(3).public_key();
    m.sig.fill(7);
    m.body = std::move(b);
    out.push_back(std::move(m));
  };
  add(Request{Tx(5)});
  add(PrePrepare{3, SomeBlock(4)});
  add(Prepare{3, 4, H(2)});
  add(Commit{3, 4, H(2)});
  add(Checkpoint{16, H(3)});
  ViewChange vc;
  vc.new_view = 4;
  vc.committed = SomeBlock(2).header;
  vc.cert = CommitCertificate{1, H(4), {{KeyFrom(3).public_key(), Signature{}}}};
  vc.prepared.push_back(PreparedProof{3, SomeBlock(3), Signature{}, {{KeyFrom(4).public_key(), {}}}});
  add(vc);
  NewView nv;
  nv.view = 4;
  nv.view_changes.push_back(SignedViewChange{KeyFrom(5).public_key(), Signature{}, vc});
  nv.preprepare_sigs.push_back(Signature{});
  add(nv);
  add(StatusMsg{4, true, 99});
  add(Fetch{10, 64});
  Block certified = SomeBlock(5);
  certified.certificate = CommitCertificate{0, certified.Hash(), {}};
  add(Blocks{{certified}});
  return out;
}

TEST(PbftMessages, EveryKindRoundTrips) {
  std::vector<Message> all = OneOfEach();
  ASSERT_EQ(all.size(), 10u);
  for (const Message& m : all) {
    const std::string bytes = m.Encode();
    Message back;
    ASSERT_TRUE(Message::Decode(bytes, &back).ok()) << TypeName(m.type());
    EXPECT_EQ(back.type(), m.type());
    EXPECT_EQ(back.from, m.from);
    EXPECT_EQ(back.sig, m.sig);
    EXPECT_EQ(back.Encode(), bytes) << TypeName(m.type());
  }
}

TEST(PbftMessages, GoldenPrepare) {
  // version 1 | type 3 | sender | signature | view 3 | height 4 | hash
  Message m;
  m.from = PublicKey::FromBytesUnchecked(H(0xaa));
  m.sig.fill(0xbb);
  m.body = Prepare{3, 4, H(0xcc)};
  EXPECT_EQ(ToHex(m.Encode()),
            "0103" + std::string(64, 'a') + std::string(128, 'b') + "0000000000000003" +
                "0000000000000004" + std::string(64, 'c'));
  // What it signs is a tagged hash of view, height and block hash, pinned here.
  EXPECT_EQ(ToHex(PrepareDigest(3, 4, H(0xcc))),
            ToHex(TaggedHash("nanum/pbft/prepare",
                             std::string("\0\0\0\0\0\0\0\3\0\0\0\0\0\0\0\4", 16) +
                                 std::string(32, '\xcc'))));
  EXPECT_NE(PrepareDigest(3, 4, H(0xcc)), PrePrepareDigest(3, 4, H(0xcc)));
  EXPECT_EQ(CommitDigest(4, 3, H(0xcc)), *SigningDigest(Commit{3, 4, H(0xcc)}));
}

TEST(PbftMessages, MalformedInputIsRefusedWithItsOwnCode) {
  for (const Message& m : OneOfEach()) {
    const std::string bytes = m.Encode();
    for (std::size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 97) {
      Message out;
      Status s = Message::Decode(bytes.substr(0, cut), &out);
      EXPECT_FALSE(s.ok()) << TypeName(m.type()) << " cut at " << cut;
    }
    Message out;
    EXPECT_EQ(Message::Decode(bytes + "x", &out).code(), Status::Code::kTrailingData)
        << TypeName(m.type());
  }
  std::string prepare = OneOfEach()[2].Encode();
  Message out;
  EXPECT_EQ(Message::Decode(prepare.substr(0, 50), &out).code(), Status::Code::kTruncated);
  std::string bad_version = prepare;
  bad_version[0] = 2;
  EXPECT_EQ(Message::Decode(bad_version, &out).code(), Status::Code::kUnsupported);
  std::string bad_type = prepare;
  bad_type[1] = 42;
  EXPECT_EQ(Message::Decode(bad_type, &out).code(), Status::Code::kUnsupported);
  // A block list claiming more blocks than a fetch may carry.
  Message blocks = OneOfEach()[9];
  std::string many = blocks.Encode();
  many[98] = 0;
  many[99] = 0;
  many[100] = 0x10;
  many[101] = 0;
  EXPECT_EQ(Message::Decode(many, &out).code(), Status::Code::kTooLarge);
}

TEST(PbftHardState, RoundTripsAndRefusesDamage) {
  HardState hs;
  hs.view = 7;
  hs.changing = true;
  hs.votes[5] = VoteRecord{7, H(5)};
  hs.votes[6] = VoteRecord{6, H(6)};
  PreparedProof p{6, SomeBlock(5), Signature{}, {}};
  hs.prepared[5] = EncodePreparedProof(p);
  Message nv = OneOfEach()[6];
  hs.new_view = nv.Encode();
  const std::string bytes = hs.Encode();
  HardState back;
  ASSERT_TRUE(HardState::Decode(bytes, &back).ok());
  EXPECT_EQ(back.Encode(), bytes);
  EXPECT_EQ(back.view, 7u);
  EXPECT_TRUE(back.changing);
  EXPECT_EQ(back.votes.at(6).hash, H(6));
  // A proof filed under the wrong height, and a torn write, are refused.
  HardState wrong = hs;
  wrong.prepared[9] = wrong.prepared[5];
  EXPECT_FALSE(HardState::Decode(wrong.Encode(), &back).ok());
  EXPECT_FALSE(HardState::Decode(bytes.substr(0, bytes.size() - 3), &back).ok());
}

// Reproposal selection over hand-made view changes (signatures play no part in it).
SignedViewChange Vc(std::uint64_t committed_height, const Hash256& committed_prev) {
  SignedViewChange s;
  s.vc.new_view = 9;
  s.vc.committed.height = committed_height;
  s.vc.committed.prev_hash = committed_prev;
  return s;
}
Block Child(const BlockHeader& parent, std::uint64_t salt) {
  Block b;
  b.header.height = parent.height + 1;
  b.header.prev_hash = parent.Hash();
  b.header.timestamp_ms = salt;
  return b;
}

TEST(PbftReproposals, HighestViewWinsAndTheChainStopsAtAGapOrABreak) {
  SignedViewChange a = Vc(10, H(1));
  SignedViewChange b = Vc(9, H(2));  // lower committed height: its base is not used
  const BlockHeader& base = a.vc.committed;
  Block x11 = Child(base, 1), y11 = Child(base, 2);
  Block x12 = Child(x11.header, 3), y12 = Child(y11.header, 4);
  a.vc.prepared = {PreparedProof{3, x11, {}, {}}, PreparedProof{3, x12, {}, {}}};
  b.vc.prepared = {PreparedProof{5, y11, {}, {}}};  // higher view at 11
  BlockHeader got;
  std::vector<SignedViewChange> vcs = {a, b};  // the result points into it
  std::vector<const PreparedProof*> chosen = SelectReproposals(vcs, &got);
  EXPECT_EQ(got.Hash(), base.Hash());
  ASSERT_EQ(chosen.size(), 1u);  // y11 wins at 11; x12 links to x11, so the chain stops
  EXPECT_EQ(chosen[0]->block.Hash(), y11.Hash());

  vcs[1].vc.prepared.push_back(PreparedProof{5, y12, {}, {}});
  chosen = SelectReproposals(vcs, &got);
  ASSERT_EQ(chosen.size(), 2u);
  EXPECT_EQ(chosen[1]->block.Hash(), y12.Hash());

  // A gap at 11 ends the list even if 12 was prepared.
  vcs = {a};
  vcs[0].vc.prepared = {PreparedProof{3, x12, {}, {}}};
  chosen = SelectReproposals(vcs, &got);
  EXPECT_TRUE(chosen.empty());
}

// A four-validator setup around one replica under test.
class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaTest() {
    for (std::uint8_t i = 1; i <= 4; ++i) keys_.push_back(KeyFrom(i));
    std::sort(keys_.begin(), keys_.end(), [](const PrivateKey& a, const PrivateKey& b) {
      return a.public_key() < b.public_key();
    });
    for (const PrivateKey& k : keys_) validators_.push_back(k.public_key());
    genesis_.header.timestamp_ms = kNow - 1000;
    genesis_.header.tx_root = TxRoot({});
    genesis_.header.state_root = H(0x51);
    genesis_.header.results_root = ResultsRoot({});
    disk_.push_back(genesis_);
  }

  Config ConfigFor(std::size_t i) const {
    Config c;
    c.key = keys_[i];
    return c;
  }

  // A valid block at height 1 built by the primary (validator 0).
  Block Proposal(std::uint64_t time, std::uint64_t nonce) {
    std::vector<Block> d = {genesis_};
    sim::SimApp app(&d, validators_);
    Block b;
    std::vector<std::pair<Hash256, Status>> rejected;
    EXPECT_TRUE(app.Build(genesis_.Hash(), 1, time, validators_[0], {Tx(nonce)}, &b, &rejected).ok());
    return b;
  }

  Message PrePrepareFrom(std::size_t signer, std::uint64_t view, const Block& b) {
    Message m;
    m.from = validators_[signer];
    m.sig = keys_[signer].SignWithAux(PrePrepareDigest(view, b.header.height, b.Hash()), {});
    m.body = PrePrepare{view, b};
    return m;
  }

  static std::size_t Count(const Ready& r, MessageType t) {
    std::size_t n = 0;
    for (const Outgoing& o : r.messages) {
      if (o.msg.type() == t) ++n;
    }
    return n;
  }

  static constexpr std::uint64_t kNow = 1'800'000'000'000;
  std::vector<PrivateKey> keys_;
  std::vector<PublicKey> validators_;
  Block genesis_;
  std::vector<Block> disk_;
};

TEST_F(ReplicaTest, BackupPreparesAValidProposal) {
  sim::SimApp app(&disk_, validators_);
  Replica r(ConfigFor(1), &app, genesis_, HardState{}, kNow);
  ASSERT_TRUE(r.Step(PrePrepareFrom(0, 0, Proposal(kNow, 1))).ok());
  Ready ready = r.GetReady();
  EXPECT_EQ(Count(ready, MessageType::kPrepare), 1u);
  ASSERT_TRUE(ready.hard_state.has_value()) << "the vote is handed out to persist";
  HardState hs;
  ASSERT_TRUE(HardState::Decode(*ready.hard_state, &hs).ok());
  EXPECT_EQ(hs.votes.at(1).hash, Proposal(kNow, 1).Hash());
}

TEST_F(ReplicaTest, RefusesForgedMisattributedAndBadlyTimedProposals) {
  sim::SimApp app(&disk_, validators_);
  Replica r(ConfigFor(1), &app, genesis_, HardState{}, kNow);
  Message forged = PrePrepareFrom(0, 0, Proposal(kNow, 1));
  forged.sig[5] ^= 1;
  EXPECT_EQ(r.Step(forged).code(), Status::Code::kBadSignature);
  EXPECT_EQ(r.Step(PrePrepareFrom(2, 0, Proposal(kNow, 1))).code(),
            Status::Code::kInvalidArgument);  // validator 2 is not the primary of view 0
  EXPECT_EQ(r.Step(PrePrepareFrom(0, 1, Proposal(kNow, 1))).code(),
            Status::Code::kFailedPrecondition);  // a view this replica is not in
  EXPECT_FALSE(r.HasReady()) << "no refused message changes anything";

  // Block time: too far ahead of this replica's clock, or not after the previous block.
  ASSERT_TRUE(r.Step(PrePrepareFrom(0, 0, Proposal(kNow + 60'000, 1))).ok());
  EXPECT_EQ(Count(r.GetReady(), MessageType::kPrepare), 0u);
  Replica r2(ConfigFor(2), &app, genesis_, HardState{}, kNow);
  ASSERT_TRUE(r2.Step(PrePrepareFrom(0, 0, Proposal(genesis_.header.timestamp_ms, 1))).ok());
  EXPECT_EQ(Count(r2.GetReady(), MessageType::kPrepare), 0u);
}

TEST_F(ReplicaTest, RestartedReplicaNeverVotesForASecondBlock) {
  sim::SimApp app(&disk_, validators_);
  std::string persisted;
  {
    Replica r(ConfigFor(1), &app, genesis_, HardState{}, kNow);
    ASSERT_TRUE(r.Step(PrePrepareFrom(0, 0, Proposal(kNow, 1))).ok());
    Ready ready = r.GetReady();
    ASSERT_EQ(Count(ready, MessageType::kPrepare), 1u);
    persisted = *ready.hard_state;
  }  // the replica "crashes" after persisting and sending
  HardState hs;
  ASSERT_TRUE(HardState::Decode(persisted, &hs).ok());
  sim::SimApp app2(&disk_, validators_);
  Replica again(ConfigFor(1), &app2, genesis_, hs, kNow + 10);
  Status s = again.Step(PrePrepareFrom(0, 0, Proposal(kNow + 5, 2)));  // another block, same slot
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(Count(again.GetReady(), MessageType::kPrepare), 0u);
  // The same block again is fine: the vote is repeated, not changed.
  ASSERT_TRUE(again.Step(PrePrepareFrom(0, 0, Proposal(kNow, 1))).ok());
  EXPECT_EQ(Count(again.GetReady(), MessageType::kPrepare), 1u);
}

TEST_F(ReplicaTest, RequestsAreBoundedAndDeduplicated) {
  sim::SimApp app(&disk_, validators_);
  Config c = ConfigFor(1);
  c.max_pending = 2;
  Replica r(c, &app, genesis_, HardState{}, kNow);
  EXPECT_TRUE(r.Submit(Tx(1)).ok());
  EXPECT_EQ(r.Submit(Tx(1)).code(), Status::Code::kAlreadyExists);  // already pending
  EXPECT_TRUE(r.Submit(Tx(2)).ok());
  EXPECT_EQ(r.Submit(Tx(3)).code(), Status::Code::kTooLarge);  // pool full: said, not dropped
  EXPECT_EQ(r.Submit(Tx(97)).code(), Status::Code::kInvalidArgument);  // the app refuses it
  EXPECT_EQ(r.status().pending, 2u);
}

TEST(PbftConfig, RefusesUnsafeSettings) {
  Config c;
  EXPECT_TRUE(Replica::CheckConfig(c).ok());
  Config window = c;
  window.watermark_window = window.checkpoint_interval;
  EXPECT_FALSE(Replica::CheckConfig(window).ok());
  Config flight = c;
  flight.max_in_flight = 0;
  EXPECT_FALSE(Replica::CheckConfig(flight).ok());

  Epoch e;
  for (std::uint8_t i = 1; i <= 4; ++i) e.validators.push_back(KeyFrom(i).public_key());
  std::sort(e.validators.begin(), e.validators.end());
  e.end = 10;
  EXPECT_TRUE(Replica::CheckEpoch(e).ok());
  Epoch dup = e;
  dup.validators[1] = dup.validators[0];
  EXPECT_FALSE(Replica::CheckEpoch(dup).ok());
  Epoch none = e;
  none.validators.clear();
  EXPECT_FALSE(Replica::CheckEpoch(none).ok());
  Epoch zero = e;
  zero.start = 0;
  EXPECT_FALSE(Replica::CheckEpoch(zero).ok());
}

TEST(PbftConfig, QuorumsIntersectInACorrectValidator) {
  EXPECT_EQ(Quorum(1), 1u);
  EXPECT_EQ(Quorum(3), 2u);
  EXPECT_EQ(Quorum(4), 3u);
  EXPECT_EQ(Quorum(5), 4u);
  EXPECT_EQ(Quorum(7), 5u);
  for (std::size_t n = 1; n <= 256; ++n) {
    const std::size_t f = (n - 1) / 3, q = Quorum(n);
    EXPECT_GE(2 * q, n + f + 1) << "n=" << n;  // two quorums share f+1
    EXPECT_LE(q, n - f) << "n=" << n;          // the correct ones alone form a quorum
  }
}

}  // namespace
}  // namespace nanum::pbft
