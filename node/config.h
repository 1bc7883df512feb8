// nanumd's configuration: a TOML file (deploy/nanumd.toml.sample documents every option),
// then command-line flags over it. Relative paths are taken from the configuration file's
// directory. Unknown keys are refused, so a typo never silently means the default.
#pragma once

#include <cstdint>
#include <string>

#include "chaincode/market.h"
#include "consensus/pbft.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/log.h"
#include "node/peer.h"

namespace nanum::node {

// TLS on the API: with a certificate and its key, the API speaks TLS only; with a client CA
// as well, mutual TLS (clients must present a certificate that CA signed). All PEM files.
struct ApiTls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  bool enabled() const { return !cert_file.empty(); }
};

struct Config {
  // [node]
  std::string data_dir;
  std::string key_file;
  std::string genesis_file;
  CompactionPriority compaction_priority = CompactionPriority::kLow;  // "low", "idle", "normal"
  std::uint64_t state_cache_mb = 32;  // 0 to 4096
  // [api]
  std::string api_listen = "127.0.0.1:7701";
  ApiTls api_tls;  // tls_cert_file, tls_key_file, tls_client_ca_file
  // [http]: health, readiness and metrics; empty: off
  std::string http_listen;
  // [peer] listen and max_inbound, and [[peers]] key and address
  PeerOptions peer;
  // [log]
  Level log_level = Level::kInfo;
  // [consensus]
  pbft::Config consensus;
};

// Errors: kNotFound (no such file), kInvalidArgument naming the key and line.
Status LoadConfig(const std::string& path, Config* out);

}  // namespace nanum::node
