// Specification of the node's metrics (docs/metrics.md) on a real node: `hamon metrics` prints
// them once in the Prometheus text format, and hamon-exporter serves them over real HTTP with
// live values — a process killed shows as restarted in the next scrape.
#include <arpa/inet.h>
#include <poll.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_node.hpp"
#include "test_support.hpp"

extern char** environ;

namespace hamon::test {
namespace {

using namespace std::chrono_literals;

const char* kProcesses = R"(
[defaults]
interval = "20ms"
timeout = "300ms"
restart_delay = "1ms"

[[system.process]]
name = "db"
command = ["@APP@"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "acd"
command = ["@APP@"]
)";

// The exposition format, line by line: every sample's family was declared (HELP and TYPE, once,
// before its samples), names and labels are well formed, values are numbers, and no series
// appears twice; a histogram's buckets (NAME_bucket) grow with `le`, end at +Inf with its
// NAME_count. Returns what is wrong, or "".
std::string format_errors(const std::string& text) {
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$)");
  static const std::regex le(R"re(,?le="([^"]*)")re");
  std::set<std::string> helped, typed, histograms, series;
  std::map<std::string, double> last_bucket, inf_bucket;  // by family and labels but `le`
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    std::smatch m;
    const std::string at = "line " + std::to_string(n) + " (" + line + "): ";
    if (std::regex_match(line, m, help)) {
      if (!helped.insert(m[1]).second) return at + "a second HELP";
    } else if (std::regex_match(line, m, type)) {
      if (!typed.insert(m[1]).second) return at + "a second TYPE";
      if (m[2] == "histogram") histograms.insert(m[1]);
    } else if (std::regex_match(line, m, sample)) {
      std::string family = m[1];
      std::string part;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string f = family.substr(0, family.size() - std::strlen(suffix));
        if (family.ends_with(suffix) && histograms.count(f) != 0) {
          part = suffix;
          family = f;
        }
      }
      if (typed.count(family) == 0 || helped.count(family) == 0)
        return at + "no HELP/TYPE before it";
      if (histograms.count(family) != 0 && part.empty()) return at + "a histogram's bare sample";
      if (!series.insert(m[1].str() + m[2].str()).second) return at + "a series twice";
      const double value = std::strtod(m[7].str().c_str(), nullptr);
      const std::string labels = m[3];
      const std::string key = family + '{' + std::regex_replace(labels, le, "") + '}';
      if (part == "_bucket") {
        std::smatch bound;
        if (!std::regex_search(labels, bound, le)) return at + "a bucket without le";
        if (last_bucket.count(key) != 0 && value < last_bucket[key]) return at + "buckets shrink";
        last_bucket[key] = value;
        if (bound[1] == "+Inf") inf_bucket[key] = value;
      } else if (part == "_count") {
        if (inf_bucket.count(key) == 0) return at + "no +Inf bucket before the count";
        if (inf_bucket[key] != value) return at + "the count is not the +Inf bucket";
      }
    } else {
      return at + "not the text format";
    }
  }
  return n == 0 ? "empty" : "";
}

// `promtool check metrics` on the text, where Prometheus's own tool is installed.
std::optional<std::string> promtool_says(const std::string& text) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return std::nullopt;
  char path[] = "/tmp/hamon-metrics-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  (void)::write(fd, text.data(), text.size());
  ::close(fd);
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  for (char buf[512]; p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr;) out += buf;
  const int rc = p != nullptr ? ::pclose(p) : -1;
  ::unlink(path);
  return rc == 0 ? "" : "promtool: " + out;
}

// The value of the series `name{labels}` in an exposition, or -1.
double value_of(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + series.size() + 2, nullptr);
}

// The whole HTTP response to GET `path` on the loopback's `port` ("" when it failed).
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  const timeval patience{10, 0};  // a server that never answers fails the test, not hangs it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
    }
  }
  ::close(fd);
  return response;
}

// A port of the loopback free a moment ago.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Runs `args` (stdout and stderr to `log`) until the object goes; ended by its pid.
class Child {
 public:
  Child(std::vector<std::string> args, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  [[nodiscard]] bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// hamon-exporter on a free port of the loopback, ended (by its pid) with the test.
class Exporter {
 public:
  explicit Exporter(const TestNode& node) {
    int out[2];
    if (::pipe(out) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const std::string bin = std::string(HAMON_BIN_DIR) + "/hamon-exporter";
    std::vector<std::string> args{bin,       "--config", node.config_path(), "--node",
                                  node.id(), "--listen", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    // "listening on 127.0.0.1:PORT\n"
    std::string line;
    char c = 0;
    while (line.size() < 200 && ::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    const auto colon = line.rfind(':');
    if (line.rfind("listening on ", 0) == 0 && colon != std::string::npos) {
      port_ = std::atoi(line.c_str() + colon + 1);
    }
  }
  ~Exporter() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  [[nodiscard]] int port() const { return port_; }

  [[nodiscard]] std::string get(const std::string& path) const { return http_get(port_, path); }
  // The body of a 200 answer to GET /metrics, or "".
  [[nodiscard]] std::string metrics() const {
    const std::string r = get("/metrics");
    const auto body = r.find("\r\n\r\n");
    if (r.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return "";
    return r.substr(body + 4);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST(Metrics, HamonMetricsPrintsTheNodeInThePrometheusTextFormat) {
  TestNode node(kProcesses);
  ASSERT_EQ(node.up().code, 0);
  const auto r = node.hamon({"metrics"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(format_errors(r.out), "") << r.out;
  if (const auto p = promtool_says(r.out)) {
    EXPECT_EQ(*p, "");
  }
  EXPECT_EQ(value_of(r.out, R"(hamon_process_up{tenant="system",name="db"})"), 1) << r.out;
  EXPECT_EQ(value_of(r.out, R"(hamon_process_up{tenant="acme",name="acd"})"), 1) << r.out;
  EXPECT_EQ(value_of(r.out, R"(hamon_process_state{tenant="acme",name="acd",state="running"})"), 1);
  EXPECT_EQ(value_of(r.out, R"(hamon_process_state{tenant="acme",name="acd",state="hung"})"), 0);
  EXPECT_EQ(value_of(r.out, R"(hamon_daemon_up{daemon="hamon-monitor"})"), 1);
  EXPECT_EQ(value_of(r.out, R"(hamon_tenant_role{tenant="acme",role="active"})"), 1);
  EXPECT_GE(value_of(r.out, R"(hamon_process_heartbeat_age_seconds{tenant="system",name="db"})"),
            0);
  // One shot: no counter of events to keep.
  EXPECT_EQ(r.out.find("hamon_events_total"), std::string::npos);
}

TEST(Metrics, TheExporterServesLiveValuesOverHttp) {
  TestNode node(kProcesses);
  ASSERT_EQ(node.up().code, 0);
  const Exporter exporter(node);
  ASSERT_GT(exporter.port(), 0) << "the exporter did not say where it listens";
  const std::string first = exporter.metrics();
  ASSERT_NE(first, "");
  EXPECT_EQ(format_errors(first), "") << first;
  if (const auto p = promtool_says(first)) {
    EXPECT_EQ(*p, "");
  }
  EXPECT_EQ(value_of(first, R"(hamon_process_restarts_total{tenant="acme",name="acd"})"), 0);
  // A crash: the next scrapes show the restart and the events that told of it.
  const auto acd = node.process("acme", "acd");
  ASSERT_TRUE(acd && acd->pid > 0);
  ASSERT_EQ(::kill(acd->pid, SIGKILL), 0);
  std::string later;
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    later = exporter.metrics();
    return value_of(later, R"(hamon_process_restarts_total{tenant="acme",name="acd"})") == 1 &&
           value_of(later, R"(hamon_process_up{tenant="acme",name="acd"})") == 1;
  })) << later;
  EXPECT_GE(value_of(later, R"(hamon_events_total{kind="exited"})"), 1) << later;
  EXPECT_EQ(format_errors(later), "") << later;
  // Anything but /metrics is not found; the exporter serves on.
  EXPECT_EQ(exporter.get("/nothing").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_NE(exporter.metrics(), "");
  // The node down: the exporter says so, and does not fail.
  ASSERT_EQ(node.down().code, 0);
  EXPECT_EQ(exporter.get("/metrics").rfind("HTTP/1.1 503", 0), 0u);
}

// What the exporter saw happen since it started: a crash and a hang, each restarted, in the
// restart histogram of their tenants; the hang's silence in the hang histogram — at least the
// process's timeout, as a process is declared hung only once it has been silent that long.
TEST(Metrics, TheExporterMeasuresEachRestartAndEachHangItSaw) {
  TestNode node(kProcesses);
  ASSERT_EQ(node.up().code, 0);
  const Exporter exporter(node);
  ASSERT_GT(exporter.port(), 0);
  // No scrape before the crash and the hang: the exporter follows the node from its start.
  const auto db = node.process("system", "db");
  const auto acd = node.process("acme", "acd");
  ASSERT_TRUE(db && db->pid > 0 && acd && acd->pid > 0);
  ASSERT_EQ(::kill(db->pid, SIGKILL), 0);
  ASSERT_EQ(::kill(acd->pid, SIGSTOP), 0);  // hangs: hamon kills it after 300 ms of silence
  std::string later;
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    later = exporter.metrics();
    return value_of(later, R"(hamon_restart_seconds_count{tenant="system"})") == 1 &&
           value_of(later, R"(hamon_restart_seconds_count{tenant="acme"})") == 1;
  })) << later;
  EXPECT_EQ(value_of(later, R"(hamon_hang_silence_seconds_count{tenant="acme"})"), 1) << later;
  EXPECT_GE(value_of(later, R"(hamon_hang_silence_seconds_sum{tenant="acme"})"), 0.3) << later;
  EXPECT_EQ(value_of(later, R"(hamon_hang_silence_seconds_count{tenant="system"})"), -1) << later;
  EXPECT_GT(value_of(later, R"(hamon_restart_seconds_sum{tenant="system"})"), 0) << later;
  EXPECT_EQ(value_of(later, R"(hamon_restart_seconds_bucket{tenant="acme",le="+Inf"})"), 1);
  EXPECT_EQ(format_errors(later), "") << later;
  if (const auto p = promtool_says(later)) {
    EXPECT_EQ(*p, "");
  }

  // The Grafana dashboard shipped with hamon asks only for what the exporter serves.
  std::ifstream in(std::string(HAMON_SOURCE_DIR) + "/packaging/grafana/hamon.json");
  const std::string dashboard{std::istreambuf_iterator<char>(in), {}};
  ASSERT_NE(dashboard, "");
  const std::regex metric(R"(hamon_[a-z_]+)");
  int asked = 0;
  for (std::sregex_iterator it(dashboard.begin(), dashboard.end(), metric), end; it != end;
       ++it, ++asked) {
    std::string family = it->str();
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      if (family.ends_with(suffix) &&
          later.find("# TYPE " + family.substr(0, family.size() - std::strlen(suffix)) +
                     " histogram\n") != std::string::npos) {
        family.resize(family.size() - std::strlen(suffix));
      }
    }
    EXPECT_NE(later.find("# TYPE " + family + " "), std::string::npos)
        << "the dashboard asks for " << it->str() << ", which the exporter does not serve";
  }
  EXPECT_GT(asked, 10);
}

// A client that opens a connection and then trickles its request a byte at a time (or sends
// nothing) holds no other scrape up, and is dropped once its time is up — not kept for as long
// as it keeps trickling.
TEST(Metrics, ATricklingClientHoldsNoScrapeUpAndIsDropped) {
  TestNode node(kProcesses);
  ASSERT_EQ(node.up().code, 0);
  const Exporter exporter(node);
  ASSERT_GT(exporter.port(), 0);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(exporter.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::atomic<bool> dropped{false}, stop{false};
  std::thread trickle([&] {
    const std::string req = "GET /metrics HTTP/1.1\r\nX-Slow: ";
    for (std::size_t i = 0; !stop; ++i) {
      const char c = i < req.size() ? req[i] : 'x';
      if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        char buf[64];
        if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) break;
      }
    }
    dropped = true;
  });
  // Others are served meanwhile.
  for (int i = 0; i < 3; ++i) EXPECT_NE(exporter.metrics(), "") << "scrape " << i;
  EXPECT_TRUE(wait_until([&] { return dropped.load(); }, 20s))
      << "a client trickling its request is kept for ever";
  stop = true;
  trickle.join();
  ::close(fd);
  EXPECT_NE(exporter.metrics(), "");
}

// A real Prometheus server scrapes the exporter: a query returns the live restart count.
TEST(Metrics, APrometheusServerScrapesTheLiveRestartCount) {
  if (std::system("command -v prometheus >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "prometheus is not installed here (scripts/install-deps installs it)";
  }
  TestNode node(kProcesses);
  ASSERT_EQ(node.up().code, 0);
  const Exporter exporter(node);
  ASSERT_GT(exporter.port(), 0);
  const std::string dir = node.dir() + "/prometheus";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 100ms\n  scrape_timeout: 100ms\n"
      << "scrape_configs:\n  - job_name: hamon\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << exporter.port() << "']\n";
  const int port = free_port();
  ASSERT_GT(port, 0);
  const Child prometheus({"prometheus", "--config.file=" + dir + "/prometheus.yml",
                          "--storage.tsdb.path=" + dir + "/data",
                          "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                         dir + "/prometheus.log");
  ASSERT_TRUE(prometheus.started());
  const std::string query =
      "/api/v1/query?query=hamon_process_restarts_total%7Btenant%3D%22acme%22%7D";
  // Scraped: the series is there with 0 restarts.
  std::string answer;
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView&) {
        answer = http_get(port, query);
        return answer.find("\"name\":\"acd\"") != std::string::npos &&
               answer.find("\"0\"]") != std::string::npos;
      },
      30s))
      << answer;
  const auto acd = node.process("acme", "acd");
  ASSERT_TRUE(acd && acd->pid > 0);
  ASSERT_EQ(::kill(acd->pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait(
      [&](const node::NodeView&) {
        answer = http_get(port, query);
        return answer.find("\"1\"]") != std::string::npos;
      },
      30s))
      << "Prometheus never saw the restart: " << answer;
}

}  // namespace
}  // namespace hamon::test
