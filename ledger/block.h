// Blocks, their Merkle roots, transaction results and commit certificates.
//
// A block's hash is TaggedHash("nanum/block", header bytes): the header commits to the
// transactions (tx_root), to the results of executing them (results_root) and to the state
// after them (state_root), so a certificate over the hash certifies all three. The proposer
// executes the block before proposing it and every validator re-executes it and compares the
// roots before voting.
//
// A commit certificate holds the signatures of at least a quorum (2f+1 of n = 3f+1) of the
// validators over CommitDigest(height, view, block hash), sorted by validator key.
//
// Merkle roots follow RFC 6962: leaf = SHA256(0x00 || data), node = SHA256(0x01 || l || r),
// the left subtree holding the largest power of two below n leaves; the root of no leaves is
// SHA256(""). No leaf is ever duplicated, so two different lists never share a root.
//
// Thread safety: these are plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "ledger/transaction.h"

namespace nanum {

inline constexpr std::uint8_t kBlockVersion = 1;

struct BlockHeader {
  std::uint64_t height = 0;
  Hash256 prev_hash{};          // zero for the genesis block (height 0)
  std::uint64_t timestamp_ms = 0;  // block time, ms since the Unix epoch
  PublicKey proposer;
  Hash256 tx_root{};
  Hash256 state_root{};         // state after executing this block
  Hash256 results_root{};

  std::string Encode() const;
  static Status Decode(std::string_view bytes, BlockHeader* out);
  Hash256 Hash() const;
  bool operator==(const BlockHeader&) const = default;
};

struct CommitSignature {
  PublicKey validator;
  Signature signature{};
  bool operator==(const CommitSignature&) const = default;
};

struct CommitCertificate {
  std::uint64_t view = 0;
  Hash256 block_hash{};
  std::vector<CommitSignature> signatures;  // strictly increasing by validator key
  bool operator==(const CommitCertificate&) const = default;
};

// What a validator signs to commit the block with hash `block_hash` at `height` in `view`.
Hash256 CommitDigest(std::uint64_t height, std::uint64_t view, const Hash256& block_hash);

// A signature check: nanum::Verify, or a caller's cache in front of it.
using SignatureCheck = std::function<bool(const PublicKey&, const Hash256&, const Signature&)>;

// Checks `cert` for the block `header`: it names that block's hash, its signers are distinct
// members of `validators` (sorted), in increasing order, every signature verifies (with
// `check`, nanum::Verify if empty), and there are at least `quorum` of them. Errors:
// kInvalidArgument (wrong block, unknown or repeated signer, too few signatures),
// kBadSignature.
Status VerifyCertificate(const CommitCertificate& cert, const BlockHeader& header,
                         const std::vector<PublicKey>& validators, std::size_t quorum,
                         const SignatureCheck& check = {});

// The outcome of executing one transaction: a code (0 is success; the chaincode defines the
// rest) and data (events, or a failure's detail), at most limits::kMaxResultBytes.
struct TxResult {
  std::uint32_t code = 0;
  std::string data;
  std::string Encode() const;
  static Status Decode(std::string_view bytes, TxResult* out);
  bool operator==(const TxResult&) const = default;
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;
  std::optional<CommitCertificate> certificate;  // absent only for the genesis block

  std::string Encode() const;
  // Structural decoding within limits::kMaxBlockBytes and kMaxTxsPerBlock; does not verify
  // signatures or roots (see CheckBlockContent).
  static Status Decode(std::string_view bytes, Block* out);
  Hash256 Hash() const { return header.Hash(); }
};

// Checks what a block's bytes alone can show: tx_root matches the transactions, no
// transaction appears twice, and a present certificate names this block's hash. Errors:
// kCorruption.
Status CheckBlockContent(const Block& block);

Hash256 MerkleRoot(const std::vector<std::string>& leaves);
Hash256 MerkleRootOfHashes(const std::vector<Hash256>& leaves);
Hash256 TxRoot(const std::vector<Transaction>& txs);
Hash256 ResultsRoot(const std::vector<TxResult>& results);

std::string EncodeResults(const std::vector<TxResult>& results);
Status DecodeResults(std::string_view bytes, std::vector<TxResult>* out);

}  // namespace nanum
