// The audit: replays a ledger from genesis and checks every rule that keeps it honest.
//
// For each block, in height order, Audit() checks
//   decode          the stored bytes decode as a block within the limits
//   height          the block says it is at the height it is stored at
//   genesis         block 0 is the block the auditor's own genesis file gives
//   hash_link       prev_hash is the hash of the block before
//   time            block time increases strictly
//   content         tx_root matches the transactions, none appears twice, the certificate
//                   names this block
//   signature       every transaction is signed for this chain by its signer
//   duplicate_tx    no transaction was already committed in an earlier block
//   certificate     a quorum of the validators in force at that height signed the commit
//                   (any valid quorum: nodes may keep different ones for the same block)
//   execution       the chaincode executes the block without error
//   results_root    executing it gives the results its header commits to
//   state_root      and the state root its header commits to (MARKET.md's invariant 7)
//   invariant_1..6  MARKET.md's invariants hold after every transaction and block
//   stored_results, stored_writes
//                   the results and write set the node stored with the block are the ones
//                   the replay gives (sources that keep them: a data directory)
// and at the end, where the source has them:
//   head            the head record names the last block and its state root
//   live_state      every key and value of the node's live state is the replay's
//
// It stops at the first failure, which names the height and the rule. Reading and signature
// checks (transactions and certificates) run a few windows of blocks ahead of the replay,
// which runs on the calling thread, on `threads` threads counting the calling thread: it
// checks too whenever it has nothing to replay.
//
// Thread safety: Audit() is a plain function. It calls the source's Fetch from its checker
// thread and from the calling thread (to look at an earlier block), so Fetch must be safe to
// call concurrently; the other methods are called from the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chaincode/market.h"
#include "ledger/block.h"
#include "ledger/state.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace nanum::audit {

// One stored block as a source gives it: the exact bytes, and the results and write set the
// source stored with it when it keeps them (`stored` then says whether they could be read).
// The write set stays encoded (WriteSet::Encode): the replay compares its own encoding.
struct SourceBlock {
  std::string bytes;
  bool keeps_records = false;
  Status stored;
  std::vector<TxResult> results;
  std::string writes;
};

class Source {
 public:
  virtual ~Source() = default;
  // The height of the last block to audit, fixed when the audit starts.
  virtual Status Head(std::uint64_t* height) = 0;
  // The block at `height`; kNotFound when the source has none there.
  virtual Status Fetch(std::uint64_t height, SourceBlock* out) = 0;
  // For the final checks: the source's head record and live state, if it has them.
  virtual std::optional<StoreHead> HeadRecord() { return std::nullopt; }
  virtual Status HeadCheck() { return Status::OK(); }
  virtual const StateReader* LiveState() { return nullptr; }
};

// A node's data directory (its `ledger` LevelDB), opened for reading while the node is
// stopped. Errors: kIOError (missing, or held by a running node: audit over gRPC instead).
Status OpenDataDir(const std::string& data_dir, std::unique_ptr<Source>* out);
// A store already open (tests).
std::unique_ptr<Source> StoreSource(const Store* store);

struct Progress {
  std::uint64_t height = 0;  // last block replayed
  std::uint64_t head = 0;
  std::uint64_t transactions = 0;
};

struct Options {
  int threads = 0;  // signature-checking threads, the replay's among them; 0 means one per core
  // Called every `progress_every_blocks` blocks and at the end.
  std::function<void(const Progress&)> progress;
  std::uint64_t progress_every_blocks = 256;
};

struct Report {
  bool ok = false;
  // When !ok: the first failing height, the rule (the names above) and what was wrong.
  std::uint64_t height = 0;
  std::string rule;
  std::string detail;
  // What was checked (up to the failure).
  std::uint64_t blocks = 0;
  std::uint64_t transactions = 0;
  std::uint64_t signatures = 0;  // transaction and certificate signatures verified
  // The bound a replay is measured against, taken in the same run: the CPU time the checker
  // threads spent verifying transactions (decoding their bodies, hashing them, checking
  // their signatures), and the cores that work could use (the checker threads, at most one
  // per core).
  std::uint64_t tx_signatures = 0;
  std::uint64_t signature_cpu_ns = 0;
  int cores = 0;
  std::uint64_t head_height = 0;
  Hash256 state_root{};
};

// Replays `source` from genesis against `genesis` (the auditor's own copy of the genesis
// file). Returns the report; an error Status only when the source cannot be read at all.
Status Audit(const market::Genesis& genesis, Source* source, const Options& options, Report* report);

}  // namespace nanum::audit
