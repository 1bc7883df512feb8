#include "market_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nanum::market::testing {

PrivateKey KeyOf(const std::string& name) {
  PrivateKey k;
  if (!PrivateKey::FromBytes(Sha256Of("nanum market test " + name), &k).ok()) std::abort();
  return k;
}

MarketFixture::MarketFixture(Params p, std::vector<std::string> households)
    : empty_(Store::NewInMemory()), state_(empty_.get()) {
  Genesis g;
  g.info.name = "Test Community";
  g.info.chain_id = "test";
  g.info.genesis_time_ms = kGenesisMs;
  g.params = p;
  g.validators = {KeyOf("validator").public_key()};
  g.members.push_back({"op", KeyOf("op").public_key(), true});
  for (const auto& h : households) {
    g.members.push_back({h, KeyOf(h).public_key(), false});
    g.meters.push_back(BindMeter{"m-" + h, h, KeyOf("oracle-" + h).public_key()});
  }
  Status s = InitGenesis(g, &state_);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

Transaction MarketFixture::Tx(const std::string& who, Payload payload) {
  const PrivateKey k = KeyOf(who);
  TxBody body;
  body.chain_id = "test";
  body.signer = k.public_key();
  body.nonce = ++nonces_[who];
  body.payload = std::move(payload);
  return Transaction::Sign(body, k);
}

Status MarketFixture::TryBlock(std::uint64_t time_ms, std::vector<Transaction> txs, std::vector<Result>* out) {
  std::vector<TxResult> results;
  WriteSet writes;
  NANUM_RETURN_IF_ERROR(ExecuteBlock(state_, height_ + 1, time_ms, txs, &results, &writes, observer));
  ++height_;
  state_.Apply(writes);
  last_writes_ = writes;
  out->clear();
  for (const auto& r : results) out->push_back(static_cast<Result>(r.code));
  return Status::OK();
}

std::vector<Result> MarketFixture::Block(std::uint64_t time_ms, std::vector<Transaction> txs) {
  std::vector<Result> out;
  Status s = TryBlock(time_ms, std::move(txs), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

Member MarketFixture::M(const std::string& id) const {
  Member m;
  Status s = GetMember(state_, id, &m);
  EXPECT_TRUE(s.ok()) << id << ": " << s.ToString();
  return m;
}

std::int64_t MarketFixture::TotalBalances() const {
  std::int64_t total = 0;
  std::vector<Member> page;
  std::string after;
  for (;;) {
    EXPECT_TRUE(ListMembers(state_, after, 100, &page).ok());
    if (page.empty()) break;
    for (const auto& m : page) total += m.available + m.escrow;
    after = page.back().id;
  }
  return total;
}

Transaction MarketFixture::Reading(const std::string& h, std::uint64_t slot, std::uint64_t export_wh,
                                   std::uint64_t import_wh) {
  SubmitReading r;
  r.meter_id = "m-" + h;
  r.slot = slot;
  r.sequence = ++sequence_[h];
  r.export_wh = export_wh;
  r.import_wh = import_wh;
  r.cum_export_wh = cum_export_[h] += export_wh;
  r.cum_import_wh = cum_import_[h] += import_wh;
  r.power_mw = 1000;
  r.voltage_mv = 230000;
  r.current_ma = 500;
  r.power_factor_permille = 990;
  return Tx("oracle-" + h, r);
}

}  // namespace nanum::market::testing
