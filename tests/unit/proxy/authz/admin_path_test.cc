// A DENY on paths ["/admin"] behind the path normalization the inbound side uses (rfc3986 on,
// merge_slashes on, escaped slashes UNESCAPE or REJECT): every spelling of /admin is refused,
// either with 400 by normalization or with 403 by authorization.
#include <gtest/gtest.h>

#include "proxy/router/path_normalization.h"
#include "tests/unit/proxy/authz/authz_test_support.h"

namespace weft::proxy::authz {
namespace {

using testing::PolicyCatalog;
using testing::TestRequest;
using Slashes = PathNormalizationConfig::EscapedSlashes;

}  // namespace
}  // namespace weft::proxy::authz

namespace weft::proxy {
// Names the parameter in test names and failure messages.
void PrintTo(PathNormalizationConfig::EscapedSlashes slashes, std::ostream* out) {
  *out << (slashes == PathNormalizationConfig::EscapedSlashes::kUnescape ? "UNESCAPE" : "REJECT");
}
}  // namespace weft::proxy

namespace weft::proxy::authz {
namespace {

enum class Outcome { kBadRequest, kDenied, kAllowed };

std::ostream& operator<<(std::ostream& out, Outcome outcome) {
  switch (outcome) {
    case Outcome::kBadRequest:
      return out << "400";
    case Outcome::kDenied:
      return out << "403";
    case Outcome::kAllowed:
      return out << "allowed";
  }
  return out;
}

class AdminPathTest : public ::testing::TestWithParam<Slashes> {
 protected:
  AdminPathTest() {
    policies_.add(R"(name: "deny-admin" action: DENY rules { to { paths: "/admin" } })");
  }

  // The request pipeline's order: normalization, then authorization of the path without query.
  Outcome outcome(std::string_view target) const {
    const PathNormalizationConfig config{
        .rfc3986 = true, .merge_slashes = true, .escaped_slashes = GetParam()};
    std::string rewritten;
    std::string_view normal = target;
    switch (normalizePath(target, config, rewritten)) {
      case PathVerdict::kInvalid:
      case PathVerdict::kEscapedSlash:
        return Outcome::kBadRequest;
      case PathVerdict::kRewritten:
        normal = rewritten;
        break;
      case PathVerdict::kUnchanged:
        break;
    }
    TestRequest request;
    request.path = std::string(normal.substr(0, normal.find('?')));
    return request.decide(policies_.chain({"deny-admin"})).allowed ? Outcome::kAllowed
                                                                   : Outcome::kDenied;
  }

  PolicyCatalog policies_;
};

TEST_P(AdminPathTest, EverySpellingOfAdminIsDenied) {
  for (const char* target : {"/admin", "/admin?x=1", "/%61dmin", "/%61%64%6D%69%6E",
                             "/pub/../admin", "/pub/%2E%2E/admin", "/./admin", "/%2e/admin",
                             "//admin", "///admin//", "/admin/", "/admin/.", "/pub/..//admin/"}) {
    EXPECT_EQ(outcome(target), Outcome::kDenied) << target;
  }
}

TEST_P(AdminPathTest, PathsAreCaseSensitive) {
  EXPECT_EQ(outcome("/ADMIN"), Outcome::kAllowed);
  EXPECT_EQ(outcome("/Admin/"), Outcome::kAllowed);
}

TEST_P(AdminPathTest, OtherResourcesAreAllowed) {
  for (const char* target :
       {"/", "/public", "/admin/users", "/administrator", "/admin/..", "/pub/admin"}) {
    EXPECT_EQ(outcome(target), Outcome::kAllowed) << target;
  }
}

TEST_P(AdminPathTest, EscapedSlashesAreDecodedOrRejected) {
  // UNESCAPE: "/admin%2F" is "/admin/" and "/%2Fadmin" is "//admin", merged to "/admin".
  // REJECT: both are answered 400 before authorization.
  const Outcome expected =
      GetParam() == Slashes::kUnescape ? Outcome::kDenied : Outcome::kBadRequest;
  for (const char* target :
       {"/admin%2F", "/admin%2f", "/%2Fadmin", "/%2fadmin", "/pub%2F..%2Fadmin"}) {
    EXPECT_EQ(outcome(target), expected) << target;
  }
}

INSTANTIATE_TEST_SUITE_P(InboundNormalization, AdminPathTest,
                         ::testing::Values(Slashes::kUnescape, Slashes::kReject),
                         [](const ::testing::TestParamInfo<Slashes>& param_info) {
                           return param_info.param == Slashes::kUnescape ? "Unescape" : "Reject";
                         });

}  // namespace
}  // namespace weft::proxy::authz
