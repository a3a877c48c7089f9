#include "hamon/node/authorize.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>

namespace hamon::node {
namespace {

std::string user_name(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::string();
}

bool in_admin_group(const Caller& c, const std::string& name) {
  const group* g = ::getgrnam(kAdminGroup);
  if (g == nullptr) return false;
  if (c.gid == g->gr_gid) return true;
  for (char** m = g->gr_mem; m != nullptr && *m != nullptr; ++m) {
    if (!name.empty() && name == *m) return true;
  }
  return false;
}

std::string who(const Caller& c, const std::string& name) {
  return "user " + (name.empty() ? std::string("?") : name) + " (uid " + std::to_string(c.uid) +
         ")";
}

}  // namespace

std::optional<std::string> refusal(const Caller& caller, const Request& request,
                                   const std::vector<std::string>& groups,
                                   const engine::Config& config, uid_t self) {
  if (caller.uid == 0 || caller.uid == self) return std::nullopt;
  const std::string name = user_name(caller.uid);
  if (in_admin_group(caller, name)) return std::nullopt;
  std::vector<std::string> mine;
  for (const auto& t : config.tenants) {
    const bool named = std::find(t.operators.begin(), t.operators.end(), name) != t.operators.end();
    if (!name.empty() && ((t.user && *t.user == name) || named)) mine.push_back(t.name);
  }
  const std::string verb(to_string(request.verb));
  if (mine.empty()) {
    return who(caller, name) + " may not use hamon-server (not root, not in group " + kAdminGroup +
           ", not a tenant's user or operator)";
  }
  if (!takes_target(request.verb)) {
    return who(caller, name) + " may not " + verb + " the node: only root and group " +
           kAdminGroup + " may";
  }
  for (const auto& g : groups) {
    if (std::find(mine.begin(), mine.end(), g) == mine.end()) {
      std::string list;
      for (const auto& t : mine) list.append(list.empty() ? "" : ", ").append(t);
      return who(caller, name) + " may not " + verb + " in " + g + ": only in " + list;
    }
  }
  return std::nullopt;
}

}  // namespace hamon::node
