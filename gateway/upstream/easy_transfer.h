// One HTTP attempt on a libcurl easy handle: the options every handle gets
// once (TLS verification, no redirects, small buffers, the callbacks), the
// ones each attempt sets (URL, body, headers, timeout, HTTP version), and
// the callbacks that collect the response into an AttemptSink.
//
// Example (the attempt scheduler, on the loop thread):
//
//   std::unique_ptr<EasySlot> slot = pool.Acquire();
//   sink.BeginAttempt(&result);
//   if (!BuildHeaders(request, slot->headers, &scratch)) ...;
//   CURLcode rc = SetAttemptOptions(*slot, request, timeout, multiplex,
//                                   &sink, call);
//   ... loop.Add(slot->easy.get()) ... the transfer runs ...
//   pool.Release(std::move(slot));
//
// Not thread-safe: a pool and its handles belong to one loop thread.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_EASY_TRANSFER_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_EASY_TRANSFER_H_

#include <curl/curl.h>
#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "gateway/upstream/curl_handles.h"
#include "gateway/upstream/response_budget.h"
#include "gateway/upstream/upstream_options.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {
namespace upstream_internal {

// The response parser reads the body in place; simdjson needs this many
// readable bytes past its end.
inline constexpr size_t kBodyPadding = simdjson::SIMDJSON_PADDING;

struct AttemptSink;

// Told by the request callback (CURLOPT_PREREQFUNCTION) about every request
// libcurl is about to send. Called on the loop thread, inside libcurl: it
// must not call back into the multi handle.
class RequestObserver {
 public:
  // libcurl is about to send the attempt's request once more within the
  // same transfer (a reused connection died before any response byte, an
  // HTTP/2 stream was refused, the server asked for HTTP/1.1). The re-send
  // is a PUT on the wire like any attempt: returns true (and counts it)
  // only when it fits --max_attempts and the retry budget.
  virtual bool AllowResend() = 0;
  // A request goes out; `sink.protocol` and `sink.tls_session_resumed`
  // describe its connection.
  virtual void OnRequestSent(const AttemptSink& sink) = 0;

 protected:
  ~RequestObserver() = default;
};

// The application protocol of the connection an attempt's request went
// out on, as TLS's ALPN negotiated it.
enum class WireProtocol {
  kUnknown,    // no request sent yet
  kCleartext,  // http://: HTTP/1.1, no negotiation
  kHttp1Tls,   // TLS, the server chose http/1.1 (or offered no ALPN)
  kHttp2Tls,   // TLS, h2
};

// What the callbacks of one attempt write to. Owned by the call; must
// outlive the attempt's transfer.
struct AttemptSink {
  // `budget` (may be null: no process-wide budget) must outlive the sink.
  AttemptSink(size_t max_body, size_t max_header_bytes, ResponseBudget* budget)
      : max_body(max_body), max_header_bytes(max_header_bytes),
        budget(budget) {}

  // Points the sink at `result` (its body and content_type receive the
  // response) and forgets the previous attempt's headers and flags. The
  // budget reservation is kept: the body keeps its capacity.
  void BeginAttempt(UpstreamResult* result);

  // Makes the body's buffer hold at least `capacity` bytes (never more than
  // max_body + kBodyPadding, and exactly that much: no hidden doubling),
  // reserving the growth from the budget first. The budget counts body
  // bytes, not the padding, so that one body of max_body fits a budget of
  // that size. Returns false (budget_refused set, the buffer unchanged)
  // when the budget refuses.
  bool GrowBody(size_t capacity);

  // Largest body accepted; beyond it the transfer is refused.
  const size_t max_body;
  // Largest header section accepted (status lines included, all responses
  // of the attempt together); beyond it the transfer is refused.
  const size_t max_header_bytes;
  ResponseBudget* const budget;
  // Bytes reserved from `budget` for this call's body buffer; the
  // scheduler gives them back when the call completes.
  size_t budget_held = 0;
  // Told about each request; asked before a re-send within one transfer.
  // Null: every re-send is refused.
  RequestObserver* observer = nullptr;

  UpstreamResult* result = nullptr;
  // The attempt's easy handle (set by SetAttemptOptions), for the request
  // callback's look at the connection.
  CURL* easy = nullptr;
  // The connection of the last request sent, and whether its TLS session
  // was resumed rather than negotiated in full.
  WireProtocol protocol = WireProtocol::kUnknown;
  bool tls_session_resumed = false;
  // The final response's Retry-After, as received.
  std::string retry_after_raw;
  // Header bytes received so far in this attempt.
  size_t header_bytes = 0;
  // Requests sent in this attempt's transfer (CURLOPT_PREREQFUNCTION
  // calls let through): 1 once the request went out, more when libcurl
  // re-sent it and the gate allowed that.
  int requests_sent = 0;
  // The one re-send after a refused h2 stream that counts as neither an
  // attempt nor a retry (see OnRequestReady) was made.
  bool transparent_resend_used = false;
  // The connection (TCP and TLS) is up or was reused and the request was
  // sent, so a timeout from now on is not a connect failure.
  bool connected = false;
  // A status line ("HTTP/...") arrived; the last one's status code.
  bool status_line_seen = false;
  int last_status = 0;
  // The final (non-1xx) response's header block ended: what the header
  // callback gets from now on are trailers, counted but not read.
  bool final_headers_done = false;
  // A callback refused the response: the body cap, the header cap, the
  // budget, or a re-send the gate did not allow.
  bool body_cap_hit = false;
  bool header_cap_hit = false;
  bool budget_refused = false;
  bool resend_refused = false;
  // The current response's Content-Length, once one arrived (-1: none).
  int64_t content_length = -1;
  // The response's framing is ambiguous (two differing Content-Length
  // headers), so the header callback refused it: libcurl 7.88 would use
  // the last one, where RFC 9112 6.3 makes it an unrecoverable error.
  bool framing_refused = false;
  // The socket libcurl opened for this attempt (CURLOPT_SOCKOPTFUNCTION),
  // or -1.
  int opened_fd = -1;
  // The loop's HTTP/1 connections by local port, for the look at a reused
  // connection before a request goes out on it (loop thread only; null:
  // no look).
  std::unordered_map<int, int>* sockets_by_local_port = nullptr;
  // The request was held back because its reused HTTP/1 connection had
  // unread bytes (see OnRequestReady): nothing was sent.
  bool unread_bytes_refused = false;
};

// One pooled easy handle with what must live as long as its transfer.
struct EasySlot {
  CurlEasy easy;
  CurlSlist headers;
  char errbuf[CURL_ERROR_SIZE];
};

// Easy handles kept for reuse, configured once with the options that never
// change (ConfigureEasy: TLS 1.2 at least, peer and host verified, the
// loop's share handle, the connection age limit). Loop thread only.
class EasyPool {
 public:
  explicit EasyPool(const CurlUpstreamOptions& options);

  // A configured handle, reused when one is idle. Null when libcurl could
  // not create or configure one.
  std::unique_ptr<EasySlot> Acquire();
  // Keeps `slot` for reuse (up to a limit) or cleans it up. Its transfer
  // must have been removed from the multi handle.
  void Release(std::unique_ptr<EasySlot> slot);
  // Cleans up every idle handle (on the thread that used them).
  void Clear() { idle_.clear(); }

 private:
  bool ConfigureEasy(EasySlot& slot) const;

  const bool allow_insecure_http_;
  const std::string ca_bundle_;
  const absl::Duration connect_timeout_;
  const absl::Duration max_connection_age_;
  // TLS sessions and DNS results for every handle of the loop, so that a
  // second connection resumes the first one's session. Declared before the
  // handles: it must outlive them. Empty if libcurl could not make it (the
  // handles then keep their own caches).
  CurlShare share_;
  std::vector<std::unique_ptr<EasySlot>> idle_;
};

// Returns "" when `request` may be sent, else a secret-free reason: a
// scheme other than https:// (or http:// when allowed), or a header name or
// value that would inject headers (CR, LF, NUL; names also colon and
// whitespace).
std::string CheckRequest(const UpstreamRequest& request,
                         bool allow_insecure_http);

// Fills `headers` with `request`'s headers as libcurl wants them (an empty
// value as "Name;"), plus "Expect:" to suppress 100-continue. `scratch` is a
// reusable line buffer. Returns false when libcurl ran out of memory.
bool BuildHeaders(const UpstreamRequest& request, CurlSlist& headers,
                  std::string* scratch);

// Sets the per-attempt options of `slot`: URL (its path sent exactly as
// built: CURLOPT_PATH_AS_IS, no dot-segment folding), HTTP version (h2
// with PIPEWAIT when `multiplex`, else HTTP/1.1), body, `slot.headers`, the
// timeout (at least 1 ms), the callbacks' `sink` and `owner` as
// CURLINFO_PRIVATE. `request` and `sink` must outlive the transfer.
// Returns the first libcurl error, or CURLE_OK.
CURLcode SetAttemptOptions(EasySlot& slot, const UpstreamRequest& request,
                           absl::Duration timeout, bool multiplex,
                           AttemptSink* sink, void* owner);

// Makes sure `body` can be parsed in place (kBodyPadding spare bytes).
void EnsurePadding(std::string& body);

}  // namespace upstream_internal
}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_EASY_TRANSFER_H_
