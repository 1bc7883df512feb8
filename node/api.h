// The Nanum gRPC service (proto/nanum/v1/node.proto) over a Node: submissions go to the
// node's consensus thread, queries read the store directly (a consistent block at a time).
//
// Thread safety: gRPC calls the handlers from its own threads; everything they touch is the
// Node's thread-safe surface or the Store's concurrent reads.
#pragma once

#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "nanum/v1/node.grpc.pb.h"
#include "node/config.h"
#include "node/node.h"

namespace nanum::node {

// Largest request the API accepts (an envelope is at most limits::kMaxEnvelopeBytes; a
// SubmitBatch of kMaxSubmitBatch ordinary transactions is about 200 KiB).
inline constexpr int kMaxApiRequestBytes = 1024 * 1024;
// Most transactions in one SubmitBatch.
inline constexpr std::size_t kMaxSubmitBatch = 1000;

std::unique_ptr<nanum::v1::Nanum::Service> NewApiService(Node* node);

// The API's credentials: plaintext, TLS, or mutual TLS (config.h's ApiTls). Errors:
// kNotFound / kIOError for a file that cannot be read.
Status ApiCredentials(const ApiTls& tls, std::shared_ptr<grpc::ServerCredentials>* out);

// The gRPC status for a nanum Status (INVALID_ARGUMENT for malformed or badly signed input,
// NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED for full pools, UNAVAILABLE, …).
grpc::Status ToGrpc(const Status& s);

}  // namespace nanum::node
