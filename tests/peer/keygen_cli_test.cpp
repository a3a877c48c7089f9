// `hamon keygen FILE` as users run it: the real binary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hamon/peer/key_file.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hamon-keygen-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string slurp(const std::string& file) {
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
  const std::string out = dir.file("out");
  const std::string err = dir.file("err");
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

TEST(Keygen, WritesAKeyTheLinkLoadsWithMode0600) {
  const TempDir dir;
  const std::string file = dir.file("cluster.key");
  const Outcome r = hamon({"keygen", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, file +
                       ": a new cluster key (mode 0600). Copy it to every node of the cluster, "
                       "keeping it private, and name it in [cluster] auth_key_file.\n");
  EXPECT_EQ(r.err, "");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto key = hamon::peer::load_key_file(file);
  EXPECT_TRUE(key) << key.error().message;
}

TEST(Keygen, RefusesToOverwriteAnExistingFileAndExits3) {
  const TempDir dir;
  const std::string file = dir.file("cluster.key");
  ASSERT_EQ(hamon({"keygen", file}).exit_code, 0);
  const std::string first = slurp(file);
  const Outcome r = hamon({"keygen", file});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "hamon: " + file +
                       ": exists already; hamon keygen never overwrites a key (remove the file "
                       "first to replace the cluster's key)\n");
  EXPECT_EQ(slurp(file), first);
}

TEST(Keygen, NeedsAFileArgument) {
  const Outcome r = hamon({"keygen"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("FILE is required"), std::string::npos) << r.err;
}

}  // namespace
