#include "ledger/block.h"

#include <algorithm>

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum {

// Header layout (177 bytes):
//   u8        version         (kBlockVersion = 1)
//   u64       height
//   fixed[32] prev_hash
//   u64       timestamp_ms
//   fixed[32] proposer        x-only public key
//   fixed[32] tx_root
//   fixed[32] state_root
//   fixed[32] results_root
//
// Commit digest input (signed through TaggedHash("nanum/commit", ·)):
//   u64 height, u64 view, fixed[32] block hash
//
// Certificate layout:
//   u64 view, fixed[32] block_hash, u32 count, count × {fixed[32] validator, fixed[64] sig}
//
// Block layout:
//   header (177 bytes)
//   u32 count, count × bytes envelope       (transaction.cc)
//   bool has_certificate, certificate if so
//
// Result layout: u32 code, bytes data.  Results list: u32 count, count × bytes result.

namespace {

constexpr std::size_t kHeaderBytes = 1 + 8 + 32 + 8 + 32 * 4;
constexpr std::size_t kCertSigBytes = 32 + 64;

Hash256 LeafHash(std::string_view data) {
  Sha256 h;
  h.Update(std::string_view("\x00", 1)).Update(data);
  return h.Finish();
}

Hash256 NodeHash(const Hash256& l, const Hash256& r) {
  Sha256 h;
  h.Update(std::string_view("\x01", 1)).Update(l).Update(r);
  return h.Finish();
}

// RFC 6962 §2.1 over leaf hashes [begin, end).
Hash256 Subtree(const std::vector<Hash256>& leaf_hashes, std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  if (n == 1) return leaf_hashes[begin];
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(Subtree(leaf_hashes, begin, begin + k), Subtree(leaf_hashes, begin + k, end));
}

Hash256 RootOfLeafHashes(const std::vector<Hash256>& leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256Of("");
  return Subtree(leaf_hashes, 0, leaf_hashes.size());
}

std::string_view AsBytes(const Hash256& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

void EncodeCertificate(const CommitCertificate& c, Writer* w) {
  w->U64(c.view);
  w->Fixed(c.block_hash);
  w->U32(static_cast<std::uint32_t>(c.signatures.size()));
  for (const auto& s : c.signatures) {
    w->Fixed(s.validator.bytes());
    w->Fixed(s.signature);
  }
}

void DecodeCertificate(Reader* r, CommitCertificate* c) {
  c->view = r->U64();
  c->block_hash = r->Fixed<32>();
  const std::uint32_t n =
      r->Count(limits::kMaxCertificateSignatures, kCertSigBytes, "certificate signatures");
  c->signatures.resize(n);
  for (auto& s : c->signatures) {
    s.validator = PublicKey::FromBytesUnchecked(r->Fixed<32>());
    s.signature = r->Fixed<64>();
  }
}

}  // namespace

std::string BlockHeader::Encode() const {
  Writer w(kHeaderBytes);
  w.U8(kBlockVersion);
  w.U64(height);
  w.Fixed(prev_hash);
  w.U64(timestamp_ms);
  w.Fixed(proposer.bytes());
  w.Fixed(tx_root);
  w.Fixed(state_root);
  w.Fixed(results_root);
  return w.Release();
}

namespace {
void ReadHeader(Reader* r, BlockHeader* h) {
  const std::uint8_t version = r->U8();
  if (r->ok() && version != kBlockVersion) {
    r->Fail(Status::Unsupported("block version " + std::to_string(version)));
  }
  h->height = r->U64();
  h->prev_hash = r->Fixed<32>();
  h->timestamp_ms = r->U64();
  h->proposer = PublicKey::FromBytesUnchecked(r->Fixed<32>());
  h->tx_root = r->Fixed<32>();
  h->state_root = r->Fixed<32>();
  h->results_root = r->Fixed<32>();
}
}  // namespace

Status BlockHeader::Decode(std::string_view bytes, BlockHeader* out) {
  Reader r(bytes, "block header");
  BlockHeader h;
  ReadHeader(&r, &h);
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = h;
  return Status::OK();
}

Hash256 BlockHeader::Hash() const { return TaggedHash("nanum/block", Encode()); }

Hash256 CommitDigest(std::uint64_t height, std::uint64_t view, const Hash256& block_hash) {
  Writer w(48);
  w.U64(height);
  w.U64(view);
  w.Fixed(block_hash);
  return TaggedHash("nanum/commit", w.data());
}

Status VerifyCertificate(const CommitCertificate& cert, const BlockHeader& header,
                         const std::vector<PublicKey>& validators, std::size_t quorum,
                         const SignatureCheck& check) {
  const Hash256 hash = header.Hash();
  const std::string where = "certificate of block " + std::to_string(header.height);
  if (cert.block_hash != hash) {
    return Status::InvalidArgument(where + " names another block " + ToHex(cert.block_hash));
  }
  if (cert.signatures.size() < quorum) {
    return Status::InvalidArgument(where + " has " + std::to_string(cert.signatures.size()) +
                                   " signatures, quorum is " + std::to_string(quorum));
  }
  const Hash256 digest = CommitDigest(header.height, cert.view, hash);
  for (std::size_t i = 0; i < cert.signatures.size(); ++i) {
    const CommitSignature& s = cert.signatures[i];
    if (i > 0 && !(cert.signatures[i - 1].validator < s.validator)) {
      return Status::InvalidArgument(where + ": signers not in strictly increasing order at " +
                                     s.validator.Hex());
    }
    if (!std::binary_search(validators.begin(), validators.end(), s.validator)) {
      return Status::InvalidArgument(where + ": " + s.validator.Hex() + " is not a validator");
    }
    if (!(check ? check(s.validator, digest, s.signature)
                : Verify(s.validator, digest, s.signature))) {
      return Status::BadSignature(where + ": signature of " + s.validator.Hex() +
                                  " does not verify");
    }
  }
  return Status::OK();
}

std::string TxResult::Encode() const {
  Writer w(8 + data.size());
  w.U32(code);
  w.Bytes(data);
  return w.Release();
}

Status TxResult::Decode(std::string_view bytes, TxResult* out) {
  Reader r(bytes, "transaction result");
  TxResult t;
  t.code = r.U32();
  t.data = std::string(r.Bytes(limits::kMaxResultBytes, "result data"));
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(t);
  return Status::OK();
}

std::string Block::Encode() const {
  std::size_t size = kHeaderBytes + 8;
  std::vector<std::string> envelopes;
  envelopes.reserve(txs.size());
  for (const auto& tx : txs) {
    envelopes.push_back(tx.Encode());
    size += envelopes.back().size() + 4;
  }
  Writer w(size + (certificate ? 48 + certificate->signatures.size() * kCertSigBytes : 0));
  w.Raw(header.Encode());
  w.U32(static_cast<std::uint32_t>(envelopes.size()));
  for (const auto& e : envelopes) w.Bytes(e);
  w.Bool(certificate.has_value());
  if (certificate) EncodeCertificate(*certificate, &w);
  return w.Release();
}

Status Block::Decode(std::string_view bytes, Block* out) {
  if (bytes.size() > limits::kMaxBlockBytes) {
    return Status::TooLarge("block is " + std::to_string(bytes.size()) + " bytes, limit " +
                            std::to_string(limits::kMaxBlockBytes));
  }
  Reader r(bytes, "block");
  Block b;
  ReadHeader(&r, &b.header);
  // The smallest possible envelope is far above 4 bytes; 4 is the length prefix alone.
  const std::uint32_t n = r.Count(limits::kMaxTxsPerBlock, 4, "transactions");
  b.txs.resize(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    std::string_view env = r.Bytes(limits::kMaxEnvelopeBytes, "transaction envelope");
    if (!r.ok()) break;
    Status s = Transaction::Decode(env, &b.txs[i]);
    if (!s.ok()) r.Fail(s.Prefixed("block transaction " + std::to_string(i)));
  }
  if (r.Bool()) {
    b.certificate.emplace();
    DecodeCertificate(&r, &*b.certificate);
  }
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(b);
  return Status::OK();
}

Status CheckBlockContent(const Block& block) {
  const std::string where = "block " + std::to_string(block.header.height);
  if (TxRoot(block.txs) != block.header.tx_root) {
    return Status::Corruption(where + ": transactions do not match the header's tx_root");
  }
  // Sorted ids, then neighbours: a block's worth of 32-byte keys in one allocation.
  std::vector<Hash256> ids;
  ids.reserve(block.txs.size());
  for (const auto& tx : block.txs) ids.push_back(tx.id());
  std::sort(ids.begin(), ids.end());
  if (auto twice = std::adjacent_find(ids.begin(), ids.end()); twice != ids.end()) {
    return Status::Corruption(where + ": transaction " + ToHex(*twice) + " appears twice");
  }
  if (block.certificate && block.certificate->block_hash != block.Hash()) {
    return Status::Corruption(where + ": certificate names another block");
  }
  return Status::OK();
}

Hash256 MerkleRoot(const std::vector<std::string>& leaves) {
  std::vector<Hash256> hashes;
  hashes.reserve(leaves.size());
  for (const auto& l : leaves) hashes.push_back(LeafHash(l));
  return RootOfLeafHashes(hashes);
}

Hash256 MerkleRootOfHashes(const std::vector<Hash256>& leaves) {
  std::vector<Hash256> hashes;
  hashes.reserve(leaves.size());
  for (const auto& l : leaves) hashes.push_back(LeafHash(AsBytes(l)));
  return RootOfLeafHashes(hashes);
}

Hash256 TxRoot(const std::vector<Transaction>& txs) {
  std::vector<Hash256> ids;
  ids.reserve(txs.size());
  for (const auto& tx : txs) ids.push_back(tx.id());
  return MerkleRootOfHashes(ids);
}

Hash256 ResultsRoot(const std::vector<TxResult>& results) {
  std::vector<std::string> leaves;
  leaves.reserve(results.size());
  for (const auto& r : results) leaves.push_back(r.Encode());
  return MerkleRoot(leaves);
}

std::string EncodeResults(const std::vector<TxResult>& results) {
  Writer w;
  w.U32(static_cast<std::uint32_t>(results.size()));
  for (const auto& r : results) w.Bytes(r.Encode());
  return w.Release();
}

Status DecodeResults(std::string_view bytes, std::vector<TxResult>* out) {
  Reader r(bytes, "results");
  const std::uint32_t n = r.Count(limits::kMaxTxsPerBlock, 4, "results");
  std::vector<TxResult> results(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    std::string_view one = r.Bytes(limits::kMaxResultBytes + 8, "result");
    if (!r.ok()) break;
    Status s = TxResult::Decode(one, &results[i]);
    if (!s.ok()) r.Fail(s);
  }
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(results);
  return Status::OK();
}

}  // namespace nanum
