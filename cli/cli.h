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

// `nanumctl init` (init.cc): a new community in `dir`. Node i (validators first, then
// followers) gets API port base_port+i, peer port base_port+100+i and HTTP port
// base_port+200+i. Household k gets keys/<h>.key, keys/<h>-oracle.key, meter m-<h>, and
// oracle-<h>.toml: its oracle on HTTP port base_port+300+k, reading the plug named
// <h>-plug and sending to node k mod (number of nodes).
struct InitOptions {
  std::string dir, community = "Local Community", chain_id = "local-1";
  int validators = 1, followers = 0, base_port = 7701;
  std::vector<std::string> households;
  std::uint64_t slot_seconds = 0;   // 0: MARKET.md's default
  std::uint64_t initial_grant = 0;  // 0: MARKET.md's default
  std::string mechanism;            // empty: MARKET.md's default
};
int Init(const InitOptions& o);

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
