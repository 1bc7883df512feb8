// Between the ledger's types and the wire messages (nanum/v1/*.proto): keys, hashes and
// signatures travel as raw bytes, transactions as an Envelope holding the exact bytes that
// were signed. One place for these, so the API, the peer transport and the clients agree.
#pragma once

#include <string>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "ledger/transaction.h"
#include "nanum/v1/ledger.pb.h"

namespace nanum::wire {

std::string Bytes(const PublicKey& k);
std::string Bytes(const Hash256& h);
std::string Bytes(const Signature& s);

// False unless `b` is 32 bytes of a valid x-only public key.
bool KeyFrom(const std::string& b, PublicKey* out);
// False unless `b` is 32 bytes.
bool HashFrom(const std::string& b, Hash256* out);

void ToEnvelope(const Transaction& tx, v1::Envelope* out);
// Decodes the envelope (Transaction::Decode's errors; a signature that is not 64 bytes is
// kInvalidArgument). Does not verify the signature.
Status FromEnvelope(const v1::Envelope& e, Transaction* out);

}  // namespace nanum::wire
