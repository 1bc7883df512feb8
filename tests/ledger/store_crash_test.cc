// The crash test. A child process appends blocks of transfers to a LevelDB store as fast as
// it can and tells the parent, through a pipe, each height it has appended. The parent kills
// it with SIGKILL after a random delay (which lands in opening, executing, writing, syncing
// or compacting), then reopens the store and checks:
//   - it opens (a consistent height, never a half-written block);
//   - no height the child had reported appended was lost, and the head never went back;
//   - every block from genesis is intact (the ones checked after earlier kills unchanged
//     byte for byte, the new ones decoding, linking and carrying valid certificates), and
//     replaying them reproduces every stored result and state root, and the stored state.
// Repeated --kills times (default 60) from --seed (printed; the delays repeat with it, the
// moments they hit do not, since they race a real disk).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "ledger/store.h"
#include "test_chain.h"

namespace nanum {
namespace {

using testing::TestChain;

constexpr int kAccounts = 8;
int g_kills = 60;
std::uint64_t g_seed = 0;
std::string g_self;

// Child: append forever; report each appended height as 8 bytes on `report_fd`.
[[noreturn]] void RunChild(const std::string& dir, int report_fd) {
  std::unique_ptr<Store> store;
  Status s = Store::OpenLevelDb(dir, &store);
  if (!s.ok()) {
    std::fprintf(stderr, "child: %s\n", s.ToString().c_str());
    _exit(2);
  }
  TestChain chain(kAccounts);
  if (!store->Head()) {
    Block g;
    std::vector<TxResult> r;
    WriteSet w;
    chain.Genesis(&g, &r, &w);
    if (!store->Append(g, r, w).ok()) _exit(3);
  }
  std::mt19937_64 rng(store->Head()->height);
  for (;;) {
    const StoreHead head = *store->Head();
    std::vector<Transaction> txs;
    std::vector<std::uint64_t> nonces(kAccounts);
    for (int i = 0; i < kAccounts; ++i) nonces[static_cast<std::size_t>(i)] = testing::NonceOf(*store, "m" + std::to_string(i));
    for (int t = 0; t < 16; ++t) {
      const int from = static_cast<int>(rng() % kAccounts);
      const int to = (from + 1 + static_cast<int>(rng() % (kAccounts - 1))) % kAccounts;
      txs.push_back(chain.MakeTransfer(from, to, 1 + rng() % 5000, nonces[static_cast<std::size_t>(from)]++));
    }
    Block b;
    std::vector<TxResult> r;
    WriteSet w;
    chain.MakeBlock(*store, head, std::move(txs), 1'700'000'000'000 + head.height * 1000, &b, &r, &w);
    s = store->Append(b, r, w);
    if (!s.ok()) {
      std::fprintf(stderr, "child: append failed: %s\n", s.ToString().c_str());
      _exit(4);
    }
    const std::uint64_t h = b.header.height;
    if (write(report_fd, &h, sizeof h) != sizeof h) _exit(5);
  }
}

TEST(StoreCrash, KilledAppenderAlwaysReopensConsistent) {
  char tmpl[] = "/tmp/nanum-crash-XXXXXX";
  const std::string dir = std::string(mkdtemp(tmpl)) + "/db";
  std::mt19937_64 rng(g_seed);
  std::printf("crash test: seed %llu, %d kills, store %s\n",
              static_cast<unsigned long long>(g_seed), g_kills, dir.c_str());
  TestChain chain(kAccounts);
  // Holds what has been verified so far; each round checks the old blocks are unchanged
  // byte for byte and replays only the new ones.
  auto replica = Store::NewInMemory();

  std::uint64_t acknowledged = 0, last_head = 0;
  int kills_with_progress = 0;
  for (int k = 0; k < g_kills; ++k) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Exec afresh: LevelDB's background thread must not be inherited half-alive.
      dup2(fds[1], 3);
      execl(g_self.c_str(), g_self.c_str(), "--child", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    const int delay_ms = 5 + static_cast<int>(rng() % 120);
    usleep(static_cast<useconds_t>(delay_ms) * 1000);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited by itself with status " << WEXITSTATUS(wstatus)
                                      << " (see its message above), kill " << k << ", seed " << g_seed;
    std::uint64_t h;
    while (read(fds[0], &h, sizeof h) == sizeof h) acknowledged = std::max(acknowledged, h);
    close(fds[0]);

    std::unique_ptr<Store> store;
    Status s = Store::OpenLevelDb(dir, &store);
    ASSERT_TRUE(s.ok()) << "kill " << k << " (seed " << g_seed << "): " << s.ToString();
    if (!store->Head()) continue;  // killed before genesis was written
    const std::uint64_t head = store->Head()->height;
    EXPECT_GE(head, acknowledged) << "an appended block was lost, kill " << k << ", seed " << g_seed;
    EXPECT_GE(head, last_head) << "the head went back, kill " << k;
    if (head > last_head) ++kills_with_progress;
    last_head = head;
    s = testing::CatchUpAndCompare(*store, replica.get(), chain.validator_keys(), chain.quorum());
    ASSERT_TRUE(s.ok()) << "kill " << k << " (seed " << g_seed << "): " << s.ToString();
  }
  std::printf("crash test: %d kills, final height %llu, %d kills after progress\n", g_kills,
              static_cast<unsigned long long>(last_head), kills_with_progress);
  EXPECT_GT(last_head, 0u);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

}  // namespace
}  // namespace nanum

int main(int argc, char** argv) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return 1;
  nanum::g_self.assign(buf, static_cast<std::size_t>(n));
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) nanum::RunChild(argv[2], 3);
  ::testing::InitGoogleTest(&argc, argv);
  std::random_device rd;
  nanum::g_seed = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seed=", 7) == 0) nanum::g_seed = std::strtoull(argv[i] + 7, nullptr, 10);
    if (std::strncmp(argv[i], "--kills=", 8) == 0) nanum::g_kills = std::atoi(argv[i] + 8);
  }
  return RUN_ALL_TESTS();
}
