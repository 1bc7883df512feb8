// See cluster.h.
#include "tests/cluster/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

namespace nanum::cluster {
namespace {

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

std::uint64_t NowMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string LogTail(const std::string& path, std::size_t bytes) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  return s.size() <= bytes ? s : "…" + s.substr(s.size() - bytes);
}

}  // namespace

int FreePortBase(int nodes) {
  constexpr int kLow = 10'000, kBlock = 400, kBlocks = (32'000 - kLow) / kBlock;
  const int first = static_cast<int>(::getpid() % kBlocks);
  for (int k = 0; k < kBlocks; ++k) {
    const int base = kLow + ((first + k) % kBlocks) * kBlock;
    bool free = true;
    for (int i = 0; i < nodes && free; ++i) {
      free = PortFree(base + i) && PortFree(base + 100 + i) && PortFree(base + 200 + i);
    }
    for (int i = 300; i < 310 && free; ++i) free = PortFree(base + i);
    if (free) return base;
  }
  return kLow + first * kBlock;  // all taken: let the nodes say so
}

bool Cluster::Create(const ClusterOptions& options, std::unique_ptr<Cluster>* out, std::string* error) {
  std::unique_ptr<Cluster> c(new Cluster);
  c->options_ = options;
  ClusterOptions& o = c->options_;
  if (o.base_port == 0) o.base_port = FreePortBase(o.validators + o.followers);
  std::filesystem::remove_all(o.dir);
  std::string cmd = Quote(o.nanumctl) + " init " + Quote(o.dir) + " --validators " + std::to_string(o.validators) +
                    " --followers " + std::to_string(o.followers) + " --base-port " + std::to_string(o.base_port);
  if (o.household_count > 0) cmd += " --household-count " + std::to_string(o.household_count);
  for (const std::string& h : o.households) cmd += " --households " + Quote(h);
  if (o.slot_seconds != 0) cmd += " --slot-seconds " + std::to_string(o.slot_seconds);
  cmd += " > /dev/null";
  if (std::system(cmd.c_str()) != 0) {
    *error = "nanumctl init failed: " + cmd;
    return false;
  }
  const int n = o.validators + o.followers;
  for (int i = 0; i < n; ++i) {
    NodeProc p;
    p.name = (i < o.validators ? "validator-" + std::to_string(i) : "follower-" + std::to_string(i - o.validators));
    p.config = o.dir + "/" + p.name + ".toml";
    p.api = "127.0.0.1:" + std::to_string(o.base_port + i);
    if (!o.consensus_toml.empty()) {
      // Into the [consensus] table nanumctl init wrote (TOML has no second [consensus]).
      std::ifstream in(p.config);
      std::stringstream text;
      text << in.rdbuf();
      std::string cfg = text.str();
      const std::string header = "[consensus]\n";
      const auto at = cfg.find(header);
      if (at == std::string::npos) {
        cfg += "\n" + header + o.consensus_toml + "\n";
      } else {
        cfg.insert(at + header.size(), o.consensus_toml + "\n");
      }
      std::ofstream(p.config, std::ios::trunc) << cfg;
    }
    p.client = v1::Nanum::NewStub(grpc::CreateChannel(p.api, grpc::InsecureChannelCredentials()));
    c->nodes_.push_back(std::move(p));
  }
  *out = std::move(c);
  return true;
}

Cluster::~Cluster() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid != 0) Kill(i);
  }
}

bool Cluster::Start(std::size_t i) {
  NodeProc& p = nodes_[i];
  const std::string log = options_.dir + "/" + p.name + ".log";
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execl(options_.nanumd.c_str(), options_.nanumd.c_str(), "--config", p.config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  p.pid = pid;
  return true;
}

void Cluster::Kill(std::size_t i) {
  NodeProc& p = nodes_[i];
  if (p.pid == 0) return;
  ::kill(p.pid, SIGKILL);
  int st = 0;
  ::waitpid(p.pid, &st, 0);
  p.pid = 0;
}

bool Cluster::Stop(std::size_t i) {
  NodeProc& p = nodes_[i];
  if (p.pid == 0) return true;
  ::kill(p.pid, SIGTERM);
  const std::uint64_t deadline = NowMs() + 10'000;
  int st = 0;
  while (NowMs() < deadline) {
    pid_t r = ::waitpid(p.pid, &st, WNOHANG);
    if (r == p.pid) {
      p.pid = 0;
      return WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill(i);
  return false;
}

bool Cluster::Status(std::size_t i, v1::NodeStatus* out, std::uint64_t timeout_ms) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  return nodes_[i].client->GetStatus(&ctx, v1::GetStatusRequest{}, out).ok();
}

bool Cluster::WaitUntilUp(std::uint64_t timeout_ms, std::string* why) {
  const std::uint64_t deadline = NowMs() + timeout_ms;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    NodeProc& p = nodes_[i];
    v1::NodeStatus st;
    while (!(p.pid != 0 && Status(i, &st, 500))) {
      std::string exited;
      int code = 0;
      if (p.pid != 0 && ::waitpid(p.pid, &code, WNOHANG) == p.pid) {
        p.pid = 0;
        exited = WIFEXITED(code) ? "exited with " + std::to_string(WEXITSTATUS(code))
                                 : "killed by signal " + std::to_string(WTERMSIG(code));
      }
      if (!exited.empty() || NowMs() > deadline) {
        if (why != nullptr) {
          *why = p.name + " (" + p.api + ") " + (exited.empty() ? "did not answer in time" : exited) +
                 "; the end of its log:\n" + LogTail(options_.dir + "/" + p.name + ".log", 1500);
        }
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return true;
}

int Cluster::Primary() {
  for (std::size_t i = 0; i < static_cast<std::size_t>(options_.validators); ++i) {
    v1::NodeStatus st;
    if (nodes_[i].pid != 0 && Status(i, &st, 500) && st.primary()) return static_cast<int>(i);
  }
  return -1;
}

int Cluster::Ctl(std::size_t i, const std::string& args, std::string* out, int interrupt_after_s) {
  const std::string limit = interrupt_after_s > 0 ? "timeout -s INT " + std::to_string(interrupt_after_s) + " " : "";
  return Shell(limit + Quote(options_.nanumctl) + " --node " + nodes_[i].api + " " + args, out);
}

int Shell(const std::string& command, std::string* out) {
  const std::string cmd = command + " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  std::array<char, 4096> buf{};
  out->clear();
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out->append(buf.data(), n);
  const int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace nanum::cluster
