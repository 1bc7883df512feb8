// See wire.h.
#include "proto/wire.h"

#include <algorithm>

#include "ledger/encoding.h"

namespace nanum::wire {

std::string Bytes(const PublicKey& k) { return std::string(reinterpret_cast<const char*>(k.bytes().data()), 32); }
std::string Bytes(const Hash256& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }
std::string Bytes(const Signature& s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

bool KeyFrom(const std::string& b, PublicKey* out) {
  if (b.size() != 32) return false;
  std::array<std::uint8_t, 32> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return PublicKey::Parse(a, out).ok();
}

bool HashFrom(const std::string& b, Hash256* out) {
  if (b.size() != out->size()) return false;
  std::copy(b.begin(), b.end(), out->begin());
  return true;
}

void ToEnvelope(const Transaction& tx, v1::Envelope* out) {
  out->set_body(tx.body_bytes());
  out->set_signature(Bytes(tx.signature()));
}

Status FromEnvelope(const v1::Envelope& e, Transaction* out) {
  if (e.signature().size() != 64) return Status::InvalidArgument("the signature must be 64 bytes");
  Writer envelope;
  envelope.Bytes(e.body());
  envelope.Raw(e.signature());
  return Transaction::Decode(envelope.data(), out);
}

}  // namespace nanum::wire
