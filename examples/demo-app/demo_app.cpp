// hamon-demo-app: a process for demos, tests and benchmarks. It attaches with the client header,
// beats at its interval and misbehaves on cue.
//
//   hamon-demo-app [--interval 10ms] [--init-delay 0s] [--crash-after N] [--hang-after N]
//                  [--exit-after N --exit-code C] [--garbage-after N] [--drain-delay D]
// Once initialized (--init-delay), it parks (Heartbeat::park): with spares configured, it waits
// there until hamon promotes it; without, it is ready at once. Outside hamon it says so and
// exits 2.
#include <hamon/heartbeat.hpp>
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <random>

#include "hamon/engine/duration.hpp"

namespace {

std::chrono::nanoseconds duration_or_exit(const std::string& text, const char* what) {
  const auto d = hamon::engine::parse_duration(text);
  if (!d.ok()) {
    std::fprintf(stderr, "hamon-demo-app: %s '%s': %s\n", what, text.c_str(), d.error.c_str());
    std::exit(2);
  }
  return d.value;
}

void sleep_until(timespec& t, std::chrono::nanoseconds step) {
  t.tv_nsec += static_cast<long>(step.count() % 1'000'000'000);
  t.tv_sec += static_cast<time_t>(step.count() / 1'000'000'000);
  if (t.tv_nsec >= 1'000'000'000) {
    t.tv_nsec -= 1'000'000'000;
    ++t.tv_sec;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-demo-app: beats at an interval and misbehaves on cue"};
  std::string interval_text, ready_delay_text = "0s", init_spin_text = "0s", drain_delay_text;
  long crash_after = -1, hang_after = -1, exit_after = -1, garbage_after = -1;
  int exit_code = 0;
  app.add_option("--interval", interval_text,
                 "the interval to keep (default: the one hamon gives); beats twice per interval");
  app.add_option("--init-delay,--ready-delay", ready_delay_text,
                 "initialize for this long (no beat) before parking: ready, or a spare waiting "
                 "to be promoted");
  app.add_option("--init-spin", init_spin_text,
                 "initialize busy on the CPU for this long (no beat, no sleep), after "
                 "--init-delay");
  app.add_option("--crash-after", crash_after, "after N beats, die by SIGSEGV");
  app.add_option("--hang-after", hang_after, "after N beats, stop beating but stay alive");
  app.add_option("--exit-after", exit_after, "after N beats, exit with --exit-code");
  app.add_option("--exit-code", exit_code, "the exit status for --exit-after");
  app.add_option("--garbage-after", garbage_after,
                 "after N beats, fill its own heartbeat slot with random bytes, forever");
  app.add_option("--drain-delay", drain_delay_text,
                 "when its tenant steps down, say it drained (hb.drained()) after this long; "
                 "without it, never (the step-down then lasts drain_timeout)");
  CLI11_PARSE(app, argc, argv);

  auto hb = hamon::Heartbeat::attach();
  if (!hb) {
    std::fprintf(stderr, "%s\n", hb.error_message());
    return 2;
  }
  std::chrono::nanoseconds interval =
      hb.interval().count() > 0 ? hb.interval() : std::chrono::milliseconds(100);
  if (!interval_text.empty()) interval = duration_or_exit(interval_text, "--interval");
  const auto ready_delay = duration_or_exit(ready_delay_text, "--ready-delay");
  const bool acknowledges = !drain_delay_text.empty();
  const auto drain_delay = acknowledges ? duration_or_exit(drain_delay_text, "--drain-delay")
                                        : std::chrono::nanoseconds{0};

  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  if (ready_delay.count() > 0) sleep_until(t, ready_delay);
  if (const auto spin = duration_or_exit(init_spin_text, "--init-spin"); spin.count() > 0) {
    const auto ns = [](const timespec& x) { return x.tv_sec * 1'000'000'000LL + x.tv_nsec; };
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const auto end = ns(now) + spin.count();
    while (ns(now) < end) clock_gettime(CLOCK_MONOTONIC, &now);
    t = now;
  }
  if (!hb.park()) {
    std::fprintf(stderr, "%s\n", hb.error_message());
    return 1;
  }
  std::printf("hamon-demo-app: pid %d slot %u incarnation %llu interval %lldns role %s\n", getpid(),
              hb.slot(), static_cast<unsigned long long>(hb.incarnation()),
              static_cast<long long>(interval.count()), hamon::to_string(hb.role()));
  std::fflush(stdout);

  std::uint64_t draining_epoch = 0;  // the step-down being drained (--drain-delay)
  timespec drain_at{};
  for (long beats = 1;; ++beats) {
    if (beats == crash_after) raise(SIGSEGV);
    if (beats == exit_after) return exit_code;
    if (beats == hang_after) {
      for (;;) pause();  // alive, silent
    }
    if (beats == garbage_after) {
      // A hostile or broken process: only its own slot is reachable, and only itself may suffer.
      std::mt19937_64 rng(static_cast<std::uint64_t>(getpid()));
      hamon_client raw = hamon_client{};
      (void)hamon_attach(&raw);
      for (;;) {
        for (int i = 0; i < 16; ++i) {
          const std::uint64_t v = rng();
          std::memcpy(raw.slot + i * 8, &v, sizeof v);
        }
        sleep_until(t, interval);
      }
    }
    hb.beat();
    if (acknowledges) {
      // A step-down seen: its work in progress "ends" after the delay.
      if (hb.role() == hamon::Role::stepping_down && hb.epoch() != draining_epoch) {
        draining_epoch = hb.epoch();
        clock_gettime(CLOCK_MONOTONIC, &drain_at);
        drain_at.tv_sec += static_cast<time_t>(drain_delay.count() / 1'000'000'000);
        drain_at.tv_nsec += static_cast<long>(drain_delay.count() % 1'000'000'000);
        if (drain_at.tv_nsec >= 1'000'000'000) {
          drain_at.tv_nsec -= 1'000'000'000;
          ++drain_at.tv_sec;
        }
      }
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (draining_epoch != 0 && hb.role() == hamon::Role::stepping_down &&
          (now.tv_sec > drain_at.tv_sec ||
           (now.tv_sec == drain_at.tv_sec && now.tv_nsec >= drain_at.tv_nsec))) {
        hb.drained();
      }
    }
    // Twice per interval: one late wake-up on a busy machine must not look like a hang.
    sleep_until(t, interval / 2);
  }
}
