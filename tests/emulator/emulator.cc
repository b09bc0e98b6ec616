#include "tests/emulator/emulator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "gateway/common/socket_scan.h"
#include "tests/emulator/embedded_users.h"

namespace usergateway {
namespace testing {

// What to send back for one request.
struct Emulator::Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

namespace {

constexpr char kJson[] = "application/json";
// Matches every path, newlines (from a decoded %0A) included; the emulator
// routes on the raw target itself.
constexpr char kAnyPath[] = R"([\s\S]*)";
// cpp-httplib adds these to Request::headers; they were not sent.
constexpr absl::string_view kPseudoHeaders[] = {"REMOTE_ADDR", "REMOTE_PORT",
                                                "LOCAL_ADDR", "LOCAL_PORT"};
constexpr char kNotFoundHtml[] =
    "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>"
    "\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not "
    "found on this server.</p>\n</body>\n</html>\n";

JsonValue Str(absl::string_view s) { return JsonValue::String(std::string(s)); }

JsonValue StringList(std::vector<std::string> items) {
  std::vector<JsonValue> values;
  for (std::string& item : items) values.push_back(JsonValue::String(item));
  return JsonValue::Array(std::move(values));
}

// {"status": N, "errors": [...], "message": "..."}
std::string StatusEnvelope(int status, std::vector<std::string> errors,
                           absl::string_view message) {
  return JsonValue::Object({{"errors", StringList(std::move(errors))},
                            {"message", Str(message)},
                            {"status", JsonValue::Integer(status)}})
      .Serialize();
}

// {"code": N, "error": "...", "message": "..."}
std::string CodeEnvelope(int code, absl::string_view error,
                         absl::string_view message) {
  return JsonValue::Object({{"code", JsonValue::Integer(code)},
                            {"error", Str(error)},
                            {"message", Str(message)}})
      .Serialize();
}

// DRF's field-error shape: {"<field>": ["<message>"]}.
std::string FieldErrors(absl::string_view field, absl::string_view message) {
  return JsonValue::Object({{std::string(field),
                             StringList({std::string(message)})}})
      .Serialize();
}

std::string Detail(absl::string_view detail) {
  return JsonValue::Object({{"detail", Str(detail)}}).Serialize();
}

// The bearer token of `req`: the Authorization value after "Bearer " (any
// case), the whole value for another scheme, "" without the header.
std::string BearerToken(const httplib::Request& req) {
  const std::string authorization = req.get_header_value("Authorization");
  const absl::string_view value = authorization;
  if (value.size() >= 7 && absl::EqualsIgnoreCase(value.substr(0, 7),
                                                  "Bearer ")) {
    return std::string(value.substr(7));
  }
  return authorization;
}

// The echo_key fault's body (see Fault::Action::kEchoKey): the token quoted
// in every place an upstream's error envelope puts text.
std::string EchoKeyBody(int status, absl::string_view token) {
  if (status == 401) return Detail(absl::StrCat("Invalid token ", token));
  return JsonValue::Object(
             {{"message", Str(absl::StrCat("key ", token, " rejected"))},
              {"error", Str(absl::StrCat("token=", token))},
              {"errors", StringList({absl::StrCat("bad token ", token)})},
              {"first_name", StringList({std::string(token)})}})
      .Serialize();
}

absl::string_view StatusMessage(int status) {
  switch (status) {
    case 400:
      return "Bad request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Permission denied";
    case 404:
      return "Not found";
    case 408:
      return "Request timeout";
    case 409:
      return "Conflict";
    case 429:
      return "Rate limit exceeded";
    case 500:
      return "Internal server error";
    case 502:
      return "Bad gateway";
    case 503:
      return "Service unavailable";
    case 504:
      return "Gateway timeout";
    default:
      return "Error";
  }
}

// The path part of a request target, still percent-encoded.
absl::string_view RawPath(absl::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; returns nullopt for a malformed escape. '+' stays.
std::optional<std::string> PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int high = HexDigit(s[i + 1]);
    const int low = HexDigit(s[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

int CodePoints(absl::string_view utf8) {
  int count = 0;
  for (char c : utf8) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

absl::StatusOr<std::map<std::string, JsonValue>> LoadUsers(
    absl::string_view json) {
  absl::StatusOr<JsonValue> parsed = ParseJson(json);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("users fixture: ", parsed.status().message()));
  }
  if (!parsed->is_array()) {
    return absl::InvalidArgumentError(
        "users fixture: expected a JSON array of user objects");
  }
  std::map<std::string, JsonValue> users;
  for (const JsonValue& user : parsed->items()) {
    const JsonValue* profile = user.Find("profile");
    const JsonValue* id =
        profile != nullptr ? profile->Find("authn_user_id") : nullptr;
    if (id == nullptr || !id->is_string() || id->text().empty()) {
      return absl::InvalidArgumentError(
          "users fixture: every user needs a non-empty string "
          "profile.authn_user_id");
    }
    if (!users.emplace(id->text(), user).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "users fixture: duplicate profile.authn_user_id ", id->text()));
    }
  }
  return users;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read users fixture ", path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Closes the request's connection with a TCP RST and no reply: SO_LINGER
// {1, 0} makes close() send RST, and dup3() closes the original socket by
// putting a fresh unconnected one in its place, so that cpp-httplib keeps a
// valid descriptor, fails to write its reply into it and closes it.
// Returns false if the socket was not found.
bool ResetConnection(const httplib::Request& req) {
  int fd = -1;
  if (req.ssl != nullptr) {
    fd = SSL_get_fd(req.ssl);
  } else {
    ForEachConnectedSocket([&](int candidate, int local_port, int peer_port) {
      if (local_port == req.local_port && peer_port == req.remote_port) {
        fd = candidate;
      }
    });
  }
  if (fd < 0) return false;
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    return false;
  }
  const linger reset{1, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) != 0) {
    return false;
  }
  const int dummy = socket(local.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (dummy < 0) return false;
  const bool ok = dup3(dummy, fd, O_CLOEXEC) == fd;
  close(dummy);
  return ok;
}

// Pads the JSON object `body` with a "padding" member to exactly `size`
// bytes; leaves it alone if it is not an object or already too long.
void PadJsonObject(size_t size, std::string* body) {
  if (body->size() < 2 || body->back() != '}') return;
  const bool empty = absl::StripAsciiWhitespace(*body) == "{}";
  const std::string head = empty ? "\"padding\":\"" : ",\"padding\":\"";
  const size_t overhead = head.size() + 1;  // closing quote
  if (body->size() + overhead > size) return;
  std::string member = head;
  member.append(size - body->size() - overhead, 'x');
  member.push_back('"');
  body->insert(body->size() - 1, member);
}

// Waits on `cv` until `done()` or `timeout` (any length, infinite
// included) passes. Returns done().
template <typename Predicate>
bool WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
             absl::Duration timeout, Predicate done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // Bounded slices: wait_for() overflows on huge durations.
    cv.wait_for(lock, absl::ToChronoNanoseconds(
                          std::min(left, absl::Hours(1))));
  }
  return true;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

absl::string_view TrimAsciiSpace(absl::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> RecordedRequest::HeaderValues(
    absl::string_view name) const {
  std::vector<std::string> values;
  for (const auto& header : headers) {
    if (absl::EqualsIgnoreCase(header.first, name)) {
      values.push_back(header.second);
    }
  }
  return values;
}

std::string RecordedRequest::HeaderValue(absl::string_view name) const {
  for (const auto& header : headers) {
    if (absl::EqualsIgnoreCase(header.first, name)) return header.second;
  }
  return "";
}

bool RecordedRequest::HasHeader(absl::string_view name) const {
  return !HeaderValues(name).empty();
}

Emulator::Emulator(EmulatorOptions options,
                   std::map<std::string, JsonValue> users)
    : options_(std::move(options)) {
  std::lock_guard<std::mutex> lock(mu_);
  api_keys_ = options_.api_keys;
  users_ = std::move(users);
}

absl::StatusOr<std::unique_ptr<Emulator>> Emulator::Start(
    EmulatorOptions options) {
  if (options.threads < 1) {
    return absl::InvalidArgumentError("threads must be at least 1");
  }
  if (options.keep_alive_max_requests < 1) {
    return absl::InvalidArgumentError(
        "keep_alive_max_requests must be at least 1");
  }
  if (options.keep_alive_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "keep_alive_timeout must be at least 1s");
  }
  if (!options.path_prefix.empty() &&
      (options.path_prefix.front() != '/' ||
       options.path_prefix.back() == '/')) {
    return absl::InvalidArgumentError(
        "path_prefix must be empty or start with '/' and not end with '/'");
  }
  for (const auto& [name, key] : options.tenants) {
    bool valid = !name.empty() && name.size() <= 63 && !key.empty();
    for (char c : name) {
      valid &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
    }
    if (!valid) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tenant \"", name,
          "\": names are 1 to 63 of [a-z0-9_-], with a non-empty key"));
    }
  }
  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return absl::InvalidArgumentError(
        "tls_cert_path and tls_key_path go together");
  }
  std::string users_text = options.users_json;
  if (users_text.empty() && !options.users_path.empty()) {
    absl::StatusOr<std::string> text = ReadFile(options.users_path);
    if (!text.ok()) return text.status();
    users_text = *std::move(text);
  }
  if (users_text.empty()) users_text = std::string(EmbeddedUsersJson());
  absl::StatusOr<std::map<std::string, JsonValue>> users =
      LoadUsers(users_text);
  if (!users.ok()) return users.status();

  // A peer that resets while a reply is written must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<Emulator> emulator =
      absl::WrapUnique(new Emulator(std::move(options), *std::move(users)));
  const EmulatorOptions& opts = emulator->options_;
  if (emulator->tls()) {
    emulator->server_ = std::make_unique<httplib::SSLServer>(
        opts.tls_cert_path.c_str(), opts.tls_key_path.c_str());
  } else {
    emulator->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *emulator->server_;
  if (!server.is_valid()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot load TLS certificate ", opts.tls_cert_path, " and key ",
        opts.tls_key_path));
  }
  const int threads = opts.threads;
  // cpp-httplib takes ownership of the queue this returns.
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  // Headers and body go out in separate writes; without TCP_NODELAY the
  // second waits for the client's delayed ACK (~40 ms per response).
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(opts.keep_alive_max_requests);
  server.set_keep_alive_timeout(
      absl::ToInt64Seconds(opts.keep_alive_timeout));
  server.set_payload_max_length(size_t{8} << 20);
  // cpp-httplib's default options add SO_REUSEPORT, which would let two
  // emulators share a port and split its requests; keep SO_REUSEADDR only.
  // The listening socket, remembered so that its backlog can be raised.
  auto listen_fd = std::make_shared<socket_t>(INVALID_SOCKET);
  server.set_socket_options([listen_fd](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *listen_fd = sock;
  });
  Emulator* self = emulator.get();
  const auto handler = [self](const httplib::Request& req,
                              httplib::Response& res) {
    self->Dispatch(req, res);
  };
  server.Get(kAnyPath, handler);
  server.Put(kAnyPath, handler);
  server.Post(kAnyPath, handler);
  server.Patch(kAnyPath, handler);
  server.Delete(kAnyPath, handler);
  server.Options(kAnyPath, handler);
  if (opts.log_requests) {
    server.set_logger(
        [](const httplib::Request& req, const httplib::Response& res) {
          std::fprintf(stderr, "emulator: %s %s -> %d\n", req.method.c_str(),
                       req.target.c_str(), res.status);
        });
  }

  int port = opts.port;
  if (port == 0) {
    port = server.bind_to_any_port(opts.host);
  } else if (!server.bind_to_port(opts.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", opts.host, ":", opts.port));
  }
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of concurrent
  // connects (tests open 200 at once) overflows it and the kernel's SYN
  // retries stall connections for seconds. listen() again only raises it.
  if (*listen_fd != INVALID_SOCKET) ::listen(*listen_fd, 4096);
  emulator->port_ = port;
  emulator->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    std::lock_guard<std::mutex> lock(self->mu_);
    self->listen_done_ = true;
    self->cv_.notify_all();
  });
  return emulator;
}

Emulator::~Emulator() { Stop(); }

void Emulator::Stop() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      // Another thread is stopping; wait for it to finish.
      cv_.wait(lock, [this] { return stopped_; });
      return;
    }
    stopping_ = true;
    cv_.notify_all();  // ends delays
  }
  if (thread_.joinable()) {
    // Repeated because cpp-httplib's stop() does nothing until its accept
    // loop has started, and a connection may be accepted while we scan.
    // Its worker threads only notice stop() between requests or when an
    // idle connection's keep-alive times out; shutting the accepted sockets
    // down wakes them now.
    const int port = port_;
    for (;;) {
      server_->stop();
      ForEachConnectedSocket([port](int fd, int local_port, int) {
        if (local_port == port) shutdown(fd, SHUT_RDWR);
      });
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(20),
                       [this] { return listen_done_; })) {
        break;
      }
    }
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

std::string Emulator::origin() const {
  std::string host = options_.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = absl::StrCat("[", host, "]");
  return absl::StrCat(tls() ? "https" : "http", "://", host, ":", port_);
}

std::string Emulator::base_url() const {
  return origin() + options_.path_prefix;
}

std::string Emulator::TenantBaseUrl(absl::string_view tenant) const {
  return absl::StrCat(origin(), "/", tenant, options_.path_prefix);
}

void Emulator::PushFault(Fault fault) {
  if (fault.times < 1) return;
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(std::move(fault));
}

void Emulator::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

int Emulator::PendingFaults() const {
  std::lock_guard<std::mutex> lock(mu_);
  int pending = 0;
  for (const Fault& fault : faults_) pending += fault.times;
  return pending;
}

std::vector<RecordedRequest> Emulator::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool Emulator::WaitForRequests(size_t count, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return WaitFor(cv_, lock, timeout, [this, count] {
    return requests_.size() >= count;
  });
}

void Emulator::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  connections_.clear();
}

int Emulator::ConnectionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(connections_.size());
}

void Emulator::SetApiKeys(std::vector<std::string> keys) {
  std::lock_guard<std::mutex> lock(mu_);
  api_keys_ = std::move(keys);
}

std::optional<std::string> Emulator::UserJson(absl::string_view user_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(std::string(user_id));
  if (it == users_.end()) return std::nullopt;
  return it->second.Serialize();
}

void Emulator::Dispatch(const httplib::Request& req, httplib::Response& res) {
  const absl::string_view path = RawPath(req.target);
  if (path == "/_emulator" || absl::StartsWith(path, "/_emulator/")) {
    Reply reply = HandleControl(req, path);
    res.status = reply.status;
    if (!reply.body.empty()) res.set_content(reply.body, reply.content_type);
    return;
  }
  HandleApi(req, res);
}

void Emulator::Record(const httplib::Request& req) {
  RecordedRequest record;
  record.method = req.method;
  record.target = req.target;
  record.path = req.path;
  for (const auto& header : req.headers) {
    bool pseudo = false;
    for (absl::string_view name : kPseudoHeaders) {
      pseudo |= header.first == name;
    }
    if (!pseudo) record.headers.emplace_back(header.first, header.second);
  }
  record.body = req.body;
  record.remote_addr = req.remote_addr;
  record.remote_port = req.remote_port;
  std::lock_guard<std::mutex> lock(mu_);
  connections_.emplace(req.remote_addr, req.remote_port);
  requests_.push_back(std::move(record));
  cv_.notify_all();
}

absl::StatusOr<std::optional<Fault>> Emulator::TakeFault(
    const httplib::Request& req) {
  if (req.has_header("X-Emulator-Fault")) {
    absl::StatusOr<Fault> fault =
        ParseFaultSpec(req.get_header_value("X-Emulator-Fault"));
    if (!fault.ok()) return fault.status();
    return std::optional<Fault>(*std::move(fault));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (faults_.empty()) return std::optional<Fault>();
  Fault fault = faults_.front();
  if (--faults_.front().times <= 0) faults_.pop_front();
  return std::optional<Fault>(std::move(fault));
}

void Emulator::Delay(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  WaitFor(cv_, lock, delay, [this] { return stopping_; });
}

void Emulator::HandleApi(const httplib::Request& req, httplib::Response& res) {
  // Take the fault before recording, so that a test that saw this request
  // recorded knows which queued fault it got.
  absl::StatusOr<std::optional<Fault>> taken = TakeFault(req);
  Record(req);
  if (!taken.ok()) {
    res.status = 400;
    res.set_content(
        CodeEnvelope(
            400, absl::StrCat("X-Emulator-Fault: ", taken.status().message()),
            "Bad request"),
        kJson);
    return;
  }
  Fault fault = taken->value_or(Fault());
  if (fault.action == Fault::Action::kNone && fault.status != 0) {
    fault.action = Fault::Action::kStatus;
  }
  if (fault.delay > absl::ZeroDuration()) Delay(fault.delay);

  Reply reply;
  switch (fault.action) {
    case Fault::Action::kReset:
      if (ResetConnection(req)) return;
      reply.status = 500;
      reply.body = CodeEnvelope(500, "emulator could not reset the connection",
                                "Internal server error");
      break;
    case Fault::Action::kEchoKey:
      reply.status = fault.status != 0 ? fault.status : 401;
      reply.body = EchoKeyBody(reply.status, BearerToken(req));
      break;
    case Fault::Action::kStatus:
      reply.status = fault.status != 0 ? fault.status : 503;
      reply.body = fault.body.empty()
                       ? StatusEnvelope(reply.status, {},
                                        StatusMessage(reply.status))
                       : fault.body;
      break;
    default:
      reply = HandleUser(req);
      break;
  }
  if (fault.action == Fault::Action::kMalformedBody) {
    reply.status = fault.status != 0 ? fault.status : 200;
    reply.body = fault.body.empty() ? "<html><body>OK</body></html>\n"
                                    : fault.body;
  } else if (fault.action == Fault::Action::kOversizedBody) {
    PadJsonObject(fault.body_bytes, &reply.body);
  }
  if (!fault.content_type.empty()) reply.content_type = fault.content_type;
  if (!fault.retry_after.empty()) {
    reply.headers.emplace_back("Retry-After", fault.retry_after);
  }

  res.status = reply.status;
  for (const auto& header : reply.headers) {
    res.set_header(header.first, header.second);
  }
  if (fault.action == Fault::Action::kTruncateBody) {
    // Declare the whole body, send half, then fail the provider: cpp-httplib
    // closes the connection with the body short.
    auto body = std::make_shared<std::string>(std::move(reply.body));
    res.set_content_provider(
        body->size(), reply.content_type,
        [body](size_t, size_t, httplib::DataSink& sink) {
          sink.write(body->data(), body->size() / 2);
          return false;
        });
    return;
  }
  res.set_content(reply.body, reply.content_type);
}

Emulator::Reply Emulator::HandleUser(const httplib::Request& req) {
  Reply reply;
  const auto error = [&reply](int status, std::string body) {
    reply.status = status;
    reply.body = std::move(body);
    return reply;
  };

  // Route on the raw path so that an encoded '/' stays inside its segment.
  absl::string_view path = RawPath(req.target);
  // With tenants, "/<name>" comes first and picks the only key accepted.
  const std::string* tenant_key = nullptr;
  if (!options_.tenants.empty()) {
    absl::string_view rest = path;
    const size_t slash = rest.size() > 1 ? rest.find('/', 1) : 0;
    if (rest.empty() || rest[0] != '/' || slash == absl::string_view::npos) {
      reply.content_type = "text/html; charset=utf-8";
      return error(404, kNotFoundHtml);
    }
    auto it = options_.tenants.find(std::string(rest.substr(1, slash - 1)));
    if (it == options_.tenants.end()) {
      reply.content_type = "text/html; charset=utf-8";
      return error(404, kNotFoundHtml);
    }
    tenant_key = &it->second;
    path.remove_prefix(slash);
  }
  if (!absl::ConsumePrefix(&path, options_.path_prefix)) {
    reply.content_type = "text/html; charset=utf-8";
    return error(404, kNotFoundHtml);
  }
  const std::vector<absl::string_view> segments = absl::StrSplit(path, '/');
  std::optional<std::string> user_id;
  std::optional<std::string> enterprise_id;
  if (segments.size() == 5 && segments[0].empty() &&
      segments[1] == "authn2" && segments[2] == "v0" &&
      segments[3] == "user") {
    user_id = PercentDecode(segments[4]);
  } else if (segments.size() == 7 && segments[0].empty() &&
             segments[1] == "authn2" && segments[2] == "v0" &&
             segments[3] == "tenant" && segments[5] == "user") {
    enterprise_id = PercentDecode(segments[4]);
    user_id = PercentDecode(segments[6]);
    if (!enterprise_id.has_value() || enterprise_id->empty()) {
      user_id.reset();
    }
  }
  if (!user_id.has_value() || user_id->empty()) {
    reply.content_type = "text/html; charset=utf-8";
    return error(404, kNotFoundHtml);
  }

  // Authentication, then the method, then permissions: DRF's order.
  if (!req.has_header("Authorization")) {
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"api\"");
    return error(401, Detail("Authentication credentials were not provided."));
  }
  const std::string authorization = req.get_header_value("Authorization");
  const absl::string_view credentials = authorization;
  bool read_only = false;
  bool known = false;
  if (credentials.size() > 7 &&
      absl::EqualsIgnoreCase(credentials.substr(0, 7), "Bearer ")) {
    const absl::string_view key = credentials.substr(7);
    std::lock_guard<std::mutex> lock(mu_);
    if (tenant_key != nullptr) {
      known = key == *tenant_key;
    } else {
      for (const std::string& k : api_keys_) known |= key == k;
    }
    if (!known) {
      for (const std::string& k : options_.read_only_keys) {
        read_only |= key == k;
      }
    }
  }
  if (!known && !read_only) {
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"api\"");
    return error(401, StatusEnvelope(401, {}, "Invalid API key"));
  }
  if (req.method != "PUT") {
    reply.headers.emplace_back("Allow", "PUT");
    return error(405, Detail(absl::StrCat("Method \"", req.method,
                                          "\" not allowed.")));
  }
  if (read_only) {
    return error(403, CodeEnvelope(
                          403,
                          "You do not have permission to perform this action.",
                          "Permission denied"));
  }

  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = users_.find(*user_id);
    bool found = it != users_.end();
    if (found && enterprise_id.has_value()) {
      const JsonValue* profile = it->second.Find("profile");
      const JsonValue* enterprise =
          profile != nullptr ? profile->Find("enterprise") : nullptr;
      found = enterprise != nullptr && enterprise->text() == *enterprise_id;
    }
    if (!found) {
      return error(404, StatusEnvelope(404, {"User not found"}, "Not found"));
    }
  }

  const std::string content_type = req.get_header_value("Content-Type");
  const absl::string_view media_type =
      TrimAsciiSpace(absl::string_view(content_type).substr(
          0, content_type.find(';')));
  if (!absl::EqualsIgnoreCase(media_type, "application/json")) {
    return error(415, CodeEnvelope(415,
                                   absl::StrCat("Unsupported media type \"",
                                                content_type, "\" in request."),
                                   "Unsupported media type"));
  }
  // DRF reads an empty body as no data at all.
  absl::StatusOr<JsonValue> body = req.body.empty()
                                       ? JsonValue::Object()
                                       : ParseJson(req.body);
  if (!body.ok()) {
    return error(400, CodeEnvelope(400, "JSON parse error", "Bad request"));
  }
  if (!body->is_object()) {
    return error(400, FieldErrors("non_field_errors",
                                  absl::StrCat("Invalid data. Expected a "
                                               "dictionary, but got ",
                                               body->PythonTypeName(), ".")));
  }
  const JsonValue* first_name = body->Find("first_name");
  if (first_name == nullptr) {
    return error(400, FieldErrors("first_name", "This field is required."));
  }
  if (first_name->is_null()) {
    return error(400, FieldErrors("first_name", "This field may not be null."));
  }
  if (!first_name->is_string()) {
    return error(400, FieldErrors("first_name", "Not a valid string."));
  }
  const std::string value(TrimAsciiSpace(first_name->text()));
  if (value.empty()) {
    return error(400,
                 FieldErrors("first_name", "This field may not be blank."));
  }
  if (value.find('\0') != std::string::npos) {
    return error(400, FieldErrors("first_name",
                                  "Null characters are not allowed."));
  }
  if (CodePoints(value) > kMaxFirstNameLength) {
    return error(400, StatusEnvelope(
                          400,
                          {absl::StrCat("first_name: Ensure this field has no "
                                        "more than ",
                                        kMaxFirstNameLength, " characters.")},
                          "Bad request"));
  }

  std::lock_guard<std::mutex> lock(mu_);
  JsonValue& user = users_.at(*user_id);
  user.Set("first_name", JsonValue::String(value));
  const JsonValue* last_name = user.Find("last_name");
  const bool has_last = last_name != nullptr && last_name->is_string() &&
                        !last_name->text().empty();
  user.Set("full_name",
           JsonValue::String(has_last ? absl::StrCat(value, " ",
                                                     last_name->text())
                                      : value));
  reply.body = user.Serialize();
  return reply;
}

Emulator::Reply Emulator::HandleControl(const httplib::Request& req,
                                        absl::string_view path) {
  Reply reply;
  const auto json = [&reply](int status, std::string body) {
    reply.status = status;
    reply.body = std::move(body);
    return reply;
  };
  const auto bad_request = [&json](absl::string_view message) {
    return json(400, JsonValue::Object({{"error", Str(message)}}).Serialize());
  };
  if (path == "/_emulator/requests") {
    if (req.method == "GET") return json(200, RequestsJson());
    if (req.method == "DELETE") {
      ClearRequests();
      return json(204, "");
    }
  } else if (path == "/_emulator/stats") {
    if (req.method == "GET") return json(200, StatsJson());
  } else if (path == "/_emulator/faults") {
    if (req.method == "POST") {
      absl::StatusOr<std::vector<Fault>> faults = ParseFaultsJson(req.body);
      if (!faults.ok()) return bad_request(faults.status().message());
      for (Fault& fault : *faults) PushFault(std::move(fault));
      return json(200, StatsJson());
    }
    if (req.method == "DELETE") {
      ClearFaults();
      return json(204, "");
    }
  } else if (path == "/_emulator/api_keys") {
    if (req.method == "PUT") {
      absl::StatusOr<JsonValue> body = ParseJson(req.body);
      const JsonValue* keys = body.ok() ? body->Find("api_keys") : nullptr;
      if (keys == nullptr || !keys->is_array()) {
        return bad_request("expected {\"api_keys\": [\"key\", ...]}");
      }
      std::vector<std::string> values;
      for (const JsonValue& key : keys->items()) {
        if (!key.is_string()) return bad_request("api_keys must be strings");
        values.push_back(key.text());
      }
      SetApiKeys(std::move(values));
      return json(204, "");
    }
  } else {
    return json(404, JsonValue::Object({{"error", Str("unknown control path")}})
                         .Serialize());
  }
  return json(405, JsonValue::Object({{"error", Str("method not allowed")}})
                       .Serialize());
}

std::string Emulator::RequestsJson() const {
  std::vector<JsonValue> items;
  for (const RecordedRequest& r : Requests()) {
    std::vector<JsonValue> headers;
    for (const auto& header : r.headers) {
      headers.push_back(JsonValue::Object(
          {{"name", Str(header.first)}, {"value", Str(header.second)}}));
    }
    items.push_back(JsonValue::Object(
        {{"method", Str(r.method)},
         {"target", Str(r.target)},
         {"path", Str(r.path)},
         {"headers", JsonValue::Array(std::move(headers))},
         {"body", Str(r.body)},
         {"remote_addr", Str(r.remote_addr)},
         {"remote_port", JsonValue::Integer(r.remote_port)}}));
  }
  return JsonValue::Array(std::move(items)).Serialize();
}

std::string Emulator::StatsJson() const {
  int connections = 0;
  int requests = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections = static_cast<int>(connections_.size());
    requests = static_cast<int>(requests_.size());
  }
  return JsonValue::Object({{"connections", JsonValue::Integer(connections)},
                            {"requests", JsonValue::Integer(requests)},
                            {"pending_faults",
                             JsonValue::Integer(PendingFaults())}})
      .Serialize();
}

}  // namespace testing
}  // namespace usergateway
