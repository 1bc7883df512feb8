// nanum-oracle's core: samples in (from any source), signed readings out to the node, and
// nothing lost in between.
//
// A sample is mapped from its device to a configured meter, checked and taken by the
// slotter; a slot it closes becomes a SubmitReading, signed with the oracle's key and
// appended to the on-disk queue in the same synced write as the meter's new state. The
// flusher sends the queue front to the node, one reading at a time and waiting for its
// commit, so readings reach the ledger in the order they were made (the standard's
// store-and-forward). What the ledger says decides what happens to it:
//   ok, duplicate              committed: removed from the queue;
//   slot_not_ended, stale_nonce  re-signed with a new nonce and sent again;
//   anything else              refused for good: moved aside (x/ keys), logged and counted.
// While the node cannot be reached the flusher retries with exponential backoff up to
// max_backoff_ms. A resend after a crash is harmless: the same bytes have the same id,
// which the node reports as already committed (then looked up) or already pending.
//
// Thread safety: every public call is thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "meter_oracle/config.h"
#include "meter_oracle/queue.h"
#include "meter_oracle/sep2.h"

namespace nanum::oracle {

struct OracleOptions {
  Config config;
  PrivateKey key;
  std::string chain_id;
  std::uint64_t slot_ms = 0;
  std::function<std::uint64_t()> clock;  // Unix ms; the wall clock when empty
};

// Counters for metrics and status, read from any thread.
struct OracleCounters {
  std::uint64_t samples_accepted = 0;
  std::map<std::string, std::uint64_t> samples_rejected;   // by slotter reason
  std::map<std::string, std::uint64_t> messages_rejected;  // malformed, unknown_device, …
  std::uint64_t readings_made = 0;
  std::uint64_t readings_committed = 0;
  std::uint64_t readings_duplicate = 0;
  std::map<std::string, std::uint64_t> readings_refused;  // by the ledger's result
  std::uint64_t resigned = 0;
  std::uint64_t submit_failures = 0;  // node unreachable or erring
  std::uint64_t last_commit_height = 0;
  std::uint64_t queue = 0;
  bool node_up = false;
  std::uint64_t flusher_turn_ms = 0;
};

class Oracle {
 public:
  static Status Open(OracleOptions options, std::unique_ptr<Oracle>* out);
  ~Oracle();  // Stop()

  // Starts the flusher and the inputs' readers; Stop waits for them.
  void Start();
  void Stop();

  // ---- Samples in. kInvalidArgument: unknown device, or a malformed message (with why);
  // a sample the slotter rejects is OK here (it was taken in, logged and counted). ----
  Status TakeSample(const Sample& s);
  Status TakePlugJson(Format format, const std::string& device, std::string_view json);
  Status TakeLine(std::string_view line);

  // ---- IEEE 2030.5 Metering Mirror. ----
  // Registers (or finds, by mRID) a usage point; its Location is /mup/{id}.
  Status RegisterUsagePoint(const sep2::UsagePoint& mup, std::string* location, bool* created);
  // Readings posted to /mup/{id}. kNotFound for an unknown id.
  Status PostMirror(std::uint64_t id, const std::vector<sep2::MeterReading>& readings);
  std::vector<sep2::ListedUsagePoint> UsagePoints() const;
  bool UsagePoint(std::uint64_t id, sep2::ListedUsagePoint* out) const;

  // Closes slots whose time has passed (the flusher calls it every turn; tests may too).
  void CloseDueSlots();

  OracleCounters counters() const;
  std::uint64_t now() const { return clock_(); }
  const PublicKey& key() const { return options_.key.public_key(); }

 private:
  explicit Oracle(OracleOptions options);
  // REQUIRES: mu_ held. Persists the meter's new state and the readings it closed.
  Status Commit(const std::string& meter, const MeterState& m, const std::vector<SubmitReading>& closed,
                Queue::Batch* batch);
  void Reject(const std::string& what, const std::string& detail);
  void FlushLoop();
  void ReadInput(const InputConfig& in);
  bool Sleep(std::uint64_t ms);  // false when stopping

  class Client;

  OracleOptions options_;
  std::function<std::uint64_t()> clock_;
  std::unique_ptr<Queue> queue_;
  std::unique_ptr<Client> client_;
  std::map<std::string, const MeterConfig*> by_device_;

  mutable std::mutex mu_;  // guards what follows, and every queue_ call
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};  // set under mu_, read anywhere
  std::map<std::string, MeterState> meters_;
  std::map<std::string, UsagePointRecord> mups_;  // by mRID
  std::uint64_t next_mup_id_ = 1;
  OracleCounters counters_;

  std::thread flusher_;
  std::vector<std::thread> readers_;
};

}  // namespace nanum::oracle
