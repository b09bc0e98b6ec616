// Reads small files whole: the API key, TLS certificates, cgroup settings.
//
// Example:
//
//   std::optional<std::string> pem = ReadFileToString("/etc/tls/cert.pem");
//   if (!pem.has_value()) return absl::InvalidArgumentError("cannot read");
#ifndef USERGATEWAY_GATEWAY_COMMON_FILE_UTIL_H_
#define USERGATEWAY_GATEWAY_COMMON_FILE_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace usergateway {

// Returns the bytes of the file at `path`, or nullopt when it cannot be
// opened or a read fails. Meant for files of a few KB.
std::optional<std::string> ReadFileToString(const std::string& path);

// What stat(2) says about one version of a file: inode, size and mtime
// (ns). A Kubernetes volume update (a symlink swap) or a rename over the
// file changes the inode; an edit in place the size or mtime. For files
// re-read when they change (API keys, the tenants file).
struct FileIdentity {
  ino_t inode = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity& other) const {
    return inode == other.inode && size == other.size &&
           mtime_ns == other.mtime_ns;
  }
  bool operator!=(const FileIdentity& other) const {
    return !(*this == other);
  }
};

// The identity of the file at `path` (symlinks followed), or nullopt when
// stat(2) fails.
std::optional<FileIdentity> StatFileIdentity(const std::string& path);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_FILE_UTIL_H_
