// nanum-load: a load driver against a community of real nanumd processes on loopback (made
// and started by tests/cluster). It signs transfers between households ahead of time, submits
// them over the gRPC API with wait_for_commit, and records when each was sent and when its
// commit was answered. Modes:
//
//   nanum-load saturate [--seconds 20] [--inflight 3000]
//       closed loop: keeps --inflight transactions waiting for commit; prints committed
//       transactions per second (after a warm-up) against the signature-verification bound
//       at the speed the validators' own checks ran in the window (bound_tps,
//       share_of_bound_percent; also printed by the latency mode).
//   nanum-load latency [--rate 1000] [--seconds 20]
//       open loop at --rate; prints commit latency p50, p90, p99 and max as a client sees it.
//   nanum-load fault [--rounds 3] [--rate 200]
//       under continuous load, SIGKILLs the primary, restarts it, again for --rounds; prints
//       how long commits took to resume after each kill, then checks that every transaction
//       the client saw committed is in every validator's ledger, that all validators agree on
//       the block hash and state root, and that commits went on while 3 of 4 were up. Exits 1
//       if any check fails (this mode is also the fault test in CI).
//
// With --submit-batch N, transactions go N at a time (each from a different household) in
// SubmitBatch calls instead of one Submit each: the ledger's capacity when clients batch,
// rather than the cost of one gRPC call per transaction.
//
// Every mode prints its figures as `key value` lines, and as one JSON object with --json.
// The consensus settings used are printed too; docs/PERFORMANCE.md records the runs.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "ledger/crypto.h"
#include "ledger/transaction.h"
#include "proto/wire.h"
#include "tests/cluster/cluster.h"

using namespace nanum;
using nanum::cluster::Cluster;
using nanum::cluster::ClusterOptions;
using nlohmann::json;

namespace {

std::uint64_t NowUs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// CPU time (user + system) a process has used so far, from /proc/<pid>/stat; 0 if unreadable.
std::uint64_t ProcessCpuUs(pid_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the command name, which is in parentheses and may hold spaces: state is
  // field 3, utime 14 and stime 15.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return 0;
  return (utime + stime) * 1'000'000ULL / static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
}

// This process's CPU time so far, all threads.
std::uint64_t SelfCpuUs() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::uint64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000ULL +
         static_cast<std::uint64_t>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}


// What happened to one transaction.
struct Record {
  std::uint64_t sent_us = 0;  // first submission
  std::uint64_t done_us = 0;  // commit answered (0: never)
  bool committed = false;
  std::uint32_t result = 0;
  std::string id;  // raw 32 bytes
};

struct Account {
  std::vector<v1::SubmitRequest> txs;  // signed, nonces 1, 2, …
  std::size_t next = 0;
  bool busy = false;
};

// Submits and tracks; one thread runs the completion loop.
class Engine {
 public:
  // `batch` > 1: SubmitBatch calls of up to that many transactions (each from a different
  // household) instead of one Submit per transaction.
  Engine(Cluster* cluster, std::vector<Account> accounts, std::size_t batch)
      : cluster_(cluster),
        accounts_(std::move(accounts)),
        batch_(std::max<std::size_t>(batch, 1)),
        up_(static_cast<std::size_t>(cluster->options().validators), true) {}

  // Nodes to submit to; the fault driver marks a killed one down first.
  void SetUp(int node, bool up) {
    std::lock_guard<std::mutex> l(mu_);
    up_[static_cast<std::size_t>(node)] = up;
  }

  // rate_per_s == 0: closed loop with `inflight` outstanding. Runs until Stop, then waits up
  // to 15 s for what is outstanding.
  void Run(std::uint64_t rate_per_s, std::size_t inflight) {
    grpc::CompletionQueue cq;
    const std::uint64_t start = NowUs();
    std::uint64_t issued = 0;
    std::size_t rr_account = 0;
    std::uint64_t stop_deadline = 0;
    std::vector<Item> ready;  // picked for the next call
    for (;;) {
      const std::uint64_t now = NowUs();
      if (stop_.load() && stop_deadline == 0) stop_deadline = now + 15'000'000;
      if (stop_deadline != 0 && (outstanding_ == 0 || now > stop_deadline)) break;
      if (stop_deadline == 0) {
        const std::uint64_t want = rate_per_s == 0 ? ~0ULL : (now - start) * rate_per_s / 1'000'000;
        while (issued < want && (rate_per_s != 0 || outstanding_ < inflight)) {
          // The next account that is free and has transactions left.
          std::size_t tried = 0;
          while (tried < accounts_.size() &&
                 (accounts_[rr_account].busy || accounts_[rr_account].next >= accounts_[rr_account].txs.size())) {
            rr_account = (rr_account + 1) % accounts_.size();
            ++tried;
          }
          if (tried == accounts_.size()) {
            // Every account is waiting for its commit. Open loop: the driver cannot keep up;
            // count it, and do not queue a burst. Closed loop: wait for a completion.
            if (rate_per_s != 0) {
              ++starved_;
              issued = want;
            }
            break;
          }
          Account& a = accounts_[rr_account];
          a.busy = true;
          std::size_t record = 0;
          {
            std::lock_guard<std::mutex> l(mu_);
            records_.push_back(Record{now, 0, false, 0, {}});
            record = records_.size() - 1;
          }
          ready.push_back({rr_account, record});
          ++outstanding_;
          if (ready.size() == batch_) {
            Issue(&cq, std::move(ready));
            ready.clear();
          }
          rr_account = (rr_account + 1) % accounts_.size();
          ++issued;
        }
        if (!ready.empty()) Issue(&cq, std::move(ready));
        ready.clear();
      }
      void* tag = nullptr;
      bool ok = false;
      const auto deadline = std::chrono::system_clock::now() + std::chrono::microseconds(500);
      while (cq.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
        Complete(&cq, static_cast<Call*>(tag));
        if (stop_deadline == 0 && rate_per_s == 0 && outstanding_ < inflight) break;
      }
    }
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) delete static_cast<Call*>(tag);
  }
  void Stop() { stop_ = true; }

  std::vector<Record> records() {
    std::lock_guard<std::mutex> l(mu_);
    return records_;
  }
  std::uint64_t starved() const { return starved_; }
  std::map<std::string, std::uint64_t> errors() {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }

 private:
  struct Item {
    std::size_t account = 0;
    std::size_t record = 0;
  };
  struct Call {
    grpc::ClientContext ctx;
    grpc::Status status;
    std::vector<Item> items;
    v1::SubmitResponse resp;  // one item: Submit
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SubmitResponse>> rpc;
    v1::SubmitBatchResponse batch_resp;  // more: SubmitBatch
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SubmitBatchResponse>> batch_rpc;
    int node = 0;
    int attempts = 0;
  };

  int PickNode() {
    std::lock_guard<std::mutex> l(mu_);
    const int n = cluster_->options().validators;
    for (int k = 0; k < n; ++k) {
      const int i = static_cast<int>(rr_node_++ % static_cast<std::uint64_t>(n));
      if (up_[static_cast<std::size_t>(i)]) return i;
    }
    return 0;
  }

  // Sends `items` (outstanding_ already counts them) to the next node that is up: one Submit
  // for one, one SubmitBatch for more.
  void Issue(grpc::CompletionQueue* cq, std::vector<Item> items, int attempts = 0) {
    auto* c = new Call;
    c->items = std::move(items);
    c->attempts = attempts;
    c->node = PickNode();
    c->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(12));
    auto& client = cluster_->nodes()[static_cast<std::size_t>(c->node)].client;
    if (c->items.size() == 1) {
      const Item& it = c->items.front();
      c->rpc = client->AsyncSubmit(&c->ctx, accounts_[it.account].txs[accounts_[it.account].next], cq);
      c->rpc->Finish(&c->resp, &c->status, c);
      return;
    }
    v1::SubmitBatchRequest req;
    req.set_wait_for_commit(true);
    for (const Item& it : c->items) *req.add_txs() = accounts_[it.account].txs[accounts_[it.account].next].tx();
    c->batch_rpc = client->AsyncSubmitBatch(&c->ctx, req, cq);
    c->batch_rpc->Finish(&c->batch_resp, &c->status, c);
  }

  void Complete(grpc::CompletionQueue* cq, Call* c) {
    std::unique_ptr<Call> done(c);
    const std::uint64_t now = NowUs();
    const bool single = c->items.size() == 1;
    std::vector<Item> again;  // the node went down (or is stopping): to another one
    for (std::size_t k = 0; k < c->items.size(); ++k) {
      grpc::StatusCode code = c->status.error_code();
      const v1::SubmitResult* r = nullptr;
      if (c->status.ok() && !single) {
        r = &c->batch_resp.results(static_cast<int>(k));
        code = static_cast<grpc::StatusCode>(r->code());
      }
      const bool committed = code == grpc::StatusCode::OK && (single ? c->resp.committed() : r->committed());
      if (!committed && code == grpc::StatusCode::UNAVAILABLE && c->attempts < 20 && !stop_.load()) {
        again.push_back(c->items[k]);
        continue;
      }
      --outstanding_;
      {
        std::lock_guard<std::mutex> l(mu_);
        Record& rec = records_[c->items[k].record];
        if (committed) {
          const v1::TxOutcome& o = single ? c->resp.outcome() : r->outcome();
          rec.done_us = now;
          rec.committed = true;
          rec.result = o.result_code();
          rec.id = single ? c->resp.tx_id() : r->tx_id();
          if (rec.result != 0) errors_["result_" + o.result()]++;
        } else {
          // Its fate is unknown to this client (timed out, or refused as pending or committed
          // after a resubmission): not counted as seen committed; the account moves on.
          errors_[code == grpc::StatusCode::OK ? "not_committed" : "grpc_" + std::to_string(code)]++;
        }
      }
      Account& a = accounts_[c->items[k].account];
      a.next++;
      a.busy = false;
    }
    if (!again.empty()) {
      {
        std::lock_guard<std::mutex> l(mu_);
        errors_["unavailable_resubmitted"] += again.size();
      }
      Issue(cq, std::move(again), c->attempts + 1);
    }
  }

  Cluster* cluster_;
  std::vector<Account> accounts_;
  const std::size_t batch_;
  std::mutex mu_;  // records_, errors_, up_ (read by the fault driver)
  std::vector<Record> records_;
  std::map<std::string, std::uint64_t> errors_;
  std::vector<bool> up_;  // by validator index
  std::uint64_t rr_node_ = 0;
  std::size_t outstanding_ = 0;
  std::uint64_t starved_ = 0;
  std::atomic<bool> stop_{false};
};

// Signs `per_account` transfers for each household (to the next household, 1 unit each),
// on every core.
std::vector<Account> SignTransfers(Cluster* c, int households, std::size_t per_account, const std::string& chain_id) {
  std::vector<Account> accounts(static_cast<std::size_t>(households));
  std::vector<PrivateKey> keys(accounts.size());
  std::vector<std::string> ids(accounts.size());
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "house-%04zu", i + 1);
    ids[i] = id;
    if (!ReadKeyFile(c->KeyFile(id), &keys[i]).ok()) {
      std::cerr << "nanum-load: cannot read " << c->KeyFile(id) << "\n";
      std::exit(2);
    }
  }
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = t; i < accounts.size(); i += threads) {
        for (std::size_t k = 0; k < per_account; ++k) {
          TxBody b;
          b.chain_id = chain_id;
          b.signer = keys[i].public_key();
          b.nonce = k + 1;
          b.payload = Payload{Transfer{ids[(i + 1) % ids.size()], 1}};
          const Transaction tx = Transaction::Sign(b, keys[i]);
          v1::SubmitRequest req;
          wire::ToEnvelope(tx, req.mutable_tx());
          req.set_wait_for_commit(true);
          req.set_timeout_ms(10'000);
          accounts[i].txs.push_back(std::move(req));
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return accounts;
}

std::uint64_t Percentile(std::vector<std::uint64_t> v, unsigned pct) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = (v.size() * pct + 99) / 100;
  if (i > 0) --i;
  return v[std::min(i, v.size() - 1)];
}

std::string Ms(std::uint64_t us) {
  char b[32];
  std::snprintf(b, sizeof b, "%llu.%01llu", static_cast<unsigned long long>(us / 1000),
                static_cast<unsigned long long>(us % 1000 / 100));
  return b;
}

void Emit(const json& j, bool as_json) {
  if (as_json) {
    std::cout << j.dump() << "\n";
    return;
  }
  for (auto& [k, v] : j.items()) std::cout << k << " " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nanum-load: load, latency and fault runs against 4 nanumd validators on loopback"};
  app.require_subcommand(1);
  ClusterOptions o;
  o.nanumd = NANUM_NANUMD;
  o.nanumctl = NANUM_NANUMCTL;
  o.dir = "/tmp/nanum-load";
  o.validators = 4;
  o.household_count = 2000;
  bool as_json = false;
  // batch_delay_ms = 10: each block costs every validator its votes (two signatures made,
  // six checked, two synced writes) whatever its size; at 1,000 tx/s a 2 ms delay cut 230
  // blocks a second of 4 transactions, and that overhead queued every request behind it
  // (p50 23 ms, p99 56-136 ms), where 10 ms cuts about 95 of 10 (p50 13 ms, p99 40-52 ms).
  std::uint64_t seconds = 20, rate = 1000, inflight = 3000, rounds = 3, batch_delay_ms = 10, request_timeout_ms = 400,
                max_in_flight = 4, submit_batch = 1;
  app.add_option("--dir", o.dir, "community directory (replaced)");
  app.add_option("--nanumd", o.nanumd);
  app.add_option("--nanumctl", o.nanumctl);
  app.add_option("--households", o.household_count, "accounts that send transfers");
  app.add_option("--batch-delay-ms", batch_delay_ms, "consensus.batch_delay_ms of the validators");
  app.add_option("--request-timeout-ms", request_timeout_ms,
                 "consensus.request_timeout_ms of the validators (default 400; saturate: nanumd's 2000)");
  app.add_option("--max-in-flight", max_in_flight, "consensus.max_in_flight of the validators");
  app.add_option("--submit-batch", submit_batch,
                 "up to this many transactions per SubmitBatch call (default 1: one Submit each)")
      ->check(CLI::Range(1, 1000));
  app.add_flag("--json", as_json);
  auto* saturate = app.add_subcommand("saturate", "committed transactions per second at saturation");
  saturate->add_option("--seconds", seconds);
  saturate->add_option("--inflight", inflight);
  auto* latency = app.add_subcommand("latency", "commit latency at a fixed rate");
  latency->add_option("--seconds", seconds);
  latency->add_option("--rate", rate);
  auto* fault = app.add_subcommand("fault", "kill the primary again and again under load; check the ledgers");
  fault->add_option("--rounds", rounds);
  fault->add_option("--rate", rate);
  CLI11_PARSE(app, argc, argv);
  if (*fault && !fault->count("--rate")) rate = 200;
  // 400 ms makes the fault runs' recovery quick. At saturation every queue is long and a
  // validator's loop can go a few hundred ms between commits, so 400 ms has the backups vote
  // out a working primary (several view changes a run); saturation is measured with nanumd's
  // own default instead.
  if (*saturate && !app.count("--request-timeout-ms")) request_timeout_ms = 2000;
  ::signal(SIGPIPE, SIG_IGN);

  o.consensus_toml = "batch_delay_ms = " + std::to_string(batch_delay_ms) +
                     "\nmax_batch_txs = 2000\nmax_in_flight = " + std::to_string(max_in_flight) + "\nrequest_timeout_ms = " + std::to_string(request_timeout_ms) +
                     "\nview_change_timeout_ms = 1000\nresend_interval_ms = 100\nmax_pending = 200000";
  std::unique_ptr<Cluster> cluster;
  std::string error;
  if (!Cluster::Create(o, &cluster, &error)) {
    std::cerr << "nanum-load: " << error << "\n";
    return 2;
  }
  const int n = o.validators;
  for (int i = 0; i < n; ++i) cluster->Start(static_cast<std::size_t>(i));
  if (std::string why; !cluster->WaitUntilUp(60'000, &why)) {
    std::cerr << "nanum-load: the validators did not come up: " << why << "\n(logs in " << o.dir << ")\n";
    return 2;
  }
  v1::NodeStatus st;
  cluster->Status(0, &st);
  // Wait for the links: every validator connected to the 3 others.
  for (int tries = 0; tries < 100; ++tries) {
    int linked = 0;
    for (int i = 0; i < n; ++i) {
      v1::NodeStatus s;
      if (cluster->Status(static_cast<std::size_t>(i), &s) && s.peers_connected() >= static_cast<std::uint32_t>(n - 1)) ++linked;
    }
    if (linked == n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  const std::uint64_t expected_tps = *saturate ? 10'000 : rate;
  const std::uint64_t run_s = *fault ? rounds * 6 + 10 : seconds + 5;
  const std::size_t per_account =
      static_cast<std::size_t>(expected_tps * run_s / static_cast<std::uint64_t>(o.household_count) + 2);
  const std::uint64_t t_sign = NowUs();
  Engine engine(cluster.get(), SignTransfers(cluster.get(), o.household_count, per_account, st.chain_id()),
                static_cast<std::size_t>(submit_batch));
  std::cerr << "signed " << per_account * static_cast<std::size_t>(o.household_count) << " transfers in "
            << Ms(NowUs() - t_sign) << " ms\n";

  json out = {{"mode", *saturate ? "saturate" : *latency ? "latency" : "fault"},
              {"validators", n},
              {"households", o.household_count},
              {"cores", std::thread::hardware_concurrency()},
              {"submit_batch", submit_batch},
              {"consensus", o.consensus_toml}};
  int exit_code = 0;
  const std::uint64_t t0 = NowUs();
  std::thread runner([&] { engine.Run(*saturate ? 0 : rate, static_cast<std::size_t>(inflight)); });

  if (*saturate || *latency) {
    // Blocks committed in the measured window (after the 3 s warm-up), for transactions per
    // block: each block costs every validator the same votes whatever its size.
    std::this_thread::sleep_for(std::chrono::seconds(std::min<std::uint64_t>(3, seconds)));
    // CPU used in the window: the validators' (from /proc) and the driver's own.
    auto nodes_cpu_us = [&] {
      std::uint64_t sum = 0;
      for (const auto& node : cluster->nodes()) sum += node.pid != 0 ? ProcessCpuUs(node.pid) : 0;
      return sum;
    };
    // Each validator's signature checks so far and their CPU time.
    auto signature_stats = [&] {
      std::vector<std::pair<std::uint64_t, std::uint64_t>> v;
      for (int i = 0; i < n; ++i) {
        v1::NodeStatus s;
        cluster->Status(static_cast<std::size_t>(i), &s);
        v.emplace_back(s.signature_checks(), s.signature_check_cpu_us());
      }
      return v;
    };
    v1::NodeStatus at_warm, at_end;
    cluster->Status(0, &at_warm);
    const auto sig_warm = signature_stats();
    const std::uint64_t nodes_cpu0 = nodes_cpu_us(), driver_cpu0 = SelfCpuUs();
    std::this_thread::sleep_for(std::chrono::seconds(seconds - std::min<std::uint64_t>(3, seconds)));
    const std::uint64_t nodes_cpu = nodes_cpu_us() - nodes_cpu0, driver_cpu = SelfCpuUs() - driver_cpu0;
    const auto sig_end = signature_stats();
    cluster->Status(0, &at_end);
    engine.Stop();
    runner.join();
    const std::uint64_t warm = t0 + 3'000'000, end = t0 + seconds * 1'000'000;
    std::uint64_t committed = 0;
    std::vector<std::uint64_t> lat;
    // Each second's latencies, by when they were sent: a tail made in a second or two is a
    // stall (a compaction, a view change), one spread over all of them is queueing.
    std::vector<std::vector<std::uint64_t>> by_second((end - warm) / 1'000'000 + 1);
    for (const Record& r : engine.records()) {
      if (!r.committed) continue;
      if (r.done_us >= warm && r.done_us < end) ++committed;
      if (r.sent_us >= warm && r.sent_us < end) {
        lat.push_back(r.done_us - r.sent_us);
        by_second[(r.sent_us - warm) / 1'000'000].push_back(r.done_us - r.sent_us);
      }
    }
    json p99s = json::array();
    for (auto& sec : by_second) {
      if (!sec.empty()) p99s.push_back(std::stod(Ms(Percentile(std::move(sec), 99))));
    }
    out["latency_p99_by_second_ms"] = p99s;
    const std::uint64_t window_ms = (end - warm) / 1000;
    const std::uint64_t tps = committed * 1000 / std::max<std::uint64_t>(window_ms, 1);
    out["window_ms"] = window_ms;
    out["committed_tps"] = tps;
    out["latency_p50_ms"] = Ms(Percentile(lat, 50));
    out["latency_p90_ms"] = Ms(Percentile(lat, 90));
    out["latency_p99_ms"] = Ms(Percentile(lat, 99));
    out["latency_max_ms"] = Ms(Percentile(lat, 100));
    out["samples"] = lat.size();
    const std::uint64_t blocks = at_end.height() - at_warm.height();
    out["blocks_per_s"] = blocks * 1000 / std::max<std::uint64_t>(window_ms, 1);
    out["txs_per_block"] = blocks == 0 ? 0 : committed / blocks;
    out["offered_tps"] = *saturate ? json("closed loop, " + std::to_string(inflight) + " in flight") : json(rate);
    // CPU per committed transaction, which wanders less than throughput on a shared machine
    // (it leaves out time the machine gave to others): all validators together, and the driver.
    const std::uint64_t in_window = std::max<std::uint64_t>(committed, 1);
    out["cpu_us_per_tx"] = {{"validators", nodes_cpu / in_window}, {"driver", driver_cpu / in_window}};
    out["cpu_busy_percent"] = (nodes_cpu + driver_cpu) * 100 /
                              std::max<std::uint64_t>(window_ms * 1000 * std::thread::hardware_concurrency(), 1);
    out["driver_starved"] = engine.starved();
    out["errors"] = engine.errors();
    // Against the bound: every validator verifies every transaction once, on all cores, at
    // the speed its own checks ran in the window (CPU time per check, from the validators'
    // status). This shared VM's speed drifts by ±15 % within the hour; a bound measured at
    // another time would carry that drift.
    std::uint64_t checks = 0, check_cpu_us = 0;
    for (std::size_t i = 0; i < sig_end.size(); ++i) {
      checks += sig_end[i].first - sig_warm[i].first;
      check_cpu_us += sig_end[i].second - sig_warm[i].second;
    }
    if (checks > 0 && check_cpu_us > 0) {
      const std::uint64_t per_core = checks * 1'000'000 / check_cpu_us;
      const std::uint64_t bound = per_core * std::thread::hardware_concurrency() / static_cast<std::uint64_t>(n);
      out["verifies_per_core_per_s"] = per_core;
      out["bound_tps"] = bound;
      out["share_of_bound_percent"] = tps * 100 / std::max<std::uint64_t>(bound, 1);
    }
  } else {
    // Fault rounds. Load runs throughout; each round kills the primary, waits for commits to
    // resume without it, restarts it and waits for it to catch up.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    struct Kill {
      int node;
      std::uint64_t killed_us, restarted_us;
    };
    std::vector<Kill> kills;
    for (std::uint64_t round = 0; round < rounds; ++round) {
      int p = -1;
      for (int tries = 0; tries < 100 && p < 0; ++tries) {
        p = cluster->Primary();
        if (p < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (p < 0) {
        std::cerr << "round " << round << ": no primary found\n";
        exit_code = 1;
        break;
      }
      engine.SetUp(p, false);
      const std::uint64_t killed = NowUs();
      cluster->Kill(static_cast<std::size_t>(p));
      std::this_thread::sleep_for(std::chrono::seconds(3));
      cluster->Start(static_cast<std::size_t>(p));
      const std::uint64_t restarted = NowUs();
      kills.push_back({p, killed, restarted});
      // Caught up: its height reaches what the others had when it came back.
      v1::NodeStatus other;
      cluster->Status(static_cast<std::size_t>((p + 1) % n), &other);
      for (int tries = 0; tries < 200; ++tries) {
        v1::NodeStatus s;
        if (cluster->Status(static_cast<std::size_t>(p), &s, 500) && s.height() >= other.height()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      engine.SetUp(p, true);
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    engine.Stop();
    runner.join();
    const std::vector<Record> records = engine.records();

    json rounds_out = json::array();
    for (const Kill& k : kills) {
      // Resumed: the first commit of a transaction sent after the kill.
      std::uint64_t first = 0, during = 0;
      for (const Record& r : records) {
        if (!r.committed) continue;
        if (r.sent_us >= k.killed_us && (first == 0 || r.done_us < first)) first = r.done_us;
        if (r.done_us >= k.killed_us && r.done_us < k.restarted_us) ++during;
      }
      rounds_out.push_back({{"killed", cluster->nodes()[static_cast<std::size_t>(k.node)].name},
                            {"resume_ms", first == 0 ? json(nullptr) : json(Ms(first - k.killed_us))},
                            {"commits_while_down", during}});
      if (first == 0 || during == 0) {
        std::cerr << "FAIL: no commits while " << cluster->nodes()[static_cast<std::size_t>(k.node)].name << " was down\n";
        exit_code = 1;
      }
    }
    out["rounds"] = rounds_out;

    // Every validator at the same height, with the same hash and state root.
    std::vector<v1::NodeStatus> sts(static_cast<std::size_t>(n));
    bool agree = false;
    for (int tries = 0; tries < 300 && !agree; ++tries) {
      agree = true;
      for (int i = 0; i < n; ++i) agree = cluster->Status(static_cast<std::size_t>(i), &sts[static_cast<std::size_t>(i)]) && agree;
      for (int i = 1; i < n && agree; ++i) {
        agree = sts[static_cast<std::size_t>(i)].height() == sts[0].height() &&
                sts[static_cast<std::size_t>(i)].block_hash() == sts[0].block_hash() &&
                sts[static_cast<std::size_t>(i)].state_root() == sts[0].state_root();
      }
      if (!agree) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    out["final_height"] = sts[0].height();
    out["validators_agree"] = agree;
    if (!agree) {
      std::cerr << "FAIL: the validators disagree or do not converge:";
      for (const auto& s : sts) std::cerr << " " << s.height();
      std::cerr << "\n";
      exit_code = 1;
    }
    // Every transaction the client saw committed is in every validator's ledger, at the same place.
    std::uint64_t seen = 0, missing = 0;
    for (const Record& r : records) {
      if (!r.committed) continue;
      ++seen;
      std::uint64_t height = 0;
      for (int i = 0; i < n; ++i) {
        grpc::ClientContext ctx;
        v1::GetTransactionRequest req;
        req.set_id(r.id);
        v1::TransactionResponse resp;
        grpc::Status s = cluster->nodes()[static_cast<std::size_t>(i)].client->GetTransaction(&ctx, req, &resp);
        if (!s.ok() || (i > 0 && resp.outcome().height() != height)) {
          ++missing;
          break;
        }
        height = resp.outcome().height();
      }
    }
    out["seen_committed"] = seen;
    out["missing_or_misplaced"] = missing;
    out["errors"] = engine.errors();
    if (missing != 0 || seen == 0) {
      std::cerr << "FAIL: " << missing << " of " << seen << " committed transactions are missing from some validator\n";
      exit_code = 1;
    }
  }
  for (int i = 0; i < n; ++i) cluster->Stop(static_cast<std::size_t>(i));
  Emit(out, as_json);
  return exit_code;
}
