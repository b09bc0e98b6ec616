// Fuzz target: the request stage's encoders: the path template and
// percent-encoding (gateway/request/path_template.h), JSON escaping
// (gateway/common/json_escape.h) and BuildUpstreamRequest
// (gateway/request/request_translator.h), with ValidateRequest in front as
// the service runs it.
//
// Input: enterprise_id, user_id, first_name and, optionally, a path
// template, separated by NUL bytes. Properties:
//   - PercentEncodePathSegment gives only unreserved characters and %XX
//     (so never '/', '?', '#'), and percent-decoding (libcurl's
//     curl_easy_unescape) gives the value back byte for byte;
//   - for values CheckPathValues accepts (and that are not empty), every
//     template that passes ValidatePathTemplate (the default, the tenant
//     one, the input's own) expands, with the template's number of
//     segments, no dot segment, no '?' or '#', and the user_id segment
//     decoding to user_id; a value of "." or ".." is refused by both
//     CheckPathValues and the expansion;
//   - AppendJsonString of any bytes is one JSON string (simdjson) with no
//     raw control character, DEL, U+2028 or U+2029, and for valid UTF-8
//     it decodes to the input;
//   - a request ValidateRequest accepts always builds: the URL is base_url
//     plus the expanded path, and the body is exactly one JSON object
//     {"first_name": <the input>}.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "curl/curl.h"
#include "gateway/common/json_escape.h"
#include "gateway/request/path_template.h"
#include "gateway/request/request_translator.h"
#include "gateway/request/request_validator.h"
#include "simdjson.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/text_properties.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace fuzz {
namespace {

constexpr absl::string_view kBaseUrl = "https://tenant-api.example/api";

bool IsUnreservedOrEscape(absl::string_view encoded) {
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      continue;
    }
    if (c != '%' || i + 2 >= encoded.size() ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(encoded[i + 1])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(encoded[i + 2]))) {
      return false;
    }
    i += 2;
  }
  return true;
}

// Percent-decodes with libcurl's curl_easy_unescape, an implementation
// independent of the gateway's. Lenient: check IsUnreservedOrEscape first.
std::string CurlUnescape(absl::string_view text) {
  int length = 0;
  char* out = curl_easy_unescape(nullptr, text.data(),
                                 static_cast<int>(text.size()), &length);
  FUZZ_CHECK(out != nullptr, "curl_easy_unescape failed");
  std::string decoded(out, static_cast<size_t>(length));
  curl_free(out);
  return decoded;
}

void CheckPercentEncoding(absl::string_view value) {
  const std::string encoded = PercentEncodePathSegment(value);
  FUZZ_CHECK(IsUnreservedOrEscape(encoded), Quote(encoded));
  FUZZ_CHECK(CurlUnescape(encoded) == value,
             absl::StrCat(Quote(value), " encoded as ", Quote(encoded)));
}

// Decodes `literal` (a JSON string literal) with simdjson.
std::optional<std::string> DecodeJsonString(const std::string& literal) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(literal).get(element) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::string_view text;
  if (element.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  return std::string(text);
}

void CheckJsonString(absl::string_view text) {
  std::string literal;
  AppendJsonString(text, &literal);
  FUZZ_CHECK(IsValidUtf8(literal), Quote(literal));
  // C1 controls may stay raw (JSON allows them); C0, DEL and the two
  // line separators must not.
  for (char c : literal) {
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F,
               absl::StrCat("raw control byte in ", Quote(literal)));
  }
  FUZZ_CHECK(!absl::StrContains(literal, "\xE2\x80\xA8") &&
                 !absl::StrContains(literal, "\xE2\x80\xA9"),
             Quote(literal));
  const std::optional<std::string> decoded = DecodeJsonString(literal);
  FUZZ_CHECK(decoded.has_value(),
             absl::StrCat("not a JSON string: ", Quote(literal)));
  if (IsValidUtf8(text)) {
    FUZZ_CHECK(*decoded == text,
               absl::StrCat(Quote(text), " came back as ", Quote(*decoded)));
  }
}

// Expands `path_template` (which passed ValidatePathTemplate) with checked,
// non-empty values and checks the result.
void CheckExpansion(absl::string_view path_template, const PathValues& values,
                    absl::string_view user_id) {
  const absl::StatusOr<std::string> path =
      ExpandPathTemplate(path_template, values);
  FUZZ_CHECK(path.ok(), absl::StrCat(Quote(path_template), ": ",
                                     path.status().ToString()));
  const std::vector<absl::string_view> want =
      absl::StrSplit(path_template, '/');
  const std::vector<absl::string_view> got = absl::StrSplit(*path, '/');
  FUZZ_CHECK(got.size() == want.size(),
             absl::StrCat(Quote(path_template), " expanded to ", Quote(*path)));
  FUZZ_CHECK(path->find_first_of("?#") == std::string::npos, Quote(*path));
  for (size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(!IsDotSegment(got[i]), Quote(*path));
    if (want[i] == "{user_id}") {
      FUZZ_CHECK(IsUnreservedOrEscape(got[i]) &&
                     CurlUnescape(got[i]) == user_id,
                 absl::StrCat("user_id segment ", Quote(got[i])));
    }
  }
}

void CheckBody(const std::string& body, absl::string_view first_name) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  FUZZ_CHECK(parser.parse(body).get(object) == simdjson::SUCCESS,
             absl::StrCat("body is not a JSON object: ", Quote(body)));
  FUZZ_CHECK(object.size() == 1, Quote(body));
  std::string_view value;
  FUZZ_CHECK(object["first_name"].get_string().get(value) == simdjson::SUCCESS,
             Quote(body));
  FUZZ_CHECK(absl::string_view(value.data(), value.size()) == first_name,
             absl::StrCat(Quote(body), " for ", Quote(first_name)));
}

}  // namespace
}  // namespace fuzz
}  // namespace usergateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = ::usergateway::fuzz;
  using ::usergateway::v1::UpdateUserProfileRequest;
  std::vector<std::string> fields = fuzz::SplitAtNul(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  fields.resize(4);
  UpdateUserProfileRequest request;
  request.set_enterprise_id(fields[0]);
  request.set_user_id(fields[1]);
  request.set_first_name(fields[2]);

  for (const std::string& field : fields) fuzz::CheckPercentEncoding(field);
  fuzz::CheckJsonString(request.first_name());

  const usergateway::PathValues values = usergateway::PathValuesOf(request);
  std::vector<std::string> templates = {
      "/authn2/v0/user/{user_id}",
      "/authn2/v0/tenant/{enterprise_id}/user/{user_id}"};
  if (usergateway::ValidatePathTemplate(fields[3]).ok()) {
    templates.push_back(fields[3]);
  }
  const bool dot_value = request.user_id() == "." ||
                         request.user_id() == ".." ||
                         request.enterprise_id() == "." ||
                         request.enterprise_id() == "..";
  const bool values_ok = usergateway::CheckPathValues(values).empty();
  FUZZ_CHECK(values_ok == !dot_value, "CheckPathValues missed a dot value");
  if (dot_value) {
    FUZZ_CHECK(!usergateway::ExpandPathTemplate(templates[1], values).ok(),
               "a dot value was expanded");
  } else if (!request.user_id().empty() && !request.enterprise_id().empty()) {
    for (const std::string& path_template : templates) {
      fuzz::CheckExpansion(path_template, values, request.user_id());
    }
  }

  if (!usergateway::ValidateRequest(request, usergateway::RequestLimits{})
           .empty()) {
    return 0;
  }
  usergateway::TranslatorConfig config;
  config.base_url = std::string(fuzz::kBaseUrl);
  config.path_template = templates.back();
  const absl::StatusOr<usergateway::UpstreamRequest> put =
      usergateway::BuildUpstreamRequest(request, config, "fuzz-api-key", {},
                                        "fuzz-request-id",
                                        absl::InfiniteFuture());
  FUZZ_CHECK(put.ok(), put.status().ToString());
  const absl::StatusOr<std::string> path =
      usergateway::ExpandPathTemplate(config.path_template, values);
  FUZZ_CHECK(path.ok() && put->url == absl::StrCat(fuzz::kBaseUrl, *path),
             fuzz::Quote(put->url));
  fuzz::CheckBody(put->body, request.first_name());
  return 0;
}
