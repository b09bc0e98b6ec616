#include "gateway/request/path_template.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace usergateway {
namespace {

constexpr absl::string_view kHex = "0123456789ABCDEF";
constexpr absl::string_view kUserIdPlaceholder = "user_id";
constexpr absl::string_view kEnterpriseIdPlaceholder = "enterprise_id";

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

}  // namespace

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
      if (name == kUserIdPlaceholder) {
        has_user_id = true;
      } else if (name != kEnterpriseIdPlaceholder) {
        return absl::InvalidArgumentError(absl::StrCat(
            "path template has unknown placeholder {", name,
            "}; known ones are {user_id} and {enterprise_id}"));
      }
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

std::string ExpandPathTemplate(absl::string_view path_template,
                               absl::string_view user_id,
                               absl::string_view enterprise_id) {
  std::string path;
  path.reserve(path_template.size() + user_id.size() * 3);
  size_t i = 0;
  while (i < path_template.size()) {
    const size_t open = path_template.find('{', i);
    if (open == absl::string_view::npos) break;
    const size_t close = path_template.find('}', open);
    if (close == absl::string_view::npos) break;
    path.append(path_template.data() + i, open - i);
    const absl::string_view name =
        path_template.substr(open + 1, close - open - 1);
    if (name == kUserIdPlaceholder) {
      path.append(PercentEncodePathSegment(user_id));
    } else if (name == kEnterpriseIdPlaceholder) {
      path.append(PercentEncodePathSegment(enterprise_id));
    } else {
      path.append(path_template.data() + open, close - open + 1);
    }
    i = close + 1;
  }
  path.append(path_template.data() + i, path_template.size() - i);
  return path;
}

}  // namespace usergateway
