// The oracle's on-disk state; see queue.h.
#include "meter_oracle/queue.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "ledger/encoding.h"

namespace nanum::oracle {
namespace {

constexpr char kPositionKey[] = "c/position";
constexpr char kNonceKey[] = "c/nonce";

std::string Be64(std::uint64_t v) {
  Writer w(8);
  w.U64(v);
  return w.Release();
}

std::uint64_t FromBe64(std::string_view b) {
  Reader r(b, "counter");
  const std::uint64_t v = r.U64();
  return r.Finish().ok() ? v : 0;
}

std::string QueueKey(char kind, std::uint64_t position) { return std::string(1, kind) + "/" + Be64(position); }

Status FromLevelDb(const leveldb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(what);
  if (s.IsCorruption()) return Status::Corruption(std::string(what) + ": " + s.ToString());
  return Status::IOError(std::string(what) + ": " + s.ToString());
}

std::string EncodeUsagePoint(const UsagePointRecord& u) {
  Writer w(256);
  w.U8(1);
  w.U64(u.id);
  w.Bytes(u.mrid);
  w.Bytes(u.description);
  w.Bytes(u.device_lfdi);
  w.U32(static_cast<std::uint32_t>(u.types.size()));
  for (const auto& [mrid, t] : u.types) {
    w.Bytes(mrid);
    w.U32(t.uom);
    w.I64(t.power_of_ten);
    w.U32(t.flow_direction);
    w.U32(t.accumulation);
  }
  return w.Release();
}

Status DecodeUsagePoint(std::string_view b, UsagePointRecord* u) {
  Reader r(b, "usage point");
  if (r.U8() != 1 && r.ok()) return Status::Corruption("usage point: unknown version");
  u->id = r.U64();
  u->mrid = std::string(r.Bytes(64, "mRID"));
  u->description = std::string(r.Bytes(64, "description"));
  u->device_lfdi = std::string(r.Bytes(64, "deviceLFDI"));
  const std::uint32_t n = r.Count(256, 12, "reading types");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    const std::string mrid(r.Bytes(64, "mRID"));
    sep2::ReadingType t;
    t.uom = r.U32();
    t.power_of_ten = static_cast<std::int32_t>(r.I64());
    t.flow_direction = r.U32();
    t.accumulation = r.U32();
    u->types[mrid] = t;
  }
  return r.Finish();
}

std::string RefusedValue(const std::string& envelope, const std::string& why) {
  Writer w(envelope.size() + why.size() + 8);
  w.Bytes(envelope);
  w.Bytes(why);
  return w.Release();
}

}  // namespace

Queue::~Queue() = default;

Status Queue::Open(const std::string& dir, std::unique_ptr<Queue>* out) {
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    return Status::IOError("cannot open the oracle's store " + dir + ": " + s.ToString() +
                           (s.IsIOError() ? " (is another nanum-oracle using it?)" : ""));
  }
  std::unique_ptr<Queue> q(new Queue());
  q->db_.reset(db);
  std::string v;
  if (db->Get(leveldb::ReadOptions(), kPositionKey, &v).ok()) q->last_position_ = FromBe64(v);
  if (db->Get(leveldb::ReadOptions(), kNonceKey, &v).ok()) q->last_nonce_ = FromBe64(v);
  NANUM_RETURN_IF_ERROR(q->Count());
  *out = std::move(q);
  return Status::OK();
}

Status Queue::Count() {
  pending_ = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("q/"); it->Valid() && it->key().starts_with("q/"); it->Next()) ++pending_;
  return FromLevelDb(it->status(), "reading the queue");
}

void Queue::Batch::PutMeter(const std::string& meter, const MeterState& m) { meters_[meter] = m; }
void Queue::Batch::Append(std::string envelope, std::uint64_t nonce) { appends_.emplace_back(std::move(envelope), nonce); }
void Queue::Batch::PutUsagePoint(const UsagePointRecord& u) { mups_.push_back(u); }

Status Queue::Write(const Batch& b) {
  leveldb::WriteBatch wb;
  for (const auto& [meter, m] : b.meters_) wb.Put("s/" + meter, m.Encode());
  std::uint64_t position = last_position_, nonce = last_nonce_;
  for (const auto& [envelope, n] : b.appends_) {
    wb.Put(QueueKey('q', ++position), envelope);
    nonce = std::max(nonce, n);
  }
  for (const UsagePointRecord& u : b.mups_) wb.Put("u/" + u.mrid, EncodeUsagePoint(u));
  if (!b.appends_.empty()) {
    wb.Put(kPositionKey, Be64(position));
    wb.Put(kNonceKey, Be64(nonce));
  }
  leveldb::WriteOptions wo;
  wo.sync = true;
  NANUM_RETURN_IF_ERROR(FromLevelDb(db_->Write(wo, &wb), "writing the oracle's store"));
  last_position_ = position;
  last_nonce_ = nonce;
  pending_ += b.appends_.size();
  return Status::OK();
}

Status Queue::Pending(std::size_t max, std::vector<QueuedReading>* out) const {
  out->clear();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("q/"); it->Valid() && it->key().starts_with("q/") && out->size() < max; it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    out->push_back({FromBe64(k.substr(2)), it->value().ToString(), ""});
  }
  return FromLevelDb(it->status(), "reading the queue");
}

Status Queue::Remove(std::uint64_t position) {
  leveldb::WriteOptions wo;
  wo.sync = true;
  NANUM_RETURN_IF_ERROR(FromLevelDb(db_->Delete(wo, QueueKey('q', position)), "removing a reading"));
  if (pending_ > 0) --pending_;
  return Status::OK();
}

Status Queue::Replace(std::uint64_t position, const std::string& envelope, std::uint64_t nonce) {
  leveldb::WriteBatch wb;
  wb.Put(QueueKey('q', position), envelope);
  const std::uint64_t n = std::max(nonce, last_nonce_);
  wb.Put(kNonceKey, Be64(n));
  leveldb::WriteOptions wo;
  wo.sync = true;
  NANUM_RETURN_IF_ERROR(FromLevelDb(db_->Write(wo, &wb), "re-signing a reading"));
  last_nonce_ = n;
  return Status::OK();
}

Status Queue::Refuse(std::uint64_t position, const std::string& why) {
  std::string envelope;
  NANUM_RETURN_IF_ERROR(FromLevelDb(db_->Get(leveldb::ReadOptions(), QueueKey('q', position), &envelope), "a reading"));
  leveldb::WriteBatch wb;
  wb.Delete(QueueKey('q', position));
  wb.Put(QueueKey('x', position), RefusedValue(envelope, why));
  leveldb::WriteOptions wo;
  wo.sync = true;
  NANUM_RETURN_IF_ERROR(FromLevelDb(db_->Write(wo, &wb), "refusing a reading"));
  if (pending_ > 0) --pending_;
  return Status::OK();
}

Status Queue::Refused(std::size_t max, std::vector<QueuedReading>* out) const {
  out->clear();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("x/"); it->Valid() && it->key().starts_with("x/") && out->size() < max; it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    Reader r(std::string_view(it->value().data(), it->value().size()), "refused reading");
    QueuedReading q{FromBe64(k.substr(2)), std::string(r.Bytes(1 << 16, "envelope")), std::string(r.Bytes(4096, "why"))};
    NANUM_RETURN_IF_ERROR(r.Finish());
    out->push_back(std::move(q));
  }
  return FromLevelDb(it->status(), "reading the refused readings");
}

Status Queue::Meters(std::map<std::string, MeterState>* out) const {
  out->clear();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("s/"); it->Valid() && it->key().starts_with("s/"); it->Next()) {
    MeterState m;
    NANUM_RETURN_IF_ERROR(MeterState::Decode(std::string_view(it->value().data(), it->value().size()), &m)
                              .Prefixed("meter " + it->key().ToString().substr(2)));
    (*out)[it->key().ToString().substr(2)] = m;
  }
  return FromLevelDb(it->status(), "reading the meters");
}

Status Queue::UsagePoints(std::vector<UsagePointRecord>* out) const {
  out->clear();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("u/"); it->Valid() && it->key().starts_with("u/"); it->Next()) {
    UsagePointRecord u;
    NANUM_RETURN_IF_ERROR(DecodeUsagePoint(std::string_view(it->value().data(), it->value().size()), &u));
    out->push_back(std::move(u));
  }
  return FromLevelDb(it->status(), "reading the usage points");
}

Status Queue::Reset(std::uint64_t* dropped) {
  leveldb::WriteBatch wb;
  std::uint64_t n = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (const char* prefix : {"q/", "x/"}) {
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      wb.Delete(it->key());
      ++n;
    }
  }
  NANUM_RETURN_IF_ERROR(FromLevelDb(it->status(), "reading the queue"));
  leveldb::WriteOptions wo;
  wo.sync = true;
  NANUM_RETURN_IF_ERROR(FromLevelDb(db_->Write(wo, &wb), "resetting the stored readings"));
  pending_ = 0;
  *dropped = n;
  return Status::OK();
}

}  // namespace nanum::oracle
