// A small deterministic chain for the ledger's tests and benchmarks: genesis with funded
// accounts, plain token transfers, blocks executed by a minimal transfer state machine, and
// commit certificates signed by four test validators.
//
// The transfer machine here exists only to drive the ledger end to end (sign, encode,
// decode, verify, execute, store, replay); the community's real rules are the chaincode's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/block.h"
#include "ledger/crypto.h"
#include "ledger/state.h"
#include "ledger/store.h"

namespace nanum::testing {

inline constexpr char kChainId[] = "test-community";

// A key derived from a name, the same in every run.
PrivateKey KeyFor(const std::string& name);

struct Account {
  std::string member_id;
  PrivateKey key;
};

class TestChain {
 public:
  // `accounts` members "m0".."m{n-1}", each granted `grant` base units at genesis.
  explicit TestChain(int accounts, std::uint64_t grant = 1'000'000);

  const std::vector<Account>& accounts() const { return accounts_; }
  const std::vector<PrivateKey>& validators() const { return validators_; }
  std::vector<PublicKey> validator_keys() const;
  std::size_t quorum() const { return 3; }

  // The genesis block (height 0) with its writes.
  void Genesis(Block* block, std::vector<TxResult>* results, WriteSet* writes) const;

  // A signed transfer of `amount` from account `from` to account `to` with `nonce`.
  Transaction MakeTransfer(int from, int to, std::uint64_t amount, std::uint64_t nonce) const;

  // Executes `txs` on top of `state`, whose head is `head`, into a certified block.
  void MakeBlock(const StateReader& state, const StoreHead& head, std::vector<Transaction> txs,
                 std::uint64_t timestamp_ms, Block* block, std::vector<TxResult>* results,
                 WriteSet* writes) const;

  // Executes one block's transactions on `state`, as every replica would.
  static void Execute(const StateReader& state, const std::vector<Transaction>& txs,
                      std::vector<TxResult>* results, WriteSet* writes);

 private:
  std::vector<Account> accounts_;
  std::vector<PrivateKey> validators_;
  std::uint64_t grant_;
};

// Result codes of the test transfer machine.
enum TestResult : std::uint32_t {
  kOk = 0,
  kBadSignature = 1,
  kUnknownSigner = 2,
  kBadNonce = 3,
  kUnknownRecipient = 4,
  kInsufficientFunds = 5,
};

// Reads an account's balance and next nonce (0 if absent).
std::uint64_t BalanceOf(const StateReader& state, const std::string& member_id);
std::uint64_t NonceOf(const StateReader& state, const std::string& member_id);

// Replays every block of `store` from genesis on a fresh in-memory store, checking each
// block's certificate, results and state root. Returns the first failure, naming the height.
Status ReplayAndCompare(const Store& store, const std::vector<PublicKey>& validators,
                        std::size_t quorum);

// Replays the blocks of `source` above `replica`'s head onto `replica` (same checks as
// above), first checking that every block `replica` already holds is byte-identical in
// `source`; then compares heads and the whole state.
Status CatchUpAndCompare(const Store& source, Store* replica,
                         const std::vector<PublicKey>& validators, std::size_t quorum);

// Every state key and value, in order.
std::vector<std::pair<std::string, std::string>> DumpState(const StateReader& state);

}  // namespace nanum::testing
