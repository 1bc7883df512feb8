// Status: the result of an operation that can fail in an expected way.
//
// Errors are values (STYLE.md, after LevelDB): an OK status carries no allocation; a failure
// carries a code that callers branch on and a message that people read. Expected failures
// (malformed input, bad signature, missing key, I/O error) are never exceptions.
//
// Thread safety: a Status is a value; distinct objects may be used from distinct threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace nanum {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,            // the thing asked for does not exist
    kCorruption,          // stored data is damaged or inconsistent
    kInvalidArgument,     // well-formed input that breaks a rule
    kIOError,             // the operating system or the disk failed
    kPermissionDenied,    // e.g. a key file readable by others
    kFailedPrecondition,  // the call does not fit the current state (wrong height, …)
    kTruncated,           // input ends before the encoding does
    kTrailingData,        // input has bytes after a complete encoding
    kTooLarge,            // input over one of the limits in ledger/limits.h
    kBadSignature,        // a signature does not verify
    kWrongChain,          // signed for another community's chain
    kUnsupported,         // an unknown version or payload type
    kUnavailable,         // a service is starting, stopping or overloaded; try again
    kTimedOut,            // a wait ended before what was waited for happened
    kAlreadyExists,       // the thing to add is there already (a pending or committed transaction)
  };

  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view m) { return Status(Code::kNotFound, m); }
  static Status Corruption(std::string_view m) { return Status(Code::kCorruption, m); }
  static Status InvalidArgument(std::string_view m) { return Status(Code::kInvalidArgument, m); }
  static Status IOError(std::string_view m) { return Status(Code::kIOError, m); }
  static Status PermissionDenied(std::string_view m) { return Status(Code::kPermissionDenied, m); }
  static Status FailedPrecondition(std::string_view m) {
    return Status(Code::kFailedPrecondition, m);
  }
  static Status Truncated(std::string_view m) { return Status(Code::kTruncated, m); }
  static Status TrailingData(std::string_view m) { return Status(Code::kTrailingData, m); }
  static Status TooLarge(std::string_view m) { return Status(Code::kTooLarge, m); }
  static Status BadSignature(std::string_view m) { return Status(Code::kBadSignature, m); }
  static Status WrongChain(std::string_view m) { return Status(Code::kWrongChain, m); }
  static Status Unsupported(std::string_view m) { return Status(Code::kUnsupported, m); }
  static Status Unavailable(std::string_view m) { return Status(Code::kUnavailable, m); }
  static Status TimedOut(std::string_view m) { return Status(Code::kTimedOut, m); }
  static Status AlreadyExists(std::string_view m) { return Status(Code::kAlreadyExists, m); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }

  // The message without the code's name; empty when OK.
  const std::string& message() const;
  // "OK", or "<code name>: <message>".
  std::string ToString() const;

  // Returns a status with the same code and "context: message".
  Status Prefixed(std::string_view context) const;

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view message);

  std::shared_ptr<const Rep> rep_;  // null when OK: cheap to copy and return
};

const char* CodeName(Status::Code code);

}  // namespace nanum

// Returns from the enclosing function if `expr` is not OK.
#define NANUM_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::nanum::Status nanum_status_ = (expr);  \
    if (!nanum_status_.ok()) return nanum_status_; \
  } while (0)
