// Transactions: a signed body, carried and hashed as the exact bytes that were signed.
//
// A transaction travels as an envelope {body bytes, signature}. Its id is
// TaggedHash("nanum/tx", body bytes) and its signature is a BIP-340 signature of that id by
// the signer named inside the body. Decoding never re-serialises the body: the bytes that
// arrive are the bytes that are hashed, verified, stored and forwarded.
//
// Thread safety: a Transaction is an immutable value once decoded or signed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include "ledger/crypto.h"
#include "ledger/payload.h"
#include "ledger/status.h"

namespace nanum {

// A chain id: 1 to limits::kMaxChainIdBytes bytes of printable ASCII without spaces.
bool IsValidChainId(std::string_view id);

// ---- The body and the envelope. ----

inline constexpr std::uint8_t kTxVersion = 1;

struct TxBody {
  std::string chain_id;
  PublicKey signer;
  std::uint64_t nonce = 0;
  Payload payload;
};

class Transaction {
 public:
  Transaction() = default;

  // Encodes `body` canonically and signs it. REQUIRES: key.public_key() == body.signer.
  static Transaction Sign(const TxBody& body, const PrivateKey& key);

  // A transaction with an all-zero signature, which never verifies. For executing blocks in
  // tests and benchmarks of the chaincode, whose callers are required to have verified
  // signatures already; never for anything that leaves the process.
  static Transaction Unsigned(const TxBody& body);

  // Decodes an envelope: structure, limits and payload, but not the signature. Errors:
  // kTooLarge (over limits::kMaxEnvelopeBytes, or a field over its limit), kTruncated,
  // kTrailingData, kUnsupported (unknown version or payload type), kInvalidArgument (a
  // field that breaks its rule, e.g. a bad member id or a zero amount).
  static Status Decode(std::string_view envelope, Transaction* out);

  // Checks that the transaction was signed for `chain_id` (kWrongChain) and that the
  // signature verifies over the body bytes as carried (kBadSignature).
  Status Verify(std::string_view chain_id) const;

  // The envelope bytes: exactly the body bytes as carried, then the signature.
  std::string Encode() const;

  const Hash256& id() const { return id_; }
  const TxBody& body() const { return body_; }
  const std::string& body_bytes() const { return body_bytes_; }
  const Signature& signature() const { return signature_; }

 private:
  TxBody body_;
  std::string body_bytes_;
  Signature signature_{};
  Hash256 id_{};
};

// The id of a transaction whose body bytes are `body_bytes`.
Hash256 TxId(std::string_view body_bytes);

}  // namespace nanum
