#include "tests/emulator/emulator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/fault.h"
#include "tests/emulator/json_tree.h"
#include "tests/emulator/test_certificates.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kJsonType[] = "application/json";

// Percent-encodes every byte outside RFC 3986's unreserved set, as the
// gateway does for {user_id}.
std::string EncodeSegment(absl::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : segment) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

// Encodes every byte, unreserved ones included (legal, and a server must
// decode it all the same).
std::string EncodeEverything(absl::string_view segment) {
  std::string out;
  for (char c : segment) {
    absl::StrAppend(&out, "%",
                    absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
  }
  return out;
}

std::string UserPath(absl::string_view user_id) {
  return absl::StrCat("/api/authn2/v0/user/", EncodeSegment(user_id));
}

std::string NameBody(absl::string_view first_name) {
  return absl::StrCat("{\"first_name\":", JsonString(first_name), "}");
}

httplib::Headers Bearer(absl::string_view key = kDefaultApiKey) {
  return {{"Authorization", absl::StrCat("Bearer ", key)}};
}

// The fixture user as the emulator should return it after a rename.
std::string ExpectedUser(absl::string_view user_id,
                         absl::string_view first_name,
                         absl::string_view full_name) {
  absl::StatusOr<JsonValue> users = ParseJson(EmbeddedUsersJson());
  if (!users.ok()) return "fixture does not parse";
  for (JsonValue user : users->items()) {
    if (user.Find("profile")->Find("authn_user_id")->text() == user_id) {
      user.Set("first_name", JsonValue::String(std::string(first_name)));
      user.Set("full_name", JsonValue::String(std::string(full_name)));
      return user.Serialize();
    }
  }
  return "no such fixture user";
}

std::string TestTmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// What a raw TCP exchange produced: the bytes read, and the errno of the
// failing recv() (0 when the server closed the connection cleanly).
struct RawExchange {
  std::string data;
  int error = 0;
};

RawExchange SendRaw(int port, const std::string& request) {
  RawExchange result;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
    result.error = errno;
    close(fd);
    return result;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      result.data.append(buffer, n);
    } else {
      result.error = n == 0 ? 0 : errno;
      break;
    }
  }
  close(fd);
  return result;
}

std::string RawPut(absl::string_view path, absl::string_view body,
                   absl::string_view extra_headers = "") {
  return absl::StrCat("PUT ", path,
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer ",
                      kDefaultApiKey,
                      "\r\nContent-Type: application/json\r\n"
                      "Connection: close\r\nContent-Length: ",
                      body.size(), "\r\n", extra_headers, "\r\n", body);
}

// A thread joined on scope exit, so that a failed ASSERT cannot leave a
// joinable std::thread behind (which would abort the test binary).
class JoiningThread {
 public:
  template <typename Fn>
  explicit JoiningThread(Fn fn) : thread_(std::move(fn)) {}
  ~JoiningThread() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Emulator>> emulator =
        Emulator::Start(EmulatorOptions());
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = *std::move(emulator);
  }

  std::unique_ptr<httplib::Client> NewClient() {
    auto client =
        std::make_unique<httplib::Client>("127.0.0.1", emulator_->port());
    client->set_read_timeout(20, 0);
    return client;
  }

  httplib::Result Put(const std::string& path, const std::string& body,
                      httplib::Headers headers = Bearer(),
                      const std::string& content_type = kJsonType) {
    return NewClient()->Put(path.c_str(), headers, body,
                            content_type.c_str());
  }

  httplib::Result PutName(absl::string_view user_id,
                          absl::string_view first_name,
                          httplib::Headers headers = Bearer()) {
    return Put(UserPath(user_id), NameBody(first_name), std::move(headers));
  }

  std::unique_ptr<Emulator> emulator_;
};

TEST_F(EmulatorTest, BaseUrlIncludesTheApiPrefix) {
  EXPECT_EQ(emulator_->base_url(),
            absl::StrCat("http://127.0.0.1:", emulator_->port(), "/api"));
  EXPECT_EQ(emulator_->origin(),
            absl::StrCat("http://127.0.0.1:", emulator_->port()));
  EXPECT_FALSE(emulator_->tls());
}

TEST_F(EmulatorTest, SuccessReturnsTheStoredUserWithTheNewName) {
  httplib::Result result = PutName(kAdaUserId, "Grace");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), kJsonType);
  EXPECT_EQ(result->body,
            ExpectedUser(kAdaUserId, "Grace", "Grace Lovelace"));
  // Secrets and awkward values of the fixture survive the round trip.
  EXPECT_THAT(result->body, HasSubstr(kAdaToken));
  EXPECT_THAT(result->body, HasSubstr(kAdaEmmToken));
  EXPECT_THAT(result->body,
              HasSubstr("\"google_enterprise\":10000000000000001"));
  EXPECT_THAT(result->body, HasSubstr(R"("name":"Kiosks \"Lobby\"")"));
  // The update is kept.
  EXPECT_EQ(emulator_->UserJson(kAdaUserId), result->body);
  EXPECT_EQ(emulator_->UserJson("nobody"), std::nullopt);
}

TEST_F(EmulatorTest, NullLastNameMakesFullNameTheFirstName) {
  httplib::Result result = PutName(kNadiaUserId, "Nina");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, ExpectedUser(kNadiaUserId, "Nina", "Nina"));
  EXPECT_THAT(result->body, HasSubstr(R"("emm":null)"));
  EXPECT_THAT(result->body, HasSubstr(R"("last_login":null)"));
  EXPECT_THAT(result->body, HasSubstr(R"("authz_role_id":null)"));
}

TEST_F(EmulatorTest, UnknownRoleIsReturnedAsIs) {
  httplib::Result result = PutName(kZoeUserId, "Zoé");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_THAT(result->body, HasSubstr(R"("role":"Auditor")"));
  EXPECT_THAT(result->body, HasSubstr(R"("full_name":"Zoé Núñez")"));
}

struct NameCase {
  std::string name;
  std::string sent;
  std::string stored;
};

TEST_F(EmulatorTest, FirstNameIsTrimmedAndEscapedExactly) {
  const std::vector<NameCase> cases = {
      {"Plain", "Grace", "Grace"},
      {"TrimmedLikeDrf", " \t Grace \n", "Grace"},
      {"InnerSpacesKept", "Mary  Ann", "Mary  Ann"},
      {"QuotesAndBackslash", "a\"b\\c", "a\"b\\c"},
      {"Controls", "a\x01z\tb", "a\x01z\tb"},
      {"NonAscii", "Zoë 日本 😀", "Zoë 日本 😀"},
      {"LineSeparator", "a\xE2\x80\xA8z", "a\xE2\x80\xA8z"},
      {"JsonLooking", "{\"x\":1}", "{\"x\":1}"},
  };
  for (const NameCase& c : cases) {
    httplib::Result result = PutName(kAdaUserId, c.sent);
    ASSERT_TRUE(result) << c.name;
    ASSERT_EQ(result->status, 200) << c.name << ": " << result->body;
    EXPECT_EQ(result->body,
              ExpectedUser(kAdaUserId, c.stored,
                           absl::StrCat(c.stored, " Lovelace")))
        << c.name;
    absl::StatusOr<JsonValue> body = ParseJson(result->body);
    ASSERT_TRUE(body.ok()) << c.name << ": " << body.status();
    EXPECT_EQ(body->Find("first_name")->text(), c.stored) << c.name;
  }
  // DRF escapes U+2028 rather than sending it raw.
  httplib::Result result = PutName(kAdaUserId, "a\xE2\x80\xA8z");
  ASSERT_TRUE(result);
  EXPECT_THAT(result->body, HasSubstr(R"("first_name":"a\u2028z")"));
}

TEST_F(EmulatorTest, FirstNameLengthCountsCodePoints) {
  std::string at_limit;
  for (int i = 0; i < kMaxFirstNameLength; ++i) at_limit += "é";
  httplib::Result ok = PutName(kAdaUserId, at_limit);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;

  httplib::Result too_long = PutName(kAdaUserId, at_limit + "e");
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 400);
  EXPECT_EQ(too_long->body,
            R"({"errors":["first_name: Ensure this field has no more than )"
            R"(150 characters."],"message":"Bad request","status":400})");
}

struct HttpCase {
  std::string name;
  httplib::Headers headers;
  std::string content_type;
  std::string body;
  int status;
  std::string response;
};

TEST_F(EmulatorTest, AuthenticationAndPermission) {
  const std::string unauthenticated =
      R"({"detail":"Authentication credentials were not provided."})";
  const std::string invalid =
      R"({"errors":[],"message":"Invalid API key","status":401})";
  const std::string forbidden =
      R"({"code":403,"error":"You do not have permission to perform this )"
      R"(action.","message":"Permission denied"})";
  const std::vector<HttpCase> cases = {
      {"NoHeader", {}, kJsonType, NameBody("A"), 401, unauthenticated},
      {"WrongKey", Bearer("wrong"), kJsonType, NameBody("A"), 401, invalid},
      {"EmptyBearer", {{"Authorization", "Bearer "}}, kJsonType,
       NameBody("A"), 401, invalid},
      {"KeyWithoutScheme", {{"Authorization", kDefaultApiKey}}, kJsonType,
       NameBody("A"), 401, invalid},
      {"BasicScheme", {{"Authorization", "Basic ZW11bGF0b3Ita2V5"}},
       kJsonType, NameBody("A"), 401, invalid},
      {"KeyWithTrailingSpace",
       {{"Authorization", absl::StrCat("Bearer ", kDefaultApiKey, "x")}},
       kJsonType, NameBody("A"), 401, invalid},
      {"ReadOnlyKey", Bearer(kDefaultReadOnlyKey), kJsonType, NameBody("A"),
       403, forbidden},
      {"LowerCaseScheme",
       {{"Authorization", absl::StrCat("bearer ", kDefaultApiKey)}},
       kJsonType, NameBody("A"), 200, ""},
  };
  for (const HttpCase& c : cases) {
    httplib::Result result =
        Put(UserPath(kAdaUserId), c.body, c.headers, c.content_type);
    ASSERT_TRUE(result) << c.name;
    EXPECT_EQ(result->status, c.status) << c.name;
    if (!c.response.empty()) {
      EXPECT_EQ(result->body, c.response) << c.name;
      EXPECT_EQ(result->get_header_value("WWW-Authenticate").empty(),
                c.status != 401)
          << c.name;
    }
  }
  // Auth is checked before the user is looked up.
  httplib::Result unknown_user = PutName("nobody", "A", Bearer("wrong"));
  ASSERT_TRUE(unknown_user);
  EXPECT_EQ(unknown_user->status, 401);
}

TEST_F(EmulatorTest, BadBodies) {
  const std::string parse_error =
      R"({"code":400,"error":"JSON parse error","message":"Bad request"})";
  const std::vector<HttpCase> cases = {
      {"NotJson", Bearer(), kJsonType, "first_name=Ada", 400, parse_error},
      {"TruncatedJson", Bearer(), kJsonType, R"({"first_name":"A)", 400,
       parse_error},
      {"TrailingGarbage", Bearer(), kJsonType, R"({"first_name":"A"}x)",
       400, parse_error},
      {"Array", Bearer(), kJsonType, R"(["Ada"])", 400,
       R"({"non_field_errors":["Invalid data. Expected a dictionary, but )"
       R"(got list."]})"},
      {"String", Bearer(), kJsonType, R"("Ada")", 400,
       R"({"non_field_errors":["Invalid data. Expected a dictionary, but )"
       R"(got str."]})"},
      {"Missing", Bearer(), kJsonType, R"({"last_name":"A"})", 400,
       R"({"first_name":["This field is required."]})"},
      {"EmptyBody", Bearer(), kJsonType, "", 400,
       R"({"first_name":["This field is required."]})"},
      {"Null", Bearer(), kJsonType, R"({"first_name":null})", 400,
       R"({"first_name":["This field may not be null."]})"},
      {"Number", Bearer(), kJsonType, R"({"first_name":5})", 400,
       R"({"first_name":["Not a valid string."]})"},
      {"Object", Bearer(), kJsonType, R"({"first_name":{}})", 400,
       R"({"first_name":["Not a valid string."]})"},
      {"Empty", Bearer(), kJsonType, R"({"first_name":""})", 400,
       R"({"first_name":["This field may not be blank."]})"},
      {"Whitespace", Bearer(), kJsonType, R"({"first_name":" \t\n "})", 400,
       R"({"first_name":["This field may not be blank."]})"},
      {"NullCharacter", Bearer(), kJsonType, R"({"first_name":"A\u0000B"})",
       400, R"({"first_name":["Null characters are not allowed."]})"},
      {"TextPlain", Bearer(), "text/plain", NameBody("A"), 415,
       R"({"code":415,"error":"Unsupported media type \"text/plain\" in )"
       R"(request.","message":"Unsupported media type"})"},
      {"JsonWithCharset", Bearer(), "application/json; charset=utf-8",
       NameBody("A"), 200, ""},
      {"LastDuplicateWins", Bearer(), kJsonType,
       R"({"first_name":"","first_name":"B"})", 200, ""},
  };
  for (const HttpCase& c : cases) {
    httplib::Result result =
        Put(UserPath(kAdaUserId), c.body, c.headers, c.content_type);
    ASSERT_TRUE(result) << c.name;
    EXPECT_EQ(result->status, c.status) << c.name << ": " << result->body;
    if (!c.response.empty()) {
      EXPECT_EQ(result->body, c.response) << c.name;
    }
    EXPECT_EQ(result->get_header_value("Content-Type"), kJsonType) << c.name;
  }
  // cpp-httplib's client always sends a Content-Type; go around it.
  RawExchange no_type = SendRaw(
      emulator_->port(),
      absl::StrCat("PUT ", UserPath(kAdaUserId),
                   " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ",
                   kDefaultApiKey,
                   "\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"));
  EXPECT_THAT(no_type.data, ::testing::StartsWith("HTTP/1.1 415 "));
  EXPECT_THAT(no_type.data,
              HasSubstr(R"({"code":415,"error":"Unsupported media type )"
                        R"(\"\" in request.","message":"Unsupported media )"
                        R"(type"})"));
  // A rejected body changes nothing.
  absl::StatusOr<JsonValue> stored =
      ParseJson(emulator_->UserJson(kAdaUserId).value_or(""));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->Find("first_name")->text(), "B");
}

TEST_F(EmulatorTest, NotFoundAndRouting) {
  const std::string user_not_found =
      R"({"errors":["User not found"],"message":"Not found","status":404})";
  struct RouteCase {
    std::string name;
    std::string method;
    std::string path;
    int status;
    std::string body_contains;
  };
  const std::vector<RouteCase> cases = {
      {"UnknownUser", "PUT", UserPath("0f0f0f0f-0000-4000-8000-000000000000"),
       404, user_not_found},
      {"IntegerIdIsNotTheAuthnId", "PUT", UserPath("101"), 404,
       user_not_found},
      {"NoPrefix", "PUT", absl::StrCat("/authn2/v0/user/", kAdaUserId), 404,
       "<h1>Not Found</h1>"},
      {"TrailingSlash", "PUT", UserPath(kAdaUserId) + "/", 404,
       "<h1>Not Found</h1>"},
      {"EmptyId", "PUT", "/api/authn2/v0/user/", 404, "<h1>Not Found</h1>"},
      {"BadEscape", "PUT", "/api/authn2/v0/user/%zz", 404,
       "<h1>Not Found</h1>"},
      {"GetIsNotAllowed", "GET", UserPath(kAdaUserId), 405,
       R"({"detail":"Method \"GET\" not allowed."})"},
      {"TenantRoute", "PUT",
       absl::StrCat("/api/authn2/v0/tenant/", kEnterpriseId, "/user/",
                    kAdaUserId),
       200, "\"first_name\":\"A\""},
      {"TenantRouteOtherEnterprise", "PUT",
       absl::StrCat("/api/authn2/v0/tenant/", kOtherEnterpriseId, "/user/",
                    kAdaUserId),
       404, user_not_found},
      {"QueryIgnored", "PUT", UserPath(kAdaUserId) + "?x=1", 200,
       "\"first_name\":\"A\""},
  };
  for (const RouteCase& c : cases) {
    std::unique_ptr<httplib::Client> client = NewClient();
    httplib::Result result =
        c.method == "GET"
            ? client->Get(c.path.c_str(), Bearer())
            : client->Put(c.path.c_str(), Bearer(), NameBody("A"), kJsonType);
    ASSERT_TRUE(result) << c.name;
    EXPECT_EQ(result->status, c.status) << c.name;
    EXPECT_THAT(result->body, HasSubstr(c.body_contains)) << c.name;
  }
}

TEST_F(EmulatorTest, PathSegmentsArePercentDecoded) {
  httplib::Result everything = Put(
      absl::StrCat("/api/authn2/v0/user/", EncodeEverything(kAdaUserId)),
      NameBody("Enc"));
  ASSERT_TRUE(everything);
  EXPECT_EQ(everything->status, 200) << everything->body;

  // '|', '/', ' ' and 'ü' inside one segment: %2F must not split it.
  const std::string legacy_path = UserPath(kLegacyUserId);
  EXPECT_EQ(legacy_path, "/api/authn2/v0/user/legacy%7Cimport%2F%C3%BC%201");
  httplib::Result legacy = Put(legacy_path, NameBody("Lee"));
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->status, 200) << legacy->body;
  EXPECT_EQ(legacy->body, ExpectedUser(kLegacyUserId, "Lee", "Lee Gacy"));

  std::vector<RecordedRequest> requests = emulator_->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target, legacy_path);
  EXPECT_EQ(requests[1].path,
            absl::StrCat("/api/authn2/v0/user/", kLegacyUserId));
}

TEST_F(EmulatorTest, RecordsRequestsWithHeadersAndBody) {
  httplib::Headers headers = Bearer();
  headers.emplace("X-Request-Id", "req-1");
  headers.emplace("traceparent",
                  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  httplib::Result result =
      Put(UserPath(kAdaUserId) + "?q=1", R"({"first_name":"Ada"})", headers);
  ASSERT_TRUE(result);
  // Control requests are not recorded.
  ASSERT_TRUE(NewClient()->Get("/_emulator/stats"));

  std::vector<RecordedRequest> requests = emulator_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, UserPath(kAdaUserId) + "?q=1");
  EXPECT_EQ(r.body, R"({"first_name":"Ada"})");
  EXPECT_EQ(r.HeaderValue("authorization"),
            absl::StrCat("Bearer ", kDefaultApiKey));
  EXPECT_EQ(r.HeaderValue("Content-Type"), kJsonType);
  EXPECT_EQ(r.HeaderValue("x-request-id"), "req-1");
  EXPECT_THAT(r.HeaderValues("TraceParent"),
              ElementsAre(::testing::StartsWith("00-")));
  EXPECT_EQ(r.remote_addr, "127.0.0.1");
  EXPECT_GT(r.remote_port, 0);
  // cpp-httplib's pseudo-headers are not what the client sent.
  EXPECT_FALSE(r.HasHeader("REMOTE_ADDR"));
  EXPECT_FALSE(r.HasHeader("LOCAL_PORT"));

  // The same over HTTP.
  httplib::Result listed = NewClient()->Get("/_emulator/requests");
  ASSERT_TRUE(listed);
  absl::StatusOr<JsonValue> json = ParseJson(listed->body);
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_EQ(json->items().size(), 1u);
  const JsonValue& item = json->items()[0];
  EXPECT_EQ(item.Find("method")->text(), "PUT");
  EXPECT_EQ(item.Find("target")->text(), UserPath(kAdaUserId) + "?q=1");
  EXPECT_EQ(item.Find("body")->text(), R"({"first_name":"Ada"})");
  bool saw_request_id = false;
  for (const JsonValue& header : item.Find("headers")->items()) {
    saw_request_id |= header.Find("name")->text() == "X-Request-Id" &&
                      header.Find("value")->text() == "req-1";
  }
  EXPECT_TRUE(saw_request_id) << listed->body;

  emulator_->ClearRequests();
  EXPECT_THAT(emulator_->Requests(), IsEmpty());
  EXPECT_EQ(emulator_->ConnectionCount(), 0);
}

TEST_F(EmulatorTest, CountsConnectionsNotRequests) {
  httplib::Client reused("127.0.0.1", emulator_->port());
  reused.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    httplib::Result result = reused.Put(UserPath(kAdaUserId).c_str(), Bearer(),
                                        NameBody("A"), kJsonType);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
  EXPECT_EQ(emulator_->ConnectionCount(), 1);
  ASSERT_TRUE(PutName(kAdaUserId, "B"));
  EXPECT_EQ(emulator_->ConnectionCount(), 2);

  httplib::Result stats = NewClient()->Get("/_emulator/stats");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->body,
            R"({"connections":2,"requests":4,"pending_faults":0})");
}

TEST_F(EmulatorTest, DelayDoesNotBlockOtherRequests) {
  const absl::Duration delay = absl::Seconds(2);
  Fault slow;
  slow.delay = delay;
  emulator_->PushFault(slow);

  std::atomic<bool> slow_done{false};
  absl::Duration slow_elapsed;
  int slow_status = 0;
  JoiningThread slow_client([&] {
    const absl::Time start = absl::Now();
    httplib::Result result = PutName(kAdaUserId, "Slow");
    slow_elapsed = absl::Now() - start;
    slow_status = result ? result->status : -1;
    slow_done = true;
  });
  ASSERT_TRUE(emulator_->WaitForRequests(1, absl::Seconds(10)));

  httplib::Result fast = PutName(kNadiaUserId, "Fast");
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->status, 200);
  EXPECT_FALSE(slow_done) << "the fast request waited for the slow one";
  slow_client.Join();
  EXPECT_EQ(slow_status, 200);
  EXPECT_GE(slow_elapsed, delay);
}

TEST_F(EmulatorTest, StatusFaultTwiceThenNormal) {
  Fault busy;
  busy.status = 503;
  busy.retry_after = "2";
  busy.times = 2;
  emulator_->PushFault(busy);
  EXPECT_EQ(emulator_->PendingFaults(), 2);
  for (int i = 0; i < 2; ++i) {
    httplib::Result result = PutName(kAdaUserId, "A");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 503);
    EXPECT_EQ(result->get_header_value("Retry-After"), "2");
    EXPECT_EQ(result->body,
              R"({"errors":[],"message":"Service unavailable","status":503})");
  }
  EXPECT_EQ(emulator_->PendingFaults(), 0);
  httplib::Result result = PutName(kAdaUserId, "A");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_FALSE(result->has_header("Retry-After"));
}

TEST_F(EmulatorTest, StatusFaultSkipsAuthAndKeepsItsBody) {
  httplib::Headers headers = {
      {"X-Emulator-Fault",
       "status=502;content_type=text/html;body=<html>bad; gateway</html>"}};
  httplib::Result result = Put(UserPath("nobody"), NameBody("A"), headers);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 502);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/html");
  EXPECT_EQ(result->body, "<html>bad; gateway</html>");
}

TEST_F(EmulatorTest, EchoKeyFaultQuotesTheBearerTokenItReceived) {
  // 401 by default: DRF's "detail" shape, the token in it.
  Fault echo;
  echo.action = Fault::Action::kEchoKey;
  emulator_->PushFault(echo);
  httplib::Result unauthorized = PutName(kAdaUserId, "A");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_EQ(unauthorized->get_header_value("Content-Type"), kJsonType);
  EXPECT_EQ(unauthorized->body,
            absl::StrCat(R"({"detail":"Invalid token )", kDefaultApiKey,
                         R"("})"));

  // Any other status: the token in every member an error envelope has.
  echo.status = 400;
  emulator_->PushFault(echo);
  httplib::Result bad = PutName(kAdaUserId, "A", Bearer("k\"1"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body,
            R"({"message":"key k\"1 rejected","error":"token=k\"1",)"
            R"("errors":["bad token k\"1"],"first_name":["k\"1"]})");

  // The header form, with no Authorization at all: an empty token, and no
  // auth check first.
  httplib::Result anonymous =
      Put(UserPath("nobody"), NameBody("A"),
          {{"X-Emulator-Fault", "action=echo_key;status=403"}});
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 403);
  EXPECT_THAT(anonymous->body, HasSubstr(R"("error":"token=")"));

  // Not handled: the name did not change.
  absl::StatusOr<JsonValue> stored =
      ParseJson(emulator_->UserJson(kAdaUserId).value_or(""));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->Find("first_name")->text(), "Ada");
  EXPECT_EQ(emulator_->Requests().size(), 3u);
}

TEST_F(EmulatorTest, HeaderFaultLeavesTheQueueAlone) {
  Fault queued;
  queued.status = 500;
  emulator_->PushFault(queued);
  httplib::Headers headers = Bearer();
  headers.emplace("X-Emulator-Fault", "status=429;retry_after=7");
  httplib::Result limited = Put(UserPath(kAdaUserId), NameBody("A"), headers);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "7");
  EXPECT_EQ(emulator_->PendingFaults(), 1);
  httplib::Result queued_result = PutName(kAdaUserId, "A");
  ASSERT_TRUE(queued_result);
  EXPECT_EQ(queued_result->status, 500);
}

TEST_F(EmulatorTest, BadFaultHeaderIs400) {
  httplib::Headers headers = Bearer();
  headers.emplace("X-Emulator-Fault", "action=explode");
  httplib::Result result = Put(UserPath(kAdaUserId), NameBody("A"), headers);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body,
              HasSubstr("X-Emulator-Fault: unknown fault action"));
}

TEST_F(EmulatorTest, MalformedBodyIs200WithNonJson) {
  Fault malformed;
  malformed.action = Fault::Action::kMalformedBody;
  emulator_->PushFault(malformed);
  httplib::Result result = PutName(kAdaUserId, "A");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), kJsonType);
  EXPECT_FALSE(ParseJson(result->body).ok()) << result->body;
}

TEST_F(EmulatorTest, OversizedBodyIsExactlyThatManyBytesOfValidJson) {
  Fault huge;
  huge.action = Fault::Action::kOversizedBody;
  huge.body_bytes = size_t{1} << 20;
  emulator_->PushFault(huge);
  httplib::Result result = PutName(kAdaUserId, "Big");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body.size(), huge.body_bytes);
  absl::StatusOr<JsonValue> body = ParseJson(result->body);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->Find("first_name")->text(), "Big");
  ASSERT_NE(body->Find("padding"), nullptr);
}

TEST_F(EmulatorTest, TruncatedBodyDeclaresMoreThanItSends) {
  const std::string expected = ExpectedUser(kAdaUserId, "Cut", "Cut Lovelace");
  RawExchange exchange = SendRaw(
      emulator_->port(), RawPut(UserPath(kAdaUserId), NameBody("Cut"),
                                "X-Emulator-Fault: action=truncate\r\n"));
  EXPECT_EQ(exchange.error, 0);
  const size_t split = exchange.data.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos) << exchange.data;
  EXPECT_THAT(exchange.data.substr(0, split),
              HasSubstr(absl::StrCat("Content-Length: ", expected.size())));
  EXPECT_EQ(exchange.data.substr(split + 4),
            expected.substr(0, expected.size() / 2));

  // And an HTTP client reports it as an error.
  Fault truncate;
  truncate.action = Fault::Action::kTruncateBody;
  emulator_->PushFault(truncate);
  httplib::Result result = PutName(kAdaUserId, "Cut");
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error(), httplib::Error::Read);
}

TEST_F(EmulatorTest, ResetSendsRstWithoutAReply) {
  RawExchange exchange =
      SendRaw(emulator_->port(), RawPut(UserPath(kAdaUserId), NameBody("R"),
                                        "X-Emulator-Fault: action=reset\r\n"));
  EXPECT_EQ(exchange.error, ECONNRESET);
  EXPECT_EQ(exchange.data, "");

  Fault reset;
  reset.action = Fault::Action::kReset;
  emulator_->PushFault(reset);
  httplib::Result result = PutName(kAdaUserId, "R");
  EXPECT_FALSE(result);
  EXPECT_EQ(result.error(), httplib::Error::Read);

  // The request was not applied, and the server still works.
  absl::StatusOr<JsonValue> stored =
      ParseJson(emulator_->UserJson(kAdaUserId).value_or(""));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->Find("first_name")->text(), "Ada");
  httplib::Result after = PutName(kAdaUserId, "After");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(EmulatorTest, ControlEndpointsOverHttp) {
  std::unique_ptr<httplib::Client> client = NewClient();
  httplib::Result queued = client->Post(
      "/_emulator/faults", R"([{"status":503,"times":2},{"action":"reset"}])",
      kJsonType);
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->status, 200);
  EXPECT_EQ(emulator_->PendingFaults(), 3);
  EXPECT_THAT(queued->body, HasSubstr(R"("pending_faults":3)"));

  httplib::Result bad =
      client->Post("/_emulator/faults", R"({"status":"x"})", kJsonType);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("status"));

  httplib::Result cleared = client->Delete("/_emulator/faults");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->status, 204);
  EXPECT_EQ(emulator_->PendingFaults(), 0);

  // Key rotation: the old key stops working, the new one works.
  httplib::Result rotated = client->Put(
      "/_emulator/api_keys", R"({"api_keys":["new-key"]})", kJsonType);
  ASSERT_TRUE(rotated);
  EXPECT_EQ(rotated->status, 204);
  httplib::Result old_key = PutName(kAdaUserId, "A");
  ASSERT_TRUE(old_key);
  EXPECT_EQ(old_key->status, 401);
  httplib::Result new_key = PutName(kAdaUserId, "A", Bearer("new-key"));
  ASSERT_TRUE(new_key);
  EXPECT_EQ(new_key->status, 200);

  httplib::Result forgotten = client->Delete("/_emulator/requests");
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(forgotten->status, 204);
  EXPECT_THAT(emulator_->Requests(), IsEmpty());

  httplib::Result unknown = client->Get("/_emulator/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST(EmulatorStartTest, RejectsBadOptionsAndFixtures) {
  struct StartCase {
    std::string name;
    EmulatorOptions options;
    absl::StatusCode code;
  };
  std::vector<StartCase> cases;
  const auto add = [&cases](std::string name, absl::StatusCode code,
                            auto&& edit) {
    StartCase c{std::move(name), EmulatorOptions(), code};
    edit(c.options);
    cases.push_back(std::move(c));
  };
  const auto invalid = absl::StatusCode::kInvalidArgument;
  add("NotJson", invalid, [](EmulatorOptions& o) { o.users_json = "nope"; });
  add("NotArray", invalid, [](EmulatorOptions& o) { o.users_json = "{}"; });
  add("NoAuthnId", invalid,
      [](EmulatorOptions& o) { o.users_json = R"([{"id":1}])"; });
  add("DuplicateIds", invalid, [](EmulatorOptions& o) {
    o.users_json =
        R"([{"profile":{"authn_user_id":"a"}},)"
        R"({"profile":{"authn_user_id":"a"}}])";
  });
  add("MissingFile", invalid,
      [](EmulatorOptions& o) { o.users_path = "/nonexistent/users.json"; });
  add("NoThreads", invalid, [](EmulatorOptions& o) { o.threads = 0; });
  add("PrefixWithoutSlash", invalid,
      [](EmulatorOptions& o) { o.path_prefix = "api"; });
  add("PrefixEndingInSlash", invalid,
      [](EmulatorOptions& o) { o.path_prefix = "/api/"; });
  add("CertWithoutKey", invalid,
      [](EmulatorOptions& o) { o.tls_cert_path = "/x.pem"; });
  add("MissingTlsFiles", absl::StatusCode::kUnavailable,
      [](EmulatorOptions& o) {
        o.tls_cert_path = "/nonexistent/cert.pem";
        o.tls_key_path = "/nonexistent/key.pem";
      });
  for (StartCase& c : cases) {
    absl::StatusOr<std::unique_ptr<Emulator>> emulator =
        Emulator::Start(std::move(c.options));
    ASSERT_FALSE(emulator.ok()) << c.name;
    EXPECT_EQ(emulator.status().code(), c.code)
        << c.name << ": " << emulator.status();
  }
}

TEST(EmulatorStartTest, PortInUseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<Emulator>> first =
      Emulator::Start(EmulatorOptions());
  ASSERT_TRUE(first.ok()) << first.status();
  EmulatorOptions options;
  options.port = (*first)->port();
  absl::StatusOr<std::unique_ptr<Emulator>> second = Emulator::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(EmulatorStartTest, UsersFromAFileAndACustomPrefix) {
  const std::string path = TestTmpDir() + "/one_user.json";
  {
    std::ofstream file(path);
    file << R"([{"first_name":"X","last_name":"Y","full_name":"X Y",)"
         << R"("profile":{"authn_user_id":"only-one"}}])";
  }
  EmulatorOptions options;
  options.users_path = path;
  options.path_prefix = "";
  absl::StatusOr<std::unique_ptr<Emulator>> emulator = Emulator::Start(options);
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  EXPECT_EQ((*emulator)->base_url(),
            absl::StrCat("http://127.0.0.1:", (*emulator)->port()));
  httplib::Client client("127.0.0.1", (*emulator)->port());
  httplib::Result ok = client.Put("/authn2/v0/user/only-one", Bearer(),
                                  NameBody("Z"), kJsonType);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body,
            R"({"first_name":"Z","last_name":"Y","full_name":"Z Y",)"
            R"("profile":{"authn_user_id":"only-one"}})");
  httplib::Result missing = client.Put(UserPath(kAdaUserId).c_str(), Bearer(),
                                       NameBody("Z"), kJsonType);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(EmulatorStopTest, StopEndsDelaysAndIdleKeepAliveConnections) {
  absl::StatusOr<std::unique_ptr<Emulator>> started =
      Emulator::Start(EmulatorOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Emulator> emulator = *std::move(started);
  Fault slow;
  slow.delay = absl::Seconds(60);
  emulator->PushFault(slow);
  JoiningThread slow_client([port = emulator->port()] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(120, 0);
    client.Put(UserPath(kAdaUserId).c_str(), Bearer(), NameBody("S"),
               kJsonType);
  });
  ASSERT_TRUE(emulator->WaitForRequests(1, absl::Seconds(10)));
  // An idle keep-alive connection (the emulator keeps those for 30 s).
  httplib::Client idle("127.0.0.1", emulator->port());
  idle.set_keep_alive(true);
  httplib::Result result = idle.Put(UserPath(kAdaUserId).c_str(), Bearer(),
                                    NameBody("I"), kJsonType);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);

  const absl::Time start = absl::Now();
  emulator->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  slow_client.Join();
  emulator->Stop();  // idempotent
  emulator.reset();
}

TEST(EmulatorFixtureTest, EveryUserHasEveryDocumentedField) {
  // From ../../shared/spec/update-user-profile.md, "Response 200 fields".
  const std::vector<std::string> fields = {
      "id", "username", "email", "first_name", "last_name", "full_name",
      "is_staff", "is_superuser", "is_active", "profile", "profile.id",
      "profile.enterprise_user_id", "profile.authn_user_id",
      "profile.authn_connection_id", "profile.authz_role_id", "profile.role",
      "profile.enterprise", "profile.is_customer",
      "profile.is_endpoint_creator", "profile.created_on",
      "profile.updated_on", "profile.setup_wizard_complete",
      "profile.default_password_changed", "profile.is_developer",
      "profile.can_factory_reset", "profile.groups", "emm", "emm.id",
      "emm.user", "emm.account_identifier", "emm.account_type",
      "emm.display_name", "emm.google_user_id", "emm.google_enterprise",
      "emm.is_active", "emm.created_on", "emm.updated_on",
      "emm.authentication_token", "emm.authentication_token.id",
      "emm.authentication_token.token", "emm.authentication_token.is_active",
      "emm.authentication_token.updated_on", "last_login", "token",
      "has_emm", "is_email_verified"};
  const std::vector<std::string> group_fields = {"id", "name", "path",
                                                 "device_count"};
  absl::StatusOr<JsonValue> users = ParseJson(EmbeddedUsersJson());
  ASSERT_TRUE(users.ok()) << users.status();
  ASSERT_EQ(users->items().size(), 4u);
  int groups_seen = 0;
  bool saw_token = false;
  for (const JsonValue& user : users->items()) {
    for (const std::string& field : fields) {
      const JsonValue* value = &user;
      for (absl::string_view part : absl::StrSplit(field, '.')) {
        if (value->is_null()) break;  // a null parent: children absent
        value = value->Find(part);
        ASSERT_NE(value, nullptr)
            << field << " missing in " << user.Find("username")->text();
      }
    }
    const JsonValue* groups = user.Find("profile")->Find("groups");
    for (const JsonValue& group : groups->items()) {
      ++groups_seen;
      for (const std::string& field : group_fields) {
        EXPECT_NE(group.Find(field), nullptr) << field;
      }
    }
    const JsonValue* emm = user.Find("emm");
    if (!emm->is_null()) {
      saw_token |= absl::StartsWith(
          emm->Find("authentication_token")->Find("token")->text(),
          kFixtureSecretPrefix);
    }
    EXPECT_TRUE(absl::StartsWith(user.Find("token")->text(),
                                 kFixtureSecretPrefix));
  }
  EXPECT_EQ(groups_seen, 3);
  EXPECT_TRUE(saw_token);

  // The named ids are the fixture's.
  absl::StatusOr<std::unique_ptr<Emulator>> emulator =
      Emulator::Start(EmulatorOptions());
  ASSERT_TRUE(emulator.ok());
  for (const char* id : {kAdaUserId, kNadiaUserId, kZoeUserId, kLegacyUserId}) {
    EXPECT_NE((*emulator)->UserJson(id), std::nullopt) << id;
  }
  EXPECT_THAT((*emulator)->UserJson(kAdaUserId).value_or(""),
              HasSubstr(kEnterpriseId));
  EXPECT_THAT((*emulator)->UserJson(kZoeUserId).value_or(""),
              HasSubstr(kOtherEnterpriseId));
  EXPECT_THAT((*emulator)->UserJson(kNadiaUserId).value_or(""),
              Not(HasSubstr("\"emm\":{")));
}

class EmulatorTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestCertificates> certs =
        GenerateTestCertificates(TestTmpDir() + "/certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    EmulatorOptions options;
    options.tls_cert_path = certs_.server_cert_path;
    options.tls_key_path = certs_.server_key_path;
    absl::StatusOr<std::unique_ptr<Emulator>> emulator =
        Emulator::Start(options);
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = *std::move(emulator);
  }

  httplib::Result Put(const std::string& host, const std::string& ca_path,
                      httplib::Headers extra = {}) {
    httplib::SSLClient client(host, emulator_->port());
    client.enable_server_certificate_verification(true);
    if (!ca_path.empty()) client.set_ca_cert_path(ca_path.c_str());
    httplib::Headers headers = Bearer();
    headers.insert(extra.begin(), extra.end());
    return client.Put(UserPath(kAdaUserId).c_str(), headers, NameBody("Tls"),
                      kJsonType);
  }

  TestCertificates certs_;
  std::unique_ptr<Emulator> emulator_;
};

TEST_F(EmulatorTlsTest, WorksWithTheGeneratedCa) {
  EXPECT_TRUE(emulator_->tls());
  EXPECT_EQ(emulator_->base_url(),
            absl::StrCat("https://127.0.0.1:", emulator_->port(), "/api"));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    httplib::Result result = Put(host, certs_.ca_cert_path);
    ASSERT_TRUE(result) << host << ": " << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200) << host;
    EXPECT_THAT(result->body, HasSubstr(R"("first_name":"Tls")"));
  }
}

TEST_F(EmulatorTlsTest, FailsVerificationWithoutTheCa) {
  httplib::Result system_roots = Put("127.0.0.1", "");
  EXPECT_FALSE(system_roots);
  EXPECT_EQ(system_roots.error(), httplib::Error::SSLServerVerification);

  absl::StatusOr<TestCertificates> other =
      GenerateTestCertificates(TestTmpDir() + "/other_certs");
  ASSERT_TRUE(other.ok()) << other.status();
  httplib::Result other_ca = Put("127.0.0.1", other->ca_cert_path);
  EXPECT_FALSE(other_ca);
  EXPECT_EQ(other_ca.error(), httplib::Error::SSLServerVerification);
  EXPECT_THAT(emulator_->Requests(), IsEmpty());
}

TEST_F(EmulatorTlsTest, FaultsWorkOverTls) {
  httplib::Result reset = Put("127.0.0.1", certs_.ca_cert_path,
                              {{"X-Emulator-Fault", "action=reset"}});
  EXPECT_FALSE(reset);
  httplib::Result busy =
      Put("127.0.0.1", certs_.ca_cert_path,
          {{"X-Emulator-Fault", "status=503;retry_after=1"}});
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
