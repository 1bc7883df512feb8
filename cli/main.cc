// nanumctl: the command line for households, operators and auditors. It talks to a node
// over gRPC (--node host:port) and signs transactions locally with the user's key file.
//
// Done so far (the rest of issue 5's subcommands are unfinished):
//   nanumctl keygen FILE                      a new key file (mode 0600); prints its public key
//   nanumctl init DIR --validators N …        a new community: keys, genesis.json, a config per node
//   nanumctl status                           the node's status
//   nanumctl transfer --key F --to ID AMOUNT  a signed transfer, waiting for its result
// Every command takes --json for output with stable field names (docs/CLI.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "chaincode/genesis_file.h"
#include "chaincode/market.h"
#include "ledger/crypto.h"
#include "ledger/transaction.h"
#include "nanum/v1/node.grpc.pb.h"

using namespace nanum;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

int Fail(const std::string& what) {
  std::cerr << "nanumctl: " << what << "\n";
  return 1;
}

std::string Hex(const std::string& bytes) {
  return ToHex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

std::unique_ptr<v1::Nanum::Stub> Connect(const std::string& addr) {
  return v1::Nanum::NewStub(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
}

int GrpcFail(const grpc::Status& s) {
  return Fail(std::string(s.error_code() == grpc::StatusCode::UNAVAILABLE ? "node unreachable: " : "") + s.error_message());
}

// A new key file, refusing to overwrite.
Status NewKey(const std::string& path, PrivateKey* key) {
  *key = PrivateKey::Generate();
  return WriteKeyFile(path, *key);
}

int Init(const std::string& dir, const std::string& community, const std::string& chain_id, int validators,
         int followers, const std::vector<std::string>& households, std::uint64_t slot_seconds, int base_port) {
  if (fs::exists(dir) && !fs::is_empty(dir)) return Fail(dir + " exists and is not empty; choose a new directory");
  fs::create_directories(dir + "/keys");
  market::Genesis g;
  g.info.name = community;
  g.info.chain_id = chain_id;
  g.info.genesis_time_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  if (slot_seconds != 0) {
    g.params.slot_seconds = slot_seconds;
    g.params.gate_closure_seconds = std::min<std::uint64_t>(g.params.gate_closure_seconds, slot_seconds / 5);
    g.params.settlement_delay_seconds = slot_seconds;
  }
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
      << "listen = \"127.0.0.1:" << base_port + 100 + static_cast<int>(i) << "\"\n";
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
  std::cout << "community " << community << " (" << chain_id << ") in " << dir << "\n"
            << "  genesis block " << ToHex(b.Hash()) << "\n"
            << "  " << validators << " validators, " << followers << " followers, " << households.size()
            << " households, slot " << g.params.slot_seconds << " s\n"
            << "  start a node:  nanumd --config " << dir << "/" << nodes[0] << ".toml\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nanumctl: households, operators and auditors of a nanum community"};
  app.require_subcommand(1);
  std::string node = "127.0.0.1:7701";
  bool as_json = false;
  app.add_option("--node", node, "the node's API address (host:port)");
  app.add_flag("--json", as_json, "machine-readable output (stable field names)");

  std::string key_path;
  auto* keygen = app.add_subcommand("keygen", "create a key file (mode 0600) and print its public key");
  keygen->add_option("file", key_path)->required();

  std::string dir, community = "Local Community", chain_id = "local-1";
  int validators = 1, followers = 0, base_port = 7701;
  std::uint64_t slot_seconds = 0;
  std::vector<std::string> households;
  auto* init = app.add_subcommand("init", "make a new community: keys, genesis, a config per node");
  init->add_option("dir", dir)->required();
  init->add_option("--community", community);
  init->add_option("--chain-id", chain_id);
  init->add_option("--validators", validators)->check(CLI::Range(1, 256));
  init->add_option("--followers", followers)->check(CLI::Range(0, 1000));
  init->add_option("--households", households, "member ids; each gets a key, a meter and an oracle key");
  int household_count = 0;
  init->add_option("--household-count", household_count, "also add households house-0001, house-0002, …")
      ->check(CLI::Range(0, 100000));
  init->add_option("--slot-seconds", slot_seconds, "market slot length (default 900)");
  init->add_option("--base-port", base_port,
                   "API port of the first node; the others follow; peer ports are 100 above, HTTP 200 above");

  auto* status = app.add_subcommand("status", "the node's status");

  std::string to;
  std::uint64_t amount = 0;
  auto* transfer = app.add_subcommand("transfer", "send tokens to a member");
  transfer->add_option("--key", key_path, "your key file")->required();
  transfer->add_option("--to", to, "member id")->required();
  transfer->add_option("amount", amount)->required();

  CLI11_PARSE(app, argc, argv);

  if (*keygen) {
    PrivateKey k;
    if (Status s = NewKey(key_path, &k); !s.ok()) return Fail(s.ToString());
    if (as_json) {
      std::cout << json{{"file", key_path}, {"public_key", k.public_key().Hex()}}.dump() << "\n";
    } else {
      std::cout << k.public_key().Hex() << "\n";
    }
    return 0;
  }
  for (int i = 1; i <= household_count; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "house-%04d", i);
    households.push_back(id);
  }
  if (*init) return Init(dir, community, chain_id, validators, followers, households, slot_seconds, base_port);

  auto client = Connect(node);
  if (*status) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::NodeStatus st;
    grpc::Status s = client->GetStatus(&ctx, v1::GetStatusRequest{}, &st);
    if (!s.ok()) return GrpcFail(s);
    json j = {{"community", st.community()}, {"chain_id", st.chain_id()}, {"height", st.height()},
              {"block_hash", Hex(st.block_hash())}, {"state_root", Hex(st.state_root())},
              {"block_time_ms", st.block_time_ms()}, {"node_key", Hex(st.node_key())},
              {"validator", st.validator()}, {"primary", st.primary()}, {"view", st.view()},
              {"epoch", st.epoch()}, {"validators", st.validators()}, {"mempool", st.mempool()},
              {"peers_connected", st.peers_connected()}, {"version", st.version()}};
    if (as_json) {
      std::cout << j.dump() << "\n";
    } else {
      for (auto& [k, v] : j.items()) std::cout << std::left << std::setw(16) << k << " " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
    return 0;
  }
  if (*transfer) {
    PrivateKey k;
    if (Status s = ReadKeyFile(key_path, &k); !s.ok()) return Fail(s.ToString());
    grpc::ClientContext c1;
    v1::NodeStatus st;
    if (grpc::Status s = client->GetStatus(&c1, v1::GetStatusRequest{}, &st); !s.ok()) return GrpcFail(s);
    grpc::ClientContext c2;
    v1::GetNextNonceRequest nreq;
    nreq.set_key(std::string(reinterpret_cast<const char*>(k.public_key().bytes().data()), 32));
    v1::GetNextNonceResponse nresp;
    if (grpc::Status s = client->GetNextNonce(&c2, nreq, &nresp); !s.ok()) return GrpcFail(s);
    TxBody body;
    body.chain_id = st.chain_id();
    body.signer = k.public_key();
    body.nonce = nresp.next_nonce();
    body.payload = Payload{Transfer{to, amount}};
    const Transaction tx = Transaction::Sign(body, k);
    v1::SubmitRequest req;
    req.mutable_tx()->set_body(tx.body_bytes());
    req.mutable_tx()->set_signature(std::string(reinterpret_cast<const char*>(tx.signature().data()), 64));
    req.set_wait_for_commit(true);
    grpc::ClientContext c3;
    v1::SubmitResponse resp;
    if (grpc::Status s = client->Submit(&c3, req, &resp); !s.ok()) return GrpcFail(s);
    json j = {{"tx_id", Hex(resp.tx_id())}, {"committed", resp.committed()}, {"height", resp.outcome().height()},
              {"result", resp.outcome().result()}};
    if (as_json) {
      std::cout << j.dump() << "\n";
    } else {
      std::cout << "transaction " << Hex(resp.tx_id()) << " committed at height " << resp.outcome().height()
                << ": " << resp.outcome().result() << "\n";
    }
    return resp.outcome().result_code() == 0 ? 0 : 3;
  }
  return 0;
}
