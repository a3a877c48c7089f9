// The file that holds the cluster's shared key (`auth_key_file`), in key.hpp's text form.
//
// Thread-safety: reentrant; the file system is the only shared state.
#ifndef HAMON_PEER_KEY_FILE_HPP
#define HAMON_PEER_KEY_FILE_HPP

#include <string>

#include "hamon/peer/key.hpp"
#include "hamon/result.hpp"

namespace hamon::peer {

// Writes a new random key to `path` with mode 0600, atomically: the file appears whole or not at
// all. Refuses (Errc::exists) if anything is at `path` already: a key is never overwritten.
[[nodiscard]] base::Status create_key_file(const std::string& path);

// Reads the key at `path`. Refuses a file that group or others may access in any way
// (Errc::permission: the key must be private to its owner, mode 0600 or 0400), one that is not a
// regular file, and one that does not hold exactly a key (Errc::bad_argument). Every error
// starts with the path.
[[nodiscard]] base::Result<SharedKey> load_key_file(const std::string& path);

}  // namespace hamon::peer

#endif  // HAMON_PEER_KEY_FILE_HPP
