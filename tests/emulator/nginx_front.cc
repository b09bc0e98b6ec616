#include "tests/emulator/nginx_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace usergateway {
namespace testing {
namespace {

// The access log's fields, in order: one nginx variable each, separated by
// tabs. nginx escapes a tab inside a value (\x09), so a line splits
// unambiguously. ParseNginxAccessLogLine reads them by these positions.
constexpr const char* kLogFields[] = {
    "connection",      "connection_requests", "server_protocol",
    "ssl_protocol",    "ssl_session_reused",  "ssl_alpn_protocol",
    "status",          "request_method",      "request_uri",
    "upstream_status", "request_time",        "remote_port",
    "msec",
};
constexpr size_t kLogFieldCount = sizeof(kLogFields) / sizeof(kLogFields[0]);

// The listen backlog, ours and nginx's (the kernel caps it at somaxconn).
constexpr int kBacklog = 4096;
// One worker's connections: a client connection and an upstream one per
// request in flight, so this allows ~2000 concurrent HTTP/1.1 calls.
constexpr int kWorkerConnections = 4096;

absl::Status ErrnoStatus(absl::string_view what) {
  const int saved = errno;
  return absl::ErrnoToStatus(saved, what);
}

std::string TmpRoot() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
}

// mkdir -p.
absl::Status MakeDirs(const std::string& path) {
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    absl::StrAppend(&prefix, part, "/");
    if (part.empty()) continue;
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("mkdir ", prefix));
    }
  }
  return absl::OkStatus();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

// A path nginx's config holds without quoting: no whitespace, quotes,
// ';', braces, '$' (a variable), '\\' or '#'.
absl::Status CheckConfigPath(absl::string_view what, absl::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ||
        absl::string_view("'\";{}$\\#").find(c) != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has a character nginx's config cannot hold: ",
                       path));
    }
  }
  return absl::OkStatus();
}

// Returns HOST:PORT of "http://HOST:PORT".
absl::StatusOr<std::string> UpstreamHostPort(absl::string_view origin) {
  constexpr absl::string_view kScheme = "http://";
  if (!absl::StartsWith(origin, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "upstream_origin must be http://HOST:PORT, got \"", origin, "\""));
  }
  absl::string_view host_port = origin.substr(kScheme.size());
  if (host_port.empty() ||
      host_port.find_first_of("/?#") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "upstream_origin must be http://HOST:PORT without a path, got \"",
        origin, "\""));
  }
  if (absl::Status status = CheckConfigPath("upstream_origin", host_port);
      !status.ok()) {
    return status;
  }
  return std::string(host_port);
}

absl::Status ValidateOptions(const NginxFrontOptions& options) {
  if (absl::StatusOr<std::string> host_port =
          UpstreamHostPort(options.upstream_origin);
      !host_port.ok()) {
    return host_port.status();
  }
  for (const auto& [what, path] :
       {std::pair<const char*, const std::string&>{"tls_cert_path",
                                                   options.tls_cert_path},
        {"tls_key_path", options.tls_key_path},
        {"work_dir", options.work_dir}}) {
    if (absl::Status status = CheckConfigPath(what, path); !status.ok()) {
      return status;
    }
  }
  for (const std::string* path :
       {&options.tls_cert_path, &options.tls_key_path}) {
    if (access(path->c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", *path, ": ", std::strerror(errno)));
    }
  }
  if (options.keepalive_requests < 1) {
    return absl::InvalidArgumentError("keepalive_requests must be at least 1");
  }
  if (options.http2_max_concurrent_streams < 1) {
    return absl::InvalidArgumentError(
        "http2_max_concurrent_streams must be at least 1");
  }
  if (options.start_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("start_timeout must be positive");
  }
  return absl::OkStatus();
}

// `user NAME GROUP;` when running as root: nginx's workers would otherwise
// switch to `nobody`, who may not be able to reach the work directory.
// Empty for other users (the directive then does not apply).
std::string UserDirective() {
  if (geteuid() != 0) return "";
  std::string user = "root";
  std::string group = "root";
  char buffer[4096];
  passwd pw;
  passwd* pw_result = nullptr;
  if (getpwuid_r(geteuid(), &pw, buffer, sizeof(buffer), &pw_result) == 0 &&
      pw_result != nullptr) {
    user = pw.pw_name;
  }
  struct group gr;
  struct group* gr_result = nullptr;
  if (getgrgid_r(getegid(), &gr, buffer, sizeof(buffer), &gr_result) == 0 &&
      gr_result != nullptr) {
    group = gr.gr_name;
  }
  return absl::StrCat("user ", user, " ", group, ";\n");
}

// `worker_rlimit_nofile N;` when the soft limit is too low for
// kWorkerConnections and the hard one allows more.
std::string RlimitDirective() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return "";
  const rlim_t wanted = 2 * kWorkerConnections;
  if (limit.rlim_cur >= wanted) return "";
  const rlim_t value = std::min(wanted, limit.rlim_max);
  return absl::StrCat("worker_rlimit_nofile ", value, ";\n");
}

std::string LogFormat() {
  std::vector<std::string> variables;
  for (const char* field : kLogFields) {
    variables.push_back(absl::StrCat("$", field));
  }
  // nginx turns "\t" inside a quoted string into a tab.
  return absl::StrJoin(variables, "\\t");
}

std::string RenderConfig(const NginxFrontOptions& options, int port,
                         absl::string_view upstream_host_port) {
  const std::string& dir = options.work_dir;
  const bool h2 = options.mode == NginxFrontOptions::Mode::kH2;
  return absl::StrCat(
      "# Written by NginxFront (tests/emulator/nginx_front.cc), run as\n"
      "#   nginx -p ", dir, "/ -e ", dir, "/error.log -c ", dir,
      "/nginx.conf\n"
      "# with the listening socket inherited through $NGINX.\n"
      // A master: nginx 1.22 crashes with an inherited socket without one.
      "daemon off;\n"
      "master_process on;\n"
      "worker_processes 1;\n",
      UserDirective(), RlimitDirective(),
      "pid ", dir, "/nginx.pid;\n"
      "error_log ", dir, "/error.log notice;\n"
      "\n"
      "events {\n"
      "  worker_connections ", kWorkerConnections, ";\n"
      "}\n"
      "\n"
      "http {\n"
      "  client_body_temp_path ", dir, "/client_body;\n"
      "  proxy_temp_path ", dir, "/proxy;\n"
      "  fastcgi_temp_path ", dir, "/fastcgi;\n"
      "  uwsgi_temp_path ", dir, "/uwsgi;\n"
      "  scgi_temp_path ", dir, "/scgi;\n"
      "\n"
      "  log_format front '", LogFormat(), "';\n"
      // Only proxied requests are logged (see location /): the start-up
      // probe, a plain-text request to the TLS port, is not.
      "  access_log off;\n"
      "\n"
      "  server_tokens off;\n"
      "  keepalive_requests ", options.keepalive_requests, ";\n"
      "  keepalive_timeout 300s;\n"
      "  http2_max_concurrent_streams ", options.http2_max_concurrent_streams,
      ";\n"
      // Bodies stay in memory and are never refused for their size.
      "  client_max_body_size 0;\n"
      "  client_body_buffer_size 1m;\n"
      "  underscores_in_headers on;\n"
      "  ignore_invalid_headers off;\n"
      "\n"
      "  server {\n"
      "    listen 127.0.0.1:", port, " ssl", h2 ? " http2" : "",
      " backlog=", kBacklog, ";\n"
      "    ssl_certificate ", options.tls_cert_path, ";\n"
      "    ssl_certificate_key ", options.tls_key_path, ";\n"
      // nginx 1.22's default leaves TLS 1.3 out.
      "    ssl_protocols TLSv1.2 TLSv1.3;\n"
      "    ssl_session_cache shared:front:1m;\n"
      "    ssl_session_timeout 10m;\n"
      "    ssl_session_tickets on;\n"
      "\n"
      "    location / {\n"
      "      access_log ", dir, "/access.log front;\n"
      // No URI part: the request target goes upstream exactly as received.
      "      proxy_pass http://", upstream_host_port, ";\n"
      "      proxy_http_version 1.1;\n"
      // nginx would send its upstream's address and drop Expect.
      "      proxy_set_header Host $http_host;\n"
      "      proxy_set_header Expect $http_expect;\n"
      "      proxy_pass_request_headers on;\n"
      "      proxy_pass_request_body on;\n"
      "      proxy_pass_header Server;\n"
      "      proxy_pass_header Date;\n"
      "      proxy_redirect off;\n"
      "      proxy_intercept_errors off;\n"
      // One attempt per request: a retry here would hide the upstream's
      // fault from the client (and double the emulator's request count).
      "      proxy_next_upstream off;\n"
      // Replies stream through memory buffers, never to a temporary file.
      "      proxy_max_temp_file_size 0;\n"
      "      proxy_connect_timeout 5s;\n"
      "      proxy_send_timeout 600s;\n"
      "      proxy_read_timeout 600s;\n"
      "    }\n"
      "  }\n"
      "}\n");
}

absl::Status WriteText(const std::string& path, absl::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return ErrnoStatus(absl::StrCat("cannot write ", path));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return ErrnoStatus(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// A listening, non-blocking TCP socket on 127.0.0.1:0 (close-on-exec; the
// child clears that on its copy), at fd 3 or above so that the child's
// stdio cannot overwrite it.
absl::Status BindLoopback(int* fd_out, int* port_out) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus("socket");
  if (fd <= STDERR_FILENO) {
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    if (moved < 0) return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC)");
    fd = moved;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, kBacklog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    absl::Status status = ErrnoStatus("bind/listen 127.0.0.1:0");
    close(fd);
    return status;
  }
  *fd_out = fd;
  *port_out = ntohs(address.sin_port);
  return absl::OkStatus();
}

// Closes every descriptor from `first` up, except `keep`. Async-signal-safe
// (runs between fork and exec).
void CloseFrom(int first, int keep, long max_fd) {  // NOLINT(runtime/int)
#ifdef SYS_close_range
  bool done = true;
  if (keep > first &&
      syscall(SYS_close_range, first, keep - 1, 0) != 0) {
    done = false;
  }
  if (done && syscall(SYS_close_range, keep + 1, ~0U, 0) == 0) return;
#endif
  for (long fd = first; fd < max_fd; ++fd) {  // NOLINT(runtime/int)
    if (fd != keep) close(static_cast<int>(fd));
  }
}

// Forks and execs nginx with `listen_fd` inherited (NGINX="<fd>;"), stdin
// from /dev/null and stdout/stderr into `stdio_path`, in a process group of
// its own that gets SIGTERM when the calling thread ends.
absl::StatusOr<pid_t> Spawn(const NginxFrontOptions& options, int listen_fd,
                            const std::string& stdio_path) {
  if (access(options.nginx_binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", options.nginx_binary, ": ",
                     std::strerror(errno), " (scripts/setup.sh installs it)"));
  }
  const std::string& dir = options.work_dir;
  std::vector<std::string> args = {options.nginx_binary,
                                   "-p",
                                   absl::StrCat(dir, "/"),
                                   "-e",
                                   absl::StrCat(dir, "/error.log"),
                                   "-c",
                                   absl::StrCat(dir, "/nginx.conf")};
  std::string env_nginx = absl::StrCat("NGINX=", listen_fd, ";");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* envp[] = {env_nginx.data(), nullptr};

  const int out =
      open(stdio_path.c_str(),
           O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return ErrnoStatus(absl::StrCat("open ", stdio_path));
  const int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_in < 0) {
    absl::Status status = ErrnoStatus("open /dev/null");
    close(out);
    return status;
  }
  const long max_fd = sysconf(_SC_OPEN_MAX);  // NOLINT(runtime/int)
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until execve.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      sigaction(sig, &default_action, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(null_in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
        dup2(out, STDERR_FILENO) < 0 || fcntl(listen_fd, F_SETFD, 0) != 0) {
      _exit(127);
    }
    CloseFrom(STDERR_FILENO + 1, listen_fd, max_fd);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  const int fork_errno = errno;
  close(out);
  close(null_in);
  if (pid < 0) {
    errno = fork_errno;
    return ErrnoStatus("fork");
  }
  // Also here, so that the group exists before this returns whatever the
  // child has done so far (EACCES once it has exec'd: it is set by then).
  setpgid(pid, pid);
  return pid;
}

// Returns true once `pid` (a child) has exited, without reaping it.
// ECHILD (someone else reaped it: SIGCHLD ignored) counts as exited.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  const int rc = waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT);
  return (rc == 0 && info.si_pid == pid) || (rc != 0 && errno == ECHILD);
}

enum class ProbeResult { kServing, kNoAnswer, kExited };

// Sends a plain-text HTTP request to the TLS port and reads until nginx
// closes: its "400 The plain HTTP request was sent to HTTPS port" shows
// that nginx owns the socket and runs this config. Watches `pid_fd` (or
// `pid`, by polling, without one) so that a nginx that exits ends the wait.
ProbeResult Probe(int port, pid_t pid, int pid_fd, absl::Time deadline) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ProbeResult::kNoAnswer;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  // The socket listens from before nginx starts: the connection completes
  // in the kernel's queue and waits there for nginx to accept it.
  constexpr absl::string_view kProbe =
      "GET /_nginx_front/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
          0 ||
      send(fd, kProbe.data(), kProbe.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(kProbe.size())) {
    close(fd);
    return ProbeResult::kNoAnswer;
  }
  std::string reply;
  ProbeResult result = ProbeResult::kNoAnswer;
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd fds[2] = {{fd, POLLIN, 0}, {pid_fd, POLLIN, 0}};
    // Without a pidfd, look at the process every 50 ms.
    const int wait_ms =
        pid_fd >= 0
            ? static_cast<int>(std::ceil(absl::ToDoubleMilliseconds(left)))
            : 50;
    const int ready = poll(fds, pid_fd >= 0 ? 2 : 1, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (pid_fd >= 0 ? fds[1].revents != 0 : HasExited(pid)) {
      result = ProbeResult::kExited;
      break;
    }
    if (fds[0].revents == 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      reply.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EOF or a reset: nginx answered, or the socket went away.
    if (absl::StartsWith(reply, "HTTP/1.1 400")) result = ProbeResult::kServing;
    break;
  }
  close(fd);
  return result;
}

absl::StatusOr<int64_t> ParseInt(absl::string_view field,
                                 absl::string_view text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("access log field ", field, " is not a number: \"", text,
                     "\""));
  }
  return value;
}

absl::StatusOr<double> ParseDecimal(absl::string_view field,
                                    absl::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("access log field ", field, " is not a number: \"", text,
                     "\""));
  }
  return value;
}

}  // namespace

absl::StatusOr<NginxAccessLogEntry> ParseNginxAccessLogLine(
    absl::string_view line) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
  if (fields.size() != kLogFieldCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("access log line has ", fields.size(), " fields, not ",
                     kLogFieldCount, ": \"", line, "\""));
  }
  // nginx writes "-" for an empty value.
  auto text = [&fields](size_t i) {
    return fields[i] == "-" ? std::string() : std::string(fields[i]);
  };
  NginxAccessLogEntry entry;
  absl::StatusOr<int64_t> connection = ParseInt(kLogFields[0], fields[0]);
  if (!connection.ok()) return connection.status();
  entry.connection = *connection;
  absl::StatusOr<int64_t> requests = ParseInt(kLogFields[1], fields[1]);
  if (!requests.ok()) return requests.status();
  entry.connection_requests = static_cast<int>(*requests);
  entry.protocol = text(2);
  entry.ssl_protocol = text(3);
  entry.ssl_session_reused = fields[4] == "r";
  entry.alpn = text(5);
  absl::StatusOr<int64_t> status = ParseInt(kLogFields[6], fields[6]);
  if (!status.ok()) return status.status();
  entry.status = static_cast<int>(*status);
  entry.method = text(7);
  entry.request_uri = text(8);
  entry.upstream_status = text(9);
  absl::StatusOr<double> request_time =
      ParseDecimal(kLogFields[10], fields[10]);
  if (!request_time.ok()) return request_time.status();
  entry.request_time = absl::Milliseconds(std::llround(*request_time * 1000));
  absl::StatusOr<int64_t> remote_port = ParseInt(kLogFields[11], fields[11]);
  if (!remote_port.ok()) return remote_port.status();
  entry.remote_port = static_cast<int>(*remote_port);
  absl::StatusOr<double> msec = ParseDecimal(kLogFields[12], fields[12]);
  if (!msec.ok()) return msec.status();
  entry.logged_at = absl::FromUnixMillis(std::llround(*msec * 1000));
  return entry;
}

absl::StatusOr<std::unique_ptr<NginxFront>> NginxFront::Start(
    NginxFrontOptions options) {
  if (options.work_dir.empty()) {
    std::string pattern = absl::StrCat(TmpRoot(), "/nginx-front-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return ErrnoStatus(absl::StrCat("mkdtemp ", pattern));
    }
    options.work_dir = pattern;
  }
  while (options.work_dir.size() > 1 && absl::EndsWith(options.work_dir, "/")) {
    options.work_dir.pop_back();
  }
  if (absl::Status status = ValidateOptions(options); !status.ok()) {
    return status;
  }
  if (absl::Status status = MakeDirs(options.work_dir); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> upstream =
      UpstreamHostPort(options.upstream_origin);
  if (!upstream.ok()) return upstream.status();

  int listen_fd = -1;
  int port = 0;
  if (absl::Status status = BindLoopback(&listen_fd, &port); !status.ok()) {
    return status;
  }
  std::unique_ptr<NginxFront> front(new NginxFront(std::move(options), port));
  const NginxFrontOptions& opts = front->options_;
  // A previous run's logs (the same work_dir) must not count.
  unlink(front->access_log_path().c_str());
  unlink(front->error_log_path().c_str());
  absl::Status written = WriteText(absl::StrCat(opts.work_dir, "/nginx.conf"),
                                   RenderConfig(opts, port, *upstream));
  if (!written.ok()) {
    close(listen_fd);
    return written;
  }
  absl::StatusOr<pid_t> pid =
      Spawn(opts, listen_fd, absl::StrCat(opts.work_dir, "/nginx.stderr"));
  // nginx holds the socket now; this copy would keep the port open after
  // nginx exits.
  close(listen_fd);
  if (!pid.ok()) return pid.status();
  front->pid_ = *pid;
#ifdef SYS_pidfd_open
  front->pid_fd_ = static_cast<int>(syscall(SYS_pidfd_open, *pid, 0));
  if (front->pid_fd_ >= 0) fcntl(front->pid_fd_, F_SETFD, FD_CLOEXEC);
#endif

  const absl::Time deadline = absl::Now() + opts.start_timeout;
  for (;;) {
    const ProbeResult probe =
        Probe(port, front->pid_, front->pid_fd_, deadline);
    if (probe == ProbeResult::kServing) break;
    // No answer without an exit (a reset, a refused connect): look again
    // once nginx has had 50 ms to exit.
    if (probe == ProbeResult::kExited ||
        front->WaitForExit(std::min(absl::Milliseconds(50),
                                    deadline - absl::Now()))) {
      std::lock_guard<std::mutex> lock(front->mu_);
      front->Reap();
      return absl::FailedPreconditionError(absl::StrCat(
          "nginx exited during start-up; error log: ",
          Tail(front->ErrorLog(), 2000), " stderr: ",
          Tail(ReadText(absl::StrCat(front->work_dir(), "/nginx.stderr")),
               1000)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "nginx did not answer on port ", port, " within ",
          absl::FormatDuration(opts.start_timeout),
          "; error log: ", Tail(front->ErrorLog(), 2000)));
    }
  }
  return front;
}

NginxFront::~NginxFront() {
  Stop();
  if (pid_fd_ >= 0) close(pid_fd_);
}

void NginxFront::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pid_ < 0) return;
  // SIGTERM, nginx's fast shutdown: SIGQUIT's graceful one would wait for
  // idle h2 clients to hang up, which they need not do.
  kill(pid_, SIGTERM);
  if (!WaitForExit(absl::Seconds(5))) {
    kill(-pid_, SIGKILL);
    WaitForExit(absl::Seconds(10));
  }
  Reap();
}

bool NginxFront::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (HasExited(pid_)) return true;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    if (pid_fd_ >= 0) {
      pollfd fd = {pid_fd_, POLLIN, 0};
      poll(&fd, 1,
           static_cast<int>(std::ceil(absl::ToDoubleMilliseconds(left))));
    } else {
      // No pidfd (an old kernel): look again in 10 ms.
      poll(nullptr, 0, 10);
    }
  }
}

void NginxFront::Reap() {
  if (pid_ < 0) return;
  // Workers outlive a master that was killed; the master's zombie keeps the
  // group id ours until the waitpid below.
  kill(-pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::string NginxFront::origin() const {
  return absl::StrCat("https://127.0.0.1:", port_);
}

std::string NginxFront::access_log_path() const {
  return absl::StrCat(options_.work_dir, "/access.log");
}

std::string NginxFront::error_log_path() const {
  return absl::StrCat(options_.work_dir, "/error.log");
}

std::string NginxFront::ErrorLog() const { return ReadText(error_log_path()); }

absl::StatusOr<std::vector<NginxAccessLogEntry>> NginxFront::AccessLog()
    const {
  std::ifstream in(access_log_path(), std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", access_log_path()));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<NginxAccessLogEntry> entries;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos;
       start = end + 1, end = text.find('\n', start)) {
    absl::StatusOr<NginxAccessLogEntry> entry = ParseNginxAccessLogLine(
        absl::string_view(text).substr(start, end - start));
    if (!entry.ok()) return entry.status();
    entries.push_back(*std::move(entry));
  }
  return entries;
}

absl::StatusOr<int> NginxFront::ConnectionCount() const {
  absl::StatusOr<std::vector<NginxAccessLogEntry>> log = AccessLog();
  if (!log.ok()) return log.status();
  std::set<int64_t> connections;
  for (const NginxAccessLogEntry& entry : *log) {
    connections.insert(entry.connection);
  }
  return static_cast<int>(connections.size());
}

bool NginxFront::WaitForRequests(size_t count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  // Watched before each read, so that a line written between the read and
  // the wait still wakes it.
  int watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (watch >= 0 &&
      inotify_add_watch(watch, access_log_path().c_str(), IN_MODIFY) < 0) {
    close(watch);
    watch = -1;
  }
  bool reached = false;
  for (;;) {
    absl::StatusOr<std::vector<NginxAccessLogEntry>> log = AccessLog();
    if (log.ok() && log->size() >= count) {
      reached = true;
      break;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    // Without inotify (or as a safety net), look again after at most 1 s
    // (10 ms without it).
    const absl::Duration wait =
        std::min(left, watch >= 0 ? absl::Seconds(1) : absl::Milliseconds(10));
    pollfd fd = {watch, POLLIN, 0};
    poll(watch >= 0 ? &fd : nullptr, watch >= 0 ? 1 : 0,
         static_cast<int>(std::ceil(absl::ToDoubleMilliseconds(wait))));
    if (watch >= 0) {
      char events[4096];
      while (read(watch, events, sizeof(events)) > 0) {
      }
    }
  }
  if (watch >= 0) close(watch);
  return reached;
}

}  // namespace testing
}  // namespace usergateway
