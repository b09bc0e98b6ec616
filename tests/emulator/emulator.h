// The upstream emulator: a real HTTP(S) server (cpp-httplib) that behaves
// like the vendor's REST API for `PUT /authn2/v0/user/{user_id}`, so that
// the gateway can be tested through libcurl and real sockets exactly as it
// talks to production. Used in-process by tests (this class) and as the
// `upstream_emulator` binary (emulator_main.cc) for local runs and demos.
//
// Routes, under `EmulatorOptions::path_prefix` (default "/api", the path of
// the vendor's base URL https://{tenant}-api.esper.cloud/api; so the gateway's
// base URL is base_url() and its path template the default
// /authn2/v0/user/{user_id}):
//   PUT <prefix>/authn2/v0/user/{user_id}
//   PUT <prefix>/authn2/v0/tenant/{enterprise_id}/user/{user_id}
//       (the user must belong to that enterprise, else 404)
// Path segments arrive percent-encoded and are decoded before lookup.
//
// What a request gets, checked in Django REST Framework's order:
//   unknown path (or outside the prefix) 404, Django's HTML page
//   no Authorization header    401 {"detail":"Authentication credentials were
//                                    not provided."}
//   not "Bearer <known key>"   401 {"errors":[],"message":"Invalid API key",
//                                    "status":401}
//   method other than PUT      405 {"detail":"Method \"GET\" not allowed."}
//   read-only key              403 {"code":403,"error":"You do not have
//                                    permission to perform this action.",
//                                    "message":"Permission denied"}
//   unknown user               404 {"errors":["User not found"],
//                                    "message":"Not found","status":404}
//   Content-Type not JSON      415 {"code":415,"error":"Unsupported media type
//                                    \"text/plain\" in request.",
//                                    "message":"Unsupported media type"}
//   body not JSON              400 {"code":400,"error":"JSON parse error",
//                                    "message":"Bad request"}
//   body not an object         400 {"non_field_errors":["Invalid data.
//                                    Expected a dictionary, but got list."]}
//   first_name missing         400 {"first_name":["This field is required."]}
//   first_name null            400 {"first_name":["This field may not be
//                                    null."]}
//   first_name not a string    400 {"first_name":["Not a valid string."]}
//   first_name blank after trimming ASCII whitespace (DRF trims)
//                              400 {"first_name":["This field may not be
//                                    blank."]}
//   first_name has U+0000      400 {"first_name":["Null characters are not
//                                    allowed."]}
//   first_name > 150 code points
//                              400 {"status":400,"errors":["first_name: Ensure
//                                    this field has no more than 150
//                                    characters."],"message":"Bad request"}
//   otherwise                  200, the stored user object with first_name
//                              (trimmed) and full_name ("first last", or
//                              first alone when last_name is null or empty)
//                              updated; the update is kept.
// JSON is written compactly, as DRF renders it (see json_tree.h).
//
// With EmulatorOptions::tenants, every route above is served under
// "/<tenant>" + prefix instead, with that tenant's key only.
//
// Test controls (never recorded, no auth):
//   GET    /_emulator/requests   recorded API requests as a JSON array
//   DELETE /_emulator/requests   forget them (and the connections seen)
//   GET    /_emulator/stats      {"connections":N,"requests":N,
//                                 "pending_faults":N}
//   POST   /_emulator/faults     queue faults (JSON form, see fault.h)
//   DELETE /_emulator/faults     drop queued faults
//   PUT    /_emulator/api_keys   {"api_keys":["k1",...]}: replace the
//                                read-write keys (key rotation)
// Faults (fault.h) replace or alter these replies: e.g. `status` sends any
// status and body, `reset` an RST, and `echo_key` a 401 (or `status`) whose
// body quotes the bearer token received, as a careless upstream would.
// A request's `X-Emulator-Fault` header (header form, see fault.h) applies
// to that request only and leaves the queue alone; otherwise each API
// request takes the next queued fault, if any.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Emulator>> emulator =
//       Emulator::Start(EmulatorOptions());
//   ASSERT_TRUE(emulator.ok());
//   config.base_url = (*emulator)->base_url();  // http://127.0.0.1:PORT/api
//   Fault busy;
//   busy.status = 503;  // twice, then normal replies
//   busy.times = 2;
//   (*emulator)->PushFault(busy);
//   ... run the gateway against it ...
//   EXPECT_EQ((*emulator)->Requests().size(), 3);
#ifndef USERGATEWAY_TESTS_EMULATOR_EMULATOR_H_
#define USERGATEWAY_TESTS_EMULATOR_EMULATOR_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/emulator/fault.h"
#include "tests/emulator/json_tree.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace usergateway {
namespace testing {

// Keys the emulator accepts unless told otherwise.
inline constexpr char kDefaultApiKey[] = "emulator-key";
inline constexpr char kDefaultReadOnlyKey[] = "emulator-read-only-key";

// The upstream's first_name limit, in Unicode code points (Django's
// max_length for User.first_name).
inline constexpr int kMaxFirstNameLength = 150;

// How to run an Emulator.
struct EmulatorOptions {
  // Address to listen on; port 0 picks a free port (see Emulator::port()).
  std::string host = "127.0.0.1";
  int port = 0;
  // Every API path starts with this: "" or "/segment[/segment...]".
  std::string path_prefix = "/api";
  // The users: `users_json` (a JSON array of user objects) if set, else
  // the file `users_path` if set, else the embedded testdata/users.json.
  std::string users_json;
  std::string users_path;
  // Several tenants in one emulator, as the vendor's per-tenant hosts
  // (https://{tenant}-api.esper.cloud/api): tenant name -> its read-write
  // key. When set, API paths are "/<name>" + path_prefix + ..., each
  // answered only with its tenant's key (api_keys then do not apply; the
  // read-only keys do); other paths are 404. Names are 1..63 of
  // [a-z0-9_-]. Users and faults are shared.
  std::map<std::string, std::string> tenants;
  // Keys accepted after "Bearer ": read-write and read-only.
  std::vector<std::string> api_keys = {kDefaultApiKey};
  std::vector<std::string> read_only_keys = {kDefaultReadOnlyKey};
  // Worker threads. cpp-httplib gives each open connection a thread for as
  // long as it stays open, so this bounds concurrent connections too.
  int threads = 64;
  // How long an idle keep-alive connection stays open (whole seconds), and
  // how many requests one connection may carry, so that clients reuse
  // connections as they would with the real API.
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  int keep_alive_max_requests = 100000;
  // Both set: serve HTTPS with these PEM files (see test_certificates.h).
  std::string tls_cert_path;
  std::string tls_key_path;
  // Write one line per request to stderr (method, target, status, fault);
  // never headers or bodies.
  bool log_requests = false;
};

// One API request as the emulator received it.
struct RecordedRequest {
  std::string method;
  // The request target exactly as sent: percent-encoding and query kept.
  std::string target;
  // The path as cpp-httplib decoded it.
  std::string path;
  // Headers as received (cpp-httplib orders them by name,
  // case-insensitively); duplicates kept.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_addr;
  int remote_port = 0;

  // Returns every value of header `name` (case-insensitive), in order.
  std::vector<std::string> HeaderValues(absl::string_view name) const;
  // Returns the first value of header `name`, or "" when absent.
  std::string HeaderValue(absl::string_view name) const;
  bool HasHeader(absl::string_view name) const;
};

// A running emulator. Owned by its creator; destroying it stops the server
// and joins its threads (in-flight delays end early). All methods are
// thread-safe.
class Emulator {
 public:
  // Binds, then serves on a thread of its own; the port accepts connections
  // when this returns. Ignores SIGPIPE process-wide (a reset or truncated
  // connection must not kill the process). Returns InvalidArgument for bad
  // options or fixture, and Unavailable when the address cannot be bound or
  // the TLS files cannot be loaded.
  static absl::StatusOr<std::unique_ptr<Emulator>> Start(
      EmulatorOptions options);

  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;
  ~Emulator();

  // Stops serving: ends delays, closes the listening socket and every open
  // connection, and joins the server thread. Idempotent.
  void Stop();

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert_path.empty(); }
  // "http://127.0.0.1:PORT" (https with TLS).
  std::string origin() const;
  // origin() + path_prefix: the base URL to configure the gateway with.
  std::string base_url() const;
  // With tenants: origin() + "/" + `tenant` + path_prefix, that tenant's
  // base URL.
  std::string TenantBaseUrl(absl::string_view tenant) const;

  // Queues `fault` for the next API requests (see fault.h).
  void PushFault(Fault fault);
  void ClearFaults();
  // Returns how many requests the queued faults will still affect.
  int PendingFaults() const;

  // Returns the API requests received so far, oldest first. A request is
  // recorded when it arrives, before any fault's delay.
  std::vector<RecordedRequest> Requests() const;
  // Waits until at least `count` API requests have been recorded. Returns
  // false if `timeout` passed first.
  bool WaitForRequests(size_t count, absl::Duration timeout) const;
  // Forgets the recorded requests and the connections seen.
  void ClearRequests();
  // Returns the number of distinct client connections (remote address and
  // port) that carried an API request since the last ClearRequests().
  int ConnectionCount() const;

  // Replaces the read-write keys, e.g. to revoke a key during a test.
  void SetApiKeys(std::vector<std::string> keys);

  // Returns the stored user (as the 200 body would show it), or nullopt.
  std::optional<std::string> UserJson(absl::string_view user_id) const;

 private:
  struct Reply;

  Emulator(EmulatorOptions options, std::map<std::string, JsonValue> users);

  void Dispatch(const httplib::Request& req, httplib::Response& res);
  void HandleApi(const httplib::Request& req, httplib::Response& res);
  Reply HandleUser(const httplib::Request& req);
  Reply HandleControl(const httplib::Request& req, absl::string_view path);
  void Record(const httplib::Request& req);
  // Returns the fault for this request: the header's, else the queue's.
  absl::StatusOr<std::optional<Fault>> TakeFault(const httplib::Request& req);
  // Sleeps for `delay`, or less if Stop() is called.
  void Delay(absl::Duration delay);
  std::string RequestsJson() const;
  std::string StatsJson() const;

  const EmulatorOptions options_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;

  // std::mutex rather than absl::Mutex: Debian's libabsl is not built with
  // ThreadSanitizer, which then reports false races on everything an
  // absl::Mutex guards, and tests run this class in-process under TSan.
  // Everything below is guarded by mu_; cv_ is notified when stopping_,
  // stopped_, listen_done_ or requests_ change.
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool listen_done_ = false;
  std::vector<std::string> api_keys_;
  std::map<std::string, JsonValue> users_;
  std::deque<Fault> faults_;
  std::vector<RecordedRequest> requests_;
  std::set<std::pair<std::string, int>> connections_;
};

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_EMULATOR_H_
