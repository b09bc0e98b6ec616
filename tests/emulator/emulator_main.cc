// upstream_emulator: runs the upstream emulator (emulator.h) as a process,
// for local development, the demo and end-to-end tests.
//
//   bazel run //tests/emulator:upstream_emulator -- --listen=127.0.0.1:8080
//   emulator listening on http://127.0.0.1:8080
//   (gateway base URL: http://127.0.0.1:8080/api)
//
// Prints exactly one line on stdout, "emulator listening on
// http(s)://HOST:PORT", once the port accepts connections; --port_file gets
// the port too. SIGTERM or SIGINT stop it; it then exits 0.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/test_certificates.h"

namespace usergateway {
namespace testing {
namespace {

constexpr char kUsage[] =
    "usage: upstream_emulator [flags]\n"
    "  --listen=HOST:PORT       address (default 127.0.0.1:0, a free port;\n"
    "                           IPv6 as [::1]:PORT)\n"
    "  --prefix=PATH            path prefix of every API route (default\n"
    "                           /api, as in https://T-api.esper.cloud/api)\n"
    "  --users=FILE             JSON array of user objects (default: the\n"
    "                           built-in testdata/users.json)\n"
    "  --api_key=KEY            read-write key; repeat or comma-separate for\n"
    "                           several (env EMULATOR_API_KEY; default\n"
    "                           emulator-key)\n"
    "  --tenant=NAME:KEY        serve tenant NAME under /NAME/<prefix> with\n"
    "                           its own key (repeat for several tenants;\n"
    "                           --api_key then does not apply)\n"
    "  --read_only_key=KEY      read-only key, answered with 403 (env\n"
    "                           EMULATOR_READ_ONLY_KEY; default\n"
    "                           emulator-read-only-key)\n"
    "  --threads=N              worker threads = max open connections\n"
    "                           (default 64)\n"
    "  --keep_alive_timeout_s=N idle keep-alive timeout (default 30)\n"
    "  --tls_cert=FILE          serve HTTPS with this PEM certificate chain\n"
    "  --tls_key=FILE           ... and this PEM private key\n"
    "  --self_signed_tls_dir=DIR make a CA (DIR/ca.pem) and a certificate for\n"
    "                           127.0.0.1/localhost, and serve HTTPS with\n"
    "                           them; also write client certificates for\n"
    "                           mTLS tests: DIR/client.pem, client.key (same\n"
    "                           CA), foreign_client.pem, foreign_client.key\n"
    "                           (another CA, DIR/foreign_ca.pem)\n"
    "  --port_file=FILE         write the bound port here (atomically)\n"
    "  --log_requests=BOOL      one stderr line per request (default true)\n";

struct Flags {
  EmulatorOptions options;
  std::string port_file;
  std::string self_signed_tls_dir;
};

// Splits "a,b" and appends the non-empty parts to `keys`.
void AddKeys(absl::string_view value, std::vector<std::string>* keys) {
  for (absl::string_view key : absl::StrSplit(value, ',', absl::SkipEmpty())) {
    keys->emplace_back(key);
  }
}

absl::Status ParseListen(absl::string_view value, EmulatorOptions* options) {
  std::string host;
  absl::string_view port;
  if (!value.empty() && value.front() == '[') {
    const size_t close = value.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("--listen: expected [IPV6]:PORT");
    }
    host = std::string(value.substr(1, close - 1));
    port = value.substr(close + 2);
  } else {
    const size_t colon = value.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError("--listen: expected HOST:PORT");
    }
    host = std::string(value.substr(0, colon));
    port = value.substr(colon + 1);
  }
  int number = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &number) || number < 0 ||
      number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: bad address '", value, "'"));
  }
  options->host = host;
  options->port = number;
  return absl::OkStatus();
}

absl::StatusOr<int> ParsePositive(absl::string_view name,
                                  absl::string_view value) {
  int number = 0;
  if (!absl::SimpleAtoi(value, &number) || number < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a positive integer"));
  }
  return number;
}

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  std::vector<std::string> api_keys;
  std::vector<std::string> read_only_keys;
  if (const char* env = std::getenv("EMULATOR_API_KEY")) {
    AddKeys(env, &api_keys);
  }
  if (const char* env = std::getenv("EMULATOR_READ_ONLY_KEY")) {
    AddKeys(env, &read_only_keys);
  }
  bool flag_api_keys = false;
  bool flag_read_only_keys = false;
  flags.options.log_requests = true;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      return absl::CancelledError(kUsage);
    }
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'"));
    }
    arg.remove_prefix(2);
    std::string name;
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else if (arg == "log_requests") {
      name = std::string(arg);
      value = "true";
    } else {
      name = std::string(arg);
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    absl::Status status;
    if (name == "listen") {
      status = ParseListen(value, &flags.options);
    } else if (name == "prefix") {
      flags.options.path_prefix = value;
    } else if (name == "users") {
      flags.options.users_path = value;
    } else if (name == "api_key") {
      if (!flag_api_keys) api_keys.clear();
      flag_api_keys = true;
      AddKeys(value, &api_keys);
    } else if (name == "tenant") {
      // NAME:KEY, repeatable: one emulator serving several tenants.
      const size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0 ||
          colon + 1 == value.size()) {
        status = absl::InvalidArgumentError(
            "--tenant: expected NAME:KEY, e.g. --tenant=acme:acme-key");
      } else if (!flags.options.tenants
                      .emplace(value.substr(0, colon), value.substr(colon + 1))
                      .second) {
        status = absl::InvalidArgumentError(
            absl::StrCat("--tenant: ", value.substr(0, colon),
                         " is given twice"));
      }
    } else if (name == "read_only_key") {
      if (!flag_read_only_keys) read_only_keys.clear();
      flag_read_only_keys = true;
      AddKeys(value, &read_only_keys);
    } else if (name == "threads") {
      absl::StatusOr<int> n = ParsePositive(name, value);
      status = n.status();
      if (n.ok()) flags.options.threads = *n;
    } else if (name == "keep_alive_timeout_s") {
      absl::StatusOr<int> n = ParsePositive(name, value);
      status = n.status();
      if (n.ok()) flags.options.keep_alive_timeout = absl::Seconds(*n);
    } else if (name == "tls_cert") {
      flags.options.tls_cert_path = value;
    } else if (name == "tls_key") {
      flags.options.tls_key_path = value;
    } else if (name == "port_file") {
      flags.port_file = value;
    } else if (name == "self_signed_tls_dir") {
      flags.self_signed_tls_dir = value;
    } else if (name == "log_requests") {
      if (value != "true" && value != "false") {
        status = absl::InvalidArgumentError(
            "--log_requests: expected true or false");
      }
      flags.options.log_requests = value == "true";
    } else {
      status = absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name));
    }
    if (!status.ok()) return status;
  }
  if (!flags.self_signed_tls_dir.empty()) {
    if (!flags.options.tls_cert_path.empty()) {
      return absl::InvalidArgumentError(
          "--self_signed_tls_dir and --tls_cert exclude each other");
    }
    absl::StatusOr<TestCertificates> certificates =
        GenerateTestCertificates(flags.self_signed_tls_dir);
    if (!certificates.ok()) return certificates.status();
    flags.options.tls_cert_path = certificates->server_cert_path;
    flags.options.tls_key_path = certificates->server_key_path;
  }
  if (!api_keys.empty()) flags.options.api_keys = api_keys;
  if (!read_only_keys.empty()) flags.options.read_only_keys = read_only_keys;
  return flags;
}

// Writes `port` to `path` through a temporary file and rename(), so that a
// reader never sees a partial file.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  }
  const bool written = std::fprintf(file, "%d\n", port) > 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    if (absl::IsCancelled(flags.status())) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "upstream_emulator: %s\n%s",
                 std::string(flags.status().message()).c_str(), kUsage);
    return 2;
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<Emulator>> emulator =
      Emulator::Start(flags->options);
  if (!emulator.ok()) {
    std::fprintf(stderr, "upstream_emulator: %s\n",
                 emulator.status().ToString().c_str());
    return 1;
  }
  if (!flags->port_file.empty()) {
    absl::Status status = WritePortFile(flags->port_file, (*emulator)->port());
    if (!status.ok()) {
      std::fprintf(stderr, "upstream_emulator: %s\n",
                   status.ToString().c_str());
      return 1;
    }
  }
  std::printf("emulator listening on %s\n", (*emulator)->origin().c_str());
  std::fflush(stdout);
  if (flags->options.tenants.empty()) {
    std::fprintf(stderr, "upstream_emulator: gateway base URL %s\n",
                 (*emulator)->base_url().c_str());
  }
  for (const auto& tenant : flags->options.tenants) {
    std::fprintf(stderr, "upstream_emulator: tenant %s base URL %s\n",
                 tenant.first.c_str(),
                 (*emulator)->TenantBaseUrl(tenant.first).c_str());
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "upstream_emulator: %s, stopping\n",
               strsignal(signal_number));
  (*emulator)->Stop();
  return 0;
}

}  // namespace
}  // namespace testing
}  // namespace usergateway

int main(int argc, char** argv) {
  return usergateway::testing::Main(argc, argv);
}
