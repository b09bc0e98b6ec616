// The gateway's configuration: command-line flags with environment-variable
// fallbacks, validated once at start so that a bad setting fails fast with a
// message that names the flag.
//
// Example:
//
//   absl::StatusOr<Config> config = ParseConfig(args, &getenv);
//   if (!config.ok()) {
//     std::cerr << config.status().message() << "\n";
//     return 2;
//   }
#ifndef USERGATEWAY_GATEWAY_INGRESS_CONFIG_H_
#define USERGATEWAY_GATEWAY_INGRESS_CONFIG_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/upstream/curl_upstream_client.h"
#include "gateway/request/request_translator.h"
#include "gateway/request/request_validator.h"

namespace usergateway {

// Everything main() needs. Plain data; copy freely.
struct Config {
  // gRPC listen address, host:port (port 0 picks a free one).
  std::string listen = "0.0.0.0:50051";
  // Where to write the bound gRPC port once listening (empty: nowhere).
  std::string port_file;
  // The admin HTTP listener (admin_server.h: /metrics, /healthz, /readyz),
  // host:port (port 0 picks a free one); empty: none. Never the port of
  // `listen`.
  std::string admin_listen;
  // Where to write the bound admin port once listening (empty: nowhere).
  // Needs admin_listen.
  std::string admin_port_file;
  // API key sources: a file (re-read when it changes), else an environment
  // variable. Exactly one is used; the file wins.
  std::string api_key_file;
  std::string api_key_env_value;  // from GATEWAY_API_KEY; never a flag
  absl::Duration api_key_reload_interval = absl::Seconds(1);
  // Optional: the tenants file (gateway/tenancy/tenants_file.h), checked
  // for changes every tenants_reload_interval. With it, each enterprise_id
  // goes to its tenant's base URL with its key, and the base URL and key
  // above are not needed (nor used).
  std::string tenants_file;
  absl::Duration tenants_reload_interval = absl::Seconds(1);
  // gRPC server TLS (both or neither) and, optionally, client CA for mTLS.
  // All three are re-read every tls_reload_interval (whole seconds, at
  // least one): new connections get the new files, open ones keep theirs.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(10);
  // Connection hygiene for client-side load balancing.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // SIGTERM: NOT_SERVING for drain_delay (calls still served while load
  // balancers notice), then stop accepting and give in-flight calls
  // drain_grace to finish.
  absl::Duration drain_delay = absl::Seconds(5);
  absl::Duration drain_grace = absl::Seconds(20);
  // One JSON line per call on stderr.
  bool log_calls = true;

  TranslatorConfig translator;
  RequestLimits limits;
  CurlUpstreamOptions upstream;
};

// A listen address split in two.
struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  int port = 0;
};

// Splits "host:port" or, for an IPv6 literal, "[address]:port". Returns
// kInvalidArgument (the message says what is expected, without the address)
// for an empty host, an IPv6 address without brackets, or a port that is
// not a decimal number from 0 to 65535.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view address);

// Reads an environment variable; returns null when unset.
using GetEnvFunction = std::function<const char*(const char*)>;

// Parses `args` (argv without argv[0]) as `--name=value` or `--name value`;
// a flag not given falls back to its environment variable (GATEWAY_NAME).
// Returns the validated config, kInvalidArgument naming the first bad flag,
// or kCancelled when --help was asked for (the caller prints Usage()).
//
// A bad value's message starts "--name=value: " (from the command line) or
// "GATEWAY_NAME=value (--name): " (from the environment), the value
// C-escaped, then says what is wrong. Every other message that quotes
// input (an unexpected argument, an unknown flag, an unreadable file, the
// addresses of a port clash) C-escapes it too, so no message holds a
// control character. Rules beyond each flag's type and range:
//   bool flags (allow_insecure_http, upstream_http2, log_calls)
//       true/1/yes or false/0/no, any case. A bare --name (no '=') means
//       true; an empty value (--name= or GATEWAY_NAME=) is refused, the
//       message naming the flag and its variable.
//   --user_agent  ValidateUserAgent (request_translator.h): 1 to 256 bytes
//       of printable ASCII (0x20..0x7E), no leading or trailing space.
//   --forward_metadata  comma-separated, each entry lower-cased, trimmed
//       and checked by ValidateForwardMetadataKey (header_policy.h); the
//       message names the entry.
//   --path_template  ValidatePathTemplate (path_template.h), which also
//       refuses "." and ".." segments.
//   --max_response_header_bytes  1024..1048576 (default 61440).
//   --response_buffer_budget_bytes  0 (unlimited) or at least
//       --max_response_bytes (default 268435456).
//   --attempt_timeout_ms  0 (none) to 600000 (default 0).
//   --tls_reload_ms  1000 to 86400000 and a multiple of 1000 (gRPC's file
//       watcher counts whole seconds; default 10000).
//   --admin_listen  empty (no admin listener, the default) or what
//       SplitHostPort accepts; its port, unless 0, differs from --listen's
//       (whatever the hosts: a wildcard address overlaps every other one).
//   --admin_port_file  needs --admin_listen.
//   --tenants_file  a readable file; then --upstream_base_url and the API
//       key may be left out. Its contents are checked when the server
//       loads it (tenant_directory.h), which fails start-up the same way.
// The API key itself is checked when the server creates its ApiKeySource
// (api_key_source.h, CheckApiKey), which fails start-up the same way.
absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args,
                                   const GetEnvFunction& getenv);

// The --help text: every flag, its environment variable, default and
// meaning.
std::string Usage();

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_CONFIG_H_
