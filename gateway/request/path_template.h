// The path template of the upstream URL: the part after base_url, with
// placeholders that stand for fields of the caller's request.
//
// A template is checked once, at start-up, and then expanded on every call:
//
//   absl::Status s = ValidatePathTemplate("/authn2/v0/user/{user_id}");
//   // s.ok()
//   absl::StatusOr<std::string> path = ExpandPathTemplate(
//       "/authn2/v0/user/{user_id}", PathValuesOf(request));
//   // with request.user_id() == "a/b": *path == "/authn2/v0/user/a%2Fb"
//
// The placeholders are the request fields PathValuesOf lists: {user_id} and
// {enterprise_id}. Each value is percent-encoded as exactly one path segment,
// so no field value can add a segment, a query or a fragment to the URL.
//
// No path this file builds has a "." or ".." segment: clients, proxies and
// servers resolve those (RFC 3986 section 5.2.4) and so would send the call
// to another route. Percent-encoding cannot help ('.' is unreserved, and
// "%2E" is decoded back to '.' by many servers), so dot segments are
// refused instead, in three places:
//   - ValidatePathTemplate refuses a literal "." or ".." segment (also when
//     written with %2E), at start-up;
//   - CheckPathValues refuses a placeholder value of "." or "..", as a field
//     violation of that field; ValidateRequest applies it to every field
//     PathValuesOf lists, whether or not the configured template uses it;
//   - ExpandPathTemplate refuses to build a path that would still hold one
//     (or whose placeholder-only segment would be empty).
//
// Pure functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_REQUEST_PATH_TEMPLATE_H_
#define USERGATEWAY_GATEWAY_REQUEST_PATH_TEMPLATE_H_

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gateway/common/field_violation.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {

// One placeholder's value for one call. `name` is the placeholder without
// its braces, and also the name of the request field the value comes from
// (so that a violation can name the field).
struct PathValue {
  absl::string_view name;
  absl::string_view value;
};

// How many placeholders there are; the size of PathValues.
inline constexpr size_t kPathPlaceholderCount = 2;
using PathValues = std::array<PathValue, kPathPlaceholderCount>;

// Returns every placeholder with its value in `request` (which must outlive
// the result), in request field order: enterprise_id, user_id. This is the
// one list of placeholders: ValidatePathTemplate accepts exactly these
// names, and ValidateRequest checks each of these fields as a path value.
// Adding a placeholder means adding its field here.
PathValues PathValuesOf(
    const usergateway::v1::UpdateUserProfileRequest& request);

// Checks a path template once, at start-up, so that a bad flag fails fast
// instead of on every call. A valid template starts with '/', contains
// {user_id}, has no placeholder other than those PathValuesOf lists, no
// unbalanced '{' or '}', no '?' or '#' (the template is a path, not a
// query), no segment that is "." or ".." (a '.' may also be written %2E or
// %2e), and otherwise only characters RFC 3986 allows in a path
// (unreserved, sub-delims, ':', '@', '/', and '%' followed by two hex
// digits). Returns OK, or kInvalidArgument naming the problem (an unknown
// placeholder's name C-escaped).
absl::Status ValidatePathTemplate(absl::string_view path_template);

// Returns `segment` with every byte outside the RFC 3986 unreserved set
// (ALPHA DIGIT - . _ ~) percent-encoded with upper-case hex, so that the
// result is exactly one path segment: "a/b" -> "a%2Fb", "é" -> "%C3%A9".
// "." and ".." come out unchanged: see CheckPathValues.
std::string PercentEncodePathSegment(absl::string_view segment);

// Whether `segment` (as it appears in a URL) is a dot segment: "." or "..",
// each '.' possibly written as %2E or %2e.
bool IsDotSegment(absl::string_view segment);

// Returns one violation for each of `values` that is "." or "..", naming
// its field (PathValue::name), in the order of `values`; empty when there
// is none. Such a value stays a dot segment after percent-encoding. The
// description never echoes the value.
std::vector<FieldViolation> CheckPathValues(absl::Span<const PathValue> values);

// Returns `path_template` with each {name} whose name is in `values`
// replaced by PercentEncodePathSegment of its value; every other character
// is copied as it is. Meant for a template that passed ValidatePathTemplate
// and values that passed CheckPathValues: an unknown placeholder, or a '{'
// without a later '}', is copied verbatim rather than reported.
// Returns kInvalidArgument, naming the placeholder (never its value), when a
// segment of the result would be "." or ".." (a literal dot segment in an
// unchecked template, or a value that CheckPathValues refuses), or when a
// segment made only of placeholders would be empty (the path would name
// another route). For a checked template and checked, non-empty values it
// always succeeds.
absl::StatusOr<std::string> ExpandPathTemplate(
    absl::string_view path_template, absl::Span<const PathValue> values);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_PATH_TEMPLATE_H_
