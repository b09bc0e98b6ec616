// Runs the upstream_emulator binary as a child process, as scripts and the
// end-to-end tests do: flags, environment, the startup line, the port file,
// requests over loopback, and a clean exit on SIGTERM/SIGINT.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/test_certificates.h"

extern char** environ;

namespace usergateway {
namespace testing {
namespace {

using ::testing::HasSubstr;

std::string TestTmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string BinaryPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                      workspace != nullptr ? workspace : "", "/",
                      "tests/emulator/upstream_emulator");
}

// The binary running as a child, its stdout on a pipe. Kills (SIGKILL) and
// reaps it on destruction if the test did not.
class Child {
 public:
  // Starts the binary with `args`; `env` entries ("NAME=value") are added to
  // this process's environment.
  Child(const std::vector<std::string>& args,
        const std::vector<std::string>& env = {}) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return;
    stdout_fd_ = pipe_fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    std::vector<std::string> argv_storage = {BinaryPath()};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) env_storage.push_back(*e);
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (std::string& entry : env_storage) envp.push_back(entry.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(),
                    envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
  }

  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  bool started() const { return pid_ > 0; }

  // Returns the first stdout line (without '\n'), or nullopt if stdout
  // closed or nothing came within 30 s.
  std::optional<std::string> ReadLine() {
    std::string line;
    for (;;) {
      pollfd fd{stdout_fd_, POLLIN, 0};
      if (poll(&fd, 1, 30000) <= 0) return std::nullopt;
      char c;
      if (read(stdout_fd_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line.push_back(c);
    }
  }

  void Signal(int signal_number) { kill(pid_, signal_number); }

  // Waits for the child to exit; returns its wait status.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

// Returns the port from "emulator listening on <scheme>://127.0.0.1:PORT".
int PortFromLine(const std::string& line, absl::string_view scheme) {
  absl::string_view rest = line;
  const std::string prefix =
      absl::StrCat("emulator listening on ", scheme, "://127.0.0.1:");
  int port = 0;
  if (!absl::ConsumePrefix(&rest, prefix) || !absl::SimpleAtoi(rest, &port)) {
    return -1;
  }
  return port;
}

httplib::Result PutAda(httplib::Client& client, absl::string_view key) {
  return client.Put(
      absl::StrCat("/api/authn2/v0/user/", kAdaUserId).c_str(),
      {{"Authorization", absl::StrCat("Bearer ", key)}},
      R"({"first_name":"Proc"})", "application/json");
}

TEST(EmulatorMainTest, ServesUntilSigtermThenExitsZero) {
  const std::string port_file = TestTmpDir() + "/port";
  Child child({"--port_file=" + port_file, "--api_key=k1,k2",
               "--read_only_key", "ro", "--log_requests=false"});
  ASSERT_TRUE(child.started()) << BinaryPath();
  std::optional<std::string> line = child.ReadLine();
  ASSERT_TRUE(line.has_value());
  const int port = PortFromLine(*line, "http");
  ASSERT_GT(port, 0) << *line;

  std::ifstream file(port_file);
  std::stringstream contents;
  contents << file.rdbuf();
  EXPECT_EQ(contents.str(), absl::StrCat(port, "\n"));

  httplib::Client client("127.0.0.1", port);
  for (const char* key : {"k1", "k2"}) {
    httplib::Result ok = PutAda(client, key);
    ASSERT_TRUE(ok) << key;
    EXPECT_EQ(ok->status, 200) << key;
    EXPECT_THAT(ok->body, HasSubstr(R"("full_name":"Proc Lovelace")"));
  }
  httplib::Result read_only = PutAda(client, "ro");
  ASSERT_TRUE(read_only);
  EXPECT_EQ(read_only->status, 403);
  httplib::Result default_key = PutAda(client, "emulator-key");
  ASSERT_TRUE(default_key);
  EXPECT_EQ(default_key->status, 401);

  child.Signal(SIGTERM);
  const int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(EmulatorMainTest, KeysFromTheEnvironmentAndSigint) {
  Child child({"--listen=127.0.0.1:0"},
              {"EMULATOR_API_KEY=from-env", "EMULATOR_READ_ONLY_KEY=ro-env"});
  ASSERT_TRUE(child.started());
  std::optional<std::string> line = child.ReadLine();
  ASSERT_TRUE(line.has_value());
  const int port = PortFromLine(*line, "http");
  ASSERT_GT(port, 0) << *line;
  httplib::Client client("127.0.0.1", port);
  httplib::Result ok = PutAda(client, "from-env");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  httplib::Result read_only = PutAda(client, "ro-env");
  ASSERT_TRUE(read_only);
  EXPECT_EQ(read_only->status, 403);

  child.Signal(SIGINT);
  const int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(EmulatorMainTest, ServesHttpsWithTlsFlags) {
  absl::StatusOr<TestCertificates> certs =
      GenerateTestCertificates(TestTmpDir() + "/main_certs");
  ASSERT_TRUE(certs.ok()) << certs.status();
  Child child({"--tls_cert=" + certs->server_cert_path,
               "--tls_key=" + certs->server_key_path, "--prefix=/v1"});
  ASSERT_TRUE(child.started());
  std::optional<std::string> line = child.ReadLine();
  ASSERT_TRUE(line.has_value());
  const int port = PortFromLine(*line, "https");
  ASSERT_GT(port, 0) << *line;
  httplib::SSLClient client("127.0.0.1", port);
  client.enable_server_certificate_verification(true);
  client.set_ca_cert_path(certs->ca_cert_path.c_str());
  httplib::Result ok = client.Put(
      absl::StrCat("/v1/authn2/v0/user/", kAdaUserId).c_str(),
      {{"Authorization", "Bearer emulator-key"}}, R"({"first_name":"T"})",
      "application/json");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  child.Signal(SIGTERM);
  const int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(EmulatorMainTest, ServesSeveralTenantsEachWithItsOwnKey) {
  Child child({"--tenant=acme:acme-key", "--tenant", "globex:globex-key",
               "--log_requests=false"});
  ASSERT_TRUE(child.started());
  std::optional<std::string> line = child.ReadLine();
  ASSERT_TRUE(line.has_value());
  const int port = PortFromLine(*line, "http");
  ASSERT_GT(port, 0) << *line;
  httplib::Client client("127.0.0.1", port);
  auto put = [&](absl::string_view tenant, absl::string_view key) {
    httplib::Result r = client.Put(
        absl::StrCat(tenant, "/api/authn2/v0/user/", kAdaUserId).c_str(),
        {{"Authorization", absl::StrCat("Bearer ", key)}},
        R"({"first_name":"Proc"})", "application/json");
    return r ? r->status : -1;
  };
  EXPECT_EQ(put("/acme", "acme-key"), 200);
  EXPECT_EQ(put("/globex", "globex-key"), 200);
  // A key works for its own tenant only.
  EXPECT_EQ(put("/acme", "globex-key"), 401);
  EXPECT_EQ(put("/globex", "acme-key"), 401);
  EXPECT_EQ(put("/globex", "emulator-key"), 401);
  // Without a known tenant in front, nothing is served.
  EXPECT_EQ(put("", "acme-key"), 404);
  EXPECT_EQ(put("/initech", "acme-key"), 404);
  child.Signal(SIGTERM);
  const int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(EmulatorMainTest, BadFlagsAndStartFailuresExitNonZero) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
  };
  const std::vector<Case> cases = {
      {{"--threads=0"}, 2},
      {{"--listen=nowhere"}, 2},
      {{"--no_such_flag=1"}, 2},
      {{"positional"}, 2},
      {{"--log_requests=maybe"}, 2},
      {{"--tenant=no-key"}, 2},
      {{"--tenant=a:k1", "--tenant=a:k2"}, 2},
      {{"--tenant=Bad!:k"}, 1},
      {{"--users=/nonexistent/users.json"}, 1},
      {{"--tls_cert=/nonexistent.pem", "--tls_key=/nonexistent.key"}, 1},
      {{"--help"}, 0},
  };
  for (const Case& c : cases) {
    Child child(c.args);
    ASSERT_TRUE(child.started());
    const int status = child.Wait();
    ASSERT_TRUE(WIFEXITED(status)) << c.args[0];
    EXPECT_EQ(WEXITSTATUS(status), c.exit_code) << c.args[0];
  }
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
