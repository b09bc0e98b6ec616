#include "tests/fuzz/fuzz_check.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace usergateway {
namespace fuzz {

void PropertyFailed(const char* file, int line, const char* condition,
                    const std::string& detail) {
  std::fprintf(stderr, "property failed at %s:%d: %s (%s)\n", file, line,
               condition, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string Quote(absl::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, max_bytes)), "\"",
                      cut ? "..." : "");
}

}  // namespace fuzz
}  // namespace usergateway
