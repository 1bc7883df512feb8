// The canonical encoding: the one byte form of everything that is hashed or signed.
//
// Every value has exactly one encoding, so equal values hash equally on every node:
//   u8, u16, u32, u64   fixed width, big-endian (no varints: a varint has several forms)
//   i64                 two's complement, 8 bytes big-endian
//   bool                one byte, 0x00 or 0x01; any other byte is rejected
//   fixed bytes[N]      the N bytes, no length (hashes, keys, signatures)
//   bytes, string       u32 length, then the bytes
//   list of T           u32 count, then each element
// A decoder rejects input that ends early (kTruncated), has bytes after the value
// (kTrailingData), or has a length or count over the caller's limit (kTooLarge), before
// allocating anything for it. Each composite type documents its own field order where it
// is encoded (transaction.cc, block.cc, state.cc); golden vectors in tests/ledger pin them.
//
// Thread safety: Writer and Reader are not shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace nanum {

// Appends canonical encodings to a byte string.
class Writer {
 public:
  Writer() = default;
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }

  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(std::uint16_t v) { BigEndian(v, 2); }
  void U32(std::uint32_t v) { BigEndian(v, 4); }
  void U64(std::uint64_t v) { BigEndian(v, 8); }
  void I64(std::int64_t v) { BigEndian(static_cast<std::uint64_t>(v), 8); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  template <std::size_t N>
  void Fixed(const std::array<std::uint8_t, N>& a) {
    out_.append(reinterpret_cast<const char*>(a.data()), N);
  }
  // REQUIRES: b.size() fits in u32 (callers hold far smaller limits).
  void Bytes(std::string_view b);
  // Raw bytes with no length: for embedding an already-canonical encoding whose extent the
  // reader knows some other way.
  void Raw(std::string_view b) { out_.append(b); }

  const std::string& data() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  // Inline, so that the width is a constant where it is called and the bytes go in as one.
  void BigEndian(std::uint64_t v, int width) {
    char b[8];
    for (int i = 0; i < width; ++i) b[i] = static_cast<char>((v >> (8 * (width - 1 - i))) & 0xff);
    out_.append(b, static_cast<std::size_t>(width));
  }
  std::string out_;
};

// Reads canonical encodings from a byte string it does not own. Errors are sticky: after
// the first, every read returns a zero value and status() keeps the first error.
class Reader {
 public:
  // `what` names the thing being decoded, for error messages ("block header").
  Reader(std::string_view in, std::string_view what) : in_(in), what_(what) {}

  std::uint8_t U8();
  std::uint16_t U16() { return static_cast<std::uint16_t>(BigEndian(2)); }
  std::uint32_t U32() { return static_cast<std::uint32_t>(BigEndian(4)); }
  std::uint64_t U64() { return BigEndian(8); }
  std::int64_t I64() { return static_cast<std::int64_t>(BigEndian(8)); }
  bool Bool();
  template <std::size_t N>
  std::array<std::uint8_t, N> Fixed() {
    std::array<std::uint8_t, N> a{};
    if (Need(N)) {
      std::memcpy(a.data(), in_.data() + pos_, N);
      pos_ += N;
    }
    return a;
  }
  // A length-prefixed byte string of at most `max` bytes; a view into the input.
  std::string_view Bytes(std::size_t max, std::string_view field);
  // A list count of at most `max`; each element must also be at least `min_element_bytes`
  // long, so a count that cannot fit in what is left is rejected before any allocation.
  std::uint32_t Count(std::size_t max, std::size_t min_element_bytes, std::string_view field);
  // The next n bytes with no length prefix.
  std::string_view Raw(std::size_t n);

  // Records an error found by the caller (a rule of the type being decoded). Keeps the
  // first error if there already is one.
  void Fail(Status s);

  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // The final check: OK only if no read failed and every byte was consumed.
  Status Finish();

 private:
  bool Need(std::size_t n) { return (status_.ok() && remaining() >= n) || NeedFailed(n); }
  bool NeedFailed(std::size_t n);  // records the truncation; returns false
  std::uint64_t BigEndian(int width) {
    if (!Need(static_cast<std::size_t>(width))) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos_);
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | p[i];
    pos_ += static_cast<std::size_t>(width);
    return v;
  }

  std::string_view in_;
  std::string_view what_;
  std::size_t pos_ = 0;
  Status status_;
};

}  // namespace nanum
