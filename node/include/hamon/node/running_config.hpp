// The configuration a node runs: RUNTIME/running.toml, a copy of the operator's file written by
// whoever validated it — `hamon up` before it starts the node, hamon-server on a successful
// `hamon reload`. Every daemon is started with this copy, never with the operator's file: an
// edit on disk takes effect through `hamon reload` only, so a bad edit never stops a restarted
// daemon, and a good one never takes effect behind the operator's back.
//
// The daemons that hold the configuration in memory keep the copy in place: one that is removed
// (with the runtime directory, say), or spoiled, is written again from memory.
#ifndef HAMON_NODE_RUNNING_CONFIG_HPP
#define HAMON_NODE_RUNNING_CONFIG_HPP

#include <sys/types.h>

#include <ctime>
#include <string>
#include <string_view>

#include "hamon/node/node.hpp"
#include "hamon/result.hpp"

namespace hamon::node {

// Writes `text` to `path` so that a reader finds the old file or the new one, never a part of
// either: a temporary beside it, fsync, rename, fsync of the directory. Mode 0600.
base::Status write_file_atomically(const std::string& path, std::string_view text);

// The running copy's text: a first line naming the operator's file it was validated from (a
// TOML comment: the copy parses as the file did), then the file's text.
[[nodiscard]] std::string running_text(const std::string& source_path, std::string_view text);

// For `hamon up`: makes the runtime directory and writes the running copy of the configuration
// `node` was loaded from.
base::Status write_running_config(const Node& node);

// The running copy of the node `node_id` (any node when empty) made from the operator's file
// `source_path`, found in the runtime directories by its first line: for a daemon started on
// the operator's file (by init) while that file is not valid. Empty if there is not exactly one.
[[nodiscard]] std::string find_running_copy(const std::string& source_path,
                                            const std::string& node_id);

class RunningConfig {
 public:
  enum class Role {
    follow,  // hamon-master and hamon-watcher: a newer valid copy (a reload) becomes theirs
    lead,    // hamon-server: the copy is what it runs, and any other content is put back
  };
  struct Tended {
    enum class What { unchanged, taken, rewritten } what = What::unchanged;
    std::string why;  // rewritten: what was wrong with the file ("it was missing")
  };

  RunningConfig(const Node& node, Role role);

  // Looks at the file — one stat when it has not changed — and takes a newer copy (follow), or
  // writes the one in memory where the file is missing, unreadable, not valid, of another node,
  // or (lead) not what the server runs. An error says why the file could not be written.
  base::Result<Tended> tend();
  // tend(), and what of it the daemon should say in the event log: the file put back and why, or
  // a failure to write it (said once until another failure or a success). Empty: nothing to say.
  std::string tend_and_say();

  // Writes the one in memory, whatever is there: a node started afresh runs what it was
  // started with, not what an earlier run left.
  base::Status install();

  // lead: the operator's file's `text`, validated by the caller, is to become the running
  // configuration. It is written beside the file and synced; nothing changes until commit().
  base::Status stage(std::string_view text);
  // The staged text becomes the running configuration, in memory and on disk.
  base::Status commit();
  // The staged text is dropped.
  void discard();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    timespec mtime{};
  };
  [[nodiscard]] std::string wrong_with(const std::string& content) const;
  base::Status rewrite();
  void remember();

  std::string cluster_, id_, source_;
  Role role_;
  std::string path_, dir_;
  std::string text_;  // the configuration the node runs
  std::string staged_text_, staged_path_;
  Identity seen_;           // the file as last looked at
  std::string said_error_;  // tend_and_say(): the last failure said
};

}  // namespace hamon::node

#endif  // HAMON_NODE_RUNNING_CONFIG_HPP
