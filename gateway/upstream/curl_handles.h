// RAII owners for libcurl's handles, so that every CURL*, CURLM* and
// curl_slist* has exactly one owner and is released on every path.
//
// Example:
//
//   absl::Status init = EnsureCurlGlobalInit();
//   if (!init.ok()) return init;
//   CurlMulti multi = CurlMulti::Create();
//   CurlEasy easy = CurlEasy::Create();
//   if (!multi || !easy) return absl::InternalError("curl init failed");
//   CurlSlist headers;
//   if (!headers.Append("Accept: application/json")) return ...;
//   curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
//
// The wrappers are move-only and, like the handles they own, not
// thread-safe: one thread uses a handle at a time.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_CURL_HANDLES_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_CURL_HANDLES_H_

#include <curl/curl.h>

#include "absl/status/status.h"

namespace usergateway {

// Runs curl_global_init(CURL_GLOBAL_DEFAULT) once per process, before any
// other libcurl call. Thread-safe; later calls return the first result.
// Returns OK, or INTERNAL when libcurl could not initialise (e.g. its TLS
// backend failed). curl_global_cleanup is never called: other threads (and
// libraries such as gRPC sharing OpenSSL) may still be running at exit.
absl::Status EnsureCurlGlobalInit();

// Owns one easy handle (one transfer's options and buffers). Cleaning it up
// while it is added to a multi handle is a bug: remove it first.
class CurlEasy {
 public:
  // Returns an owner of a new handle, or an empty one (false in a boolean
  // context) when curl_easy_init failed.
  static CurlEasy Create();

  CurlEasy() = default;
  CurlEasy(CurlEasy&& other) noexcept;
  CurlEasy& operator=(CurlEasy&& other) noexcept;
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  ~CurlEasy();

  CURL* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  explicit CurlEasy(CURL* handle) : handle_(handle) {}
  CURL* handle_ = nullptr;
};

// Owns one multi handle: the event engine and the connection and DNS caches
// its easy handles share (not TLS sessions: see CurlShare). Every easy
// handle must be removed from it before it is destroyed.
class CurlMulti {
 public:
  // Returns an owner of a new handle, or an empty one when
  // curl_multi_init failed.
  static CurlMulti Create();

  CurlMulti() = default;
  CurlMulti(CurlMulti&& other) noexcept;
  CurlMulti& operator=(CurlMulti&& other) noexcept;
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;
  ~CurlMulti();

  CURLM* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  explicit CurlMulti(CURLM* handle) : handle_(handle) {}
  CURLM* handle_ = nullptr;
};

// Owns one share handle (CURLOPT_SHARE): caches that several easy handles
// use together. Every easy handle using it must be cleaned up first.
class CurlShare {
 public:
  // Returns an owner of a new handle sharing TLS sessions and DNS results,
  // or an empty one when libcurl could not make it. Users must be on one
  // thread at a time (no lock callbacks are set).
  static CurlShare CreateForTlsSessionsAndDns();

  CurlShare() = default;
  CurlShare(CurlShare&& other) noexcept;
  CurlShare& operator=(CurlShare&& other) noexcept;
  CurlShare(const CurlShare&) = delete;
  CurlShare& operator=(const CurlShare&) = delete;
  ~CurlShare();

  CURLSH* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  explicit CurlShare(CURLSH* handle) : handle_(handle) {}
  CURLSH* handle_ = nullptr;
};

// Owns a header list for CURLOPT_HTTPHEADER. libcurl keeps only a pointer to
// the list, so it must outlive the transfer that uses it.
class CurlSlist {
 public:
  CurlSlist() = default;
  CurlSlist(CurlSlist&& other) noexcept;
  CurlSlist& operator=(CurlSlist&& other) noexcept;
  CurlSlist(const CurlSlist&) = delete;
  CurlSlist& operator=(const CurlSlist&) = delete;
  ~CurlSlist();

  // Appends a copy of the NUL-terminated `line` (e.g. "Accept: */*").
  // Returns false when libcurl ran out of memory; the list is unchanged.
  bool Append(const char* line);
  // Frees every entry; the list is empty afterwards.
  void Reset();

  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_CURL_HANDLES_H_
