// The hamon binary as users and scripts see it: output, messages and exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

const std::string demo = HAMON_DEMO_CONFIG;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hamon-cli-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  std::string write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs hamon with `args`; stdout and stderr go to files, so neither can fill up and block it.
Outcome hamon(const std::vector<std::string>& args) {
  const TempDir dir;
  const std::string out = (dir.path() / "out").string();
  const std::string err = (dir.path() / "err").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  std::vector<std::string> argv_storage{HAMON_BIN};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  Outcome run;
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, HAMON_BIN, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << HAMON_BIN << ": " << std::strerror(rc);
    return run;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = slurp(out);
  run.err = slurp(err);
  return run;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Two errors, on lines 3 and 6.
constexpr const char* broken_config = R"([cluster]
name = "c"
bogus = 1
[[cluster.node]]
id = "a"
side = "upstairs"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)";

TEST(CheckConfig, AcceptsTheDemoConfiguration) {
  // Beside its key, as scripts/demo makes it (the key is relative to the file).
  const TempDir dir;
  const std::string file = dir.write("demo-duplex.toml", slurp(demo));
  ASSERT_EQ(hamon({"keygen", (dir.path() / "demo-peer.key").string()}).exit_code, 0);
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, file + ": ok (7 processes in 3 groups, 2 nodes)\n");
  // The demo's tenants run as whoever runs it: said, and nothing else (docs/security.md).
  std::istringstream lines(r.err);
  int warnings = 0;
  for (std::string line; std::getline(lines, line); ++warnings) {
    EXPECT_NE(line.find("runs as hamon's own user"), std::string::npos) << line;
  }
  EXPECT_EQ(warnings, 2) << r.err;
}

TEST(CheckConfig, WarnsWhenTheClusterKeyCannotBeReadAndSaysHowToMakeOne) {
  const TempDir dir;
  const std::string file = dir.write("demo-duplex.toml", slurp(demo));
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 0) << "the key belongs to the node, which may be another machine";
  const std::string key = (dir.path() / "demo-peer.key").string();
  EXPECT_EQ(r.err.rfind(file + ": warning: auth_key_file: ", 0), 0u) << r.err;
  EXPECT_TRUE(contains(r.err, key + ": No such file")) << r.err;
  EXPECT_TRUE(contains(r.err, "hamon keygen " + key)) << r.err;
}

TEST(CheckConfig, WarnsThatAuthNoneLeavesThePeerLinkUnauthenticated) {
  const TempDir dir;
  std::string text = slurp(demo);
  const std::string key_line = "auth_key_file = \"demo-peer.key\"";
  ASSERT_NE(text.find(key_line), std::string::npos);
  text.replace(text.find(key_line), key_line.size(), "auth = \"none\"");
  const std::string file = dir.write("demo-duplex.toml", text);
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, file + ": warning: auth = \"none\": the peer link is not "
                                     "authenticated"))
      << r.err;
}

// Caps are held by the machine's cgroup controllers: where there are none (here: cgroups turned
// off), each cap asked for is a warning naming the tenant's line; the file is still valid.
TEST(CheckConfig, WarnsOfATenantCapThisMachineCannotHold) {
  const TempDir dir;
  const std::string file = dir.write("caps.toml", R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[tenant]]
name = "acme"
user = "root"
caps = { memory = "1GiB", pids = 100 }
[[tenant.process]]
name = "db"
command = ["db"]
)");
  const char* before = std::getenv("HAMON_CGROUP_ROOT");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("HAMON_CGROUP_ROOT", "none", 1);
  const Outcome r = hamon({"check-config", file});
  if (before != nullptr) {
    ::setenv("HAMON_CGROUP_ROOT", saved.c_str(), 1);
  } else {
    ::unsetenv("HAMON_CGROUP_ROOT");
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, file + ":7: warning: tenant acme: its memory cap cannot be held "
                                     "here (no cgroup hierarchy offers the memory controller)"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "its pids cap cannot be held here")) << r.err;
  EXPECT_FALSE(contains(r.err, "its cpu cap")) << "not asked for: " << r.err;
}

TEST(CheckConfig, PrintsEveryErrorWithItsPositionAndExitsOne) {
  const TempDir dir;
  const std::string file = dir.write("broken.toml", broken_config);
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file + ":3:1: error: unknown key 'bogus' in [cluster]\n" + file +
                       ":6:8: error: invalid side 'upstairs': expected primary or secondary\n");
}

TEST(CheckConfig, ReportsATomlSyntaxErrorAsAnInvalidConfiguration) {
  const TempDir dir;
  const std::string file = dir.write("syntax.toml", "[cluster]\nname = = \"c\"\n");
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(file + ":2:", 0), 0u) << r.err;
  EXPECT_TRUE(contains(r.err, ": error: invalid TOML")) << r.err;
}

TEST(CheckConfig, RefusesAKeyOfThirtyThousandPartsWithAPositionedErrorNotACrash) {
  const TempDir dir;
  std::string key = "a";
  for (int i = 1; i < 30000; ++i) key += ".a";
  const std::string file = dir.write("deep.toml", key + " = 1\n");
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            file +
                ":1:65: error: key with more than 32 dotted parts (hamon reads keys of 32 parts at "
                "most)\n");
}

TEST(CheckConfig, RefusesAFileLargerThanSixteenMebibytes) {
  const TempDir dir;
  const std::string file = dir.write("huge.toml", "");
  fs::resize_file(file, std::uintmax_t{64} << 20);  // sparse: no disk space used
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      r.err,
      file +
          ":1:1: error: the file is larger than 16 MiB (16777216 bytes), the most hamon reads\n");
}

TEST(CheckConfig, WritesNoControlCharacterFromTheFile) {
  const TempDir dir;
  const std::string file = dir.write(
      "names.toml", std::string(broken_config) + "[[tenant]]\nname = \"evil\\u001b[2J\\nline\"\n");
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_TRUE(contains(r.err, file + ":12:8: error: invalid tenant name 'evil\\x1b[2J\\nline'"))
      << r.err;
}

TEST(CheckConfig, ExitsThreeWhenTheFileDoesNotExist) {
  const TempDir dir;
  const std::string file = (dir.path() / "missing.toml").string();
  const Outcome r = hamon({"check-config", file});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "hamon: unable to read " + file + ": No such file or directory\n");
}

TEST(CheckConfig, ExitsThreeWhenTheFileIsADirectory) {
  const TempDir dir;
  const Outcome r = hamon({"check-config", dir.path().string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "hamon: unable to read " + dir.path().string() + ": Is a directory\n");
}

TEST(CommandLine, AMissingFileArgumentIsAUsageError) {
  const Outcome r = hamon({"check-config"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "FILE is required")) << r.err;
}

TEST(CommandLine, AnExtraArgumentIsAUsageError) {
  const Outcome r = hamon({"check-config", demo, "other.toml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CommandLine, AnUnknownOptionIsAUsageError) {
  const Outcome r = hamon({"graph", demo, "--svg"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--svg")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CommandLine, AnUnknownSubcommandIsAUsageError) {
  const Outcome r = hamon({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "frobnicate")) << r.err;
}

TEST(CommandLine, NoSubcommandIsAUsageError) {
  const Outcome r = hamon({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "A subcommand is required")) << r.err;
}

TEST(CommandLine, HelpListsTheSubcommandsAndExitsZero) {
  const Outcome r = hamon({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "check-config")) << r.out;
  EXPECT_TRUE(contains(r.out, "graph")) << r.out;
}

TEST(CommandLine, SubcommandHelpExitsZero) {
  const Outcome r = hamon({"graph", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "--dot")) << r.out;
}

TEST(CommandLine, VersionPrintsTheProjectVersion) {
  const Outcome r = hamon({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "hamon " HAMON_VERSION "\n");
}

TEST(CommandLine, EachDaemonPrintsItsVersionWithoutAConfiguration) {
  for (const char* d :
       {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server"}) {
    const std::string bin = std::string(HAMON_BIN_DIR) + "/" + d;
    FILE* p = ::popen((bin + " --version 2>&1").c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    for (char buf[256]; std::fgets(buf, sizeof buf, p) != nullptr;) out += buf;
    EXPECT_EQ(::pclose(p), 0) << d << ": " << out;
    EXPECT_EQ(out, std::string(d) + " " HAMON_VERSION "\n");
  }
}

// What bash offers after `hamon WORDS` with the script `hamon completion bash` prints loaded.
std::string completions(const std::string& script, const std::string& words) {
  const TempDir dir;
  const std::string file = dir.write("completion.bash", script);
  const std::string program = "source " + file + "; COMP_WORDS=(hamon " + words +
                              "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _hamon; "
                              "echo \"${COMPREPLY[*]}\"";
  const std::string program_file = dir.write("run.bash", program);
  FILE* p = ::popen(("bash " + program_file + " 2>&1").c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  for (char buf[512]; std::fgets(buf, sizeof buf, p) != nullptr;) out += buf;
  ::pclose(p);
  return out;
}

TEST(Completion, BashCompletesSubcommandsTheirOptionsAndFileNames) {
  const Outcome r = hamon({"completion", "bash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(completions(r.out, "st"), "start stop status\n");
  EXPECT_EQ(completions(r.out, "tenant a"), "activate\n");
  EXPECT_EQ(completions(r.out, "tenant activate --fo"), "--force\n");
  EXPECT_EQ(completions(r.out, "events --node a --fo"), "--follow\n");
  // After an option that takes a value: file names.
  const TempDir dir;
  const std::string file = dir.write("cluster.toml", "");
  EXPECT_EQ(completions(r.out, "up --config " + (dir.path() / "clus").string()), file + "\n");
}

TEST(Completion, AShellItCannotServeIsAUsageError) {
  const Outcome r = hamon({"completion", "zsh"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "zsh")) << r.err;
}

TEST(Graph, PrintsTheStartPlanOfTheDemo) {
  const Outcome r = hamon({"graph", demo});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out.rfind("start plan for cluster demo (7 processes, 4 waves)\nwave 1\n  system/db ", 0),
      0u)
      << r.out;
  EXPECT_TRUE(
      contains(r.out, "\nwave 2\n  system/sipd   priority 90             after system/db\n"))
      << r.out;
  EXPECT_TRUE(
      contains(r.out, "  acme/acd      priority 80   critical  after system/sipd, acme/store\n"))
      << r.out;
  EXPECT_TRUE(
      contains(r.out, "\nwave 4\n  globex/ivr    priority 60             after globex/acd\n"))
      << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(Graph, PrintsGraphvizWithDot) {
  const Outcome r = hamon({"graph", "--dot", demo});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\ndigraph \"demo\" {\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  subgraph \"cluster_system\" {\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "    label=\"tenant globex (cold standby)\";\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "    \"acme/acd\" [label=\"acd\\npriority 80\", peripheries=2];\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "  \"system/db\" -> \"system/sipd\";\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  \"globex/acd\" -> \"globex/ivr\";\n")) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "}\n");
}

TEST(Graph, RefusesAnInvalidConfigurationWithExitOne) {
  const TempDir dir;
  const std::string file = dir.write("broken.toml", broken_config);
  const Outcome r = hamon({"graph", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, file + ":3:1: error: unknown key 'bogus' in [cluster]\n")) << r.err;
}

TEST(Graph, ExitsThreeWhenTheFileCannotBeRead) {
  const TempDir dir;
  const std::string file = (dir.path() / "missing.toml").string();
  const Outcome r = hamon({"graph", "--dot", file});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "hamon: unable to read " + file + ": No such file or directory\n");
}

}  // namespace
