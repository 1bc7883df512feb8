// Whole small files: configuration, genesis, TLS material, the consensus hard state.
//
// Thread safety: a plain function.
#pragma once

#include <cstddef>
#include <string>

#include "ledger/status.h"

namespace nanum {

// Reads the file at `path` whole. Errors: kNotFound (no such file), kIOError (unreadable, or
// larger than `max_bytes`); `what` names the file in messages ("genesis file", …).
Status ReadFile(const std::string& path, const std::string& what, std::string* out,
                std::size_t max_bytes = 64 << 20);

}  // namespace nanum
