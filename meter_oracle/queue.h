// The oracle's on-disk state (LevelDB): the signed readings waiting for the ledger, in the
// order they were made, and what the oracle must remember between runs.
//
// Keys:
//   q/<position u64 BE>   a signed reading transaction (envelope bytes), until committed
//   x/<position u64 BE>   one the ledger refused for good (kept for the operator), with why
//   s/<meter id>          the meter's MeterState (slotter.h)
//   u/<mRID>              an IEEE 2030.5 MirrorUsagePoint registration
//   c/position, c/nonce   the last queue position and transaction nonce used
// Every change is one synced WriteBatch: a sample's new meter state and the readings it
// closed (signed, with their nonces) land together or not at all, so a crash at any instant
// neither loses a reading nor makes one twice.
//
// Thread safety: LevelDB's; the oracle serialises writers with its own mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "meter_oracle/sep2.h"
#include "meter_oracle/slotter.h"

namespace leveldb {
class DB;
}

namespace nanum::oracle {

struct QueuedReading {
  std::uint64_t position = 0;
  std::string envelope;  // the signed transaction
  std::string why;       // for refused ones: the ledger's result
};

struct UsagePointRecord {
  std::uint64_t id = 0;  // its /mup/{id}
  std::string mrid, description, device_lfdi;
  std::map<std::string, sep2::ReadingType> types;  // by MirrorMeterReading mRID
};

class Queue {
 public:
  // Opens (creating) the LevelDB at `dir`. kIOError if another process holds it.
  static Status Open(const std::string& dir, std::unique_ptr<Queue>* out);
  ~Queue();

  // ---- Counters, read once at open and kept in memory. ----
  std::uint64_t last_nonce() const { return last_nonce_; }
  std::uint64_t last_position() const { return last_position_; }

  // ---- One atomic change. ----
  class Batch {
   public:
    void PutMeter(const std::string& meter, const MeterState& m);
    // Appends a signed reading at the next position; `nonce` becomes the last nonce.
    void Append(std::string envelope, std::uint64_t nonce);
    void PutUsagePoint(const UsagePointRecord& u);

   private:
    friend class Queue;
    std::map<std::string, MeterState> meters_;
    std::vector<std::pair<std::string, std::uint64_t>> appends_;
    std::vector<UsagePointRecord> mups_;
  };
  Status Write(const Batch& b);

  // ---- The queue. ----
  // Up to `max` pending readings from the front, in order.
  Status Pending(std::size_t max, std::vector<QueuedReading>* out) const;
  std::size_t pending() const { return pending_; }
  Status Remove(std::uint64_t position);
  // Replaces a pending reading's envelope (re-signed with a new nonce).
  Status Replace(std::uint64_t position, const std::string& envelope, std::uint64_t nonce);
  // Moves a pending reading to the refused ones, with the ledger's reason.
  Status Refuse(std::uint64_t position, const std::string& why);
  Status Refused(std::size_t max, std::vector<QueuedReading>* out) const;

  // ---- State. ----
  Status Meters(std::map<std::string, MeterState>* out) const;
  Status UsagePoints(std::vector<UsagePointRecord>* out) const;

  // The operator's reset: drops every pending and refused reading and every meter's open
  // slot (the standard's "stored readings can be reset"). Sequence numbers and nonces stay,
  // so what the oracle makes afterwards is still accepted. Returns how many were dropped.
  Status Reset(std::uint64_t* dropped);

 private:
  Queue() = default;
  Status Count();

  std::unique_ptr<leveldb::DB> db_;
  std::uint64_t last_nonce_ = 0;
  std::uint64_t last_position_ = 0;
  std::size_t pending_ = 0;
};

}  // namespace nanum::oracle
