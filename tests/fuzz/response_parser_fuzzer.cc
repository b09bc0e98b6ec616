// Fuzz target: the upstream's 200 body (gateway/response/response_parser.h).
// Input: the body, any bytes. Properties checked, from the header's
// contract:
//   - parsing is deterministic: the in-place path (a padded std::string)
//     and the copying path (string_view) give the same status and User;
//   - an error is kInvalidArgument (or kResourceExhausted), leaves the User
//     cleared, and its message is made only of known field names, JSON type
//     names and fixed texts (never a value or an unknown key from the body);
//   - a parsed User has role_enum == RoleFromText(role);
//   - round trip: the User written back in the upstream's JSON shape
//     (user_json_writer.h) parses again to the same User;
//   - unknown keys are ignored: the body with an unknown key added to its
//     top-level object gives the same User.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/response/json_reader.h"
#include "gateway/response/response_parser.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "simdjson.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/user_json_writer.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace fuzz {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::util::MessageDifferencer;
using ::usergateway::v1::User;

void AddWords(absl::string_view text, absl::flat_hash_set<std::string>* out) {
  std::string word;
  for (char c : std::string(text) + " ") {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
      word.push_back(c);
    } else if (!word.empty()) {
      out->insert(word);
      word.clear();
    }
  }
}

void AddFieldNames(const Descriptor* message,
                   absl::flat_hash_set<std::string>* out) {
  for (int i = 0; i < message->field_count(); ++i) {
    out->insert(message->field(i)->name());
    if (message->field(i)->has_json_name()) {
      out->insert(message->field(i)->json_name());
    }
    if (message->field(i)->message_type() != nullptr) {
      AddFieldNames(message->field(i)->message_type(), out);
    }
  }
}

// Every word an error message may hold: the schema's keys, the JSON type
// names, simdjson's error texts as json_reader describes them, and the
// parser's fixed texts.
const absl::flat_hash_set<std::string>& MessageVocabulary() {
  static const auto* words = [] {
    auto* w = new absl::flat_hash_set<std::string>();
    AddFieldNames(User::descriptor(), w);
    for (int e = 0; e < simdjson::NUM_ERROR_CODES; ++e) {
      AddWords(json_reader::Describe(static_cast<simdjson::error_code>(e)), w);
    }
    for (auto type : {simdjson::ondemand::json_type::array,
                      simdjson::ondemand::json_type::object,
                      simdjson::ondemand::json_type::number,
                      simdjson::ondemand::json_type::string,
                      simdjson::ondemand::json_type::boolean,
                      simdjson::ondemand::json_type::null}) {
      AddWords(json_reader::TypeName(type), w);
    }
    AddWords(
        "body is empty; body is blank (whitespace only); body is not valid "
        "JSON; not valid JSON; trailing content after the JSON document; "
        "expected a JSON object at the top level, got; expected an integer, "
        "got a number with a fraction or exponent; integer out of range; "
        "expected an object, an array, a string, a boolean; invalid literal; "
        "invalid number; invalid string escape or unpaired UTF-16 surrogate; "
        "out of memory while parsing the body",
        w);
    return w;
  }();
  return *words;
}

std::string Describe(const absl::Status& status) {
  return Quote(status.ToString());
}

void CheckErrorMessage(const absl::Status& status, const User& user) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kResourceExhausted,
             Describe(status));
  FUZZ_CHECK(user.ByteSizeLong() == 0, "User not cleared on error");
  FUZZ_CHECK(!status.message().empty(), "empty error message");
  absl::flat_hash_set<std::string> words;
  AddWords(status.message(), &words);
  for (const std::string& word : words) {
    FUZZ_CHECK(MessageVocabulary().contains(word),
               absl::StrCat("word ", Quote(word),
                            " is neither a known key nor a fixed text: ",
                            Describe(status)));
  }
}

// The body with "x_fuzz_unknown":[...] added first in its top-level
// object, which the parser accepted, so it starts with '{'.
std::string WithUnknownKey(absl::string_view body) {
  const size_t open = body.find('{');
  const size_t next = body.find_first_not_of(" \t\r\n", open + 1);
  const bool empty_object = next != absl::string_view::npos && body[next] == '}';
  return absl::StrCat(body.substr(0, open + 1),
                      R"("x_fuzz_unknown":[1,{"profile":null,"id":"x"}])",
                      empty_object ? "" : ",", body.substr(open + 1));
}

void CheckSameUser(const User& expected, const User& actual,
                   absl::string_view what) {
  FUZZ_CHECK(MessageDifferencer::Equals(expected, actual),
             absl::StrCat(what, ": ", Quote(expected.ShortDebugString()),
                          " vs ", Quote(actual.ShortDebugString())));
}

}  // namespace
}  // namespace fuzz
}  // namespace usergateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ::usergateway::ResponseParser;
  using ::usergateway::v1::User;
  namespace fuzz = ::usergateway::fuzz;
  // One parser for all inputs, as each event loop keeps one.
  static ResponseParser* const parser = new ResponseParser();
  const absl::string_view body(reinterpret_cast<const char*>(data), size);

  User user;
  const absl::Status status = parser->ParseUser(body, &user);

  std::string padded(body);
  padded.reserve(padded.size() + simdjson::SIMDJSON_PADDING);
  User in_place;
  const absl::Status in_place_status = parser->ParseUser(padded, &in_place);
  FUZZ_CHECK(status == in_place_status,
             absl::StrCat(fuzz::Quote(status.ToString()), " vs in place ",
                          fuzz::Quote(in_place_status.ToString())));
  fuzz::CheckSameUser(user, in_place, "in-place parse differs");

  if (!status.ok()) {
    fuzz::CheckErrorMessage(status, user);
    return 0;
  }

  if (user.has_profile()) {
    const auto& profile = user.profile();
    const auto expected = profile.has_role()
                              ? ResponseParser::RoleFromText(profile.role())
                              : usergateway::v1::ROLE_UNSPECIFIED;
    FUZZ_CHECK(profile.role_enum() == expected,
               fuzz::Quote(profile.ShortDebugString()));
  }

  const std::string written = fuzz::WriteUpstreamUserJson(user);
  User reparsed;
  const absl::Status reparse_status = parser->ParseUser(written, &reparsed);
  FUZZ_CHECK(reparse_status.ok(),
             absl::StrCat(fuzz::Quote(reparse_status.ToString()), " for ",
                          fuzz::Quote(written)));
  fuzz::CheckSameUser(user, reparsed, "round trip through the upstream shape");

  User with_unknown;
  const std::string extended = fuzz::WithUnknownKey(body);
  const absl::Status unknown_status =
      parser->ParseUser(absl::string_view(extended), &with_unknown);
  FUZZ_CHECK(unknown_status.ok(),
             absl::StrCat(fuzz::Quote(unknown_status.ToString()), " for ",
                          fuzz::Quote(extended)));
  fuzz::CheckSameUser(user, with_unknown, "an unknown key changed the User");
  return 0;
}
