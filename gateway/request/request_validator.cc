#include "gateway/request/request_validator.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/common/utf8.h"
#include "gateway/request/path_template.h"

namespace usergateway {
namespace {

constexpr absl::string_view kRequired = "is required";


// C0 controls, DEL and the C1 controls: none of them belongs in an
// identifier, and C1 controls can confuse terminals and log viewers.
bool IsControl(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

// The characters Python's str.isspace() accepts, hence those Django REST
// Framework strips from a CharField before it checks for blank.
bool IsPythonWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 ||
         c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// What one pass over a field's text found.
struct Scan {
  bool valid_utf8 = true;
  size_t code_points = 0;
  bool has_nul = false;
  bool has_control = false;
  bool only_whitespace = true;
};

Scan ScanText(absl::string_view text) {
  Scan scan;
  size_t i = 0;
  while (i < text.size()) {
    char32_t c = 0;
    size_t length = DecodeUtf8(text, i, &c);
    if (length == 0) {
      // Keep going byte by byte so that NUL and C0 checks still see every
      // byte; code point counts are meaningless now and are not used.
      scan.valid_utf8 = false;
      c = static_cast<unsigned char>(text[i]);
      length = 1;
      if (c >= 0x80) c = 0xFFFD;
    }
    ++scan.code_points;
    if (c == 0) scan.has_nul = true;
    if (IsControl(c)) scan.has_control = true;
    if (!IsPythonWhitespace(c)) scan.only_whitespace = false;
    i += length;
  }
  return scan;
}

void Add(absl::string_view field, std::string description,
         std::vector<FieldViolation>* violations) {
  violations->push_back(FieldViolation{std::string(field),
                                       std::move(description)});
}

// The rules enterprise_id and user_id share.
void CheckId(absl::string_view field, absl::string_view value,
             const RequestLimits& limits,
             std::vector<FieldViolation>* violations) {
  const Scan scan = ScanText(value);
  if (!scan.valid_utf8) Add(field, "must be valid UTF-8", violations);
  if (scan.has_control) {
    Add(field,
        "must not contain control characters (U+0000 to U+001F, U+007F to "
        "U+009F)",
        violations);
  }
  if (value.size() > limits.max_id_bytes) {
    Add(field, absl::StrCat("must be at most ", limits.max_id_bytes, " bytes"),
        violations);
  }
}

// Moves the violations of `field` from `from` to `to`, keeping their order.
void MoveViolationsOf(absl::string_view field,
                      std::vector<FieldViolation>* from,
                      std::vector<FieldViolation>* to) {
  if (from->empty()) return;
  std::vector<FieldViolation> rest;
  for (FieldViolation& v : *from) {
    (v.field == field ? to : &rest)->push_back(std::move(v));
  }
  *from = std::move(rest);
}

}  // namespace

std::vector<FieldViolation> ValidateRequest(
    const usergateway::v1::UpdateUserProfileRequest& request,
    const RequestLimits& limits) {
  std::vector<FieldViolation> violations;
  // The path rule of every placeholder's field, sorted into field order
  // below. An empty value breaks no path rule: "is required" covers it.
  std::vector<FieldViolation> path_violations =
      CheckPathValues(PathValuesOf(request));

  if (request.enterprise_id().empty()) {
    Add("enterprise_id", std::string(kRequired), &violations);
  } else {
    MoveViolationsOf("enterprise_id", &path_violations, &violations);
    CheckId("enterprise_id", request.enterprise_id(), limits, &violations);
  }

  const std::string& user_id = request.user_id();
  if (user_id.empty()) {
    Add("user_id", std::string(kRequired), &violations);
  } else {
    MoveViolationsOf("user_id", &path_violations, &violations);
    CheckId("user_id", user_id, limits, &violations);
  }

  const std::string& first_name = request.first_name();
  const Scan scan = ScanText(first_name);
  if (first_name.empty()) {
    Add("first_name", std::string(kRequired), &violations);
  } else if (scan.valid_utf8 && scan.only_whitespace) {
    Add("first_name",
        absl::StrCat(kRequired, " (it holds only whitespace, which the "
                                "upstream strips and then rejects as blank)"),
        &violations);
  } else {
    if (!scan.valid_utf8) {
      Add("first_name", "must be valid UTF-8", &violations);
    } else if (scan.code_points > limits.max_first_name_chars) {
      Add("first_name",
          absl::StrCat("must be at most ", limits.max_first_name_chars,
                       " characters (Unicode code points)"),
          &violations);
    }
    if (scan.has_nul) {
      Add("first_name", "must not contain NUL characters (U+0000)",
          &violations);
    }
  }
  // A placeholder whose field has no rule above still gets its path rule.
  for (FieldViolation& v : path_violations) violations.push_back(std::move(v));
  return violations;
}

}  // namespace usergateway
