// Limits on everything the ledger accepts from outside. Each is checked where the bytes are
// decoded, and exceeding one is a kTooLarge error naming the limit; nothing is allocated
// for input past a limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nanum::limits {

// A signed transaction, body and signature together, on the wire.
inline constexpr std::size_t kMaxEnvelopeBytes = 16 * 1024;
// A transaction payload inside its body.
inline constexpr std::size_t kMaxPayloadBytes = 12 * 1024;
// A chain id: printable ASCII, 1 to this many bytes.
inline constexpr std::size_t kMaxChainIdBytes = 64;
// Transactions in one block.
inline constexpr std::size_t kMaxTxsPerBlock = 10'000;
// One encoded block (header, transactions, certificate).
inline constexpr std::size_t kMaxBlockBytes = 64 * 1024 * 1024;
// Signatures in one commit certificate (validators in one set).
inline constexpr std::size_t kMaxCertificateSignatures = 256;
// A state key and a state value.
inline constexpr std::size_t kMaxStateKeyBytes = 256;
inline constexpr std::size_t kMaxStateValueBytes = 64 * 1024;
// The result data of one transaction.
inline constexpr std::size_t kMaxResultBytes = 4 * 1024;
// Writes made by one block.
inline constexpr std::size_t kMaxWritesPerBlock = 1'000'000;

}  // namespace nanum::limits
