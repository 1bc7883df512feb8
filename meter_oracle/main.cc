// nanum-oracle: a household's meter oracle. See docs/ORACLE.md and
// deploy/nanum-oracle.toml.sample.
//
//   nanum-oracle run --config FILE [--node ADDR] [--http-listen ADDR] [--log-level L]
//   nanum-oracle queue --config FILE [--json]     the readings waiting, and those refused
//   nanum-oracle reset --config FILE --yes        drop the stored readings (oracle stopped)
//   nanum-oracle simulate …                       simulated smart plugs (simulate --help)
//
// Exit codes: 0 after SIGTERM or SIGINT (graceful), 1 on a configuration error, 2 when the
// oracle's store cannot be opened.
#include <signal.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "chaincode/genesis_file.h"
#include "ledger/log.h"
#include "ledger/transaction.h"
#include "meter_oracle/config.h"
#include "meter_oracle/oracle.h"
#include "meter_oracle/queue.h"
#include "meter_oracle/server.h"
#include "meter_oracle/simulator.h"

using namespace nanum;
using namespace nanum::oracle;

namespace {

int Run(Config cfg) {
  SetLogLevel(cfg.log_level);
  OracleOptions opt;
  if (Status s = ReadKeyFile(cfg.key_file, &opt.key); !s.ok()) {
    Log(Level::kError, "cannot read the oracle key", {{"file", cfg.key_file}, {"error", s.ToString()}});
    return 1;
  }
  market::Genesis g;
  if (Status s = market::ReadGenesisFile(cfg.genesis_file, &g); !s.ok()) {
    Log(Level::kError, "cannot read the genesis", {{"error", s.ToString()}});
    return 1;
  }
  opt.chain_id = g.info.chain_id;
  opt.slot_ms = g.params.slot_seconds * 1000;
  for (const MeterConfig& m : cfg.meters) {
    bool bound = false;
    for (const BindMeter& b : g.meters) {
      if (b.meter_id == m.id && b.oracle != opt.key.public_key()) {
        Log(Level::kWarn, "the genesis binds this meter to another oracle key (a later binding may differ)",
            {{"meter", m.id}});
      }
      bound = bound || b.meter_id == m.id;
    }
    if (!bound) Log(Level::kInfo, "meter not in the genesis; it must be bound by governance", {{"meter", m.id}});
  }
  const std::string http_listen = cfg.http_listen;
  opt.config = std::move(cfg);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::unique_ptr<Oracle> oracle;
  if (Status s = Oracle::Open(std::move(opt), &oracle); !s.ok()) {
    Log(Level::kError, "cannot open the oracle", {{"error", s.ToString()}});
    return s.code() == Status::Code::kIOError ? 2 : 1;
  }
  std::unique_ptr<Server> server;
  if (!http_listen.empty()) {
    if (Status s = Server::Start(http_listen, oracle.get(), &server); !s.ok()) {
      Log(Level::kError, "cannot start the HTTP endpoint", {{"error", s.ToString()}});
      return 1;
    }
  }
  oracle->Start();
  const OracleCounters c = oracle->counters();
  Log(Level::kInfo, "nanum-oracle started",
      {{"key", oracle->key().Hex()}, {"http", http_listen}, {"queued", std::to_string(c.queue)}});
  int sig = 0;
  sigwait(&sigs, &sig);
  Log(Level::kInfo, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  if (server) server->Stop();
  oracle->Stop();
  Log(Level::kInfo, "stopped", {{"queued", std::to_string(oracle->counters().queue)}});
  return 0;
}

nlohmann::json ReadingJson(const QueuedReading& q) {
  nlohmann::json j = {{"position", q.position}};
  Transaction tx;
  if (Status s = Transaction::Decode(q.envelope, &tx); !s.ok()) {
    j["error"] = s.ToString();
    return j;
  }
  const auto* r = std::get_if<SubmitReading>(&tx.body().payload);
  j["nonce"] = tx.body().nonce;
  j["tx_id"] = ToHex(tx.id());
  if (r != nullptr) {
    j.update({{"meter", r->meter_id}, {"slot", r->slot}, {"sequence", r->sequence}, {"import_wh", r->import_wh},
              {"export_wh", r->export_wh}, {"cum_import_wh", r->cum_import_wh}, {"cum_export_wh", r->cum_export_wh}});
  }
  if (!q.why.empty()) j["refused"] = q.why;
  return j;
}

int ShowQueue(const Config& cfg, bool json) {
  std::unique_ptr<Queue> q;
  if (Status s = Queue::Open(cfg.data_dir, &q); !s.ok()) {
    std::cerr << "nanum-oracle: " << s.ToString() << "\n";
    return 2;
  }
  std::vector<QueuedReading> pending, refused;
  if (Status s = q->Pending(100'000, &pending); !s.ok()) return std::cerr << s.ToString() << "\n", 2;
  if (Status s = q->Refused(100'000, &refused); !s.ok()) return std::cerr << s.ToString() << "\n", 2;
  if (json) {
    nlohmann::json out = {{"pending", nlohmann::json::array()}, {"refused", nlohmann::json::array()}};
    for (const auto& r : pending) out["pending"].push_back(ReadingJson(r));
    for (const auto& r : refused) out["refused"].push_back(ReadingJson(r));
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << pending.size() << " readings wait for the ledger, " << refused.size() << " were refused\n";
  for (const auto* list : {&pending, &refused}) {
    for (const QueuedReading& r : *list) {
      const nlohmann::json j = ReadingJson(r);
      std::cout << (list == &pending ? "  pending " : "  refused ") << j.value("meter", "?") << " slot "
                << j.value("slot", 0ULL) << " seq " << j.value("sequence", 0ULL) << " import " << j.value("import_wh", 0ULL)
                << " Wh export " << j.value("export_wh", 0ULL) << " Wh" << (r.why.empty() ? "" : "  (" + r.why + ")")
                << "\n";
    }
  }
  return 0;
}

int Reset(const Config& cfg, bool yes) {
  if (!yes) {
    std::cerr << "nanum-oracle: reset drops every reading not yet on the ledger; add --yes to do it\n";
    return 1;
  }
  std::unique_ptr<Queue> q;
  if (Status s = Queue::Open(cfg.data_dir, &q); !s.ok()) {
    std::cerr << "nanum-oracle: " << s.ToString() << "\n";
    return 2;
  }
  std::uint64_t dropped = 0;
  if (Status s = q->Reset(&dropped); !s.ok()) {
    std::cerr << "nanum-oracle: " << s.ToString() << "\n";
    return 2;
  }
  std::cout << "dropped " << dropped << " stored readings\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nanum-oracle: signs a household's meter readings onto its nanum community's ledger"};
  app.require_subcommand(1);
  app.set_version_flag("--version", NANUM_VERSION);
  std::string config_path, node, http_listen, log_level;
  bool json = false, yes = false;
  auto* run = app.add_subcommand("run", "take readings and send them to the node until SIGTERM");
  auto* queue = app.add_subcommand("queue", "list the readings waiting for the ledger and those it refused");
  auto* reset = app.add_subcommand("reset", "drop every stored reading not yet on the ledger");
  for (auto* c : {run, queue, reset}) c->add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  run->add_option("--node", node, "overrides node.address");
  run->add_option("--http-listen", http_listen, "overrides oracle.http_listen (\"\" turns it off)");
  run->add_option("--log-level", log_level, "overrides log.level: debug, info, warn, error");
  queue->add_flag("--json", json, "JSON for scripts");
  reset->add_flag("--yes", yes, "really drop them");
  SimulatorOptions sim;
  auto* simulate = app.add_subcommand("simulate", "simulated smart plugs with household profiles");
  AddSimulatorOptions(simulate, &sim);
  CLI11_PARSE(app, argc, argv);

  if (*simulate) return RunSimulator(sim);
  Config cfg;
  if (Status s = LoadConfig(config_path, &cfg); !s.ok()) {
    std::cerr << "nanum-oracle: bad configuration: " << s.ToString() << "\n";
    return 1;
  }
  if (*queue) return ShowQueue(cfg, json);
  if (*reset) return Reset(cfg, yes);
  if (!node.empty()) cfg.node = node;
  if (run->count("--http-listen") != 0) cfg.http_listen = http_listen;
  if (!log_level.empty() && !ParseLevel(log_level, &cfg.log_level)) {
    std::cerr << "nanum-oracle: bad --log-level " << log_level << "\n";
    return 1;
  }
  return Run(std::move(cfg));
}
