// Faults the upstream emulator can inject into its replies, and the two
// textual forms tests use to ask for them.
//
// A fault first waits `delay`, then does its `action`. It applies to the next
// `times` API requests (queued faults), or to one request (header).
//
// Header form (`X-Emulator-Fault`, one request only; `times` is ignored):
// `key=value` pairs separated by ';'. Keys:
//   action=none|status|truncate|malformed|oversized|reset|echo_key
//                  (default: "status" when `status` is given, else "none")
//   delay_ms=N     wait N ms first (0..600000); ends early when the emulator
//                  stops
//   status=N       the reply's HTTP status (100..599)
//   retry_after=S  adds `Retry-After: S` to whatever reply is sent
//   content_type=T the reply's Content-Type
//   bytes=N        `oversized`: total body size in bytes
//   times=N        how many requests a queued fault applies to (default 1)
//   body=TEXT      the reply body; must come last: everything after "body="
//                  is the body, ';' included
// e.g. "delay_ms=3000", "status=503;retry_after=2;content_type=text/html;
// body=<html>busy</html>", "action=reset", "action=oversized;bytes=1048576",
// "action=echo_key;status=400".
//
// JSON form (POST /_emulator/faults): one object, or an array of them, with
// the same keys; numbers as JSON numbers, texts as JSON strings, e.g.
// `{"status": 503, "retry_after": "2", "times": 2}`.
#ifndef USERGATEWAY_TESTS_EMULATOR_FAULT_H_
#define USERGATEWAY_TESTS_EMULATOR_FAULT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace usergateway {
namespace testing {

// One injected fault. Plain data.
struct Fault {
  enum class Action {
    // Handle the request normally (after `delay`).
    kNone,
    // Reply `status` (default 503) with `body` (default: the generic JSON
    // error envelope) and `content_type` (default application/json); the
    // request is not handled (no auth check, no update).
    kStatus,
    // Handle normally, then send the headers with the full Content-Length
    // but only the first half of the body, and close the connection.
    kTruncateBody,
    // Handle normally, then replace the reply with `body` (default: a text
    // that is not JSON), status `status` (default 200), `content_type`
    // (default application/json: the body claims to be JSON).
    kMalformedBody,
    // Handle normally, then pad the JSON object reply with a "padding"
    // member to exactly `body_bytes` bytes (still valid JSON, same status).
    kOversizedBody,
    // Reset the TCP connection (RST) without any reply; the request is not
    // handled.
    kReset,
    // Reply `status` (default 401) with a JSON body that quotes the bearer
    // token the request carried (an upstream that echoes credentials):
    //   401:   {"detail":"Invalid token <token>"}
    //   other: {"message":"key <token> rejected","error":"token=<token>",
    //           "errors":["bad token <token>"],"first_name":["<token>"]}
    // <token> is the Authorization value after "Bearer " (any case; the
    // whole value for another scheme), "" without the header; JSON-escaped.
    // The request is not handled (no auth check, no update).
    kEchoKey,
  };

  // kNone with a non-zero `status` acts as kStatus, as in both text forms.
  Action action = Action::kNone;
  absl::Duration delay = absl::ZeroDuration();
  int status = 0;  // 0: the action's default
  std::string body;
  std::string content_type;
  std::string retry_after;  // empty: no Retry-After header
  size_t body_bytes = 0;
  int times = 1;
};

// The name used in both forms for `action`, e.g. "truncate".
absl::string_view FaultActionName(Fault::Action action);

// Parses the header form. Returns InvalidArgument naming the offending key
// for unknown or repeated keys, bad numbers, out-of-range values, or an
// `oversized` action without `bytes`.
absl::StatusOr<Fault> ParseFaultSpec(absl::string_view spec);

// Parses the JSON form (an object or an array of objects). Returns
// InvalidArgument for invalid JSON, a value of the wrong type, or anything
// ParseFaultSpec would reject.
absl::StatusOr<std::vector<Fault>> ParseFaultsJson(absl::string_view json);

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_FAULT_H_
