#include "gateway/ingress/call_log.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/common/json_escape.h"

namespace usergateway {

std::string FormatCallLog(const CallLogEntry& entry) {
  std::string line = "{\"ts\":";
  AppendJsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", entry.start,
                                    absl::UTCTimeZone()),
                   &line);
  line += ",\"request_id\":";
  AppendJsonString(entry.request_id, &line);
  line += ",\"user_id\":";
  AppendJsonString(entry.user_id, &line);
  line += ",\"grpc_code\":";
  AppendJsonString(entry.grpc_code, &line);
  if (!entry.reason.empty()) {
    line += ",\"reason\":";
    AppendJsonString(entry.reason, &line);
  }
  absl::StrAppend(&line, ",\"http_status\":", entry.http_status,
                  ",\"attempts\":", entry.attempts);
  absl::StrAppendFormat(&line, ",\"latency_ms\":%.3f,\"upstream_ms\":%.3f}\n",
                        absl::ToDoubleMilliseconds(entry.latency),
                        absl::ToDoubleMilliseconds(entry.upstream_latency));
  return line;
}

void WriteCallLog(const CallLogEntry& entry) {
  std::string line = FormatCallLog(entry);
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // a log must never take the gateway down
    done += static_cast<size_t>(n);
  }
}

}  // namespace usergateway
