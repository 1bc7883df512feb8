#include "ledger/encoding.h"

#include <cassert>
#include <limits>

namespace nanum {

void Writer::Bytes(std::string_view b) {
  assert(b.size() <= std::numeric_limits<std::uint32_t>::max());
  U32(static_cast<std::uint32_t>(b.size()));
  out_.append(b);
}

bool Reader::NeedFailed(std::size_t n) {
  if (!status_.ok()) return false;
  status_ = Status::Truncated(std::string(what_) + " ends at byte " + std::to_string(in_.size()) + ", " +
                              std::to_string(n) + " more expected at byte " + std::to_string(pos_));
  return false;
}

std::uint8_t Reader::U8() {
  if (!Need(1)) return 0;
  return static_cast<std::uint8_t>(in_[pos_++]);
}

bool Reader::Bool() {
  const std::size_t at = pos_;
  std::uint8_t b = U8();
  if (b > 1) {
    Fail(Status::InvalidArgument(std::string(what_) + ": boolean byte " + std::to_string(b) +
                                 " at byte " + std::to_string(at)));
    return false;
  }
  return b == 1;
}

std::string_view Reader::Bytes(std::size_t max, std::string_view field) {
  const std::uint32_t n = U32();
  if (!status_.ok()) return {};
  if (n > max) {
    Fail(Status::TooLarge(std::string(what_) + ": " + std::string(field) + " is " +
                          std::to_string(n) + " bytes, limit " + std::to_string(max)));
    return {};
  }
  return Raw(n);
}

std::uint32_t Reader::Count(std::size_t max, std::size_t min_element_bytes,
                            std::string_view field) {
  const std::uint32_t n = U32();
  if (!status_.ok()) return 0;
  if (n > max) {
    Fail(Status::TooLarge(std::string(what_) + ": " + std::to_string(n) + " " +
                          std::string(field) + ", limit " + std::to_string(max)));
    return 0;
  }
  if (min_element_bytes > 0 && n > remaining() / min_element_bytes) {
    Fail(Status::Truncated(std::string(what_) + ": " + std::to_string(n) + " " +
                           std::string(field) + " cannot fit in the " +
                           std::to_string(remaining()) + " bytes left"));
    return 0;
  }
  return n;
}

std::string_view Reader::Raw(std::size_t n) {
  if (!Need(n)) return {};
  std::string_view v = in_.substr(pos_, n);
  pos_ += n;
  return v;
}

void Reader::Fail(Status s) {
  if (status_.ok()) status_ = std::move(s);
}

Status Reader::Finish() {
  if (status_.ok() && remaining() != 0) {
    status_ = Status::TrailingData(std::string(what_) + " has " + std::to_string(remaining()) +
                                   " bytes after its end at byte " + std::to_string(pos_));
  }
  return status_;
}

}  // namespace nanum
