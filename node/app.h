// The chain as consensus sees it: pbft::Application over the ledger's Store and the market
// chaincode. It checks requests (chain, signature, replay, nonce), builds and checks blocks by
// executing them on top of their parent (the last stored block, or a block built or checked
// but not yet committed), and stores committed blocks, reusing the execution that checked
// them when it matches.
//
// A transaction is checked once per (id, signature): a request admitted here is neither
// verified nor looked up in the store again when its block is checked or applied (the memory
// of it ends at the commit).
//
// Thread safety: none; nanumd's consensus thread owns it. The store may be read by other
// threads meanwhile (Store's own rule).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chaincode/market.h"
#include "consensus/pbft.h"
#include "ledger/id_hash.h"
#include "ledger/store.h"

namespace nanum::node {

// The node's tables of transaction ids (ledger/id_hash.h), salted once per process. For
// look-ups only: nothing iterates these containers in an order that matters.
struct IdHash {
  std::size_t operator()(const Hash256& id) const {
    static const std::uint64_t salt = RandomSalt();
    return static_cast<std::size_t>(MixIdWord(id, 0, salt));
  }
};
using IdSet = std::unordered_set<Hash256, IdHash>;

class ChainApp : public pbft::Application {
 public:
  // REQUIRES: `store` holds at least the genesis block and outlives the app.
  ChainApp(Store* store, std::string chain_id);

  // kWrongChain, kBadSignature (Transaction::Verify); kAlreadyExists "already committed";
  // kFailedPrecondition when the nonce is not above the signer's last.
  Status Admit(const Transaction& tx) override;
  Status Build(const Hash256& parent_hash, std::uint64_t height, std::uint64_t time_ms,
               const PublicKey& proposer, const std::vector<Transaction>& txs, Block* out,
               std::vector<std::pair<Hash256, Status>>* rejected) override;
  Status Check(const Block& block) override;
  std::optional<Block> CommittedBlock(std::uint64_t height) override;
  pbft::Epoch CurrentEpoch() override;

  // Stores a committed block (with its certificate) and returns its results. Errors are
  // fatal for the node: the block does not extend the store, or executing it does not give
  // its header's roots (then the message names the height). With `meta`, that record is
  // stored in the same atomic write (Store::Append).
  Status Apply(const Block& block, std::vector<TxResult>* results, const Store::Meta* meta = nullptr);

  // Transactions' signatures verified so far, and the CPU time that took, estimated from one
  // check in kSampleEvery (timing every one would cost two system calls each): against the
  // bound measured in the same run (nanum-load), as the audit does.
  struct SignatureStats {
    std::uint64_t checks = 0;
    std::uint64_t cpu_ns = 0;
  };
  SignatureStats signature_stats() const;
  static constexpr std::uint64_t kSampleEvery = 16;

 private:
  struct Spec {
    BlockHeader header;
    std::vector<TxResult> results;
    WriteSet writes;
    std::vector<Hash256> txs;
  };
  struct Parent {
    std::uint64_t height = 0;
    Hash256 state_root{};
  };
  // Executes `txs` on the state after `parent_hash` and fills the header's roots.
  Status Execute(const Hash256& parent_hash, const std::vector<Transaction>& txs,
                 BlockHeader* header, Spec* spec);
  // The stored head or a block above it; nullopt if unknown.
  std::optional<Parent> FindParent(const Hash256& hash) const;
  IdSet TxsAbove(const Hash256& hash) const;
  // Checks the envelope for this chain and that no stored block holds the transaction; then
  // remembers it in known_ until Apply stores it. So known_ holds only verified transactions
  // that are in no stored block, and one found there needs neither check again.
  Status CheckNew(const Transaction& tx);
  // Whether `tx` may go into a block whose uncommitted ancestors hold `above` and which
  // holds `seen` so far (added to): a valid envelope, in no block yet.
  Status Includable(const Transaction& tx, const IdSet& above, IdSet* seen);

  Store* store_;
  std::string chain_id_;
  std::map<Hash256, Spec> spec_;  // blocks built or checked, above the stored head
  std::unordered_map<Hash256, Signature, IdHash> known_;
  std::uint64_t checks_ = 0, sampled_ = 0, sampled_cpu_ns_ = 0;
};

}  // namespace nanum::node
