// nanumctl init: a new community's keys, genesis file and one configuration per node.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "chaincode/genesis_file.h"
#include "chaincode/market.h"
#include "cli/cli.h"
#include "ledger/crypto.h"

namespace nanum::cli {

namespace fs = std::filesystem;

// A new key file, refusing to overwrite.
Status NewKey(const std::string& path, PrivateKey* key) {
  *key = PrivateKey::Generate();
  return WriteKeyFile(path, *key);
}

int Init(const InitOptions& o) {
  const std::string& dir = o.dir;
  const std::string& community = o.community;
  const int validators = o.validators, followers = o.followers, base_port = o.base_port;
  const std::vector<std::string>& households = o.households;
  if (base_port < 1 || base_port + 300 + static_cast<int>(households.size()) > 65535 ||
      base_port + 200 + validators + followers > 65535) {
    return Fail("--base-port leaves no room for every node's and oracle's ports (see nanumctl init --help)");
  }
  if (fs::exists(dir) && !fs::is_empty(dir)) return Fail(dir + " exists and is not empty; choose a new directory");
  fs::create_directories(dir + "/keys");
  market::Genesis g;
  g.info.name = community;
  g.info.chain_id = o.chain_id;
  g.info.genesis_time_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  if (o.slot_seconds != 0) {
    g.params.slot_seconds = o.slot_seconds;
    g.params.gate_closure_seconds = std::min<std::uint64_t>(g.params.gate_closure_seconds, o.slot_seconds / 5);
    g.params.settlement_delay_seconds = o.slot_seconds;
  }
  if (o.initial_grant != 0) g.params.initial_grant = o.initial_grant;
  if (o.mechanism == "uniform_price") {
    g.params.mechanism = static_cast<std::uint8_t>(market::Mechanism::kUniformPrice);
  } else if (!o.mechanism.empty() && o.mechanism != "continuous") {
    return Fail("--mechanism is continuous or uniform_price, not " + o.mechanism);
  }
  if (Status s = g.params.Validate(); !s.ok()) return Fail(s.ToString());
  std::vector<std::string> nodes;
  for (int i = 0; i < validators; ++i) nodes.push_back("validator-" + std::to_string(i));
  for (int i = 0; i < followers; ++i) nodes.push_back("follower-" + std::to_string(i));
  PrivateKey k;
  std::vector<PublicKey> node_keys;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (Status s = NewKey(dir + "/keys/" + nodes[i] + ".key", &k); !s.ok()) return Fail(s.ToString());
    node_keys.push_back(k.public_key());
    if (i < static_cast<std::size_t>(validators)) g.validators.push_back(k.public_key());
  }
  std::sort(g.validators.begin(), g.validators.end());
  if (Status s = NewKey(dir + "/keys/admin.key", &k); !s.ok()) return Fail(s.ToString());
  g.members.push_back({"admin", k.public_key(), true});
  for (const std::string& h : households) {
    if (Status s = NewKey(dir + "/keys/" + h + ".key", &k); !s.ok()) return Fail(s.ToString());
    g.members.push_back({h, k.public_key(), false});
    if (Status s = NewKey(dir + "/keys/" + h + "-oracle.key", &k); !s.ok()) return Fail(s.ToString());
    g.meters.push_back(BindMeter{"m-" + h, h, k.public_key()});
  }
  Block b;
  WriteSet w;
  if (Status s = market::GenesisBlock(g, &b, &w); !s.ok()) return Fail(s.ToString());
  std::ofstream(dir + "/genesis.json") << market::FormatGenesis(g);
  const std::uint64_t empty_ms = std::clamp<std::uint64_t>(g.params.slot_seconds * 1000 / 5, 1000, 60'000);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::ofstream c(dir + "/" + nodes[i] + ".toml");
    c << "# nanumd configuration for " << nodes[i] << " of " << community << " (written by nanumctl init).\n"
      << "# Every option: deploy/nanumd.toml.sample. Relative paths are from this file's directory.\n"
      << "[node]\n"
      << "data_dir = \"data/" << nodes[i] << "\"\n"
      << "key_file = \"keys/" << nodes[i] << ".key\"\n"
      << "genesis_file = \"genesis.json\"\n\n"
      << "[api]\n"
      << "listen = \"127.0.0.1:" << base_port + static_cast<int>(i) << "\"\n\n"
      << "[http]\n"
      << "listen = \"127.0.0.1:" << base_port + 200 + static_cast<int>(i) << "\"\n\n"
      << "[peer]\n"
      << "listen = \"127.0.0.1:" << base_port + 100 + static_cast<int>(i) << "\"\n\n"
      << "[consensus]\n"
      << "# Blocks carry the clock forward when nobody trades, so that gates close and slots settle.\n"
      << "empty_block_interval_ms = " << empty_ms << "\n";
    // Every node dials the validators; validators also accept the followers, which dial them.
    const bool is_validator = i < static_cast<std::size_t>(validators);
    for (std::size_t j = 0; j < nodes.size(); ++j) {
      if (j == i) continue;
      const bool peer_is_validator = j < static_cast<std::size_t>(validators);
      if (!peer_is_validator && !is_validator) continue;
      c << "\n[[peers]]  # " << nodes[j] << "\n"
        << "key = \"" << node_keys[j].Hex() << "\"\n";
      if (peer_is_validator) c << "address = \"127.0.0.1:" << base_port + 100 + static_cast<int>(j) << "\"\n";
    }
  }
  for (std::size_t hi = 0; hi < households.size(); ++hi) {
    const std::string& h = households[hi];
    std::ofstream c(dir + "/oracle-" + h + ".toml");
    c << "# nanum-oracle configuration for household " << h << " of " << community << " (written by nanumctl init).\n"
      << "# Every option: deploy/nanum-oracle.toml.sample. Relative paths are from this file's directory.\n"
      << "[oracle]\n"
      << "data_dir = \"data/oracle-" << h << "\"\n"
      << "key_file = \"keys/" << h << "-oracle.key\"\n"
      << "genesis_file = \"genesis.json\"\n"
      << "http_listen = \"127.0.0.1:" << base_port + 300 + static_cast<int>(hi) << "\"\n\n"
      << "[node]  # " << nodes[hi % nodes.size()] << "\n"
      << "address = \"127.0.0.1:" << base_port + static_cast<int>(hi % nodes.size()) << "\"\n\n"
      << "[[meter]]\n"
      << "id = \"m-" << h << "\"\n"
      << "device = \"" << h << "-plug\"\n";
  }
  std::cout << "community " << community << " (" << o.chain_id << ") in " << dir << "\n"
            << "  genesis block " << ToHex(b.Hash()) << "\n"
            << "  " << validators << " validators, " << followers << " followers, " << households.size()
            << " households, slot " << g.params.slot_seconds << " s\n"
            << "  start a node:  nanumd --config " << dir << "/" << nodes[0] << ".toml\n";
  return 0;
}

}  // namespace nanum::cli
