// What every fuzz target of tests/fuzz uses to state a property: a failed
// FUZZ_CHECK prints the property, where it is, and a detail, then aborts.
// libFuzzer records an abort as a crash and saves the input; the corpus
// replay tests (replay_main.cc) fail on it. Properties, not "no crash", are
// the point of these targets, so checks stay on in every build (no NDEBUG).
//
// Example:
//
//   FUZZ_CHECK(out.size() <= kMaxMessageBytes,
//              absl::StrCat("size ", out.size(), ": ", Quote(out)));
//
// Thread-compatible; the targets are single-threaded.
#ifndef USERGATEWAY_TESTS_FUZZ_FUZZ_CHECK_H_
#define USERGATEWAY_TESTS_FUZZ_FUZZ_CHECK_H_

#include <string>

#include "absl/strings/string_view.h"

namespace usergateway {
namespace fuzz {

// Prints "property failed at FILE:LINE: CONDITION (DETAIL)" to stderr and
// aborts.
[[noreturn]] void PropertyFailed(const char* file, int line,
                                 const char* condition,
                                 const std::string& detail);

// `text` C-escaped and cut to `max_bytes`, in double quotes, for a detail.
std::string Quote(absl::string_view text, size_t max_bytes = 300);

}  // namespace fuzz
}  // namespace usergateway

// `detail` is evaluated only when `condition` is false.
#define FUZZ_CHECK(condition, detail)                                \
  do {                                                               \
    if (!(condition)) {                                              \
      ::usergateway::fuzz::PropertyFailed(__FILE__, __LINE__,        \
                                          #condition, (detail));     \
    }                                                                \
  } while (0)

#endif  // USERGATEWAY_TESTS_FUZZ_FUZZ_CHECK_H_
