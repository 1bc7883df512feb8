#include "ledger/status.h"

namespace nanum {

Status::Status(Code code, std::string_view message)
    : rep_(std::make_shared<const Rep>(Rep{code, std::string(message)})) {}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(rep_->code)) + ": " + rep_->message;
}

Status Status::Prefixed(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += rep_->message;
  return Status(rep_->code, m);
}

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kPermissionDenied: return "permission denied";
    case Status::Code::kFailedPrecondition: return "failed precondition";
    case Status::Code::kTruncated: return "truncated";
    case Status::Code::kTrailingData: return "trailing data";
    case Status::Code::kTooLarge: return "too large";
    case Status::Code::kBadSignature: return "bad signature";
    case Status::Code::kWrongChain: return "wrong chain";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kTimedOut: return "timed out";
    case Status::Code::kAlreadyExists: return "already exists";
  }
  return "unknown";
}

}  // namespace nanum
