#include "gateway/response/secret_redactor.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace usergateway {
namespace {

static_assert(kMinSecretFragmentBytes == sizeof(uint64_t),
              "windows are compared as 64-bit integers");

uint64_t WindowAt(absl::string_view s, size_t i) {
  uint64_t w;
  std::memcpy(&w, s.data() + i, sizeof(w));
  return w;
}

// Sets covered[i, i + n) to true.
void Cover(size_t i, size_t n, std::vector<bool>* covered) {
  for (size_t k = i; k < i + n; ++k) (*covered)[k] = true;
}

}  // namespace

SecretRedactor::SecretRedactor(absl::Span<const std::string> secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    secrets_.push_back(secret);
    for (size_t i = 0; i + kMinSecretFragmentBytes <= secret.size(); ++i) {
      windows_.insert(WindowAt(secret, i));
    }
  }
}

std::string SecretRedactor::Redact(absl::string_view text) const {
  if (secrets_.empty()) return std::string(text);
  // Mark every byte that is part of a secret or of a long enough piece of
  // one, then replace each marked stretch once.
  std::vector<bool> covered(text.size(), false);
  bool any = false;
  for (const std::string& secret : secrets_) {
    for (size_t at = text.find(secret); at != absl::string_view::npos;
         at = text.find(secret, at + 1)) {
      Cover(at, secret.size(), &covered);
      any = true;
    }
  }
  if (!windows_.empty()) {
    for (size_t i = 0; i + kMinSecretFragmentBytes <= text.size(); ++i) {
      if (windows_.contains(WindowAt(text, i))) {
        Cover(i, kMinSecretFragmentBytes, &covered);
        any = true;
      }
    }
  }
  if (!any) return std::string(text);

  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!covered[i]) {
      out.push_back(text[i++]);
      continue;
    }
    out.append(kRedactedText.data(), kRedactedText.size());
    while (i < text.size() && covered[i]) ++i;
  }
  return out;
}

}  // namespace usergateway
