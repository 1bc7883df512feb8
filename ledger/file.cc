#include "ledger/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nanum {

Status ReadFile(const std::string& path, const std::string& what, std::string* out, std::size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (errno == ENOENT) return Status::NotFound(what + " " + path + " does not exist");
    return Status::IOError(what + " " + path + " cannot be opened: " + std::strerror(errno));
  }
  std::ostringstream s;
  s << f.rdbuf();
  if (f.bad()) return Status::IOError(what + " " + path + " cannot be read");
  if (s.str().size() > max_bytes) return Status::IOError(what + " " + path + " is over " + std::to_string(max_bytes) + " bytes");
  *out = std::move(s).str();
  return Status::OK();
}

}  // namespace nanum
