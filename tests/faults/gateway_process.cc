#include "tests/faults/gateway_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

extern char** environ;

namespace usergateway {
namespace testing {
namespace {

std::string TmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of "key":"..." or "key":N in a flat JSON line; "" if absent.
// Call log values never contain an escaped quote in the fields read here
// (request ids are visible ASCII without '"', codes and reasons are names).
std::string JsonField(absl::string_view line, absl::string_view key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  const size_t at = line.find(needle);
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = line.substr(at + needle.size());
  if (absl::ConsumePrefix(&rest, "\"")) {
    return std::string(rest.substr(0, rest.find('"')));
  }
  return std::string(rest.substr(0, rest.find_first_of(",}")));
}

}  // namespace

std::string GatewayBinaryPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                      workspace != nullptr ? workspace : "",
                      "/gateway/usergateway");
}

absl::StatusOr<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(
    const std::vector<std::string>& flags, const std::string& api_key) {
  static std::atomic<int> serial{0};
  const std::string base = absl::StrCat(TmpDir(), "/gateway_", getpid(), "_",
                                        serial.fetch_add(1));
  const std::string port_file = base + ".port";
  const std::string stderr_path = base + ".stderr";
  std::remove(port_file.c_str());

  std::vector<std::string> args = {GatewayBinaryPath(),
                                   "--listen=127.0.0.1:0",
                                   "--port_file=" + port_file,
                                   "--log_calls=true"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "GATEWAY_")) env.emplace_back(*e);
  }
  env.push_back("GATEWAY_API_KEY=" + api_key);
  std::vector<char*> envp;
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                   stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(),
                             envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  std::unique_ptr<GatewayProcess> process(
      new GatewayProcess(pid, stderr_path));

  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (process->port_ == 0) {
    std::string text = ReadWholeFile(port_file);
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) &&
        port > 0) {
      process->port_ = port;
      break;
    }
    if (!process->Running() || absl::Now() > give_up) {
      return absl::UnavailableError(
          absl::StrCat("the gateway did not start listening; stderr:\n",
                       process->Stderr()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  process->channel_ = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", process->port_),
      grpc::InsecureChannelCredentials());
  if (!process->channel_->WaitForConnected(
          absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    return absl::UnavailableError("the channel to the gateway did not connect");
  }
  return process;
}

GatewayProcess::~GatewayProcess() {
  channel_.reset();
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (Running()) {
    if (absl::Now() > give_up) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

bool GatewayProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string GatewayProcess::Stderr() const { return ReadWholeFile(stderr_path_); }

std::vector<CallLogLine> GatewayProcess::CallLog() const {
  std::vector<CallLogLine> lines;
  for (absl::string_view line : absl::StrSplit(Stderr(), '\n')) {
    // A call line has a grpc_code; other lines (drain, dropped) do not.
    if (!absl::StrContains(line, "\"grpc_code\":")) continue;
    CallLogLine entry;
    entry.request_id = JsonField(line, "request_id");
    entry.grpc_code = JsonField(line, "grpc_code");
    entry.reason = JsonField(line, "reason");
    if (!absl::SimpleAtoi(JsonField(line, "attempts"), &entry.attempts)) {
      entry.attempts = -1;
    }
    lines.push_back(std::move(entry));
  }
  return lines;
}

bool GatewayProcess::WaitForCallLog(size_t count,
                                    absl::Duration timeout) const {
  const absl::Time give_up = absl::Now() + timeout;
  for (;;) {
    if (CallLog().size() >= count) return true;
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace testing
}  // namespace usergateway
