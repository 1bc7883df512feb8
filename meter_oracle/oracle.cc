// nanum-oracle's core; see oracle.h.
#include "meter_oracle/oracle.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include <grpcpp/grpcpp.h>

#include "ledger/file.h"
#include "ledger/log.h"
#include "ledger/transaction.h"
#include "nanum/v1/node.grpc.pb.h"

namespace nanum::oracle {
namespace {

namespace pb = ::nanum::v1;

constexpr std::uint32_t kResultOk = 0, kResultDuplicate = 1, kResultStaleNonce = 12, kResultSlotNotEnded = 53;
constexpr std::size_t kMaxLineBytes = 64 * 1024;

std::uint64_t WallMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string ReadingName(const SubmitReading& r) { return r.meter_id + " slot " + std::to_string(r.slot); }

}  // namespace

// The node, as the flusher sees it.
class Oracle::Client {
 public:
  enum class Kind { kCommitted, kPending, kStaleNonce, kUnreachable, kError };
  struct Result {
    Kind kind = Kind::kError;
    std::uint32_t code = 0;
    std::string name;  // the ledger's result name, or the error
    std::uint64_t height = 0;
  };

  Client(std::shared_ptr<grpc::Channel> channel, std::uint64_t timeout_ms)
      : client_(pb::Nanum::NewStub(std::move(channel))), timeout_ms_(timeout_ms) {}

  Result Submit(const Transaction& tx) {
    pb::SubmitRequest req;
    req.mutable_tx()->set_body(tx.body_bytes());
    req.mutable_tx()->set_signature(std::string(reinterpret_cast<const char*>(tx.signature().data()), tx.signature().size()));
    req.set_wait_for_commit(true);
    req.set_timeout_ms(static_cast<std::uint32_t>(timeout_ms_));
    pb::SubmitResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_ + 2000));
    const grpc::Status s = client_->Submit(&ctx, req, &resp);
    if (s.ok()) {
      if (!resp.committed()) return {Kind::kPending, 0, "not committed yet", 0};
      return {Kind::kCommitted, resp.outcome().result_code(), resp.outcome().result(), resp.outcome().height()};
    }
    switch (s.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
      case grpc::StatusCode::CANCELLED:
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return {Kind::kUnreachable, 0, s.error_message(), 0};
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::FAILED_PRECONDITION:
      case grpc::StatusCode::ALREADY_EXISTS: {
        // Already committed (look it up), already pending, or a nonce the ledger has passed.
        Result found = Lookup(tx.id());
        if (found.kind != Kind::kPending) return found;
        if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) return {Kind::kStaleNonce, 0, s.error_message(), 0};
        if (s.error_message().find("pending") != std::string::npos) return found;
        return {Kind::kError, 0, s.error_message(), 0};
      }
      default:
        return {Kind::kError, 0, s.error_message(), 0};
    }
  }

  // kCommitted if the ledger has it, kPending if not (yet), kUnreachable on a network error.
  Result Lookup(const Hash256& id) {
    pb::GetTransactionRequest req;
    req.set_id(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
    pb::TransactionResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    const grpc::Status s = client_->GetTransaction(&ctx, req, &resp);
    if (s.ok()) return {Kind::kCommitted, resp.outcome().result_code(), resp.outcome().result(), resp.outcome().height()};
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return {Kind::kPending, 0, "not in the ledger", 0};
    return {Kind::kUnreachable, 0, s.error_message(), 0};
  }

  // The nonce the key's next transaction should carry, or 0 if the node cannot say.
  std::uint64_t NextNonce(const PublicKey& key) {
    pb::GetNextNonceRequest req;
    req.set_key(std::string(reinterpret_cast<const char*>(key.bytes().data()), key.bytes().size()));
    pb::GetNextNonceResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return client_->GetNextNonce(&ctx, req, &resp).ok() ? resp.next_nonce() : 0;
  }

  // The meter as the ledger has it; false if the node cannot say.
  bool Meter(const std::string& id, pb::MeterInfo* out, grpc::StatusCode* code) {
    pb::GetMeterRequest req;
    req.set_id(id);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    const grpc::Status s = client_->GetMeter(&ctx, req, out);
    *code = s.error_code();
    return s.ok();
  }

 private:
  std::unique_ptr<pb::Nanum::Stub> client_;
  std::uint64_t timeout_ms_;
};

Oracle::Oracle(OracleOptions options) : options_(std::move(options)) {
  clock_ = options_.clock ? options_.clock : WallMs;
}

Oracle::~Oracle() { Stop(); }

Status Oracle::Open(OracleOptions options, std::unique_ptr<Oracle>* out) {
  if (options.slot_ms == 0) return Status::InvalidArgument("the slot length is 0");
  std::unique_ptr<Oracle> o(new Oracle(std::move(options)));
  const Config& c = o->options_.config;
  for (const MeterConfig& m : c.meters) o->by_device_[m.device] = &m;
  NANUM_RETURN_IF_ERROR(Queue::Open(c.data_dir, &o->queue_));
  NANUM_RETURN_IF_ERROR(o->queue_->Meters(&o->meters_));
  std::vector<UsagePointRecord> mups;
  NANUM_RETURN_IF_ERROR(o->queue_->UsagePoints(&mups));
  for (UsagePointRecord& u : mups) {
    o->next_mup_id_ = std::max(o->next_mup_id_, u.id + 1);
    o->mups_[u.mrid] = std::move(u);
  }
  o->counters_.queue = o->queue_->pending();

  std::shared_ptr<grpc::Channel> channel;
  if (c.tls.ca_file.empty()) {
    if (!c.tls.cert_file.empty()) return Status::InvalidArgument("node.tls_cert_file needs node.tls_ca_file");
    channel = grpc::CreateChannel(c.node, grpc::InsecureChannelCredentials());
  } else {
    if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
      return Status::InvalidArgument("node.tls_cert_file and node.tls_key_file go together");
    }
    grpc::SslCredentialsOptions ssl;
    NANUM_RETURN_IF_ERROR(ReadFile(c.tls.ca_file, "TLS CA file", &ssl.pem_root_certs, 1 << 20));
    if (!c.tls.cert_file.empty()) {
      NANUM_RETURN_IF_ERROR(ReadFile(c.tls.cert_file, "TLS certificate file", &ssl.pem_cert_chain, 1 << 20));
      NANUM_RETURN_IF_ERROR(ReadFile(c.tls.key_file, "TLS key file", &ssl.pem_private_key, 1 << 20));
    }
    grpc::ChannelArguments args;
    if (!c.tls.server_name.empty()) args.SetSslTargetNameOverride(c.tls.server_name);
    channel = grpc::CreateCustomChannel(c.node, grpc::SslCredentials(ssl), args);
  }
  o->client_ = std::make_unique<Client>(std::move(channel), c.submit_timeout_ms);
  *out = std::move(o);
  return Status::OK();
}

void Oracle::Start() {
  flusher_ = std::thread([this] { FlushLoop(); });
  for (const InputConfig& in : options_.config.inputs) readers_.emplace_back([this, &in] { ReadInput(in); });
}

void Oracle::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  for (std::thread& t : readers_) {
    if (t.joinable()) t.join();
  }
  readers_.clear();
}

bool Oracle::Sleep(std::uint64_t ms) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
  return !stop_;
}

Status Oracle::Commit(const std::string& meter, const MeterState& m, const std::vector<SubmitReading>& closed,
                      Queue::Batch* batch) {
  batch->PutMeter(meter, m);
  std::uint64_t nonce = queue_->last_nonce();
  for (const SubmitReading& r : closed) {
    TxBody body{options_.chain_id, options_.key.public_key(), ++nonce, Payload(r)};
    batch->Append(Transaction::Sign(body, options_.key).Encode(), nonce);
  }
  NANUM_RETURN_IF_ERROR(queue_->Write(*batch));
  meters_[meter] = m;
  counters_.readings_made += closed.size();
  counters_.queue = queue_->pending();
  for (const SubmitReading& r : closed) {
    Log(Level::kInfo, "reading made",
        {{"meter", r.meter_id}, {"slot", std::to_string(r.slot)}, {"sequence", std::to_string(r.sequence)},
         {"import_wh", std::to_string(r.import_wh)}, {"export_wh", std::to_string(r.export_wh)},
         {"cum_import_wh", std::to_string(r.cum_import_wh)}, {"cum_export_wh", std::to_string(r.cum_export_wh)}});
  }
  if (!closed.empty()) cv_.notify_all();
  return Status::OK();
}

void Oracle::Reject(const std::string& what, const std::string& detail) {
  Log(Level::kWarn, "message rejected", {{"reason", what}, {"detail", detail}});
  std::lock_guard<std::mutex> l(mu_);
  ++counters_.messages_rejected[what];
}

Status Oracle::TakeSample(const Sample& s) {
  auto dev = by_device_.find(s.device);
  if (dev == by_device_.end()) {
    Reject("unknown_device", s.device);
    return Status::InvalidArgument("unknown device " + s.device + ": no [[meter]] has device = \"" + s.device + "\"");
  }
  const std::string& meter = dev->second->id;
  std::lock_guard<std::mutex> l(mu_);
  MeterState m = meters_[meter];
  SampleResult r = oracle::TakeSample(&m, meter, s, clock_(), options_.slot_ms, options_.config.limits);
  if (r.rejected) {
    ++counters_.samples_rejected[RejectName(*r.rejected)];
    Log(Level::kWarn, "sample rejected",
        {{"meter", meter}, {"device", s.device}, {"reason", RejectName(*r.rejected)}, {"detail", r.detail}});
    return Status::OK();
  }
  Queue::Batch batch;
  if (Status st = Commit(meter, m, r.closed, &batch); !st.ok()) {
    Log(Level::kError, "cannot store a sample", {{"meter", meter}, {"error", st.ToString()}});
    return Status::IOError("the oracle cannot store the sample: " + st.ToString());
  }
  ++counters_.samples_accepted;
  return Status::OK();
}

Status Oracle::TakePlugJson(Format format, const std::string& device, std::string_view json) {
  auto dev = by_device_.find(device);
  if (dev == by_device_.end()) {
    Reject("unknown_device", device);
    return Status::InvalidArgument("unknown device " + device + ": no [[meter]] has device = \"" + device + "\"");
  }
  Sample s;
  Status st = ParsePlugJson(format, device, dev->second->flow, json, clock_(), &s);
  if (st.IsNotFound()) return Status::OK();  // a message without a measurement
  if (!st.ok()) {
    Reject("malformed", device + ": " + st.message());
    return st;
  }
  return TakeSample(s);
}

Status Oracle::TakeLine(std::string_view line) {
  if (line.empty()) return Status::OK();
  Format format;
  std::string device;
  std::string_view json;
  Status st = ParseTopicLine(line, &format, &device, &json);
  if (st.IsNotFound()) return Status::OK();
  if (!st.ok()) {
    Reject("malformed", st.message());
    return st;
  }
  return TakePlugJson(format, device, json);
}

Status Oracle::RegisterUsagePoint(const sep2::UsagePoint& mup, std::string* location, bool* created) {
  auto dev = by_device_.find(mup.mrid);
  if (dev == by_device_.end()) {
    Reject("unknown_device", "MirrorUsagePoint " + mup.mrid);
    return Status::InvalidArgument("unknown device: no [[meter]] has device = \"" + mup.mrid +
                                   "\" (the MirrorUsagePoint's mRID)");
  }
  std::vector<Sample> samples;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = mups_.find(mup.mrid);
    UsagePointRecord u = it != mups_.end() ? it->second : UsagePointRecord{next_mup_id_, mup.mrid, "", "", {}};
    *created = it == mups_.end();
    u.description = mup.description;
    u.device_lfdi = mup.device_lfdi;
    for (const sep2::MeterReading& mr : mup.readings) u.types[mr.mrid] = *mr.type;
    NANUM_RETURN_IF_ERROR(sep2::ToSamples(mup.mrid, u.types, mup.readings, clock_(), &samples));
    Queue::Batch batch;
    batch.PutUsagePoint(u);
    NANUM_RETURN_IF_ERROR(queue_->Write(batch));
    if (*created) ++next_mup_id_;
    *location = "/mup/" + std::to_string(u.id);
    mups_[u.mrid] = std::move(u);
  }
  for (const Sample& s : samples) NANUM_RETURN_IF_ERROR(TakeSample(s));
  return Status::OK();
}

Status Oracle::PostMirror(std::uint64_t id, const std::vector<sep2::MeterReading>& readings) {
  std::vector<Sample> samples;
  {
    std::lock_guard<std::mutex> l(mu_);
    const UsagePointRecord* u = nullptr;
    for (const auto& [mrid, rec] : mups_) {
      if (rec.id == id) u = &rec;
    }
    if (u == nullptr) return Status::NotFound("no MirrorUsagePoint /mup/" + std::to_string(id) + "; POST /mup first");
    std::vector<sep2::MeterReading> rs = readings;
    for (sep2::MeterReading& mr : rs) {
      if (!mr.mrid.empty()) continue;  // a MirrorReadingSet alone
      if (u->types.size() != 1) {
        return Status::InvalidArgument("a MirrorReadingSet alone is ambiguous for a usage point with " +
                                       std::to_string(u->types.size()) +
                                       " meter readings; post it inside its MirrorMeterReading");
      }
      mr.mrid = u->types.begin()->first;
    }
    NANUM_RETURN_IF_ERROR(sep2::ToSamples(u->mrid, u->types, rs, clock_(), &samples));
  }
  for (const Sample& s : samples) NANUM_RETURN_IF_ERROR(TakeSample(s));
  return Status::OK();
}

std::vector<sep2::ListedUsagePoint> Oracle::UsagePoints() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<sep2::ListedUsagePoint> out;
  for (const auto& [mrid, u] : mups_) out.push_back({"/mup/" + std::to_string(u.id), u.mrid, u.description, u.device_lfdi});
  return out;
}

bool Oracle::UsagePoint(std::uint64_t id, sep2::ListedUsagePoint* out) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [mrid, u] : mups_) {
    if (u.id == id) {
      *out = {"/mup/" + std::to_string(u.id), u.mrid, u.description, u.device_lfdi};
      return true;
    }
  }
  return false;
}

void Oracle::CloseDueSlots() {
  std::lock_guard<std::mutex> l(mu_);
  const std::uint64_t now = clock_();
  for (const MeterConfig& mc : options_.config.meters) {
    auto it = meters_.find(mc.id);
    if (it == meters_.end()) continue;
    MeterState m = it->second;
    std::optional<SubmitReading> r = CloseIfDue(&m, mc.id, now, options_.slot_ms, options_.config.limits);
    if (!r) continue;
    Queue::Batch batch;
    if (Status st = Commit(mc.id, m, {*r}, &batch); !st.ok()) {
      Log(Level::kError, "cannot store a reading", {{"meter", mc.id}, {"error", st.ToString()}});
    }
  }
}

OracleCounters Oracle::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

void Oracle::FlushLoop() {
  std::uint64_t backoff_ms = 250;
  std::mt19937_64 jitter(std::random_device{}());
  bool checked_meters = false;
  bool said_down = false;  // logged once per outage, and once if the node was never reached
  auto unreachable = [&](const std::string& why) {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++counters_.submit_failures;
      if (!said_down) {
        Log(Level::kWarn, "node unreachable; readings stay queued",
            {{"node", options_.config.node}, {"error", why}, {"queued", std::to_string(queue_->pending())}});
      }
      said_down = true;
      counters_.node_up = false;
    }
    const std::uint64_t wait = backoff_ms / 2 + jitter() % (backoff_ms / 2 + 1);
    backoff_ms = std::min(backoff_ms * 2, options_.config.max_backoff_ms);
    return Sleep(wait);
  };
  auto up = [&] {
    backoff_ms = 250;
    std::lock_guard<std::mutex> l(mu_);
    if (!counters_.node_up) Log(Level::kInfo, "node reachable", {{"node", options_.config.node}});
    counters_.node_up = true;
    said_down = false;
  };
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
      counters_.flusher_turn_ms = clock_();
    }
    CloseDueSlots();
    if (!checked_meters) {
      // Once, when the node first answers: are the meters bound to this oracle's key?
      bool reached = true;
      for (const MeterConfig& mc : options_.config.meters) {
        pb::MeterInfo info;
        grpc::StatusCode code;
        if (!client_->Meter(mc.id, &info, &code)) {
          if (code == grpc::StatusCode::NOT_FOUND) {
            Log(Level::kError, "the ledger has no such meter; its readings will be refused", {{"meter", mc.id}});
            continue;
          }
          reached = false;
          break;
        }
        if (info.oracle() != std::string(reinterpret_cast<const char*>(key().bytes().data()), key().bytes().size())) {
          Log(Level::kError, "the meter is bound to another oracle key; its readings will be refused",
              {{"meter", mc.id}, {"our_key", key().Hex()}});
        }
      }
      checked_meters = reached;
    }
    std::vector<QueuedReading> front;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (Status s = queue_->Pending(1, &front); !s.ok()) {
        Log(Level::kError, "cannot read the queue", {{"error", s.ToString()}});
        front.clear();
      }
    }
    if (front.empty()) {
      if (!Sleep(100)) return;
      continue;
    }
    const QueuedReading& q = front[0];
    Transaction tx;
    if (Status s = Transaction::Decode(q.envelope, &tx); !s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      Log(Level::kError, "a queued reading does not decode; moved aside", {{"error", s.ToString()}});
      (void)queue_->Refuse(q.position, "undecodable: " + s.ToString());
      counters_.queue = queue_->pending();
      continue;
    }
    const SubmitReading& r = std::get<SubmitReading>(tx.body().payload);
    Client::Result res = client_->Submit(tx);
    switch (res.kind) {
      case Client::Kind::kUnreachable:
        if (!unreachable(res.name)) return;
        continue;
      case Client::Kind::kPending:
        up();
        if (!Sleep(200)) return;
        continue;
      case Client::Kind::kError: {
        {
          std::lock_guard<std::mutex> l(mu_);
          ++counters_.submit_failures;
        }
        Log(Level::kError, "the node refused a reading; retrying", {{"reading", ReadingName(r)}, {"error", res.name}});
        if (!unreachable(res.name)) return;
        continue;
      }
      case Client::Kind::kStaleNonce:
      case Client::Kind::kCommitted:
        break;
    }
    up();
    const bool resign = res.kind == Client::Kind::kStaleNonce ||
                        (res.kind == Client::Kind::kCommitted &&
                         (res.code == kResultStaleNonce || res.code == kResultSlotNotEnded));
    if (resign) {
      // A new nonce above both ours and what the node knows of this key.
      const std::uint64_t node_next = client_->NextNonce(key());
      std::lock_guard<std::mutex> l(mu_);
      TxBody body = tx.body();
      body.nonce = std::max(queue_->last_nonce() + 1, node_next);
      const std::string envelope = Transaction::Sign(body, options_.key).Encode();
      if (Status s = queue_->Replace(q.position, envelope, body.nonce); !s.ok()) {
        Log(Level::kError, "cannot re-sign a reading", {{"error", s.ToString()}});
      }
      ++counters_.resigned;
      Log(Level::kInfo, "reading re-signed",
          {{"reading", ReadingName(r)}, {"why", res.kind == Client::Kind::kStaleNonce ? "stale_nonce" : res.name},
           {"nonce", std::to_string(body.nonce)}});
      if (res.code == kResultSlotNotEnded && !Sleep(500)) return;  // block time is behind our clock
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (res.code == kResultOk || res.code == kResultDuplicate) {
      if (Status s = queue_->Remove(q.position); !s.ok()) {
        Log(Level::kError, "cannot remove a committed reading", {{"error", s.ToString()}});
      }
      ++(res.code == kResultOk ? counters_.readings_committed : counters_.readings_duplicate);
      counters_.last_commit_height = std::max(counters_.last_commit_height, res.height);
      Log(Level::kInfo, "reading committed",
          {{"reading", ReadingName(r)}, {"sequence", std::to_string(r.sequence)}, {"height", std::to_string(res.height)},
           {"result", res.code == kResultOk ? "ok" : "duplicate"}});
    } else {
      if (Status s = queue_->Refuse(q.position, res.name); !s.ok()) {
        Log(Level::kError, "cannot move a refused reading aside", {{"error", s.ToString()}});
      }
      ++counters_.readings_refused[res.name];
      Log(Level::kError, "the ledger refused a reading; kept aside for the operator",
          {{"reading", ReadingName(r)}, {"sequence", std::to_string(r.sequence)}, {"result", res.name}});
    }
    counters_.queue = queue_->pending();
  }
}

void Oracle::ReadInput(const InputConfig& in) {
  const bool pipe = in.kind == InputConfig::Kind::kPipe;
  std::string partial;
  int fd = -1;
  auto take = [&](const char* data, std::size_t n) {
    partial.append(data, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      (void)TakeLine(std::string_view(partial).substr(start, nl - start));
    }
    partial.erase(0, start);
    if (partial.size() > kMaxLineBytes) {
      Reject("malformed", in.path + ": a line longer than 64 KiB");
      partial.clear();
    }
  };
  while (!stop_) {
    if (fd < 0) {
      fd = in.path == "-" ? dup(STDIN_FILENO) : ::open(in.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        if (!Sleep(1000)) break;
        continue;
      }
      Log(Level::kInfo, "reading input", {{"path", in.path}, {"kind", pipe ? "pipe" : "file"}});
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = pipe ? ::poll(&p, 1, 200) : 1;
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buf[8192];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      take(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      if (pipe) {  // the writer went away: reopen and wait for the next
        ::close(fd);
        fd = -1;
        if (in.path == "-") break;
      }
      if (!Sleep(200)) break;
    } else if (errno != EAGAIN && errno != EINTR) {
      Log(Level::kWarn, "input read failed", {{"path", in.path}, {"error", std::strerror(errno)}});
      ::close(fd);
      fd = -1;
      if (!Sleep(1000)) break;
    } else if (!pipe && !Sleep(200)) {
      break;
    }
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace nanum::oracle
