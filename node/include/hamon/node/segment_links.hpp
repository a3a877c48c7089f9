// A second name for each of a node's segments, so that a removed name can be put back.
//
// A segment is a file in /dev/shm, and removing its name (`rm /dev/shm/hamon.*`, a clean-up
// script) does not end it: every daemon and process that mapped it keeps the same memory. What
// is lost is the name, through which a restarted daemon, a starting process and the CLI find
// it — and a file whose last name is gone can never be given one again. So each segment has a
// second, hidden name in the same directory, `/dev/shm/.NAME` (a shell's `hamon*` does not
// match it), made by its creator; the daemons that hold the segment look every 100 ms and give
// back whichever of the two names was removed, from the other. Only if both go is the memory
// unreachable by name (see hamon-master for the control segment).
#ifndef HAMON_NODE_SEGMENT_LINKS_HPP
#define HAMON_NODE_SEGMENT_LINKS_HPP

#include <sys/types.h>

#include <optional>
#include <string>

#include "hamon/node/node.hpp"
#include "hamon/result.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

// "/dev/shm/.NAME" for segment NAME.
[[nodiscard]] std::string keep_link_path(const std::string& segment);

// The inode of the file mapped at `addr` in this process (from /proc/self/maps), if any.
[[nodiscard]] std::optional<ino_t> mapped_inode(const void* addr);

enum class Links {
  intact,    // both names are the mapping
  restored,  // one was missing (or the hidden one stale) and was given back
  lost,      // neither name is the mapping any more: nothing can give it a name again
  replaced,  // the segment's name belongs to another file: someone made a new segment
};

// Makes both names of `segment` name the mapping whose inode is `ino`, from whichever still
// does. An error says why a name could not be given back.
base::Result<Links> tend_links(const std::string& segment, ino_t ino);

// For a daemon that does not map the segment (the spawner, before a start): gives `segment`
// its name back from the hidden one if only the name is gone. True if the name is there.
bool restore_name(const std::string& segment);

// Removes the hidden name (with the segment, at `hamon down` or over a dead node's remains).
void remove_keep_link(const std::string& segment);

// Both names of the node's control segment are gone, and `old` is a mapping of it: makes the
// segment again under its name, as a copy of `old`, with its hidden name. The daemons that write
// to it — hamon-spawner, hamon-monitor, hamon-server — are SIGKILLed first (through pidfds
// checked against their slots, and whoever holds their instance locks), and waited for up to
// 2 s, so the copy is what they left; their watcher restarts them on the new segment, where they
// adopt the node's processes as after any crash. The processes themselves are not touched.
// The new segment appears whole: it is made under a temporary name and then linked.
base::Result<shm::ControlSegment> rescue_control_segment(const Node& node,
                                                         const shm::ControlSegment& old);

}  // namespace hamon::node

#endif  // HAMON_NODE_SEGMENT_LINKS_HPP
