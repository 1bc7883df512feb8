#include "ledger/transaction.h"

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum {

// Body layout (canonical encoding, encoding.h):
//   u8        version            (kTxVersion = 1)
//   bytes     chain_id           1..64 bytes, printable ASCII
//   fixed[32] signer             x-only public key
//   u64       nonce
//   u16       payload type       (PayloadType)
//   bytes     payload            the payload's own encoding, up to kMaxPayloadBytes
//
// Payload layouts: payload.cc.
//
// Envelope layout:
//   bytes     body               the body bytes above, exactly as signed
//   fixed[64] signature          BIP-340 over TxId(body) = TaggedHash("nanum/tx", body)

bool IsValidChainId(std::string_view id) {
  if (id.empty() || id.size() > limits::kMaxChainIdBytes) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

namespace {

std::string EncodeBody(const TxBody& b) {
  std::string payload = EncodePayload(b.payload);
  Writer w(64 + b.chain_id.size() + payload.size());
  w.U8(kTxVersion);
  w.Bytes(b.chain_id);
  w.Fixed(b.signer.bytes());
  w.U64(b.nonce);
  w.U16(static_cast<std::uint16_t>(TypeOf(b.payload)));
  w.Bytes(payload);
  return w.Release();
}

Status DecodeBody(std::string_view bytes, TxBody* out) {
  Reader r(bytes, "transaction body");
  const std::uint8_t version = r.U8();
  if (r.ok() && version != kTxVersion) {
    return Status::Unsupported("transaction version " + std::to_string(version) +
                               " (this node knows version " + std::to_string(kTxVersion) + ")");
  }
  std::string_view chain = r.Bytes(limits::kMaxChainIdBytes, "chain id");
  auto signer = r.Fixed<32>();
  const std::uint64_t nonce = r.U64();
  const std::uint16_t type = r.U16();
  std::string_view payload = r.Bytes(limits::kMaxPayloadBytes, "payload");
  NANUM_RETURN_IF_ERROR(r.Finish());
  if (!IsValidChainId(chain)) return Status::InvalidArgument("transaction body: bad chain id");
  TxBody b;
  b.chain_id = std::string(chain);
  // The key is checked to lie on the curve when the signature is verified.
  b.signer = PublicKey::FromBytesUnchecked(signer);
  b.nonce = nonce;
  NANUM_RETURN_IF_ERROR(DecodePayload(type, payload, &b.payload));
  *out = std::move(b);
  return Status::OK();
}

}  // namespace

Hash256 TxId(std::string_view body_bytes) { return TaggedHash("nanum/tx", body_bytes); }

Transaction Transaction::Sign(const TxBody& body, const PrivateKey& key) {
  Transaction tx;
  tx.body_ = body;
  tx.body_bytes_ = EncodeBody(body);
  tx.id_ = TxId(tx.body_bytes_);
  tx.signature_ = key.Sign(tx.id_);
  return tx;
}

Transaction Transaction::Unsigned(const TxBody& body) {
  Transaction tx;
  tx.body_ = body;
  tx.body_bytes_ = EncodeBody(body);
  tx.id_ = TxId(tx.body_bytes_);
  return tx;
}

Status Transaction::Decode(std::string_view envelope, Transaction* out) {
  if (envelope.size() > limits::kMaxEnvelopeBytes) {
    return Status::TooLarge("transaction envelope is " + std::to_string(envelope.size()) +
                            " bytes, limit " + std::to_string(limits::kMaxEnvelopeBytes));
  }
  Reader r(envelope, "transaction envelope");
  std::string_view body = r.Bytes(limits::kMaxEnvelopeBytes, "body");
  Signature sig = r.Fixed<64>();
  NANUM_RETURN_IF_ERROR(r.Finish());
  Transaction tx;
  NANUM_RETURN_IF_ERROR(DecodeBody(body, &tx.body_));
  tx.body_bytes_ = std::string(body);
  tx.signature_ = sig;
  tx.id_ = TxId(tx.body_bytes_);
  *out = std::move(tx);
  return Status::OK();
}

Status Transaction::Verify(std::string_view chain_id) const {
  if (body_.chain_id != chain_id) {
    return Status::WrongChain("transaction " + ToHex(id_) + " is for chain '" + body_.chain_id +
                              "', not '" + std::string(chain_id) + "'");
  }
  if (!nanum::Verify(body_.signer, id_, signature_)) {
    return Status::BadSignature("transaction " + ToHex(id_) + ": signature does not verify for " +
                                body_.signer.Hex());
  }
  return Status::OK();
}

std::string Transaction::Encode() const {
  Writer w(body_bytes_.size() + 68);
  w.Bytes(body_bytes_);
  w.Fixed(signature_);
  return w.Release();
}

}  // namespace nanum
