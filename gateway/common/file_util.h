// Reads small files whole: the API key, TLS certificates, cgroup settings.
//
// Example:
//
//   std::optional<std::string> pem = ReadFileToString("/etc/tls/cert.pem");
//   if (!pem.has_value()) return absl::InvalidArgumentError("cannot read");
#ifndef USERGATEWAY_GATEWAY_COMMON_FILE_UTIL_H_
#define USERGATEWAY_GATEWAY_COMMON_FILE_UTIL_H_

#include <optional>
#include <string>

namespace usergateway {

// Returns the bytes of the file at `path`, or nullopt when it cannot be
// opened or a read fails. Meant for files of a few KB.
std::optional<std::string> ReadFileToString(const std::string& path);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_FILE_UTIL_H_
