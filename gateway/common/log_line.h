// One JSON log line on stderr, for the rare events of configuration files
// (a key or tenants file reloaded or refused): {"level":...,"msg":...}.
// Callers keep secrets out of `message`.
//
// Example:
//
//   WriteLogLine("warning", "tenants file /etc/t.json: ...; keeping the "
//                           "last good one");
//
// Thread-safe (one fputs per line).
#ifndef USERGATEWAY_GATEWAY_COMMON_LOG_LINE_H_
#define USERGATEWAY_GATEWAY_COMMON_LOG_LINE_H_

#include "absl/strings/string_view.h"

namespace usergateway {

void WriteLogLine(absl::string_view level, absl::string_view message);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_LOG_LINE_H_
