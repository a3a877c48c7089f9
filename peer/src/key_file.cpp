#include "hamon/peer/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace hamon::peer {
namespace {

using base::Errc;
using base::Error;

// The longest file a key could be: 64 digits and a newline. One byte more is read to tell a
// longer file apart.
constexpr std::size_t max_key_file = 2 * key_size + 1;

Error system_error(const std::string& what, int err) {
  const Errc code = err == ENOENT                   ? Errc::missing
                    : err == EEXIST                 ? Errc::exists
                    : err == EACCES || err == EPERM ? Errc::permission
                                                    : Errc::system;
  return Error{code, what + ": " + std::strerror(err)};
}

std::string octal_mode(mode_t mode) {
  std::string s = "0000";
  for (int i = 3; i >= 1; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
    mode >>= 3;
  }
  return s;
}

// The directory of `path`, for fsync after the new name appears.
std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

base::Status create_key_file(const std::string& path) {
  // A friendlier message than link()'s EEXIST below, which still decides if a file appears in
  // between.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    return Error{Errc::exists, path +
                                   ": exists already; hamon keygen never overwrites a key "
                                   "(remove the file first to replace the cluster's key)"};
  }
  base::Result<SharedKey> key = random_key();
  if (!key) return key.error();
  std::string text = format_key(*key);

  // Written under a temporary name, then linked to `path`: link() fails if `path` exists, where
  // rename() would replace it.
  std::string temp = path + ".XXXXXX";
  const int raw = ::mkostemp(temp.data(), O_CLOEXEC);
  if (raw < 0) {
    sodium_memzero(text.data(), text.size());
    return system_error("unable to create a file beside " + path, errno);
  }
  Fd fd(raw);
  const auto undo = [&](const std::string& what, int err) {
    sodium_memzero(text.data(), text.size());
    ::unlink(temp.c_str());
    return system_error(what, err);
  };
  if (::fchmod(fd.get(), 0600) != 0) return undo("unable to chmod " + temp, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return undo("unable to write " + temp, errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return undo("unable to write " + temp, errno);
  if (::link(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      sodium_memzero(text.data(), text.size());
      ::unlink(temp.c_str());
      return Error{Errc::exists, path + ": exists already; hamon keygen never overwrites a key"};
    }
    return undo("unable to create " + path, err);
  }
  sodium_memzero(text.data(), text.size());
  ::unlink(temp.c_str());
  // The new name survives a crash only once its directory is on disk too.
  Fd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return base::ok();
}

base::Result<SharedKey> load_key_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return system_error("unable to open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return system_error("unable to stat " + path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Error{Errc::bad_argument, path + ": not a regular file"};
  }
  if ((st.st_mode & 077) != 0) {
    return Error{Errc::permission,
                 path + ": mode " + octal_mode(st.st_mode & 07777) +
                     " lets group or others at the cluster's key; it must be private to its "
                     "owner (chmod 600 " +
                     path + ")"};
  }
  std::array<char, max_key_file + 1> text{};
  std::size_t have = 0;
  while (have < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + have, text.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_error("unable to read " + path, errno);
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  if (have > max_key_file) {
    return Error{Errc::bad_argument,
                 path + ": " + std::to_string(st.st_size) +
                     " bytes, longer than a key; a key file holds 64 hex digits (32 bytes) and a "
                     "newline, as `hamon keygen FILE` writes it"};
  }
  base::Result<SharedKey> key = parse_key(std::string_view(text.data(), have), path);
  sodium_memzero(text.data(), text.size());
  return key;
}

}  // namespace hamon::peer
