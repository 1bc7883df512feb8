#include "test_chain.h"

#include <algorithm>

#include "ledger/encoding.h"

namespace nanum::testing {

PrivateKey KeyFor(const std::string& name) {
  PrivateKey k;
  Status s = PrivateKey::FromBytes(Sha256Of("nanum test key " + name), &k);
  if (!s.ok()) std::abort();
  return k;
}

namespace {

std::string BalanceKey(const std::string& member) { return "bal/" + member; }
std::string SignerKey(const PublicKey& k) { return "key/" + k.Hex(); }
std::string NonceKey(const std::string& member) { return "nonce/" + member; }

std::string U64Bytes(std::uint64_t v) {
  Writer w(8);
  w.U64(v);
  return w.Release();
}

std::uint64_t ReadU64(const StateReader& state, const std::string& key) {
  std::string raw;
  if (!state.Get(key, &raw).ok()) return 0;
  Reader r(raw, key);
  std::uint64_t v = r.U64();
  return r.Finish().ok() ? v : 0;
}

}  // namespace

std::uint64_t BalanceOf(const StateReader& state, const std::string& member_id) {
  return ReadU64(state, BalanceKey(member_id));
}

std::uint64_t NonceOf(const StateReader& state, const std::string& member_id) {
  return ReadU64(state, NonceKey(member_id));
}

TestChain::TestChain(int accounts, std::uint64_t grant) : grant_(grant) {
  for (int i = 0; i < accounts; ++i) {
    const std::string id = "m" + std::to_string(i);
    accounts_.push_back({id, KeyFor(id)});
  }
  for (int i = 0; i < 4; ++i) validators_.push_back(KeyFor("validator" + std::to_string(i)));
}

std::vector<PublicKey> TestChain::validator_keys() const {
  std::vector<PublicKey> keys;
  for (const auto& v : validators_) keys.push_back(v.public_key());
  return keys;
}

void TestChain::Genesis(Block* block, std::vector<TxResult>* results, WriteSet* writes) const {
  *writes = WriteSet();
  for (const auto& a : accounts_) {
    writes->Put(BalanceKey(a.member_id), U64Bytes(grant_));
    writes->Put(SignerKey(a.key.public_key()), a.member_id);
  }
  results->clear();
  *block = Block();
  block->header.height = 0;
  block->header.timestamp_ms = 1'700'000'000'000;
  block->header.tx_root = TxRoot({});
  block->header.results_root = ResultsRoot({});
  block->header.state_root = NextStateRoot(Hash256{}, 0, *writes);
}

Transaction TestChain::MakeTransfer(int from, int to, std::uint64_t amount,
                                    std::uint64_t nonce) const {
  const Account& a = accounts_[static_cast<std::size_t>(from)];
  TxBody body;
  body.chain_id = kChainId;
  body.signer = a.key.public_key();
  body.nonce = nonce;
  body.payload = Transfer{accounts_[static_cast<std::size_t>(to)].member_id, amount};
  return Transaction::Sign(body, a.key);
}

void TestChain::Execute(const StateReader& state, const std::vector<Transaction>& txs,
                        std::vector<TxResult>* results, WriteSet* writes) {
  StateOverlay block_overlay(&state);
  results->clear();
  for (const auto& tx : txs) {
    StateOverlay tx_overlay(&block_overlay);
    auto result = [&]() -> std::uint32_t {
      if (!tx.Verify(kChainId).ok()) return kBadSignature;
      std::string from;
      if (!tx_overlay.Get(SignerKey(tx.body().signer), &from).ok()) return kUnknownSigner;
      const std::uint64_t expected = ReadU64(tx_overlay, NonceKey(from));
      if (tx.body().nonce != expected) return kBadNonce;
      const auto& t = std::get<Transfer>(tx.body().payload);
      std::string scratch;
      if (!tx_overlay.Get(BalanceKey(t.to), &scratch).ok()) return kUnknownRecipient;
      const std::uint64_t have = ReadU64(tx_overlay, BalanceKey(from));
      if (have < t.amount) return kInsufficientFunds;
      (void)tx_overlay.Put(BalanceKey(from), U64Bytes(have - t.amount));
      (void)tx_overlay.Put(BalanceKey(t.to), U64Bytes(ReadU64(tx_overlay, BalanceKey(t.to)) + t.amount));
      (void)tx_overlay.Put(NonceKey(from), U64Bytes(expected + 1));
      return kOk;
    }();
    if (result == kOk) block_overlay.Apply(tx_overlay.writes());
    results->push_back({result, {}});
  }
  *writes = block_overlay.writes();
}

void TestChain::MakeBlock(const StateReader& state, const StoreHead& head,
                          std::vector<Transaction> txs, std::uint64_t timestamp_ms, Block* block,
                          std::vector<TxResult>* results, WriteSet* writes) const {
  Execute(state, txs, results, writes);
  *block = Block();
  BlockHeader& h = block->header;
  h.height = head.height + 1;
  h.prev_hash = head.hash;
  h.timestamp_ms = timestamp_ms;
  h.proposer = validators_[h.height % validators_.size()].public_key();
  block->txs = std::move(txs);
  h.tx_root = TxRoot(block->txs);
  h.results_root = ResultsRoot(*results);
  h.state_root = NextStateRoot(head.state_root, h.height, *writes);

  CommitCertificate cert;
  cert.view = 0;
  cert.block_hash = h.Hash();
  const Hash256 digest = CommitDigest(h.height, cert.view, cert.block_hash);
  for (std::size_t i = 0; i < quorum(); ++i) {
    const PrivateKey& v = validators_[i];
    // Deterministic signatures: the same chain has the same bytes in every run.
    cert.signatures.push_back({v.public_key(), v.SignWithAux(digest, Hash256{})});
  }
  std::sort(cert.signatures.begin(), cert.signatures.end(),
            [](const CommitSignature& a, const CommitSignature& b) { return a.validator < b.validator; });
  block->certificate = cert;
}

Status ReplayAndCompare(const Store& store, const std::vector<PublicKey>& validators,
                        std::size_t quorum) {
  auto fresh = Store::NewInMemory();
  return CatchUpAndCompare(store, fresh.get(), validators, quorum);
}

Status CatchUpAndCompare(const Store& store, Store* replica,
                         const std::vector<PublicKey>& validators, std::size_t quorum) {
  const auto head = store.Head();
  const auto have = replica->Head();
  if (!head) return have ? Status::Corruption("the store lost every block") : Status::OK();
  if (have && have->height > head->height) {
    return Status::Corruption("the store went back from height " + std::to_string(have->height) +
                              " to " + std::to_string(head->height));
  }
  const std::uint64_t first_new = have ? have->height + 1 : 0;
  for (std::uint64_t h = 0; h < first_new; ++h) {
    std::string stored, known;
    NANUM_RETURN_IF_ERROR(store.GetBlockBytes(h, &stored).Prefixed("height " + std::to_string(h)));
    NANUM_RETURN_IF_ERROR(replica->GetBlockBytes(h, &known));
    if (stored != known) return Status::Corruption("block at height " + std::to_string(h) + " changed");
  }
  for (std::uint64_t h = first_new; h <= head->height; ++h) {
    const std::string at = "height " + std::to_string(h);
    Block block;
    NANUM_RETURN_IF_ERROR(store.GetBlock(h, &block).Prefixed(at));
    NANUM_RETURN_IF_ERROR(CheckBlockContent(block).Prefixed(at));
    std::vector<TxResult> results;
    WriteSet writes;
    if (h == 0) {
      // Genesis writes are not derived from transactions; take the stored ones, whose
      // digest the genesis state root pins.
      NANUM_RETURN_IF_ERROR(store.GetWrites(0, &writes).Prefixed(at));
    } else {
      if (!block.certificate) return Status::Corruption(at + ": no certificate");
      NANUM_RETURN_IF_ERROR(VerifyCertificate(*block.certificate, block.header, validators, quorum).Prefixed(at));
      TestChain::Execute(*replica, block.txs, &results, &writes);
    }
    Status s = replica->Append(block, results, writes);
    if (!s.ok()) return Status::Corruption(at + ": replay disagrees with the stored block: " + s.ToString());
    std::vector<TxResult> stored_results;
    NANUM_RETURN_IF_ERROR(store.GetResults(h, &stored_results).Prefixed(at));
    if (stored_results != results) return Status::Corruption(at + ": stored results differ from replay");
  }
  if (replica->Head()->state_root != head->state_root) {
    return Status::Corruption("replayed state root differs at the head");
  }
  if (DumpState(*replica) != DumpState(store)) {
    return Status::Corruption("stored state differs from the replayed state at height " +
                              std::to_string(head->height));
  }
  return Status::OK();
}

std::vector<std::pair<std::string, std::string>> DumpState(const StateReader& state) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (auto it = state.NewIterator(""); it->Valid(); it->Next()) {
    rows.emplace_back(std::string(it->key()), std::string(it->value()));
  }
  return rows;
}

}  // namespace nanum::testing
