#include "gateway/ingress/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace usergateway {
namespace {

// How one flag reads its value into the config. Returns an error text, or
// an empty string on success.
using Setter = std::function<std::string(absl::string_view value, Config*)>;

struct Flag {
  const char* name;
  const char* env;
  const char* default_text;
  const char* help;
  Setter set;
  // A bool flag may stand alone on the command line ("--name" means
  // "--name=true"); any other flag takes a value. Set by BoolFlag only.
  bool is_bool = false;
};

// True and false as a bool flag or its variable spells them. An empty value
// is an error, not "on": "GATEWAY_ALLOW_INSECURE_HTTP=" in a manifest more
// likely means a value that failed to render than a wish to enable it.
std::string ParseBool(absl::string_view value, bool* out) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "true" || v == "1" || v == "yes") {
    *out = true;
  } else if (v == "false" || v == "0" || v == "no") {
    *out = false;
  } else {
    return "expected true or false";
  }
  return "";
}

std::string ParseInt(absl::string_view value, int64_t min, int64_t max,
                     int64_t* out) {
  int64_t v;
  if (!absl::SimpleAtoi(value, &v)) return "expected an integer";
  if (v < min || v > max) {
    return absl::StrCat("must be between ", min, " and ", max);
  }
  *out = v;
  return "";
}

Setter String(std::string Config::*field) {
  return [field](absl::string_view value, Config* c) {
    c->*field = std::string(value);
    return std::string();
  };
}

Setter Millis(std::function<absl::Duration*(Config*)> field, int64_t min,
              int64_t max) {
  return [field, min, max](absl::string_view value, Config* c) {
    int64_t ms;
    std::string error = ParseInt(value, min, max, &ms);
    if (error.empty()) *field(c) = absl::Milliseconds(ms);
    return error;
  };
}

template <typename T>
Setter Integer(std::function<T*(Config*)> field, int64_t min, int64_t max) {
  return [field, min, max](absl::string_view value, Config* c) {
    int64_t v;
    std::string error = ParseInt(value, min, max, &v);
    if (error.empty()) *field(c) = static_cast<T>(v);
    return error;
  };
}

// The only way to make a bool flag, so that each one can stand alone and
// refuses an empty value naming both the flag and its variable.
Flag BoolFlag(const char* name, const char* env, const char* default_text,
              const char* help, std::function<bool*(Config*)> field) {
  Setter set = [name, env, field](absl::string_view value, Config* c) {
    if (value.empty()) {
      return absl::StrCat("empty value; --", name, " (", env,
                          ") takes true or false, or is left unset for the "
                          "default (a bare --", name,
                          " on the command line means true)");
    }
    return ParseBool(value, field(c));
  };
  return Flag{name, env, default_text, help, std::move(set), /*is_bool=*/true};
}

// Validates each comma-separated entry of --forward_metadata (lower-cased,
// surrounding whitespace trimmed, empty entries skipped).
std::string SetForwardMetadata(absl::string_view value, Config* c) {
  std::vector<std::string> keys;
  for (absl::string_view entry :
       absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    std::string key =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(entry));
    if (absl::Status s = ValidateForwardMetadataKey(key); !s.ok()) {
      return absl::StrCat("entry \"", absl::CHexEscape(key), "\" ",
                          s.message());
    }
    keys.push_back(std::move(key));
  }
  c->translator.forward_metadata = std::move(keys);
  return std::string();
}

const std::vector<Flag>& Flags() {
  static const auto* flags = new std::vector<Flag>{
      {"listen", "GATEWAY_LISTEN", "0.0.0.0:50051",
       "gRPC listen address host:port (port 0 picks a free port)",
       String(&Config::listen)},
      {"port_file", "GATEWAY_PORT_FILE", "",
       "write the bound gRPC port to this file once listening",
       String(&Config::port_file)},
      {"admin_listen", "GATEWAY_ADMIN_LISTEN", "(off)",
       "admin HTTP listener host:port serving GET /metrics (Prometheus), "
       "/healthz and /readyz; port 0 picks a free port; never --listen's "
       "port",
       [](absl::string_view v, Config* c) {
         if (!v.empty()) {
           if (absl::StatusOr<HostPort> address = SplitHostPort(v);
               !address.ok()) {
             return std::string(address.status().message());
           }
         }
         c->admin_listen = std::string(v);
         return std::string();
       }},
      {"admin_port_file", "GATEWAY_ADMIN_PORT_FILE", "",
       "write the bound admin port to this file once listening (with "
       "--admin_listen)",
       String(&Config::admin_port_file)},
      {"upstream_base_url", "GATEWAY_UPSTREAM_BASE_URL", "(required)",
       "REST API base URL, e.g. https://TENANT-api.esper.cloud/api",
       [](absl::string_view v, Config* c) {
         c->translator.base_url = std::string(v);
         return std::string();
       }},
      {"path_template", "GATEWAY_PATH_TEMPLATE", "/authn2/v0/user/{user_id}",
       "upstream path; placeholders {user_id} and {enterprise_id}",
       [](absl::string_view v, Config* c) {
         c->translator.path_template = std::string(v);
         return std::string();
       }},
      {"api_key_file", "GATEWAY_API_KEY_FILE", "",
       "file holding the upstream API key (a Kubernetes Secret); re-read "
       "when it changes. Without it, the key comes from GATEWAY_API_KEY",
       String(&Config::api_key_file)},
      {"api_key_reload_ms", "GATEWAY_API_KEY_RELOAD_MS", "1000",
       "how often to check the key file for a rotated key",
       Millis([](Config* c) { return &c->api_key_reload_interval; }, 0,
              3600000)},
      {"tenants_file", "GATEWAY_TENANTS_FILE", "",
       "JSON file (a ConfigMap) mapping each enterprise_id to its tenant's "
       "base URL, API key file, allowed callers and limits; re-read when "
       "it changes. Without it, one upstream and one key serve every call",
       String(&Config::tenants_file)},
      {"tenants_reload_ms", "GATEWAY_TENANTS_RELOAD_MS", "1000",
       "how often to check the tenants file for changes",
       Millis([](Config* c) { return &c->tenants_reload_interval; }, 0,
              3600000)},
      BoolFlag("allow_insecure_http", "GATEWAY_ALLOW_INSECURE_HTTP", "false",
               "allow an http:// upstream (the API key then travels in "
               "clear text)",
               [](Config* c) { return &c->upstream.allow_insecure_http; }),
      {"ca_bundle", "GATEWAY_CA_BUNDLE", "(system store)",
       "PEM file of CAs trusted for the upstream's certificate",
       [](absl::string_view v, Config* c) {
         c->upstream.ca_bundle = std::string(v);
         return std::string();
       }},
      {"connect_timeout_ms", "GATEWAY_CONNECT_TIMEOUT_MS", "5000",
       "upstream TCP+TLS connect timeout",
       Millis([](Config* c) { return &c->upstream.connect_timeout; }, 1,
              600000)},
      {"upstream_timeout_ms", "GATEWAY_UPSTREAM_TIMEOUT_MS", "30000",
       "cap on one call's upstream time, retries included; the caller's "
       "deadline (minus the margin) applies when it is sooner",
       Millis([](Config* c) { return &c->upstream.timeout_cap; }, 1,
              3600000)},
      {"deadline_margin_ms", "GATEWAY_DEADLINE_MARGIN_MS", "20",
       "kept free of the caller's deadline to answer in time",
       Millis([](Config* c) { return &c->upstream.deadline_margin; }, 0,
              60000)},
      {"max_attempts", "GATEWAY_MAX_ATTEMPTS", "4",
       "upstream attempts per call (1 disables retries)",
       Integer<int>([](Config* c) { return &c->upstream.max_attempts; }, 1,
                    10)},
      {"backoff_base_ms", "GATEWAY_BACKOFF_BASE_MS", "100",
       "first retry backoff (full jitter, doubling)",
       Millis([](Config* c) { return &c->upstream.backoff_base; }, 1,
              600000)},
      {"backoff_max_ms", "GATEWAY_BACKOFF_MAX_MS", "2000",
       "longest retry backoff",
       Millis([](Config* c) { return &c->upstream.backoff_max; }, 1,
              600000)},
      {"retry_budget_ratio", "GATEWAY_RETRY_BUDGET_RATIO", "0.2",
       "retries allowed per call over time (0 to 1)",
       [](absl::string_view v, Config* c) {
         double ratio;
         if (!absl::SimpleAtod(v, &ratio) || !(ratio >= 0 && ratio <= 1)) {
           return std::string("expected a number between 0 and 1");
         }
         c->upstream.retry_budget_ratio = ratio;
         return std::string();
       }},
      {"max_response_bytes", "GATEWAY_MAX_RESPONSE_BYTES", "1048576",
       "largest upstream body accepted",
       Integer<size_t>(
           [](Config* c) { return &c->upstream.max_response_bytes; }, 1024,
           int64_t{1} << 30)},
      {"max_response_header_bytes", "GATEWAY_MAX_RESPONSE_HEADER_BYTES",
       "61440",
       "largest upstream response header section accepted (status line and "
       "every header line, interim 1xx responses included)",
       Integer<size_t>(
           [](Config* c) { return &c->upstream.max_response_header_bytes; },
           1024, 1048576)},
      {"response_buffer_budget_bytes", "GATEWAY_RESPONSE_BUFFER_BUDGET_BYTES",
       "268435456",
       "cap on the bytes held by response bodies of all calls in flight "
       "together (0: unlimited; else at least --max_response_bytes)",
       Integer<size_t>(
           [](Config* c) { return &c->upstream.response_buffer_budget_bytes; },
           0, std::numeric_limits<int64_t>::max())},
      {"attempt_timeout_ms", "GATEWAY_ATTEMPT_TIMEOUT_MS", "0",
       "bound on one upstream attempt, after which a retry may follow "
       "(0: none, an attempt may use the call's whole remaining time)",
       Millis([](Config* c) { return &c->upstream.attempt_timeout; }, 0,
              600000)},
      {"max_in_flight", "GATEWAY_MAX_IN_FLIGHT", "10000",
       "calls in flight upstream before new ones get UNAVAILABLE",
       Integer<size_t>([](Config* c) { return &c->upstream.max_in_flight; },
                       1, 1000000)},
      {"max_host_connections", "GATEWAY_MAX_HOST_CONNECTIONS", "0",
       "upstream connections per host; extra calls queue (0: auto, "
       "ceil(max_in_flight/100) for https with HTTP/2, no limit otherwise)",
       Integer<long>(
           [](Config* c) { return &c->upstream.max_host_connections; }, 0,
           1000000)},
      BoolFlag("upstream_http2", "GATEWAY_UPSTREAM_HTTP2", "true",
               "offer HTTP/2 to https upstreams (multiplexes calls)",
               [](Config* c) { return &c->upstream.http2; }),
      {"upstream_max_connection_age_ms",
       "GATEWAY_UPSTREAM_MAX_CONNECTION_AGE_MS", "300000",
       "an upstream connection older than this is not reused, so that new "
       "ones follow DNS changes (whole seconds, rounded up; 0: no limit)",
       Millis([](Config* c) { return &c->upstream.max_connection_age; }, 0,
              86400000)},
      {"upstream_loops", "GATEWAY_UPSTREAM_LOOPS", "0",
       "upstream event-loop threads (0: auto, one per available CPU, "
       "honouring a cgroup CPU limit, at most 8)",
       Integer<size_t>([](Config* c) { return &c->upstream.loops; }, 0, 64)},
      {"max_first_name_chars", "GATEWAY_MAX_FIRST_NAME_CHARS", "150",
       "longest first_name, in characters",
       Integer<size_t>(
           [](Config* c) { return &c->limits.max_first_name_chars; }, 1,
           100000)},
      {"max_id_bytes", "GATEWAY_MAX_ID_BYTES", "256",
       "longest user_id and enterprise_id, in bytes",
       Integer<size_t>([](Config* c) { return &c->limits.max_id_bytes; }, 1,
                       8192)},
      {"forward_metadata", "GATEWAY_FORWARD_METADATA", "",
       "comma-separated caller metadata keys to forward as headers "
       "(x-request-id, traceparent and tracestate always are; grpc-*, "
       "-bin, pseudo-, hop-by-hop and the gateway's own headers are refused)",
       SetForwardMetadata},
      {"user_agent", "GATEWAY_USER_AGENT", "usergateway/0.1.0",
       "User-Agent sent upstream (printable ASCII, at most 256 bytes)",
       [](absl::string_view v, Config* c) {
         if (absl::Status s = ValidateUserAgent(v); !s.ok()) {
           return std::string(s.message());
         }
         c->translator.user_agent = std::string(v);
         return std::string();
       }},
      {"tls_cert", "GATEWAY_TLS_CERT", "",
       "PEM certificate chain for serving gRPC over TLS (with --tls_key)",
       String(&Config::tls_cert_file)},
      {"tls_key", "GATEWAY_TLS_KEY", "", "PEM private key for --tls_cert",
       String(&Config::tls_key_file)},
      {"tls_client_ca", "GATEWAY_TLS_CLIENT_CA", "",
       "require callers' client certificates signed by these CAs (mTLS)",
       String(&Config::tls_client_ca_file)},
      {"tls_reload_ms", "GATEWAY_TLS_RELOAD_MS", "10000",
       "how often to re-read --tls_cert, --tls_key and --tls_client_ca for "
       "rotated files (whole seconds: a multiple of 1000)",
       [](absl::string_view v, Config* c) {
         int64_t ms;
         std::string error = ParseInt(v, 1000, 86400000, &ms);
         if (error.empty() && ms % 1000 != 0) {
           error = "must be a multiple of 1000 (whole seconds)";
         }
         if (error.empty()) c->tls_reload_interval = absl::Milliseconds(ms);
         return error;
       }},
      {"max_connection_age_ms", "GATEWAY_MAX_CONNECTION_AGE_MS", "300000",
       "close caller connections after this age so that load rebalances",
       Millis([](Config* c) { return &c->max_connection_age; }, 1000,
              int64_t{1} << 40)},
      {"drain_delay_ms", "GATEWAY_DRAIN_DELAY_MS", "5000",
       "after SIGTERM: NOT_SERVING but still serving, for this long",
       Millis([](Config* c) { return &c->drain_delay; }, 0, 600000)},
      {"drain_grace_ms", "GATEWAY_DRAIN_GRACE_MS", "20000",
       "then: new calls refused, in-flight calls get this long to finish",
       Millis([](Config* c) { return &c->drain_grace; }, 0, 600000)},
      BoolFlag("log_calls", "GATEWAY_LOG_CALLS", "true",
               "write one JSON line per call to stderr",
               [](Config* c) { return &c->log_calls; }),
  };
  return *flags;
}

const Flag* FindFlag(absl::string_view name) {
  for (const Flag& flag : Flags()) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

absl::Status CheckReadableFile(absl::string_view flag,
                               const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read file ", absl::CHexEscape(path)));
  }
  return absl::OkStatus();
}

absl::Status Validate(const Config& c) {
  const std::string& url = c.translator.base_url;
  const bool tenants = !c.tenants_file.empty();
  if (url.empty() && !tenants) {
    return absl::InvalidArgumentError(
        "--upstream_base_url (GATEWAY_UPSTREAM_BASE_URL) is required, e.g. "
        "https://TENANT-api.esper.cloud/api");
  }
  if (absl::Status s = ValidateBaseUrl(url, c.upstream.allow_insecure_http);
      !s.ok() && !(tenants && url.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--upstream_base_url ", s.message()));
  }
  if (absl::Status s = ValidatePathTemplate(c.translator.path_template);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--path_template: ", s.message()));
  }
  if (c.api_key_file.empty() && c.api_key_env_value.empty() && !tenants) {
    return absl::InvalidArgumentError(
        "no API key: set --api_key_file (GATEWAY_API_KEY_FILE) or the "
        "GATEWAY_API_KEY environment variable");
  }
  for (const auto& [flag, path] :
       std::vector<std::pair<const char*, std::string>>{
           {"api_key_file", c.api_key_file},
           {"tenants_file", c.tenants_file},
           {"ca_bundle", c.upstream.ca_bundle},
           {"tls_cert", c.tls_cert_file},
           {"tls_key", c.tls_key_file},
           {"tls_client_ca", c.tls_client_ca_file}}) {
    if (absl::Status s = CheckReadableFile(flag, path); !s.ok()) return s;
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together");
  }
  if (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (c.upstream.response_buffer_budget_bytes != 0 &&
      c.upstream.response_buffer_budget_bytes <
          c.upstream.max_response_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--response_buffer_budget_bytes (",
        c.upstream.response_buffer_budget_bytes,
        ") must be 0 (unlimited) or at least --max_response_bytes (",
        c.upstream.max_response_bytes,
        "): a response of the largest size accepted could never fit"));
  }
  if (c.upstream.backoff_max < c.upstream.backoff_base) {
    return absl::InvalidArgumentError(
        "--backoff_max_ms must be at least --backoff_base_ms");
  }
  if (c.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--listen must be host:port");
  }
  if (!c.admin_port_file.empty() && c.admin_listen.empty()) {
    return absl::InvalidArgumentError(
        "--admin_port_file needs --admin_listen (GATEWAY_ADMIN_LISTEN)");
  }
  if (!c.admin_listen.empty()) {
    absl::StatusOr<HostPort> admin = SplitHostPort(c.admin_listen);
    // --listen may also be an address SplitHostPort does not read (gRPC's
    // unix:path): then there is no port to collide with.
    absl::StatusOr<HostPort> grpc = SplitHostPort(c.listen);
    // Same port, whatever the hosts: a wildcard address overlaps every
    // other, and two names may be one address. gRPC binds with
    // SO_REUSEPORT, so the clash is refused here rather than left to bind().
    if (admin.ok() && grpc.ok() && admin->port != 0 &&
        admin->port == grpc->port) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--admin_listen (", absl::CHexEscape(c.admin_listen),
          ") must not use the port of --listen (", absl::CHexEscape(c.listen),
          "): the admin server speaks HTTP/1.1, "
          "the gRPC port h2; pick another port, or 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HostPort> SplitHostPort(absl::string_view address) {
  const absl::string_view expected =
      "expected host:port (or [IPv6 address]:port), port 0 to 65535, e.g. "
      "0.0.0.0:9090";
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(expected);
  }
  absl::string_view host = address.substr(0, colon);
  const absl::string_view port_text = address.substr(colon + 1);
  if (absl::ConsumePrefix(&host, "[")) {
    if (!absl::ConsumeSuffix(&host, "]") ||
        host.find_first_of("[]") != absl::string_view::npos) {
      return absl::InvalidArgumentError(expected);
    }
  } else if (host.find_first_of(":[]") != absl::string_view::npos) {
    // An IPv6 literal without brackets: which colon ends it is ambiguous.
    return absl::InvalidArgumentError(
        absl::StrCat(expected, " (an IPv6 address goes in brackets)"));
  }
  int port = -1;
  if (host.empty() || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(expected);
  }
  return HostPort{std::string(host), port};
}

absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args,
                                   const GetEnvFunction& getenv) {
  Config config;
  std::set<std::string> given;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return absl::CancelledError("help requested");
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", absl::CHexEscape(arg),
                       "' (flags are --name=value)"));
    }
    std::string name;
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    } else {
      name = std::string(arg);
    }
    const Flag* flag = FindFlag(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", absl::CHexEscape(name), " (see --help)"));
    }
    if (!has_value) {
      // A bool flag may stand alone, meaning true ("--name=" is not that:
      // it is an empty value, refused); any other takes the next argument.
      if (flag->is_bool) {
        value = "true";
      } else {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " needs a value"));
        }
        value = args[++i];
      }
    }
    if (std::string error = flag->set(value, &config); !error.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, "=", absl::CHexEscape(value), ": ", error));
    }
    given.insert(name);
  }
  for (const Flag& flag : Flags()) {
    if (given.count(flag.name) != 0) continue;
    const char* value = getenv(flag.env);
    if (value == nullptr) continue;
    if (std::string error = flag.set(value, &config); !error.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag.env, "=", absl::CHexEscape(value), " (--",
                       flag.name, "): ", error));
    }
  }
  if (const char* key = getenv("GATEWAY_API_KEY"); key != nullptr) {
    config.api_key_env_value = key;
  }
  if (absl::Status s = Validate(config); !s.ok()) return s;
  return config;
}

std::string Usage() {
  std::string out =
      "usergateway: gRPC UpdateUserProfile -> REST PUT "
      "/authn2/v0/user/{user_id}\n\n"
      "Flags (--name=value or --name value; a bool flag alone means true, "
      "and an empty value is refused; each falls back to its environment "
      "variable):\n";
  for (const Flag& flag : Flags()) {
    absl::StrAppend(&out, "  --", flag.name, " (", flag.env,
                    ", default: ", flag.default_text, ")\n      ", flag.help,
                    "\n");
  }
  absl::StrAppend(&out,
                  "\nEnvironment only:\n  GATEWAY_API_KEY\n      the upstream "
                  "API key, when --api_key_file is not set (never a flag: "
                  "flags show in `ps`)\n");
  return out;
}

}  // namespace usergateway
