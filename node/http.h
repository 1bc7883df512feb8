// nanumd's HTTP endpoint (Boost.Beast) for operators and their monitoring:
//   GET /health   200 "ok" while the consensus loop turns; 503 if it has stalled for 2 s.
//   GET /ready    200 "ready" when the node can serve current data: healthy, connected to a
//                 peer (or the community's only validator), and not catching up; else 503
//                 with the reason.
//   GET /metrics  Prometheus text format 0.0.4 (see RenderMetrics).
// Anything else is 404; methods other than GET and HEAD 405. Requests over 8 KiB are refused
// and a connection idle for 5 s is closed.
//
// Thread safety: one I/O thread serves every connection; Start and Stop from one thread.
#pragma once

#include <memory>
#include <string>

#include "ledger/status.h"
#include "node/node.h"

namespace nanum::node {

// The metrics page for a node's status and counters:
//   nanum_height, nanum_view, nanum_epoch, nanum_validator, nanum_primary, nanum_lagging,
//   nanum_mempool_requests, nanum_peers_connected, nanum_transactions_per_second (over the
//   last 10 s), nanum_transactions_committed_total, nanum_blocks_committed_total,
//   nanum_submits_total{result="accepted"|"refused"}, nanum_view_changes_total,
//   nanum_commit_latency_seconds (histogram: accepted here to committed here).
std::string RenderMetrics(const NodeStatusInfo& status, const NodeCounters& counters);

class HttpServer {
 public:
  // Listens on `listen` (host:port; port 0 picks one). kUnavailable if it cannot bind.
  static Status Start(const std::string& listen, const Node* node, std::unique_ptr<HttpServer>* out);
  ~HttpServer();  // Stop()
  void Stop();
  int port() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanum::node
