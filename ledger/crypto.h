// Hashes, keys and signatures.
//
//   SHA-256 (OpenSSL), tagged hashes as in BIP-340: TaggedHash(tag, m) =
//   SHA256(SHA256(tag) || SHA256(tag) || m), so that a hash made for one purpose (a
//   transaction id, a block hash, a vote) can never be taken for another.
//   secp256k1 keys (libsecp256k1): a public key is the 32-byte x-only key of BIP-340; a
//   signature is a 64-byte BIP-340 Schnorr signature over a 32-byte message hash.
//
// Key files hold one secret key in hex. They are created with mode 0600 and a key file that
// its group or others may read is refused, with a message that says how to fix it.
//
// Thread safety: all functions may be called from any thread; the library's secp256k1
// context is created once and only read afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace nanum {

using Hash256 = std::array<std::uint8_t, 32>;

std::string ToHex(const std::uint8_t* data, std::size_t size);
template <std::size_t N>
std::string ToHex(const std::array<std::uint8_t, N>& a) {
  return ToHex(a.data(), N);
}
std::string ToHex(std::string_view bytes);
// Decodes lowercase or uppercase hex; nullopt on an odd length or a non-hex character.
std::optional<std::string> FromHex(std::string_view hex);
// Decodes exactly N bytes of hex.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> FixedFromHex(std::string_view hex) {
  auto b = FromHex(hex);
  if (!b || b->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>((*b)[i]);
  return a;
}

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& Update(std::string_view data);
  Sha256& Update(const Hash256& h);
  Hash256 Finish();  // REQUIRES: called once

  // Room for OpenSSL's SHA256_CTX (112 bytes), kept here so that a hash allocates nothing.
  struct alignas(8) Context {
    unsigned char bytes[128];
  };

 private:
  Context ctx_;
};

Hash256 Sha256Of(std::string_view data);
// BIP-340 tagged hash of `data` under `tag`.
Hash256 TaggedHash(std::string_view tag, std::string_view data);

// Fills `out` with `n` bytes from the operating system's generator (getrandom).
void SecureRandom(std::uint8_t* out, std::size_t n);

using Signature = std::array<std::uint8_t, 64>;

class PublicKey {
 public:
  PublicKey() = default;  // all zero: not a valid key; Verify always fails with it
  // Checks that the 32 bytes are the x coordinate of a curve point.
  static Status Parse(const std::array<std::uint8_t, 32>& xonly, PublicKey* out);
  // Takes the bytes as they are. For decoders whose key is checked later by Verify, which
  // fails for bytes that are not a curve point.
  static PublicKey FromBytesUnchecked(const std::array<std::uint8_t, 32>& xonly) {
    PublicKey k;
    k.bytes_ = xonly;
    return k;
  }
  const std::array<std::uint8_t, 32>& bytes() const { return bytes_; }
  std::string Hex() const { return ToHex(bytes_); }
  auto operator<=>(const PublicKey&) const = default;

 private:
  friend class PrivateKey;
  std::array<std::uint8_t, 32> bytes_{};
};

// True only if `sig` is a valid BIP-340 signature of `msg` by `key`.
bool Verify(const PublicKey& key, const Hash256& msg, const Signature& sig);

class PrivateKey {
 public:
  static PrivateKey Generate();
  // Fails unless the 32 bytes are a valid secret (non-zero, below the group order).
  static Status FromBytes(const std::array<std::uint8_t, 32>& secret, PrivateKey* out);

  const PublicKey& public_key() const { return pub_; }
  // Signs with fresh auxiliary randomness, as BIP-340 recommends.
  Signature Sign(const Hash256& msg) const;
  // Signs with the given auxiliary randomness: the same inputs give the same signature
  // (golden vectors in tests).
  Signature SignWithAux(const Hash256& msg, const Hash256& aux) const;
  std::string SecretHex() const { return ToHex(secret_); }

 private:
  std::array<std::uint8_t, 32> secret_{};
  PublicKey pub_;
};

// Creates a key file at `path` holding `key`, mode 0600. Fails with kFailedPrecondition if
// the file exists (a key is never overwritten) and kIOError if it cannot be written.
Status WriteKeyFile(const std::string& path, const PrivateKey& key);
// Reads a key file. Fails with kPermissionDenied if the file may be read by its group or by
// others, kNotFound if it does not exist, kCorruption if it does not hold a valid key.
Status ReadKeyFile(const std::string& path, PrivateKey* out);

}  // namespace nanum
