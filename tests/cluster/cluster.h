// A community of real nanumd processes on loopback, for the integration, fault and load
// tests: made with `nanumctl init`, each node started with fork and exec, its log in
// DIR/<node>.log, and talked to only over the gRPC API.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nanum/v1/node.grpc.pb.h"

namespace nanum::cluster {

struct ClusterOptions {
  std::string dir;        // made by Create; must not exist or be empty
  std::string nanumd;     // binaries
  std::string nanumctl;
  int validators = 4;
  int followers = 0;
  int household_count = 0;
  std::vector<std::string> households;
  std::uint64_t slot_seconds = 0;  // 0: the default
  int base_port = 0;               // 0: a free block, see FreePortBase
  std::string consensus_toml;      // appended to every node's config as [consensus]
};

struct NodeProc {
  std::string name;  // validator-0, …, follower-0, …
  std::string config;
  std::string api;   // 127.0.0.1:port
  pid_t pid = 0;
  std::unique_ptr<v1::Nanum::Stub> client;
};

// A base port B such that B+i (API), B+100+i (peers) and B+200+i (HTTP) for i < 100, and
// B+300..B+399 for the test's own use, are all free on 127.0.0.1 now. Candidates lie below
// Linux's ephemeral range (32768+), where outgoing connections take their local ports, and
// start from the process id, so that tests running side by side pick different blocks.
int FreePortBase(int nodes);

// Runs a shell command; returns its exit code (-1 if it did not exit), its stdout and
// stderr in `out`.
int Shell(const std::string& command, std::string* out);

class Cluster {
 public:
  // Runs nanumctl init and writes the consensus settings; starts nothing.
  static bool Create(const ClusterOptions& options, std::unique_ptr<Cluster>* out, std::string* error);
  ~Cluster();  // SIGKILLs whatever still runs

  bool Start(std::size_t i);         // fork and exec nanumd
  void Kill(std::size_t i);          // SIGKILL and reap
  bool Stop(std::size_t i);          // SIGTERM, wait up to 10 s; true if it exited 0
  bool running(std::size_t i) const { return nodes_[i].pid != 0; }

  // Waits until every node answers GetStatus (up to timeout_ms). On false, `why` (if given)
  // names the node that did not answer, whether it exited, and the end of its log.
  bool WaitUntilUp(std::uint64_t timeout_ms, std::string* why = nullptr);
  bool Status(std::size_t i, v1::NodeStatus* out, std::uint64_t timeout_ms = 2000);
  // The index of the validator that says it is primary, or -1.
  int Primary();
  // Runs nanumctl with `args` (--node is the node's API); returns its exit code, its stdout
  // and stderr in `out`. With `interrupt_after_s`, it is interrupted (SIGINT) after that
  // long, for commands that follow a node until stopped.
  int Ctl(std::size_t i, const std::string& args, std::string* out, int interrupt_after_s = 0);

  std::vector<NodeProc>& nodes() { return nodes_; }
  const ClusterOptions& options() const { return options_; }
  std::string KeyFile(const std::string& name) const { return options_.dir + "/keys/" + name + ".key"; }

 private:
  ClusterOptions options_;
  std::vector<NodeProc> nodes_;
};

}  // namespace nanum::cluster
