#include "gateway/upstream/curl_handles.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace usergateway {

absl::Status EnsureCurlGlobalInit() {
  // A function-local static: initialised once, thread-safely, by the C++
  // runtime.
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_global_init failed: ",
                                            curl_easy_strerror(result)));
  }
  return absl::OkStatus();
}

CurlEasy CurlEasy::Create() { return CurlEasy(curl_easy_init()); }

CurlEasy::CurlEasy(CurlEasy&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

CurlEasy& CurlEasy::operator=(CurlEasy&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

CurlEasy::~CurlEasy() {
  if (handle_ != nullptr) curl_easy_cleanup(handle_);
}

CurlMulti CurlMulti::Create() { return CurlMulti(curl_multi_init()); }

CurlMulti::CurlMulti(CurlMulti&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

CurlMulti& CurlMulti::operator=(CurlMulti&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) curl_multi_cleanup(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

CurlMulti::~CurlMulti() {
  if (handle_ != nullptr) curl_multi_cleanup(handle_);
}

CurlShare CurlShare::CreateForTlsSessionsAndDns() {
  CURLSH* handle = curl_share_init();
  if (handle == nullptr) return CurlShare();
  if (curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
          CURLSHE_OK ||
      curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
          CURLSHE_OK) {
    curl_share_cleanup(handle);
    return CurlShare();
  }
  return CurlShare(handle);
}

CurlShare::CurlShare(CurlShare&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

CurlShare& CurlShare::operator=(CurlShare&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) curl_share_cleanup(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

CurlShare::~CurlShare() {
  if (handle_ != nullptr) curl_share_cleanup(handle_);
}

CurlSlist::CurlSlist(CurlSlist&& other) noexcept
    : list_(std::exchange(other.list_, nullptr)) {}

CurlSlist& CurlSlist::operator=(CurlSlist&& other) noexcept {
  if (this != &other) {
    Reset();
    list_ = std::exchange(other.list_, nullptr);
  }
  return *this;
}

CurlSlist::~CurlSlist() { Reset(); }

bool CurlSlist::Append(const char* line) {
  // curl_slist_append returns null on failure and leaves the list intact.
  curl_slist* appended = curl_slist_append(list_, line);
  if (appended == nullptr) return false;
  list_ = appended;
  return true;
}

void CurlSlist::Reset() {
  if (list_ != nullptr) curl_slist_free_all(list_);
  list_ = nullptr;
}

}  // namespace usergateway
