// The cluster key: its text form, and the file `hamon keygen` writes and the link reads.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hamon/peer/key.hpp"
#include "hamon/peer/key_file.hpp"
#include "session_pair.hpp"

namespace hamon::peer {
namespace {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hamon-key-test-XXXXXX").string();
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
  [[nodiscard]] std::string write(const std::string& name, const std::string& text,
                                  mode_t mode) const {
    const std::string f = file(name);
    std::ofstream(f) << text;
    ::chmod(f.c_str(), mode);
    return f;
  }
  [[nodiscard]] std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(path_), {}));
  }

 private:
  fs::path path_;
};

std::string slurp(const std::string& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string a_key_text = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

TEST(Key, IsWrittenAs64LowerCaseHexDigitsAndANewline) {
  std::array<std::uint8_t, key_size> bytes{};
  for (std::size_t i = 0; i < key_size; ++i) bytes[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(format_key(SharedKey(bytes)), a_key_text);
}

TEST(Key, ReadsBackWhatItWrites) {
  auto key = parse_key(a_key_text, "k");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(format_key(*key), a_key_text);
}

TEST(Key, AcceptsUpperCaseAndAMissingNewline) {
  std::string upper = a_key_text.substr(0, 64);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto key = parse_key(upper, "k");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(format_key(*key), a_key_text);
}

TEST(Key, RefusesAnythingElseSayingWhere) {
  const auto why = [](const std::string& text) {
    auto key = parse_key(text, "/etc/hamon/key");
    EXPECT_FALSE(key) << text;
    EXPECT_EQ(key ? base::Errc::system : key.error().code, base::Errc::bad_argument);
    return key ? std::string() : key.error().message;
  };
  EXPECT_EQ(why(a_key_text.substr(0, 63)),
            "/etc/hamon/key: it holds 63 bytes; a key file holds 64 hex digits (32 bytes) and a "
            "newline, as `hamon keygen FILE` writes it");
  EXPECT_NE(why("").find("it holds 0 bytes"), std::string::npos);
  EXPECT_NE(why(a_key_text + "\n").find("it holds 66 bytes"), std::string::npos);
  EXPECT_NE(why(a_key_text.substr(0, 64) + " ").find("it holds 65 bytes"), std::string::npos);
  std::string bad = a_key_text;
  bad[16] = 'g';
  EXPECT_NE(why(bad).find("/etc/hamon/key: character 17 is not a hex digit"), std::string::npos);
}

TEST(KeyFile, KeygenWritesANewKeyReadableOnlyByItsOwner) {
  TempDir dir;
  const mode_t old_umask = ::umask(0);  // even a permissive umask gives 0600
  const base::Status made = create_key_file(dir.file("cluster.key"));
  ::umask(old_umask);
  ASSERT_TRUE(made) << made.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("cluster.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const std::string text = slurp(dir.file("cluster.key"));
  EXPECT_EQ(text.size(), 65u);
  auto key = load_key_file(dir.file("cluster.key"));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(format_key(*key), text);
  EXPECT_EQ(dir.entries(), 1u);  // no temporary file left behind
}

TEST(KeyFile, KeygenMakesADifferentKeyEachTime) {
  TempDir dir;
  ASSERT_TRUE(create_key_file(dir.file("one")));
  ASSERT_TRUE(create_key_file(dir.file("two")));
  EXPECT_NE(slurp(dir.file("one")), slurp(dir.file("two")));
}

TEST(KeyFile, KeygenNeverOverwrites) {
  TempDir dir;
  const std::string existing = dir.write("cluster.key", "precious", 0600);
  const base::Status s = create_key_file(existing);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, base::Errc::exists);
  EXPECT_EQ(s.error().message, existing +
                                   ": exists already; hamon keygen never overwrites a key "
                                   "(remove the file first to replace the cluster's key)");
  EXPECT_EQ(slurp(existing), "precious");
  // Nor through a symbolic link to a file that does not exist yet.
  ASSERT_EQ(::symlink(dir.file("target").c_str(), dir.file("link").c_str()), 0);
  EXPECT_FALSE(create_key_file(dir.file("link")));
  EXPECT_FALSE(fs::exists(dir.file("target")));
  EXPECT_EQ(dir.entries(), 2u);
}

TEST(KeyFile, KeygenSaysWhyItCannotCreateTheFile) {
  TempDir dir;
  const base::Status s = create_key_file(dir.file("no/such/dir/key"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, base::Errc::missing);
  EXPECT_NE(s.error().message.find(dir.file("no/such/dir/key")), std::string::npos);
  EXPECT_NE(s.error().message.find("No such file or directory"), std::string::npos);
}

TEST(KeyFile, LoadingRefusesAKeyThatGroupOrOthersMayAccess) {
  TempDir dir;
  for (const mode_t mode : {0640, 0604, 0644, 0620, 0602, 0660, 0601, 0610}) {
    const std::string f = dir.write("key" + std::to_string(mode), a_key_text, mode);
    auto key = load_key_file(f);
    ASSERT_FALSE(key) << std::oct << mode;
    EXPECT_EQ(key.error().code, base::Errc::permission);
    std::ostringstream octal;
    octal << "0" << std::oct << mode;
    EXPECT_EQ(key.error().message, f + ": mode " + octal.str() +
                                       " lets group or others at the cluster's key; it must be "
                                       "private to its owner (chmod 600 " +
                                       f + ")");
  }
}

TEST(KeyFile, LoadingAcceptsOwnerOnlyModes) {
  TempDir dir;
  for (const mode_t mode : {0600, 0400}) {
    auto key = load_key_file(dir.write("key" + std::to_string(mode), a_key_text, mode));
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(format_key(*key), a_key_text);
  }
}

TEST(KeyFile, LoadingRefusesAFileOfTheWrongSizeOrContent) {
  TempDir dir;
  auto short_key = load_key_file(dir.write("short", a_key_text.substr(0, 40), 0600));
  ASSERT_FALSE(short_key);
  EXPECT_EQ(short_key.error().code, base::Errc::bad_argument);
  EXPECT_NE(short_key.error().message.find(dir.file("short") + ": it holds 40 bytes"),
            std::string::npos);

  auto long_key = load_key_file(dir.write("long", std::string(5000, 'a'), 0600));
  ASSERT_FALSE(long_key);
  EXPECT_NE(long_key.error().message.find(dir.file("long") + ": 5000 bytes, longer than a key"),
            std::string::npos)
      << long_key.error().message;

  auto raw = load_key_file(dir.write("raw", std::string(32, '\x01'), 0600));
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.error().code, base::Errc::bad_argument);
}

TEST(KeyFile, LoadingSaysWhenTheFileIsMissingOrNotAFile) {
  TempDir dir;
  auto missing = load_key_file(dir.file("nothing"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, base::Errc::missing);
  EXPECT_EQ(missing.error().message,
            "unable to open " + dir.file("nothing") + ": No such file or directory");
  fs::create_directory(dir.file("d"));
  ::chmod(dir.file("d").c_str(), 0700);
  auto directory = load_key_file(dir.file("d"));
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().message, dir.file("d") + ": not a regular file");
}

TEST(KeyFile, TwoNodesWithTheSameKeyFileHandshake) {
  TempDir dir;
  ASSERT_TRUE(create_key_file(dir.file("k")));
  auto a_key = load_key_file(dir.file("k"));
  auto b_key = load_key_file(dir.file("k"));
  ASSERT_TRUE(a_key && b_key);
  test::Pair p(*a_key, *b_key, test::config_of("a", "b"), test::config_of("b", "a"));
  p.handshake();
}

}  // namespace
}  // namespace hamon::peer
