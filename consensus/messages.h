// The messages PBFT replicas exchange, their canonical encoding and what each one signs.
//
// A message is {type, sender key, signature, body}. Votes are signed over a digest of their
// fields alone (not the whole message), so that a vote can be carried inside another
// message as proof (a prepared certificate inside a view change, commit signatures inside a
// block's commit certificate) and still be checked there:
//   PrePrepare  TaggedHash("nanum/pbft/preprepare", view u64 || height u64 || block hash)
//   Prepare     TaggedHash("nanum/pbft/prepare",    view u64 || height u64 || block hash)
//   Commit      CommitDigest(height, view, block hash)  (ledger/block.h; its signatures make
//               the block's commit certificate)
//   Checkpoint  TaggedHash("nanum/pbft/checkpoint", height u64 || block hash)
//   ViewChange  TaggedHash("nanum/pbft/viewchange", body bytes)
//   NewView     TaggedHash("nanum/pbft/newview",    body bytes)
// Request (a client's signed transaction), Status, Fetch and Blocks carry no replica
// signature: a request is signed by its client, a block by its commit certificate, and the
// peer transport authenticates who sent a status or a fetch (issue 5); none of them can make
// a replica vote.
//
// Wire layout (big-endian, ledger/encoding.h):
//   u8 version (1) | u8 type | sender[32] | signature[64] | body
// Bodies:
//   Request     bytes tx envelope
//   PrePrepare  u64 view | bytes block (no certificate)
//   Prepare     u64 view | u64 height | hash[32]
//   Commit      u64 view | u64 height | hash[32]
//   Checkpoint  u64 height | hash[32]
//   ViewChange  u64 new_view | bytes committed header | bool has_cert | [cert] |
//               list of PreparedProof
//     cert          u64 view | hash[32] | list of {key[32] sig[64]}
//     PreparedProof u64 view | bytes block | sig[64] pre-prepare | list of {key[32] sig[64]}
//   NewView     u64 view | list of {key[32] sig[64] bytes ViewChange body} |
//               list of sig[64] (the primary's pre-prepare of each re-proposed block)
//   Status      u64 view | bool changing | u64 committed height
//   Fetch       u64 from height | u32 max blocks
//   Blocks      list of bytes block (with certificate)
// Decoding rejects unknown versions and types, truncated and trailing bytes, and any count or
// length past the limits below, before allocating for it.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/block.h"
#include "ledger/crypto.h"
#include "ledger/status.h"
#include "ledger/transaction.h"

namespace nanum::pbft {

inline constexpr std::uint8_t kMessageVersion = 1;
// Limits on what a peer may send.
inline constexpr std::size_t kMaxMessageBytes = 128 * 1024 * 1024;
inline constexpr std::size_t kMaxValidators = 256;
inline constexpr std::size_t kMaxPreparedProofs = 1024;   // heights in one view change
inline constexpr std::size_t kMaxBlocksPerFetch = 64;

// One validator's signature inside a proof.
struct Vote {
  PublicKey from;
  Signature sig{};
  bool operator==(const Vote&) const = default;
};

// Proof that `block` was prepared at `height` in `view`: the primary's pre-prepare signature
// and 2f prepare signatures from other validators.
struct PreparedProof {
  std::uint64_t view = 0;
  Block block;  // without certificate
  Signature preprepare_sig{};
  std::vector<Vote> prepares;
};

struct Request {
  Transaction tx;
};
struct PrePrepare {
  std::uint64_t view = 0;
  Block block;  // without certificate
};
struct Prepare {
  std::uint64_t view = 0;
  std::uint64_t height = 0;
  Hash256 hash{};
};
struct Commit {
  std::uint64_t view = 0;
  std::uint64_t height = 0;
  Hash256 hash{};
};
struct Checkpoint {
  std::uint64_t height = 0;
  Hash256 hash{};
};
// "I move to view `new_view`": the sender's highest committed block with its certificate
// (none for the genesis block) and what it prepared above it.
struct ViewChange {
  std::uint64_t new_view = 0;
  BlockHeader committed;
  std::optional<CommitCertificate> cert;
  std::vector<PreparedProof> prepared;  // increasing heights
};
struct SignedViewChange {
  PublicKey from;
  Signature sig{};
  ViewChange vc;
};
// The new primary's proof that it may lead `view`: 2f+1 view changes, and its pre-prepare
// signature for each block that the view changes oblige it to propose again (in height
// order; see SelectReproposals).
struct NewView {
  std::uint64_t view = 0;
  std::vector<SignedViewChange> view_changes;
  std::vector<Signature> preprepare_sigs;
};
struct StatusMsg {
  std::uint64_t view = 0;
  bool changing = false;     // still changing into `view`
  std::uint64_t height = 0;  // committed
};
struct Fetch {
  std::uint64_t from_height = 0;
  std::uint32_t max_blocks = 0;
};
struct Blocks {
  std::vector<Block> blocks;  // consecutive heights, each with its certificate
};

enum class MessageType : std::uint8_t {
  kRequest = 1, kPrePrepare, kPrepare, kCommit, kCheckpoint, kViewChange, kNewView,
  kStatus, kFetch, kBlocks,
};
using Body = std::variant<Request, PrePrepare, Prepare, Commit, Checkpoint, ViewChange,
                          NewView, StatusMsg, Fetch, Blocks>;

struct Message {
  PublicKey from;
  Signature sig{};  // zero for the unsigned kinds
  Body body;

  MessageType type() const { return static_cast<MessageType>(body.index() + 1); }
  std::string Encode() const;
  static Status Decode(std::string_view bytes, Message* out);
};

const char* TypeName(MessageType t);

// What the sender signs for each kind; nullopt for the unsigned kinds.
Hash256 PrePrepareDigest(std::uint64_t view, std::uint64_t height, const Hash256& hash);
Hash256 PrepareDigest(std::uint64_t view, std::uint64_t height, const Hash256& hash);
Hash256 CheckpointDigest(std::uint64_t height, const Hash256& hash);
Hash256 ViewChangeDigest(const ViewChange& vc);
std::optional<Hash256> SigningDigest(const Body& body);

std::string EncodeViewChange(const ViewChange& vc);
// One prepared proof alone, laid out as inside a view change.
std::string EncodePreparedProof(const PreparedProof& p);
Status DecodePreparedProof(std::string_view bytes, PreparedProof* out);

}  // namespace nanum::pbft
