// One structured JSON line per call, for operators: request id, user id,
// gRPC code, HTTP status, attempts, latency. Never the API key, the body or
// any token: CallLogEntry has no field that could hold them.
#ifndef USERGATEWAY_GATEWAY_INGRESS_CALL_LOG_H_
#define USERGATEWAY_GATEWAY_INGRESS_CALL_LOG_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace usergateway {

struct CallLogEntry {
  absl::Time start;
  std::string request_id;
  std::string user_id;
  std::string grpc_code;  // e.g. "OK", "NOT_FOUND"
  std::string reason;     // ErrorInfo reason, empty on success
  int http_status = 0;    // 0 when no response was received
  int attempts = 0;
  absl::Duration latency;
  absl::Duration upstream_latency;
};

// Where a call's log entry goes: WriteCallLog in production, a recorder in
// tests. Called once per call, on the thread that finishes it.
using CallLogSink = std::function<void(const CallLogEntry&)>;

// Formats `entry` as one JSON object followed by '\n'.
std::string FormatCallLog(const CallLogEntry& entry);

// Writes FormatCallLog(entry) to stderr in one write(2), so that lines from
// concurrent calls never interleave.
void WriteCallLog(const CallLogEntry& entry);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_CALL_LOG_H_
