// Encoding of PBFT messages; the layout is documented in messages.h.
#include "consensus/messages.h"

#include <type_traits>

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum::pbft {
namespace {

constexpr std::size_t kVoteBytes = 32 + 64;
constexpr std::size_t kMaxHeaderBytes = 1024;

void PutVotes(Writer& w, const std::vector<Vote>& votes) {
  w.U32(static_cast<std::uint32_t>(votes.size()));
  for (const Vote& v : votes) {
    w.Fixed(v.from.bytes());
    w.Fixed(v.sig);
  }
}

std::vector<Vote> GetVotes(Reader& r, std::string_view what) {
  const std::uint32_t n = r.Count(kMaxValidators, kVoteBytes, what);
  std::vector<Vote> votes(n);
  for (Vote& v : votes) {
    v.from = PublicKey::FromBytesUnchecked(r.Fixed<32>());
    v.sig = r.Fixed<64>();
  }
  return votes;
}

void PutBlock(Writer& w, const Block& b) { w.Bytes(b.Encode()); }

Block GetBlock(Reader& r, std::string_view what) {
  Block b;
  std::string_view bytes = r.Bytes(limits::kMaxBlockBytes, what);
  if (!r.ok()) return b;
  Status s = Block::Decode(bytes, &b);
  if (!s.ok()) r.Fail(s.Prefixed(what));
  return b;
}

void PutProof(Writer& w, const PreparedProof& p) {
  w.U64(p.view);
  PutBlock(w, p.block);
  w.Fixed(p.preprepare_sig);
  PutVotes(w, p.prepares);
}

PreparedProof GetProof(Reader& r) {
  PreparedProof p;
  p.view = r.U64();
  p.block = GetBlock(r, "prepared block");
  p.preprepare_sig = r.Fixed<64>();
  p.prepares = GetVotes(r, "prepare votes");
  return p;
}

void PutViewChange(Writer& w, const ViewChange& vc) {
  w.U64(vc.new_view);
  w.Bytes(vc.committed.Encode());
  w.Bool(vc.cert.has_value());
  if (vc.cert) {
    w.U64(vc.cert->view);
    w.Fixed(vc.cert->block_hash);
    w.U32(static_cast<std::uint32_t>(vc.cert->signatures.size()));
    for (const CommitSignature& s : vc.cert->signatures) {
      w.Fixed(s.validator.bytes());
      w.Fixed(s.signature);
    }
  }
  w.U32(static_cast<std::uint32_t>(vc.prepared.size()));
  for (const PreparedProof& p : vc.prepared) PutProof(w, p);
}

ViewChange GetViewChange(Reader& r) {
  ViewChange vc;
  vc.new_view = r.U64();
  std::string_view header = r.Bytes(kMaxHeaderBytes, "committed header");
  if (r.ok()) {
    Status s = BlockHeader::Decode(header, &vc.committed);
    if (!s.ok()) r.Fail(s.Prefixed("view change"));
  }
  if (r.Bool()) {
    CommitCertificate c;
    c.view = r.U64();
    c.block_hash = r.Fixed<32>();
    const std::uint32_t n = r.Count(kMaxValidators, kVoteBytes, "certificate signatures");
    c.signatures.resize(n);
    for (CommitSignature& s : c.signatures) {
      s.validator = PublicKey::FromBytesUnchecked(r.Fixed<32>());
      s.signature = r.Fixed<64>();
    }
    vc.cert = std::move(c);
  }
  const std::uint32_t n = r.Count(kMaxPreparedProofs, 8 + 4 + 64 + 4, "prepared proofs");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) vc.prepared.push_back(GetProof(r));
  return vc;
}

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace

std::string EncodeViewChange(const ViewChange& vc) {
  Writer w;
  PutViewChange(w, vc);
  return w.Release();
}

std::string EncodePreparedProof(const PreparedProof& p) {
  Writer w;
  PutProof(w, p);
  return w.Release();
}

Status DecodePreparedProof(std::string_view bytes, PreparedProof* out) {
  Reader r(bytes, "prepared proof");
  PreparedProof p = GetProof(r);
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(p);
  return Status::OK();
}

namespace {
Hash256 VoteDigest(std::string_view tag, std::uint64_t view, std::uint64_t height,
                   const Hash256& hash) {
  Writer w(48);
  w.U64(view);
  w.U64(height);
  w.Fixed(hash);
  return TaggedHash(tag, w.data());
}
}  // namespace

Hash256 PrePrepareDigest(std::uint64_t view, std::uint64_t height, const Hash256& hash) {
  return VoteDigest("nanum/pbft/preprepare", view, height, hash);
}

Hash256 PrepareDigest(std::uint64_t view, std::uint64_t height, const Hash256& hash) {
  return VoteDigest("nanum/pbft/prepare", view, height, hash);
}

Hash256 CheckpointDigest(std::uint64_t height, const Hash256& hash) {
  Writer w(40);
  w.U64(height);
  w.Fixed(hash);
  return TaggedHash("nanum/pbft/checkpoint", w.data());
}

Hash256 ViewChangeDigest(const ViewChange& vc) {
  return TaggedHash("nanum/pbft/viewchange", EncodeViewChange(vc));
}

namespace {
std::string EncodeNewViewBody(const NewView& nv) {
  Writer w;
  w.U64(nv.view);
  w.U32(static_cast<std::uint32_t>(nv.view_changes.size()));
  for (const SignedViewChange& s : nv.view_changes) {
    w.Fixed(s.from.bytes());
    w.Fixed(s.sig);
    w.Bytes(EncodeViewChange(s.vc));
  }
  w.U32(static_cast<std::uint32_t>(nv.preprepare_sigs.size()));
  for (const Signature& s : nv.preprepare_sigs) w.Fixed(s);
  return w.Release();
}
}  // namespace

std::optional<Hash256> SigningDigest(const Body& body) {
  return std::visit(
      Overloaded{
          [](const PrePrepare& m) -> std::optional<Hash256> {
            return PrePrepareDigest(m.view, m.block.header.height, m.block.Hash());
          },
          [](const Prepare& m) -> std::optional<Hash256> {
            return PrepareDigest(m.view, m.height, m.hash);
          },
          [](const Commit& m) -> std::optional<Hash256> {
            return CommitDigest(m.height, m.view, m.hash);
          },
          [](const Checkpoint& m) -> std::optional<Hash256> {
            return CheckpointDigest(m.height, m.hash);
          },
          [](const ViewChange& m) -> std::optional<Hash256> { return ViewChangeDigest(m); },
          [](const NewView& m) -> std::optional<Hash256> {
            return TaggedHash("nanum/pbft/newview", EncodeNewViewBody(m));
          },
          [](const auto&) -> std::optional<Hash256> { return std::nullopt; },
      },
      body);
}

const char* TypeName(MessageType t) {
  switch (t) {
    case MessageType::kRequest: return "request";
    case MessageType::kPrePrepare: return "pre-prepare";
    case MessageType::kPrepare: return "prepare";
    case MessageType::kCommit: return "commit";
    case MessageType::kCheckpoint: return "checkpoint";
    case MessageType::kViewChange: return "view-change";
    case MessageType::kNewView: return "new-view";
    case MessageType::kStatus: return "status";
    case MessageType::kFetch: return "fetch";
    case MessageType::kBlocks: return "blocks";
  }
  return "unknown";
}

std::string Message::Encode() const {
  Writer w;
  w.U8(kMessageVersion);
  w.U8(static_cast<std::uint8_t>(type()));
  w.Fixed(from.bytes());
  w.Fixed(sig);
  std::visit(Overloaded{
                 [&](const Request& m) { w.Bytes(m.tx.Encode()); },
                 [&](const PrePrepare& m) {
                   w.U64(m.view);
                   PutBlock(w, m.block);
                 },
                 [&](const Prepare& m) {
                   w.U64(m.view);
                   w.U64(m.height);
                   w.Fixed(m.hash);
                 },
                 [&](const Commit& m) {
                   w.U64(m.view);
                   w.U64(m.height);
                   w.Fixed(m.hash);
                 },
                 [&](const Checkpoint& m) {
                   w.U64(m.height);
                   w.Fixed(m.hash);
                 },
                 [&](const ViewChange& m) { PutViewChange(w, m); },
                 [&](const NewView& m) { w.Raw(EncodeNewViewBody(m)); },
                 [&](const StatusMsg& m) {
                   w.U64(m.view);
                   w.Bool(m.changing);
                   w.U64(m.height);
                 },
                 [&](const Fetch& m) {
                   w.U64(m.from_height);
                   w.U32(m.max_blocks);
                 },
                 [&](const Blocks& m) {
                   w.U32(static_cast<std::uint32_t>(m.blocks.size()));
                   for (const Block& b : m.blocks) PutBlock(w, b);
                 },
             },
             body);
  return w.Release();
}

Status Message::Decode(std::string_view bytes, Message* out) {
  if (bytes.size() > kMaxMessageBytes) {
    return Status::TooLarge("consensus message of " + std::to_string(bytes.size()) +
                            " bytes is over the limit of " + std::to_string(kMaxMessageBytes));
  }
  Reader r(bytes, "consensus message");
  const std::uint8_t version = r.U8();
  const std::uint8_t type = r.U8();
  if (r.ok() && version != kMessageVersion) {
    return Status::Unsupported("consensus message version " + std::to_string(version));
  }
  Message m;
  m.from = PublicKey::FromBytesUnchecked(r.Fixed<32>());
  m.sig = r.Fixed<64>();
  NANUM_RETURN_IF_ERROR(r.status());
  switch (static_cast<MessageType>(type)) {
    case MessageType::kRequest: {
      Request q;
      std::string_view env = r.Bytes(limits::kMaxEnvelopeBytes, "request");
      if (r.ok()) {
        Status s = Transaction::Decode(env, &q.tx);
        if (!s.ok()) r.Fail(s.Prefixed("request"));
      }
      m.body = std::move(q);
      break;
    }
    case MessageType::kPrePrepare: {
      PrePrepare p;
      p.view = r.U64();
      p.block = GetBlock(r, "pre-prepared block");
      m.body = std::move(p);
      break;
    }
    case MessageType::kPrepare: {
      Prepare p;
      p.view = r.U64();
      p.height = r.U64();
      p.hash = r.Fixed<32>();
      m.body = p;
      break;
    }
    case MessageType::kCommit: {
      Commit c;
      c.view = r.U64();
      c.height = r.U64();
      c.hash = r.Fixed<32>();
      m.body = c;
      break;
    }
    case MessageType::kCheckpoint: {
      Checkpoint c;
      c.height = r.U64();
      c.hash = r.Fixed<32>();
      m.body = c;
      break;
    }
    case MessageType::kViewChange:
      m.body = GetViewChange(r);
      break;
    case MessageType::kNewView: {
      NewView nv;
      nv.view = r.U64();
      const std::uint32_t n = r.Count(kMaxValidators, 32 + 64 + 4, "view changes");
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        SignedViewChange s;
        s.from = PublicKey::FromBytesUnchecked(r.Fixed<32>());
        s.sig = r.Fixed<64>();
        std::string_view body = r.Bytes(kMaxMessageBytes, "view change");
        if (!r.ok()) break;
        Reader inner(body, "view change");
        s.vc = GetViewChange(inner);
        Status st = inner.Finish();
        if (!st.ok()) r.Fail(st);
        nv.view_changes.push_back(std::move(s));
      }
      const std::uint32_t k = r.Count(kMaxPreparedProofs, 64, "pre-prepare signatures");
      nv.preprepare_sigs.resize(k);
      for (Signature& s : nv.preprepare_sigs) s = r.Fixed<64>();
      m.body = std::move(nv);
      break;
    }
    case MessageType::kStatus: {
      StatusMsg s;
      s.view = r.U64();
      s.changing = r.Bool();
      s.height = r.U64();
      m.body = s;
      break;
    }
    case MessageType::kFetch: {
      Fetch f;
      f.from_height = r.U64();
      f.max_blocks = r.U32();
      m.body = f;
      break;
    }
    case MessageType::kBlocks: {
      Blocks b;
      const std::uint32_t n = r.Count(kMaxBlocksPerFetch, 4, "blocks");
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) b.blocks.push_back(GetBlock(r, "block"));
      m.body = std::move(b);
      break;
    }
    default:
      return Status::Unsupported("consensus message type " + std::to_string(type));
  }
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(m);
  return Status::OK();
}

}  // namespace nanum::pbft
