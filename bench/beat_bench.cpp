// hamon-bench: what a heartbeat costs the application, against what a systemd watchdog ping
// costs (sd_notify("WATCHDOG=1"): a datagram to the notify socket), measured in the same run.
//
//   hamon-bench [google benchmark flags]
// Runs each benchmark 5 times by default and prints medians, then the ratios.
#include <benchmark/benchmark.h>
#include <hamon/heartbeat.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "hamon/shm/heartbeat_table.hpp"
#include "machine.hpp"

namespace {

// A real heartbeat segment, removed at exit.
struct Segment {
  std::string name = "hamon-bench." + std::to_string(getpid());
  hamon::shm::HeartbeatTable table = make(name);
  static hamon::shm::HeartbeatTable make(const std::string& n) {
    auto t = hamon::shm::HeartbeatTable::create(n, "bench", 64);
    if (!t) {
      std::fprintf(stderr, "hamon-bench: %s\n", t.error().message.c_str());
      std::exit(1);
    }
    return std::move(t).value();
  }
  ~Segment() { hamon::shm::Segment::remove(name); }
};

Segment& segment() {
  static Segment s;
  return s;
}

void BM_Beat(benchmark::State& state) {
  const auto slot = static_cast<std::uint32_t>(state.thread_index());
  auto hb = hamon::Heartbeat::attach(segment().table.client_name().c_str(), slot, 1);
  if (!hb) state.SkipWithError(hb.error_message());
  for (auto _ : state) hb.beat();
  benchmark::DoNotOptimize(segment().table.snapshot(slot).beat_count);
}
BENCHMARK(BM_Beat)->Threads(1)->Threads(2);

// The realistic case: hamon-monitor ticks the segment clock every 100 us and reads the slot, so
// the beating process keeps losing its lines to another core.
void BM_Beat_WithMonitorReading(benchmark::State& state) {
  auto hb = hamon::Heartbeat::attach(segment().table.client_name().c_str(), 10, 1);
  if (!hb) state.SkipWithError(hb.error_message());
  std::atomic<bool> stop{false};
  std::thread monitor([&] {
    std::uint64_t sum = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      timespec ts{};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      segment().table.tick(static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                           static_cast<std::uint64_t>(ts.tv_nsec));
      sum += segment().table.snapshot(10).beat_count;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    benchmark::DoNotOptimize(sum);
  });
  for (auto _ : state) hb.beat();
  stop = true;
  monitor.join();
}
BENCHMARK(BM_Beat_WithMonitorReading)->UseRealTime();

// The worst case: a reader on the other core keeps pulling the slot's line and rewriting the
// clock line, so every beat starts with two cache misses. A real beat every millisecond pays
// about this, since the monitor reads the slot between beats.
void BM_Beat_ColdLine(benchmark::State& state) {
  auto hb = hamon::Heartbeat::attach(segment().table.client_name().c_str(), 11, 1);
  if (!hb) state.SkipWithError(hb.error_message());
  std::atomic<bool> stop{false};
  std::thread monitor([&] {
    std::uint64_t sum = 0, t = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      segment().table.tick(++t);
      sum += segment().table.snapshot(11).beat_count;
    }
    benchmark::DoNotOptimize(sum);
  });
  for (auto _ : state) hb.beat();
  stop = true;
  monitor.join();
}
BENCHMARK(BM_Beat_ColdLine)->UseRealTime();

// The alternative design: stamp each beat with the process's own clock.
void BM_Beat_ClockGettimeAndStore(benchmark::State& state) {
  auto& slot = segment().table.slot(20);
  for (auto _ : state) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    slot.beat_stamp.store(static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                              static_cast<std::uint64_t>(ts.tv_nsec),
                          std::memory_order_release);
  }
}
BENCHMARK(BM_Beat_ClockGettimeAndStore);

// A notify socket like the one systemd listens on, drained by a thread so sends never block.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = "/tmp/hamon-bench-notify." + std::to_string(getpid());
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof(a.sun_path) - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::perror("bind");
    int big = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    timeval tv{0, 10'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    drain_ = std::thread([this] {
      char buf[256];
      while (!stop_.load()) (void)recv(fd_, buf, sizeof buf, 0);
    });
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    stop_ = true;
    drain_.join();
    close(fd_);
    unlink(path_.c_str());
    unsetenv("NOTIFY_SOCKET");
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread drain_;
};

// What a systemd service's watchdog ping costs: libsystemd's sd_notify, as services call it.
void BM_Notify_SdNotify(benchmark::State& state) {
  NotifySocket sock;
  for (auto _ : state) {
    if (sd_notify(0, "WATCHDOG=1") <= 0) {
      state.SkipWithError("sd_notify failed");
      break;
    }
  }
}
BENCHMARK(BM_Notify_SdNotify)->UseRealTime();

// The cheapest possible notify: a socket kept open and connected, one send() per ping.
void BM_Notify_ConnectedDatagram(benchmark::State& state) {
  NotifySocket sock;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  sock.path().copy(a.sun_path, sizeof(a.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) state.SkipWithError("connect");
  for (auto _ : state) {
    if (send(fd, "WATCHDOG=1", 10, MSG_NOSIGNAL) != 10) {
      state.SkipWithError("send failed");
      break;
    }
  }
  close(fd);
}
BENCHMARK(BM_Notify_ConnectedDatagram)->UseRealTime();

// Prints the usual table, then the ratios of the medians.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      std::string name = r.run_name.str();
      medians_[name] = r.GetAdjustedRealTime();  // ns: the default unit
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const double beat = find("BM_Beat/threads:1");
    std::printf("\nmedians (ns): ");
    for (const auto& [k, v] : medians_) std::printf("%s=%.2f  ", k.c_str(), v);
    std::printf("\n");
    if (beat <= 0) return;
    for (const char* other :
         {"BM_Notify_SdNotify/real_time", "BM_Notify_ConnectedDatagram/real_time",
          "BM_Beat_ClockGettimeAndStore", "BM_Beat_WithMonitorReading/real_time",
          "BM_Beat_ColdLine/real_time"}) {
      const double v = find(other);
      if (v > 0) std::printf("ratio %s / BM_Beat: %.0fx\n", other, v / beat);
    }
  }

 private:
  double find(const std::string& name) const {
    auto it = medians_.find(name);
    return it == medians_.end() ? -1 : it->second;
  }
  std::map<std::string, double> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  bool has_reps = false;
  bool console = true;  // the ratios are printed under the console table only
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    has_reps |= a.rfind("--benchmark_repetitions", 0) == 0;
    if (a.rfind("--benchmark_format=", 0) == 0) console = a == "--benchmark_format=console";
  }
  std::string reps = "--benchmark_repetitions=5", agg = "--benchmark_report_aggregates_only=true";
  if (!has_reps) {
    args.push_back(reps.data());
    args.push_back(agg.data());
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::AddCustomContext("cpu_model", hamon::bench::cpu_model());
  benchmark::AddCustomContext("kernel", hamon::bench::kernel());
  benchmark::AddCustomContext("clocksource", hamon::bench::clocksource());
  if (console) {
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();  // --benchmark_format's own reporter (json, csv)
  }
  benchmark::Shutdown();
  return 0;
}
