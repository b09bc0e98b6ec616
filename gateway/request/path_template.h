// The path template of the upstream URL: the part after base_url, with
// placeholders that stand for fields of the caller's request.
//
// A template is checked once, at start-up, and then expanded on every call:
//
//   absl::Status s = ValidatePathTemplate("/authn2/v0/user/{user_id}");
//   // s.ok()
//   std::string path = ExpandPathTemplate("/authn2/v0/user/{user_id}",
//                                         /*user_id=*/"a/b",
//                                         /*enterprise_id=*/"ent-1");
//   // path == "/authn2/v0/user/a%2Fb"
//
// The known placeholders are {user_id} and {enterprise_id}. Each value is
// percent-encoded as exactly one path segment, so no field value can add a
// segment, a query or a fragment to the URL.
//
// Pure functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_REQUEST_PATH_TEMPLATE_H_
#define USERGATEWAY_GATEWAY_REQUEST_PATH_TEMPLATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace usergateway {

// Checks a path template once, at start-up, so that a bad flag fails fast
// instead of on every call. A valid template starts with '/', contains
// {user_id}, has no placeholder other than {user_id} and {enterprise_id}, no
// unbalanced '{' or '}', no '?' or '#' (the template is a path, not a query),
// and otherwise only characters RFC 3986 allows in a path (unreserved,
// sub-delims, ':', '@', '/', and '%' followed by two hex digits).
// Returns OK, or kInvalidArgument naming the problem.
absl::Status ValidatePathTemplate(absl::string_view path_template);

// Returns `segment` with every byte outside the RFC 3986 unreserved set
// (ALPHA DIGIT - . _ ~) percent-encoded with upper-case hex, so that the
// result is exactly one path segment: "a/b" -> "a%2Fb", "é" -> "%C3%A9".
std::string PercentEncodePathSegment(absl::string_view segment);

// Returns `path_template` with {user_id} replaced by
// PercentEncodePathSegment(user_id) and {enterprise_id} by
// PercentEncodePathSegment(enterprise_id); every other character is copied
// as it is. Meant for a template that passed ValidatePathTemplate: an
// unknown placeholder, or a '{' without a later '}', is copied verbatim
// rather than reported.
std::string ExpandPathTemplate(absl::string_view path_template,
                               absl::string_view user_id,
                               absl::string_view enterprise_id);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_PATH_TEMPLATE_H_
