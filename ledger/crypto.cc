#include "ledger/crypto.h"

// Before OpenSSL's headers: see the SHA-256 section below.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <fcntl.h>
#include <openssl/sha.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace nanum {
namespace {

const secp256k1_context* Context() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned char seed[32];
    SecureRandom(seed, sizeof seed);
    // Randomisation only hardens signing against side channels; failure is harmless.
    if (!secp256k1_context_randomize(c, seed)) {
      std::fprintf(stderr, "nanum: cannot randomise the secp256k1 context\n");
    }
    return c;
  }();
  return ctx;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ToHex(const std::uint8_t* data, std::size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return s;
}

std::string ToHex(std::string_view bytes) {
  return ToHex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// SHA-256 through OpenSSL's low-level SHA256_CTX, which OpenSSL 3 marks deprecated (hence
// OPENSSL_SUPPRESS_DEPRECATED above) but keeps, and which runs the same block function
// (SHA-NI or AVX2 here) as EVP. The EVP interface allocates a context and reaches the
// digest through its provider on every hash, which cost 200 ns over the 85 ns the hashing
// of a 64-byte Merkle node takes, and the audit makes millions of them. The context is a
// plain struct: it lives inside Sha256, and a tag's hashed prefix is copied, not redone.
static_assert(sizeof(SHA256_CTX) <= sizeof(Sha256::Context) && alignof(SHA256_CTX) <= alignof(Sha256::Context));

namespace {
SHA256_CTX* Ctx(Sha256::Context* c) { return reinterpret_cast<SHA256_CTX*>(c); }

// The state after SHA256(tag) || SHA256(tag), the first 64-byte block of every hash under
// `tag`. A thread keeps those of the first kCachedTags tags it uses (the program has a
// handful, all constants); any further tag is hashed afresh each time.
SHA256_CTX TagPrefix(std::string_view tag) {
  constexpr std::size_t kCachedTags = 16;
  struct Cached {
    std::string tag;
    SHA256_CTX ctx;
  };
  thread_local std::vector<Cached> cache;
  for (const Cached& c : cache) {
    if (c.tag == tag) return c.ctx;
  }
  const Hash256 t = Sha256Of(tag);
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, t.data(), t.size());
  SHA256_Update(&ctx, t.data(), t.size());
  if (cache.size() < kCachedTags) cache.push_back({std::string(tag), ctx});
  return ctx;
}
}  // namespace

Sha256::Sha256() { SHA256_Init(Ctx(&ctx_)); }

Sha256& Sha256::Update(std::string_view data) {
  SHA256_Update(Ctx(&ctx_), data.data(), data.size());
  return *this;
}

Sha256& Sha256::Update(const Hash256& h) {
  SHA256_Update(Ctx(&ctx_), h.data(), h.size());
  return *this;
}

Hash256 Sha256::Finish() {
  Hash256 out{};
  SHA256_Final(out.data(), Ctx(&ctx_));
  return out;
}

Hash256 Sha256Of(std::string_view data) {
  Hash256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

Hash256 TaggedHash(std::string_view tag, std::string_view data) {
  SHA256_CTX c = TagPrefix(tag);
  SHA256_Update(&c, data.data(), data.size());
  Hash256 out{};
  SHA256_Final(out.data(), &c);
  return out;
}

void SecureRandom(std::uint8_t* out, std::size_t n) {
  while (n > 0) {
    ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "nanum: getrandom failed: %s\n", std::strerror(errno));
      std::abort();
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

Status PublicKey::Parse(const std::array<std::uint8_t, 32>& xonly, PublicKey* out) {
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(Context(), &pk, xonly.data())) {
    return Status::InvalidArgument("public key " + ToHex(xonly) + " is not on the curve");
  }
  out->bytes_ = xonly;
  return Status::OK();
}

namespace {
struct KeyBytesHash {
  std::size_t operator()(const std::array<std::uint8_t, 32>& k) const {
    std::size_t h;
    std::memcpy(&h, k.data(), sizeof h);  // a curve point's x coordinate is well mixed
    return h;
  }
};
}  // namespace

bool Verify(const PublicKey& key, const Hash256& msg, const Signature& sig) {
  // Parsing an x-only key takes a square root, a sixth of a verification; the keys a node
  // sees are few (members and validators), so each thread keeps the ones it has parsed.
  // The cache changes only the cost, never the answer.
  thread_local std::unordered_map<std::array<std::uint8_t, 32>, secp256k1_xonly_pubkey, KeyBytesHash> parsed;
  auto it = parsed.find(key.bytes());
  if (it == parsed.end()) {
    secp256k1_xonly_pubkey pk;
    if (!secp256k1_xonly_pubkey_parse(Context(), &pk, key.bytes().data())) return false;
    if (parsed.size() >= 65536) parsed.clear();
    it = parsed.emplace(key.bytes(), pk).first;
  }
  return secp256k1_schnorrsig_verify(Context(), sig.data(), msg.data(), msg.size(), &it->second) == 1;
}

PrivateKey PrivateKey::Generate() {
  for (;;) {
    std::array<std::uint8_t, 32> secret;
    SecureRandom(secret.data(), secret.size());
    PrivateKey k;
    if (FromBytes(secret, &k).ok()) return k;  // fails with probability about 2^-128
  }
}

Status PrivateKey::FromBytes(const std::array<std::uint8_t, 32>& secret, PrivateKey* out) {
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(Context(), &kp, secret.data())) {
    return Status::InvalidArgument("not a valid secp256k1 secret key");
  }
  secp256k1_xonly_pubkey xpk;
  PrivateKey k;
  k.secret_ = secret;
  if (!secp256k1_keypair_xonly_pub(Context(), &xpk, nullptr, &kp) ||
      !secp256k1_xonly_pubkey_serialize(Context(), k.pub_.bytes_.data(), &xpk)) {
    return Status::InvalidArgument("cannot derive the public key");
  }
  *out = k;
  return Status::OK();
}

Signature PrivateKey::SignWithAux(const Hash256& msg, const Hash256& aux) const {
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(Context(), &kp, secret_.data())) {
    std::fprintf(stderr, "nanum: signing with an invalid key\n");
    std::abort();
  }
  Signature sig{};
  if (!secp256k1_schnorrsig_sign32(Context(), sig.data(), msg.data(), &kp, aux.data())) {
    std::fprintf(stderr, "nanum: secp256k1 signing failed\n");
    std::abort();
  }
  return sig;
}

Signature PrivateKey::Sign(const Hash256& msg) const {
  Hash256 aux;
  SecureRandom(aux.data(), aux.size());
  return SignWithAux(msg, aux);
}

// Key file layout (text):
//   # nanum secret key (secp256k1, BIP-340). Anyone who reads this file can sign as you.
//   public <64 hex digits>
//   secret <64 hex digits>
// The public line is for people; the reader derives the key from the secret and checks
// that the two agree.
Status WriteKeyFile(const std::string& path, const PrivateKey& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::FailedPrecondition("key file " + path + " exists; a key is never overwritten");
    }
    return Status::IOError("cannot create key file " + path + ": " + std::strerror(errno));
  }
  std::string text =
      "# nanum secret key (secp256k1, BIP-340). Anyone who reads this file can sign as you.\n"
      "public " + key.public_key().Hex() + "\nsecret " + key.SecretHex() + "\n";
  bool ok = ::fchmod(fd, 0600) == 0;  // the umask may have narrowed it; never widened
  std::size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false; else done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::IOError("cannot write key file " + path + ": " + std::strerror(saved));
  }
  return Status::OK();
}

Status ReadKeyFile(const std::string& path, PrivateKey* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("key file " + path + " does not exist");
    return Status::IOError("cannot open key file " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    return Status::IOError("cannot stat key file " + path + ": " + std::strerror(saved));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied("key file " + path + " has mode " + mode +
                                    " and may be read by others; refusing to use it. "
                                    "Run: chmod 600 " + path);
  }
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 4096) break;
  }
  ::close(fd);

  std::optional<std::array<std::uint8_t, 32>> secret, pub;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("secret ", 0) == 0) secret = FixedFromHex<32>(line.substr(7));
    else if (line.rfind("public ", 0) == 0) pub = FixedFromHex<32>(line.substr(7));
    else return Status::Corruption("key file " + path + ": unexpected line");
  }
  if (!secret) return Status::Corruption("key file " + path + " has no valid 'secret' line");
  PrivateKey k;
  if (!PrivateKey::FromBytes(*secret, &k).ok()) {
    return Status::Corruption("key file " + path + " holds an invalid secret key");
  }
  if (pub && *pub != k.public_key().bytes()) {
    return Status::Corruption("key file " + path + ": public key does not match the secret");
  }
  *out = k;
  return Status::OK();
}

}  // namespace nanum
