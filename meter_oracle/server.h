// nanum-oracle's HTTP side (Boost.Beast): the IEEE 2030.5 Metering Mirror, plug JSON,
// health and metrics.
//   GET  /dcap                DeviceCapability, with the MirrorUsagePointListLink
//   GET  /mup                 MirrorUsagePointList
//   POST /mup                 MirrorUsagePoint: 201 with Location /mup/{id} (the same mRID
//                             again: 201 with the same Location)
//   GET  /mup/{id}            that MirrorUsagePoint
//   POST /mup/{id}            MirrorMeterReading, MirrorMeterReadingList or MirrorReadingSet: 201
//   POST /zigbee2mqtt/{name}  a zigbee2mqtt message of that device: 204
//   POST /tasmota/{topic}     a Tasmota tele/…/SENSOR message: 204
//   GET  /health              200 while the flusher turns; 503 if it stalled for 10 s
//   GET  /ready               200 when the node answers; 503 with how many readings wait
//   GET  /metrics             Prometheus text (RenderMetrics)
// 2030.5 bodies must be application/sep+xml (application/xml and text/xml are taken too).
// Malformed documents, wrong document types and unknown devices get 400 with the reason;
// an unknown /mup/{id} 404; bodies over 64 KiB 413; other methods 405.
//
// Thread safety: one I/O thread serves every connection; Start and Stop from one thread.
#pragma once

#include <memory>
#include <string>

#include "ledger/status.h"
#include "meter_oracle/oracle.h"

namespace nanum::oracle {

// nanum_oracle_samples_total{result="accepted"}, nanum_oracle_samples_rejected_total{reason},
// nanum_oracle_messages_rejected_total{reason}, nanum_oracle_readings_made_total,
// nanum_oracle_readings_committed_total, nanum_oracle_readings_duplicate_total,
// nanum_oracle_readings_refused_total{result}, nanum_oracle_readings_resigned_total,
// nanum_oracle_submit_failures_total, nanum_oracle_queue_readings, nanum_oracle_node_up,
// nanum_oracle_last_commit_height.
std::string RenderMetrics(const OracleCounters& c);

class Server {
 public:
  // Listens on `listen` (host:port; port 0 picks one). kUnavailable if it cannot bind.
  static Status Start(const std::string& listen, Oracle* oracle, std::unique_ptr<Server>* out);
  ~Server();  // Stop()
  void Stop();
  int port() const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanum::oracle
