// hb_run: runs a client program on a real heartbeat segment, as hamon-spawner would, and checks
// that its beats landed. Used by the install test on programs built against an installed hamon.
//
//   hb_run MIN_BEATS -- PROGRAM [ARGS...]
// Exit 0 when PROGRAM exited 0, attached with the given incarnation, became ready and beat at
// least MIN_BEATS times; 1 otherwise (with the reason on stderr).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "hamon/shm/heartbeat_table.hpp"

int main(int argc, char** argv) {
  if (argc < 4 || std::string(argv[2]) != "--") {
    std::fprintf(stderr, "usage: hb_run MIN_BEATS -- PROGRAM [ARGS...]\n");
    return 100;
  }
  const unsigned long min_beats = std::strtoul(argv[1], nullptr, 10);
  const std::string name = "hamon-hbrun." + std::to_string(getpid());
  auto table = hamon::shm::HeartbeatTable::create(name, "example", 4);
  if (!table) {
    std::fprintf(stderr, "hb_run: %s\n", table.error().message.c_str());
    return 1;
  }
  struct Remover {
    std::string n;
    ~Remover() { hamon::shm::Segment::remove(n); }
  } remover{name};
  table->tick(123456789);

  const pid_t pid = fork();
  if (pid == 0) {
    setenv(HAMON_ENV_SEGMENT, table->client_name().c_str(), 1);
    setenv(HAMON_ENV_SLOT, "1", 1);
    setenv(HAMON_ENV_INCARNATION, "41", 1);
    setenv(HAMON_ENV_INTERVAL_NS, "1000000", 1);
    alarm(60);  // never outlive a stuck test
    execvp(argv[3], argv + 3);
    std::perror("hb_run: exec");
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const auto s = table->snapshot(1);
  bool ok = true;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "hb_run: %s did not exit 0 (wait status %d)\n", argv[3], status);
    ok = false;
  }
  if (s.incarnation != 41 || s.ready != 1 || s.beat_count < min_beats ||
      s.beat_stamp != 123456789) {
    std::fprintf(stderr,
                 "hb_run: slot shows incarnation %llu, ready %u, %llu beats, stamp %llu; expected "
                 "41, 1, >= %lu, 123456789\n",
                 static_cast<unsigned long long>(s.incarnation), s.ready,
                 static_cast<unsigned long long>(s.beat_count),
                 static_cast<unsigned long long>(s.beat_stamp), min_beats);
    ok = false;
  }
  if (ok)
    std::printf("hb_run: %s beat %llu times\n", argv[3],
                static_cast<unsigned long long>(s.beat_count));
  return ok ? 0 : 1;
}
