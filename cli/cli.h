// nanumctl's parts: the community maker (init.cc) and the helpers the subcommands share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace nanum::cli {

// Prints "nanumctl: what" on stderr and returns 1, the exit code for a usage or I/O error.
int Fail(const std::string& what);

// A new key file (mode 0600), refusing to overwrite.
Status NewKey(const std::string& path, PrivateKey* key);

int Init(const std::string& dir, const std::string& community, const std::string& chain_id, int validators,
         int followers, const std::vector<std::string>& households, std::uint64_t slot_seconds, int base_port);

// `nanumctl audit` (audit_cmd.cc): from `data_dir` when given, else over `channel`.
struct AuditArgs {
  std::string genesis_file;
  std::string data_dir;
  std::string node;  // the address, for messages
  std::shared_ptr<grpc::Channel> channel;
  int threads = 0;
  bool json = false;
  bool progress = true;
};
int Audit(const AuditArgs& args);

}  // namespace nanum::cli
