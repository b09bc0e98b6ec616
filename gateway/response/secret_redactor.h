// Removes the gateway's secrets (the upstream API key) from text that came
// from the upstream before it reaches a caller. The upstream is not
// trusted to keep the key to itself: a 401 may say "Invalid token <key>", a
// 400 may quote the Authorization header, and either may truncate or wrap
// the key in quotes and punctuation.
//
// Two things are replaced by "[REDACTED]":
//   - every exact occurrence of a secret;
//   - every stretch of at least kMinSecretFragmentBytes bytes that also
//     occurs inside a secret, so that a truncated or partly echoed key
//     ("Invalid token 'sk_live_0123456789…'") leaks no more than
//     kMinSecretFragmentBytes - 1 bytes of it. This covers every run of
//     non-space characters (quotes and punctuation around it ignored) that
//     is a piece of a secret, and also such a piece glued to other text
//     ("token=<key prefix>").
// Neighbouring or overlapping matches become one "[REDACTED]". Matching is
// byte-exact (case-sensitive) and done on the text as given, before any
// sanitizing or cutting: redact first, then cut, so that a cut can never
// leave an unmatched piece of a secret behind.
//
// Example:
//
//   const SecretRedactor redactor({*api_key});
//   redactor.Redact("Invalid token sk_live_0123456789abcdef");
//   // "Invalid token [REDACTED]"
//
// Immutable after construction; Redact() is thread-safe. Owns copies of the
// secrets.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_SECRET_REDACTOR_H_
#define USERGATEWAY_GATEWAY_RESPONSE_SECRET_REDACTOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace usergateway {

// The shortest piece of a secret that is redacted on its own. Shorter
// pieces are too likely to be ordinary text ("token", "abc").
inline constexpr size_t kMinSecretFragmentBytes = 8;

// What a redacted stretch of text is replaced by.
inline constexpr absl::string_view kRedactedText = "[REDACTED]";

class SecretRedactor {
 public:
  // Redacts `secrets`; empty ones are ignored. With none, Redact() returns
  // its input unchanged.
  explicit SecretRedactor(absl::Span<const std::string> secrets = {});

  // Returns `text` with every exact occurrence of a secret, and every
  // stretch of at least kMinSecretFragmentBytes bytes that occurs inside a
  // secret, replaced by kRedactedText. Linear in text.size() for a given
  // set of secrets.
  std::string Redact(absl::string_view text) const;

  // True when there is nothing to redact.
  bool empty() const { return secrets_.empty(); }

 private:
  std::vector<std::string> secrets_;
  // Every kMinSecretFragmentBytes-byte window of every secret, as the
  // 64-bit integer of its bytes (kMinSecretFragmentBytes == 8).
  absl::flat_hash_set<uint64_t> windows_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_SECRET_REDACTOR_H_
