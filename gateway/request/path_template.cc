#include "gateway/request/path_template.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace usergateway {
namespace {

constexpr absl::string_view kHex = "0123456789ABCDEF";
constexpr absl::string_view kRequiredPlaceholder = "user_id";

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// RFC 3986 sub-delims, plus ':' and '@': with the unreserved set, the
// characters a path segment may hold literally.
bool IsPathChar(unsigned char c) {
  return IsUnreserved(c) || c == '!' || c == '$' || c == '&' || c == '\'' ||
         c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
         c == ';' || c == '=' || c == ':' || c == '@';
}

bool IsKnownPlaceholder(absl::string_view name) {
  for (const PathValue& known : PathValuesOf(
           usergateway::v1::UpdateUserProfileRequest::default_instance())) {
    if (known.name == name) return true;
  }
  return false;
}

// "{enterprise_id}, {user_id}": for messages.
std::string KnownPlaceholders() {
  std::string out;
  for (const PathValue& known : PathValuesOf(
           usergateway::v1::UpdateUserProfileRequest::default_instance())) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "{", known.name, "}");
  }
  return out;
}

const PathValue* FindValue(absl::string_view name,
                           absl::Span<const PathValue> values) {
  for (const PathValue& value : values) {
    if (value.name == name) return &value;
  }
  return nullptr;
}

}  // namespace

PathValues PathValuesOf(
    const usergateway::v1::UpdateUserProfileRequest& request) {
  return PathValues{{
      {"enterprise_id", request.enterprise_id()},
      {"user_id", request.user_id()},
  }};
}

absl::Status ValidatePathTemplate(absl::string_view path_template) {
  if (!absl::StartsWith(path_template, "/")) {
    return absl::InvalidArgumentError("path template must start with '/'");
  }
  bool has_user_id = false;
  for (size_t i = 0; i < path_template.size(); ++i) {
    const unsigned char c = path_template[i];
    if (c == '?' || c == '#') {
      return absl::InvalidArgumentError(
          "path template must not contain '?' or '#': it is a path only");
    }
    if (c == '{') {
      const size_t close = path_template.find_first_of("{}", i + 1);
      if (close == absl::string_view::npos || path_template[close] != '}') {
        return absl::InvalidArgumentError(
            "path template has a '{' without a matching '}'");
      }
      const absl::string_view name = path_template.substr(i + 1, close - i - 1);
      if (!IsKnownPlaceholder(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("path template has unknown placeholder {",
                         absl::CHexEscape(name), "}; known ones are ",
                         KnownPlaceholders()));
      }
      if (name == kRequiredPlaceholder) has_user_id = true;
      i = close;
      continue;
    }
    if (c == '}') {
      return absl::InvalidArgumentError(
          "path template has a '}' without a matching '{'");
    }
    if (c == '%') {
      if (i + 2 >= path_template.size() ||
          !absl::ascii_isxdigit(path_template[i + 1]) ||
          !absl::ascii_isxdigit(path_template[i + 2])) {
        return absl::InvalidArgumentError(
            "path template has a '%' not followed by two hex digits");
      }
      i += 2;
      continue;
    }
    if (c != '/' && !IsPathChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "path template has a character not allowed in a URL path at "
          "offset ",
          i, " (percent-encode it)"));
    }
  }
  if (!has_user_id) {
    return absl::InvalidArgumentError(
        "path template must contain the {user_id} placeholder");
  }
  // Placeholders are balanced and hold no '/' by now, so splitting on '/'
  // gives the segments the upstream will see.
  for (absl::string_view segment : absl::StrSplit(path_template, '/')) {
    if (IsDotSegment(segment)) {
      return absl::InvalidArgumentError(
          "path template has a \".\" or \"..\" segment: clients and servers "
          "resolve it, so the call would reach another path");
    }
  }
  return absl::OkStatus();
}

std::string PercentEncodePathSegment(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

bool IsDotSegment(absl::string_view segment) {
  int dots = 0;
  size_t i = 0;
  while (i < segment.size()) {
    if (segment[i] == '.') {
      i += 1;
    } else if (segment[i] == '%' && i + 2 < segment.size() &&
               segment[i + 1] == '2' &&
               (segment[i + 2] == 'E' || segment[i + 2] == 'e')) {
      i += 3;
    } else {
      return false;
    }
    if (++dots > 2) return false;
  }
  return dots > 0;
}

std::vector<FieldViolation> CheckPathValues(
    absl::Span<const PathValue> values) {
  std::vector<FieldViolation> violations;
  for (const PathValue& v : values) {
    // The raw value: PercentEncodePathSegment keeps '.', and turns '%' into
    // "%25", so only these two encode to a dot segment.
    if (v.value == "." || v.value == "..") {
      violations.push_back(FieldViolation{
          std::string(v.name),
          "must not be \".\" or \"..\" (it is a path segment, which clients "
          "and servers would resolve to another path)"});
    }
  }
  return violations;
}

absl::StatusOr<std::string> ExpandPathTemplate(
    absl::string_view path_template, absl::Span<const PathValue> values) {
  std::string path;
  size_t value_bytes = 0;
  for (const PathValue& v : values) value_bytes += v.value.size();
  path.reserve(path_template.size() + value_bytes * 3);
  bool first = true;
  for (absl::string_view segment : absl::StrSplit(path_template, '/')) {
    if (!first) path.push_back('/');
    first = false;
    const size_t start = path.size();
    // The first placeholder substituted in this segment, for messages.
    absl::string_view placeholder;
    size_t i = 0;
    while (i < segment.size()) {
      const size_t open = segment.find('{', i);
      if (open == absl::string_view::npos) break;
      const size_t close = segment.find('}', open);
      if (close == absl::string_view::npos) break;
      path.append(segment.data() + i, open - i);
      const absl::string_view name = segment.substr(open + 1, close - open - 1);
      if (const PathValue* v = FindValue(name, values); v != nullptr) {
        path.append(PercentEncodePathSegment(v->value));
        if (placeholder.empty()) placeholder = v->name;
      } else {
        path.append(segment.data() + open, close - open + 1);
      }
      i = close + 1;
    }
    path.append(segment.data() + i, segment.size() - i);

    const absl::string_view expanded = absl::string_view(path).substr(start);
    if (IsDotSegment(expanded)) {
      if (placeholder.empty()) {
        return absl::InvalidArgumentError(
            "path template has a \".\" or \"..\" segment");
      }
      return absl::InvalidArgumentError(
          absl::StrCat("the value of {", placeholder,
                       "} would make a \".\" or \"..\" path segment"));
    }
    if (expanded.empty() && !placeholder.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the value of {", placeholder,
                       "} is empty: the path would lose a segment"));
    }
  }
  return path;
}

}  // namespace usergateway
