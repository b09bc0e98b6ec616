// update_user_profile: a command-line caller of the gateway.
//
//   update_user_profile --target=127.0.0.1:50051 --enterprise_id=E
//       --user_id=U --first_name=Ada [--timeout_ms=5000] [--request_id=R]
//
// Prints the user's id, authn id, first and full name on success (exit 0);
// else the gRPC code, message, reason, metadata, field violations and retry
// delay (exit 1). Exit 2 for bad usage. Never prints token fields.
#include <cstdio>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "client/user_profile_client.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"timeout_ms", "5000"}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (!absl::StartsWith(arg, "--") || eq == std::string::npos) {
      std::fprintf(stderr, "usage: %s --target=HOST:PORT --enterprise_id=E "
                           "--user_id=U --first_name=NAME [--timeout_ms=N] "
                           "[--request_id=R]\n", argv[0]);
      return 2;
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  int64_t timeout_ms = 0;
  for (const char* required : {"target", "enterprise_id", "user_id",
                               "first_name"}) {
    if (flags.count(required) == 0) {
      std::fprintf(stderr, "%s: --%s is required\n", argv[0], required);
      return 2;
    }
  }
  if (!absl::SimpleAtoi(flags["timeout_ms"], &timeout_ms) || timeout_ms <= 0) {
    std::fprintf(stderr, "%s: --timeout_ms must be a positive integer\n",
                 argv[0]);
    return 2;
  }
  auto client = usergateway::UserProfileClient::Create(flags["target"]);
  usergateway::UpdateResult result = client->UpdateFirstName(
      flags["enterprise_id"], flags["user_id"], flags["first_name"],
      absl::Milliseconds(timeout_ms), flags["request_id"]);
  if (result.user.ok()) {
    const usergateway::v1::User& user = *result.user;
    std::printf("OK id=%lld authn_user_id=%s first_name=%s full_name=%s\n",
                static_cast<long long>(user.id()),
                user.profile().authn_user_id().c_str(),
                user.first_name().c_str(), user.full_name().c_str());
    return 0;
  }
  std::printf("ERROR code=%d message=%s\n",
              static_cast<int>(result.user.status().code()),
              std::string(result.user.status().message()).c_str());
  if (!result.error.reason.empty()) {
    std::printf("  reason=%s domain=%s\n", result.error.reason.c_str(),
                result.error.domain.c_str());
  }
  for (const auto& [key, value] : result.error.metadata) {
    std::printf("  %s=%s\n", key.c_str(), value.c_str());
  }
  for (const auto& [field, description] : result.error.field_violations) {
    std::printf("  violation %s: %s\n", field.c_str(), description.c_str());
  }
  if (result.error.retry_delay.has_value()) {
    std::printf("  retry_after_ms=%lld\n",
                static_cast<long long>(
                    absl::ToInt64Milliseconds(*result.error.retry_delay)));
  }
  return 1;
}
