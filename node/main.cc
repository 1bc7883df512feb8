// nanumd: a nanum node. See README.md ("Operating a node") and deploy/nanumd.toml.sample.
//
//   nanumd --config /etc/nanum/nanumd.toml [--data-dir DIR] [--api-listen ADDR] [--http-listen ADDR]
//          [--peer-listen ADDR] [--log-level L]
//
// Exit codes: 0 after SIGTERM or SIGINT (graceful), 1 on a configuration error, 2 when the
// data directory cannot be opened or is inconsistent (the message names the height).
#include <signal.h>

#include <set>

#include <CLI/CLI.hpp>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include "chaincode/genesis_file.h"
#include "chaincode/queries.h"
#include "ledger/log.h"
#include "node/api.h"
#include "node/config.h"
#include "node/http.h"
#include "node/node.h"
#include "node/peer.h"

using namespace nanum;
using namespace nanum::node;

int main(int argc, char** argv) {
  CLI::App cli{"nanumd: a node of a nanum community energy ledger"};
  std::string config_path, data_dir, api_listen, http_listen, peer_listen, log_level;
  cli.add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  cli.add_option("--data-dir", data_dir, "overrides node.data_dir");
  cli.add_option("--api-listen", api_listen, "overrides api.listen (host:port)");
  cli.add_option("--http-listen", http_listen, "overrides http.listen (host:port; \"\" turns it off)");
  cli.add_option("--peer-listen", peer_listen, "overrides peer.listen (host:port)");
  cli.add_option("--log-level", log_level, "overrides log.level: debug, info, warn, error");
  cli.set_version_flag("--version", NANUM_VERSION);
  CLI11_PARSE(cli, argc, argv);

  Config cfg;
  if (Status s = LoadConfig(config_path, &cfg); !s.ok()) {
    Log(Level::kError, "bad configuration", {{"error", s.ToString()}});
    return 1;
  }
  if (!data_dir.empty()) cfg.data_dir = data_dir;
  if (!api_listen.empty()) cfg.api_listen = api_listen;
  if (cli.count("--http-listen") != 0) cfg.http_listen = http_listen;
  if (!peer_listen.empty()) cfg.peer.listen = peer_listen;
  if (!log_level.empty() && !ParseLevel(log_level, &cfg.log_level)) {
    Log(Level::kError, "bad --log-level", {{"value", log_level}});
    return 1;
  }
  SetLogLevel(cfg.log_level);
  for (auto [name, v] : {std::pair{"node.data_dir", &cfg.data_dir}, {"node.key_file", &cfg.key_file},
                         {"node.genesis_file", &cfg.genesis_file}}) {
    if (v->empty()) {
      Log(Level::kError, "bad configuration", {{"error", std::string(name) + " is required"}});
      return 1;
    }
  }

  NodeOptions opt;
  opt.data_dir = cfg.data_dir;
  opt.consensus = cfg.consensus;
  opt.store.compaction_priority = cfg.compaction_priority;
  opt.store.state_cache_bytes = static_cast<std::size_t>(cfg.state_cache_mb) << 20;
  if (Status s = ReadKeyFile(cfg.key_file, &opt.key); !s.ok()) {
    Log(Level::kError, "cannot read the node key", {{"file", cfg.key_file}, {"error", s.ToString()}});
    return 1;
  }
  if (Status s = market::ReadGenesisFile(cfg.genesis_file, &opt.genesis); !s.ok()) {
    Log(Level::kError, "cannot read the genesis", {{"error", s.ToString()}});
    return 1;
  }

  // Signals are taken by sigwait below, never by a handler on a random thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::unique_ptr<Node> node;
  if (Status s = Node::Open(opt, &node); !s.ok()) {
    Log(Level::kError, "cannot open the data directory", {{"dir", cfg.data_dir}, {"error", s.ToString()}});
    return 2;
  }
  // Who may open a link to this node: configured peers, the validators in force, and the
  // keys of active members (a household's own gateway).
  std::set<PublicKey> configured;
  for (const PeerEntry& p : cfg.peer.peers) configured.insert(p.key);
  Node* n = node.get();
  auto allowed = [configured, n](const PublicKey& k) {
    if (configured.count(k) != 0) return true;
    for (const PublicKey& v : n->validators()) {
      if (v == k) return true;
    }
    market::Member m;
    return market::GetMemberByKey(n->store(), k, &m).ok() && m.active;
  };
  std::unique_ptr<PeerNet> peers;
  if (Status s = PeerNet::Start(cfg.peer, opt.key, opt.genesis.info.chain_id, node->status().genesis_hash, n,
                                allowed, &peers);
      !s.ok()) {
    Log(Level::kError, "cannot start the peer transport", {{"error", s.ToString()}});
    return 1;
  }
  node->Start(peers.get());

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<nanum::v1::Nanum::Service> api = NewApiService(node.get());
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (Status s = ApiCredentials(cfg.api_tls, &creds); !s.ok()) {
    Log(Level::kError, "cannot set up TLS on the API", {{"error", s.ToString()}});
    node->Stop();
    peers->Stop();
    return 1;
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(cfg.api_listen, creds, &port);
  builder.SetMaxReceiveMessageSize(kMaxApiRequestBytes);
  builder.RegisterService(api.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    Log(Level::kError, "cannot listen", {{"api", cfg.api_listen}});
    node->Stop();
    peers->Stop();
    return 1;
  }
  std::unique_ptr<HttpServer> http;
  if (!cfg.http_listen.empty()) {
    if (Status s = HttpServer::Start(cfg.http_listen, node.get(), &http); !s.ok()) {
      Log(Level::kError, "cannot start the HTTP endpoint", {{"error", s.ToString()}});
      server->Shutdown();
      node->Stop();
      peers->Stop();
      return 1;
    }
  }
  const NodeStatusInfo st = node->status();
  Log(Level::kInfo, "nanumd started",
      {{"community", st.community}, {"chain", st.chain_id}, {"height", std::to_string(st.head.height)},
       {"key", node->id().Hex()}, {"validator", st.replica.validator ? "true" : "false"}, {"api", cfg.api_listen},
       {"api_tls", !cfg.api_tls.enabled() ? "off" : cfg.api_tls.client_ca_file.empty() ? "tls" : "mutual"},
       {"http", cfg.http_listen}, {"peer", cfg.peer.listen}, {"peers_configured", std::to_string(cfg.peer.peers.size())}});

  int sig = 0;
  sigwait(&sigs, &sig);
  Log(Level::kInfo, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  if (http) http->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  node->Stop();
  peers->Stop();
  Log(Level::kInfo, "stopped", {{"height", std::to_string(node->status().head.height)}});
  return 0;
}
