// Specification of who may ask hamon-server what (docs/security.md): hamon's own user and root
// everything; a tenant's user and operators only their tenant's processes and moves; anyone else
// nothing. Users from this machine's passwd: root (0), and `nobody`, who is no tenant's here.
#include "hamon/node/authorize.hpp"

#include <gtest/gtest.h>
#include <pwd.h>

namespace hamon::node {
namespace {

engine::Config config_with(const std::string& user_of_acme, std::vector<std::string> operators) {
  engine::Config c;
  engine::TenantConfig acme;
  acme.name = "acme";
  acme.user = user_of_acme;
  acme.operators = std::move(operators);
  engine::TenantConfig globex;
  globex.name = "globex";
  c.tenants = {acme, globex};
  return c;
}

Caller nobody() {
  const passwd* pw = ::getpwnam("nobody");
  return {pw != nullptr ? pw->pw_uid : 65534, pw != nullptr ? pw->pw_gid : 65534, 42};
}

constexpr uid_t kHamon = 4242;  // the user hamon runs as, in these cases

TEST(Authorize, RootAndHamonsOwnUserMayDoEverything) {
  const auto c = config_with("someone", {});
  EXPECT_FALSE(refusal({0, 0, 1}, Request::down(), {}, c, kHamon));
  EXPECT_FALSE(refusal({kHamon, 1, 1}, Request::reload(), {}, c, kHamon));
  EXPECT_FALSE(
      refusal({kHamon, 1, 1}, Request::on(Verb::restart, "globex/x"), {"globex"}, c, kHamon));
}

TEST(Authorize, ATenantsUserMayActOnItsOwnTenantOnly) {
  const auto c = config_with("nobody", {});
  EXPECT_FALSE(refusal(nobody(), Request::on(Verb::restart, "acme/x"), {"acme"}, c, kHamon));
  EXPECT_FALSE(refusal(nobody(), Request::on(Verb::switchover, "acme"), {"acme"}, c, kHamon));
  const auto other = refusal(nobody(), Request::on(Verb::stop, "globex/y"), {"globex"}, c, kHamon);
  ASSERT_TRUE(other);
  EXPECT_NE(other->find("may not stop in globex: only in acme"), std::string::npos) << *other;
  // Several tenants at once: all must be its own.
  EXPECT_TRUE(refusal(nobody(), Request::on(Verb::switchover, "acme,globex"), {"acme", "globex"}, c,
                      kHamon));
}

TEST(Authorize, ATenantsUserMayNeverTakeTheWholeNodeUpDownOrReload) {
  const auto c = config_with("nobody", {});
  for (const auto& r : {Request::up(), Request::down(), Request::reload()}) {
    const auto why = refusal(nobody(), r, {}, c, kHamon);
    ASSERT_TRUE(why) << to_string(r.verb);
    EXPECT_NE(why->find("only root and group hamon may"), std::string::npos) << *why;
  }
}

TEST(Authorize, AnOperatorListedByATenantHasItsUsersRights) {
  const auto c = config_with("someone-else", {"nobody"});
  EXPECT_FALSE(refusal(nobody(), Request::on(Verb::tenant_restart, "acme"), {"acme"}, c, kHamon));
  EXPECT_TRUE(
      refusal(nobody(), Request::on(Verb::tenant_restart, "globex"), {"globex"}, c, kHamon));
}

TEST(Authorize, AnyoneElseMayDoNothingAndIsToldWhy) {
  const auto c = config_with("someone-else", {});
  const auto why = refusal(nobody(), Request::on(Verb::restart, "acme/x"), {"acme"}, c, kHamon);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("user nobody"), std::string::npos) << *why;
  EXPECT_NE(why->find("may not use hamon-server"), std::string::npos) << *why;
  // A uid with no name at all is nobody's operator.
  EXPECT_TRUE(refusal({987654, 987654, 1}, Request::on(Verb::restart, "acme/x"), {"acme"},
                      config_with("", {""}), kHamon));
}

}  // namespace
}  // namespace hamon::node
