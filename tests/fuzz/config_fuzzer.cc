// Fuzz target: the gateway's configuration (gateway/ingress/config.h):
// ParseConfig with arbitrary flags and an injected environment.
//
// Input: NUL-separated records, as /proc/self/cmdline and
// /proc/self/environ are: the arguments, then an empty record, then
// NAME=VALUE environment entries (the first entry of a name wins, as
// getenv finds it). Properties:
//   - ParseConfig returns a config or an error, deterministically; an error
//     is kInvalidArgument (kCancelled only for --help or -h), and its
//     message names a flag ("--name", or the unknown or unexpected
//     argument) and holds no control character (values are C-escaped);
//   - a config it returns satisfies every documented rule, checked again
//     here: an https:// base URL (http:// only with allow_insecure_http),
//     a valid path template and User-Agent, valid lower-case forwarded
//     keys, the numeric ranges, a key source, TLS files in pairs;
//   - a flag and its environment variable are the same setting: moving
//     every GATEWAY_* variable onto the command line as --name=value
//     gives the same result.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gateway/ingress/config.h"
#include "gateway/request/header_policy.h"
#include "gateway/request/path_template.h"
#include "gateway/request/request_translator.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/text_properties.h"

namespace usergateway {
namespace fuzz {
namespace {

// Flag name -> environment variable, read from Usage() so that a new flag
// is covered without editing this file.
const std::map<std::string, std::string>& FlagVariables() {
  static const auto* flags = [] {
    auto* out = new std::map<std::string, std::string>();
    const std::string usage = Usage();
    for (size_t at = usage.find("\n  --"); at != std::string::npos;
         at = usage.find("\n  --", at + 1)) {
      const size_t name_start = at + 5;
      const size_t space = usage.find(" (", name_start);
      const size_t comma = usage.find(',', space);
      if (space == std::string::npos || comma == std::string::npos) break;
      (*out)[usage.substr(name_start, space - name_start)] =
          usage.substr(space + 2, comma - space - 2);
    }
    return out;
  }();
  return *flags;
}

struct FuzzInput {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
};

FuzzInput ReadInput(absl::string_view data) {
  FuzzInput in;
  bool in_env = false;
  for (std::string& record : SplitAtNul(data)) {
    if (!in_env && record.empty()) {
      in_env = true;
    } else if (!in_env) {
      in.args.push_back(std::move(record));
    } else if (size_t eq = record.find('='); eq != std::string::npos) {
      in.env.emplace(record.substr(0, eq), record.substr(eq + 1));
    }
  }
  return in;
}

absl::StatusOr<Config> Parse(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  return ParseConfig(args, [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

bool NamesAFlag(absl::string_view message) {
  if (absl::StartsWith(message, "unknown flag --") ||
      absl::StartsWith(message, "unexpected argument ")) {
    return true;
  }
  for (const auto& [name, variable] : FlagVariables()) {
    if (absl::StrContains(message, absl::StrCat("--", name))) return true;
  }
  return false;
}

void CheckError(const absl::Status& status, const FuzzInput& in) {
  const std::string detail = Quote(status.ToString());
  bool asked_for_help = false;
  for (const std::string& arg : in.args) {
    asked_for_help |= arg == "--help" || arg == "-h";
  }
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
                 (asked_for_help &&
                  status.code() == absl::StatusCode::kCancelled),
             detail);
  if (status.code() == absl::StatusCode::kCancelled) return;
  FUZZ_CHECK(NamesAFlag(status.message()),
             absl::StrCat("no flag named: ", detail));
  FUZZ_CHECK(!HasControlCharacter(status.message()),
             absl::StrCat("a control character in: ", detail));
}

void CheckConfig(const Config& c) {
  const std::string& url = c.translator.base_url;
  FUZZ_CHECK(absl::StartsWith(url, "https://") ||
                 (absl::StartsWith(url, "http://") &&
                  c.upstream.allow_insecure_http),
             Quote(url));
  FUZZ_CHECK(ValidatePathTemplate(c.translator.path_template).ok(),
             Quote(c.translator.path_template));
  FUZZ_CHECK(ValidateUserAgent(c.translator.user_agent).ok(),
             Quote(c.translator.user_agent));
  for (const std::string& key : c.translator.forward_metadata) {
    FUZZ_CHECK(ValidateForwardMetadataKey(key).ok() &&
                   key == absl::AsciiStrToLower(key),
               Quote(key));
  }
  FUZZ_CHECK(!c.api_key_file.empty() || !c.api_key_env_value.empty(),
             "no API key source");
  FUZZ_CHECK(c.tls_cert_file.empty() == c.tls_key_file.empty(),
             "TLS certificate without key");
  FUZZ_CHECK(c.admin_port_file.empty() || !c.admin_listen.empty(),
             "admin port file without admin listener");
  FUZZ_CHECK(c.upstream.backoff_base <= c.upstream.backoff_max,
             "backoff base over max");
  FUZZ_CHECK(c.upstream.response_buffer_budget_bytes == 0 ||
                 c.upstream.response_buffer_budget_bytes >=
                     c.upstream.max_response_bytes,
             "response budget below the response cap");
  FUZZ_CHECK(c.upstream.max_response_header_bytes >= 1024 &&
                 c.upstream.max_response_header_bytes <= 1048576,
             absl::StrCat(c.upstream.max_response_header_bytes));
  FUZZ_CHECK(c.upstream.attempt_timeout >= absl::ZeroDuration() &&
                 c.upstream.attempt_timeout <= absl::Minutes(10),
             absl::FormatDuration(c.upstream.attempt_timeout));
  FUZZ_CHECK(c.tls_reload_interval >= absl::Seconds(1) &&
                 c.tls_reload_interval <= absl::Hours(24) &&
                 c.tls_reload_interval % absl::Seconds(1) ==
                     absl::ZeroDuration(),
             absl::FormatDuration(c.tls_reload_interval));
  FUZZ_CHECK(c.upstream.max_attempts >= 1 && c.upstream.max_attempts <= 10,
             absl::StrCat(c.upstream.max_attempts));
  FUZZ_CHECK(absl::StrContains(c.listen, ":"), Quote(c.listen));
}

// The same settings with every GATEWAY_* variable that is a flag's moved
// onto the command line (where the flag is not given already).
FuzzInput AsFlags(const FuzzInput& in) {
  FuzzInput out;
  out.args = in.args;
  std::set<std::string> given;
  for (const std::string& arg : in.args) {
    absl::string_view name = arg;
    if (!absl::ConsumePrefix(&name, "--")) continue;
    given.insert(std::string(name.substr(0, name.find('='))));
  }
  for (const auto& [name, variable] : FlagVariables()) {
    const auto it = in.env.find(variable);
    if (it == in.env.end() || given.count(name) != 0) continue;
    out.args.push_back(absl::StrCat("--", name, "=", it->second));
  }
  for (const auto& [variable, value] : in.env) {
    bool is_flag = false;
    for (const auto& [name, flag_variable] : FlagVariables()) {
      is_flag |= variable == flag_variable;
    }
    if (!is_flag) out.env.emplace(variable, value);
  }
  return out;
}

}  // namespace
}  // namespace fuzz
}  // namespace usergateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = ::usergateway::fuzz;
  const fuzz::FuzzInput in = fuzz::ReadInput(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  FUZZ_CHECK(fuzz::FlagVariables().size() >= 30,
             "could not read the flags from Usage()");

  const absl::StatusOr<usergateway::Config> config = fuzz::Parse(in.args, in.env);
  const absl::StatusOr<usergateway::Config> again =
      fuzz::Parse(in.args, in.env);
  FUZZ_CHECK(config.status() == again.status(), "ParseConfig is not "
                                                "deterministic");
  if (!config.ok()) {
    fuzz::CheckError(config.status(), in);
    return 0;
  }
  fuzz::CheckConfig(*config);

  const fuzz::FuzzInput as_flags = fuzz::AsFlags(in);
  const absl::StatusOr<usergateway::Config> from_flags =
      fuzz::Parse(as_flags.args, as_flags.env);
  FUZZ_CHECK(from_flags.ok(),
             absl::StrCat("the environment's settings as flags fail: ",
                          fuzz::Quote(from_flags.status().ToString())));
  const usergateway::Config& a = *config;
  const usergateway::Config& b = *from_flags;
  FUZZ_CHECK(a.listen == b.listen && a.admin_listen == b.admin_listen &&
                 a.translator.base_url == b.translator.base_url &&
                 a.translator.path_template == b.translator.path_template &&
                 a.translator.user_agent == b.translator.user_agent &&
                 a.translator.forward_metadata ==
                     b.translator.forward_metadata &&
                 a.api_key_file == b.api_key_file &&
                 a.upstream.max_attempts == b.upstream.max_attempts &&
                 a.upstream.timeout_cap == b.upstream.timeout_cap &&
                 a.log_calls == b.log_calls,
             "a flag and its environment variable differ");
  return 0;
}
