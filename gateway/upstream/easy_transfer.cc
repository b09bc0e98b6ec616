#include "gateway/upstream/easy_transfer.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/common/socket_scan.h"

namespace usergateway {
namespace upstream_internal {
namespace {

// Idle easy handles kept for reuse. Beyond this, handles freed by a burst are
// cleaned up rather than kept (each holds buffers of tens of KiB).
constexpr size_t kMaxIdleEasyHandles = 256;

// See CURLOPT_BUFFERSIZE in ConfigureEasy.
constexpr long kReceiveBufferBytes = 4096;  // NOLINT(runtime/int)

// See CURLOPT_UPLOAD_BUFFERSIZE in ConfigureEasy: libcurl's minimum.
constexpr long kUploadBufferBytes = 16 * 1024;  // NOLINT(runtime/int)

// CURLOPT_WRITEFUNCTION: appends to the attempt's body, up to the cap.
size_t OnBody(char* data, size_t size, size_t nmemb, void* userdata) {
  AttemptSink* sink = static_cast<AttemptSink*>(userdata);
  const size_t n = size * nmemb;
  std::string& body = sink->result->body;
  if (n > sink->max_body - body.size()) {
    sink->body_cap_hit = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  const size_t needed = body.size() + n + kBodyPadding;
  if (body.capacity() < needed &&
      !sink->GrowBody(std::max(needed, body.capacity() * 2))) {
    return 0;  // the budget refused
  }
  body.append(data, n);
  return n;
}

// CURLOPT_HEADERFUNCTION: called once per header line of every response
// (interim ones included), status line first.
size_t OnHeader(char* data, size_t size, size_t nitems, void* userdata) {
  AttemptSink* sink = static_cast<AttemptSink*>(userdata);
  const size_t n = size * nitems;
  if (n > sink->max_header_bytes - std::min(sink->header_bytes,
                                            sink->max_header_bytes)) {
    sink->header_cap_hit = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  sink->header_bytes += n;
  if (sink->final_headers_done) return n;  // a trailer
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a 1xx or a proxy's CONNECT reply): only the
    // final response's headers count.
    sink->status_line_seen = true;
    sink->last_status = 0;
    const size_t space = line.find(' ');
    if (space != absl::string_view::npos) {
      absl::SimpleAtoi(line.substr(space + 1, 3), &sink->last_status);
    }
    sink->result->content_type.clear();
    sink->retry_after_raw.clear();
    sink->content_length = -1;
    return n;
  }
  if (line == "\r\n" || line == "\n") {
    // The end of a header block; after a final response's, only trailers
    // follow.
    if (sink->last_status >= 200) sink->final_headers_done = true;
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value =
      absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (absl::EqualsIgnoreCase(name, "content-type")) {
    sink->result->content_type.assign(value.data(), value.size());
  } else if (absl::EqualsIgnoreCase(name, "retry-after")) {
    sink->retry_after_raw.assign(value.data(), value.size());
  } else if (absl::EqualsIgnoreCase(name, "content-length")) {
    uint64_t length = 0;
    if (absl::SimpleAtoi(value, &length)) {
      // Two Content-Length headers that disagree leave the body's end (and
      // where the next response starts) ambiguous: a smuggling vector.
      // libcurl 7.88 silently keeps the last; refuse the response instead.
      // Equal duplicates are harmless (RFC 9110 8.6).
      if (sink->content_length >= 0 &&
          static_cast<uint64_t>(sink->content_length) != length) {
        sink->framing_refused = true;
        return 0;  // CURLE_WRITE_ERROR; the connection is closed
      }
      sink->content_length = static_cast<int64_t>(
          std::min<uint64_t>(length, INT64_MAX));
      if (length > sink->max_body) {
        // Refuse before reading a byte of a body we would drop anyway.
        sink->body_cap_hit = true;
        return 0;
      }
      if (!sink->GrowBody(static_cast<size_t>(length) + kBodyPadding)) {
        return 0;
      }
    }
  }
  return n;
}

// CURLOPT_PREREQFUNCTION: runs before every request libcurl sends on a
// connection, after TCP and TLS are up or the connection was reused. The
// first call is the attempt's own request. A later one is libcurl about to
// send it again by itself (a reused connection died before any response
// byte, a refused HTTP/2 stream, a server that asked for HTTP/1.1): it goes
// out only when the gate allows, so that every PUT on the wire is an
// attempt counted against --max_attempts and the retry budget.
// Reads the ALPN result and session reuse of the connection the request is
// about to go out on (OpenSSL: libcurl's only TLS backend here).
void ObserveConnection(AttemptSink* sink) {
  sink->protocol = WireProtocol::kCleartext;
  sink->tls_session_resumed = false;
  const curl_tlssessioninfo* info = nullptr;
  if (sink->easy == nullptr ||
      curl_easy_getinfo(sink->easy, CURLINFO_TLS_SSL_PTR, &info) !=
          CURLE_OK ||
      info == nullptr || info->backend != CURLSSLBACKEND_OPENSSL ||
      info->internals == nullptr) {
    return;
  }
  SSL* ssl = static_cast<SSL*>(info->internals);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  const bool h2 = alpn_length == 2 && alpn[0] == 'h' && alpn[1] == '2';
  sink->protocol = h2 ? WireProtocol::kHttp2Tls : WireProtocol::kHttp1Tls;
  sink->tls_session_resumed = SSL_session_reused(ssl) == 1;
}

// CURLOPT_SOCKOPTFUNCTION: remembers the socket of a new connection.
int OnSocketOpened(void* clientp, curl_socket_t fd, curlsocktype purpose) {
  AttemptSink* sink = static_cast<AttemptSink*>(clientp);
  if (purpose == CURLSOCKTYPE_IPCXN) sink->opened_fd = fd;
  return CURL_SOCKOPT_OK;
}

// True when an idle HTTP/1 connection about to carry a request already has
// bytes waiting: nothing was asked, so they can only be the tail of a
// broken or hostile previous response (a second response "smuggled" after
// a complete one). Read as the answer to the next request, they would hand
// one caller's reply to another. libcurl 8.0 stopped reusing such
// connections (its connection-alive check); 7.88 reuses them, so the
// gateway looks itself. The socket is found by the local port the request
// callback gets, and checked to still be that connection.
bool ReusedConnectionHasUnreadBytes(AttemptSink* sink, int local_port,
                                    int peer_port) {
  auto& sockets = *sink->sockets_by_local_port;
  if (sink->opened_fd >= 0) {
    // A connection this attempt opened: note it for later requests.
    int opened_local = 0;
    int opened_peer = 0;
    if (ConnectedPorts(sink->opened_fd, &opened_local, &opened_peer) &&
        opened_local == local_port && opened_peer == peer_port) {
      sockets[local_port] = sink->opened_fd;
      return false;
    }
  }
  auto it = sockets.find(local_port);
  if (it == sockets.end()) return false;
  int known_local = 0;
  int known_peer = 0;
  if (!ConnectedPorts(it->second, &known_local, &known_peer) ||
      known_local != local_port || known_peer != peer_port) {
    sockets.erase(it);  // closed (its number maybe reused): not this one
    return false;
  }
  char byte;
  return recv(it->second, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

int OnRequestReady(void* clientp, char* /*primary_ip*/, char* /*local_ip*/,
                   int primary_port, int local_port) {
  AttemptSink* sink = static_cast<AttemptSink*>(clientp);
  const WireProtocol previous = sink->protocol;
  ObserveConnection(sink);
  if (sink->requests_sent == 0 && sink->sockets_by_local_port != nullptr &&
      sink->protocol != WireProtocol::kHttp2Tls &&
      ReusedConnectionHasUnreadBytes(sink, local_port, primary_port)) {
    // Aborting closes the connection (libcurl's multi_done: premature);
    // the scheduler starts the attempt again on another one.
    sink->unread_bytes_refused = true;
    return CURL_PREREQFUNC_ABORT;
  }
  if (sink->requests_sent > 0 && previous == WireProtocol::kHttp2Tls &&
      !sink->transparent_resend_used) {
    // The last request went out on an h2 connection that refused its
    // stream (RST_STREAM REFUSED_STREAM, or above a GOAWAY's last stream
    // id) or died unanswered: the server says it never processed it. One
    // such re-send per attempt is transparent, as in gRPC's own retry
    // design (gRFC A6): not an attempt, no budget.
    sink->transparent_resend_used = true;
    if (sink->observer != nullptr) sink->observer->OnRequestSent(*sink);
    return CURL_PREREQFUNC_OK;
  }
  if (sink->requests_sent > 0 &&
      (sink->observer == nullptr || !sink->observer->AllowResend())) {
    sink->resend_refused = true;
    return CURL_PREREQFUNC_ABORT;  // CURLE_ABORTED_BY_CALLBACK
  }
  ++sink->requests_sent;
  sink->connected = true;
  if (sink->observer != nullptr) sink->observer->OnRequestSent(*sink);
  return CURL_PREREQFUNC_OK;
}

}  // namespace

void AttemptSink::BeginAttempt(UpstreamResult* attempt_result) {
  result = attempt_result;
  retry_after_raw.clear();
  header_bytes = 0;
  requests_sent = 0;
  transparent_resend_used = false;
  connected = false;
  protocol = WireProtocol::kUnknown;
  tls_session_resumed = false;
  status_line_seen = false;
  last_status = 0;
  final_headers_done = false;
  body_cap_hit = false;
  header_cap_hit = false;
  budget_refused = false;
  resend_refused = false;
  content_length = -1;
  framing_refused = false;
  opened_fd = -1;
  unread_bytes_refused = false;
}

bool AttemptSink::GrowBody(size_t capacity) {
  std::string& body = result->body;
  capacity = std::min(capacity, max_body + kBodyPadding);
  if (body.capacity() >= capacity) return true;
  const size_t charge = capacity > kBodyPadding ? capacity - kBodyPadding : 0;
  if (charge > budget_held) {
    if (budget != nullptr && !budget->TryReserve(charge - budget_held)) {
      budget_refused = true;
      return false;
    }
    budget_held = charge;
  }
  // Not body.reserve(): libstdc++ may round a reserve up to twice the old
  // capacity, past both the cap and what the budget was charged. A fresh
  // string's first allocation is exactly what it is asked for.
  std::string grown;
  grown.reserve(capacity);
  grown.append(body);
  body.swap(grown);
  return true;
}

void EnsurePadding(std::string& body) {
  if (body.capacity() < body.size() + kBodyPadding) {
    body.reserve(body.size() + kBodyPadding);
  }
}

std::string CheckRequest(const UpstreamRequest& request,
                         bool allow_insecure_http) {
  const absl::string_view url = request.url;
  const bool https = absl::StartsWithIgnoreCase(url, "https://");
  const bool http = absl::StartsWithIgnoreCase(url, "http://");
  if (http && !allow_insecure_http) {
    return "refusing an http:// upstream URL: it would send the API key in "
           "clear text (set allow_insecure_http to permit it)";
  }
  if (!https && !http) return "upstream URL must start with https://";
  // A CR or LF would let a value inject headers (or a second request);
  // libcurl sends list entries verbatim.
  static constexpr absl::string_view kBadInName(":\r\n\0 \t", 6);
  static constexpr absl::string_view kBadInValue("\r\n\0", 3);
  for (const Header& header : request.headers) {
    if (header.name.empty() ||
        absl::string_view(header.name).find_first_of(kBadInName) !=
            absl::string_view::npos) {
      return "invalid upstream header name (empty, or with a colon, "
             "whitespace, CR, LF or NUL)";
    }
    if (absl::string_view(header.value).find_first_of(kBadInValue) !=
        absl::string_view::npos) {
      // The value may be a secret: name the header only.
      return absl::StrCat("upstream header \"", header.name,
                          "\" contains CR, LF or NUL");
    }
  }
  return "";
}

bool BuildHeaders(const UpstreamRequest& request, CurlSlist& headers,
                  std::string* scratch) {
  headers.Reset();
  for (const Header& header : request.headers) {
    scratch->assign(header.name);
    // "Name:" would tell libcurl to remove the header; "Name;" sends it
    // with an empty value.
    if (header.value.empty()) {
      scratch->push_back(';');
    } else {
      scratch->append(": ").append(header.value);
    }
    if (!headers.Append(scratch->c_str())) return false;
  }
  // No "Expect: 100-continue": it costs a round trip (or a 1 s stall with
  // servers that ignore it) for a body of a few dozen bytes.
  return headers.Append("Expect:");
}

CURLcode SetAttemptOptions(EasySlot& slot, const UpstreamRequest& request,
                           absl::Duration timeout, bool multiplex,
                           AttemptSink* sink, void* owner) {
  slot.errbuf[0] = '\0';
  sink->easy = slot.easy.get();
  // CURLOPT_TIMEOUT_MS 0 would mean "no timeout": never pass less than 1.
  const int64_t timeout_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
  CURL* easy = slot.easy.get();
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  if (rc == CURLE_OK) {
    // The path goes out as built: libcurl would otherwise fold "." and ".."
    // segments, steering a request to another route.
    rc = curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                          multiplex ? CURL_HTTP_VERSION_2TLS
                                    : CURL_HTTP_VERSION_1_1);
  }
  if (rc == CURLE_OK) {
    // With h2, wait for a connection that may multiplex rather than open
    // one connection per concurrent call while the first is handshaking.
    rc = curl_easy_setopt(easy, CURLOPT_PIPEWAIT, multiplex ? 1L : 0L);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                          static_cast<curl_off_t>(request.body.size()));
  }
  if (rc == CURLE_OK) {
    // Not copied: the body lives in the call until the transfer is removed.
    rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slot.headers.get());
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                          static_cast<long>(timeout_ms));  // NOLINT
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_PRIVATE, owner);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, sink);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, sink);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_PREREQDATA, sink);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SOCKOPTDATA, sink);
  return rc;
}

EasyPool::EasyPool(const CurlUpstreamOptions& options)
    : allow_insecure_http_(options.allow_insecure_http),
      ca_bundle_(options.ca_bundle),
      connect_timeout_(options.connect_timeout),
      max_connection_age_(options.max_connection_age),
      share_(CurlShare::CreateForTlsSessionsAndDns()) {}

std::unique_ptr<EasySlot> EasyPool::Acquire() {
  if (!idle_.empty()) {
    std::unique_ptr<EasySlot> slot = std::move(idle_.back());
    idle_.pop_back();
    return slot;
  }
  auto slot = std::make_unique<EasySlot>();
  slot->easy = CurlEasy::Create();
  if (!slot->easy || !ConfigureEasy(*slot)) return nullptr;
  return slot;
}

void EasyPool::Release(std::unique_ptr<EasySlot> slot) {
  // Handles are reused without curl_easy_reset: the options set in
  // ConfigureEasy stay, and SetAttemptOptions overwrites every per-call one.
  slot->headers.Reset();
  if (idle_.size() < kMaxIdleEasyHandles) idle_.push_back(std::move(slot));
}

bool EasyPool::ConfigureEasy(EasySlot& slot) const {
  CURL* easy = slot.easy.get();
  const char* protocols = allow_insecure_http_ ? "http,https" : "https";
  // NOLINTBEGIN(runtime/int): libcurl takes long options.
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  // Redirects would carry the bearer token elsewhere: report them instead.
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_SSLVERSION,
                          static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  }
  if (rc == CURLE_OK && share_) {
    rc = curl_easy_setopt(easy, CURLOPT_SHARE, share_.get());
  }
  if (rc == CURLE_OK && max_connection_age_ > absl::ZeroDuration()) {
    // Whole seconds (libcurl's unit), rounded up: a connection older than
    // this is not reused, so new ones follow DNS changes behind the API.
    rc = curl_easy_setopt(
        easy, CURLOPT_MAXLIFETIME_CONN,
        static_cast<long>(absl::ToInt64Seconds(absl::Ceil(  // NOLINT
            max_connection_age_, absl::Seconds(1)))));
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (rc == CURLE_OK && !ca_bundle_.empty()) {
    rc = curl_easy_setopt(easy, CURLOPT_CAINFO, ca_bundle_.c_str());
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(
        easy, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::max<int64_t>(
            1, absl::ToInt64Milliseconds(connect_timeout_))));
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (rc == CURLE_OK) {
    // libcurl's receive buffer is 16 KiB per easy handle, held for as long
    // as a call is in flight. A user object is ~2 KiB: 4 KiB buffers cut
    // the memory of 10,000 calls in flight by ~120 MB at the cost of an
    // extra recv(2) for the rare body larger than that.
    rc = curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  }
  if (rc == CURLE_OK) {
    // Over HTTP/2 libcurl sends the body through an upload buffer of 64 KiB
    // per transfer (over HTTP/1.1 the body goes out with the headers). A
    // request body is well under 1 KiB: its minimum, 16 KiB, is plenty and
    // saves 48 KiB of heap per h2 call in flight (heaptrack, 3,000 held h2
    // calls: 183 MB in these buffers).
    rc = curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, OnRequestReady);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, OnSocketOpened);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot.errbuf);
  }
  // NOLINTEND(runtime/int)
  return rc == CURLE_OK;
}

}  // namespace upstream_internal
}  // namespace usergateway
