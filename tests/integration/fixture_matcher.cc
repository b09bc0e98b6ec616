#include "tests/integration/fixture_matcher.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <simdjson.h>

#include <cstdint>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace usergateway {
namespace testing {
namespace {

namespace ondemand = simdjson::ondemand;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Fields that have no JSON counterpart, by full name.
const std::set<std::string>& FieldsWithoutJson() {
  static const std::set<std::string>* const fields =
      new std::set<std::string>{"usergateway.v1.Profile.role_enum"};
  return *fields;
}

// The field a JSON key names: by proto name, else by JSON name (`has_emm`
// is the JSON name of `emm_enabled`).
const FieldDescriptor* FindField(const google::protobuf::Descriptor& descriptor,
                                 const std::string& key) {
  const FieldDescriptor* fd = descriptor.FindFieldByName(key);
  if (fd != nullptr) return fd;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->json_name() == key) return descriptor.field(i);
  }
  return nullptr;
}

class Comparer {
 public:
  explicit Comparer(const std::map<std::string, std::string>& overrides)
      : overrides_(overrides) {}

  // Compares every member of `object` with `message`; false only when the
  // JSON itself could not be read (mismatches go to errors()).
  bool CompareObject(ondemand::object object, const Message& message,
                     const std::string& prefix) {
    const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
    const Reflection* reflection = message.GetReflection();
    std::set<const FieldDescriptor*> seen;
    for (auto member : object) {
      ondemand::field field;
      if (Fail(std::move(member).get(field), prefix)) return false;
      std::string_view raw_key;
      if (Fail(field.unescaped_key().get(raw_key), prefix)) return false;
      const std::string key(raw_key);
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      const FieldDescriptor* fd = FindField(*descriptor, key);
      if (fd == nullptr) {
        // On-demand iteration skips the unread value.
        errors_.push_back(absl::StrCat(path, ": no proto field for this key"));
        continue;
      }
      seen.insert(fd);
      if (!CompareValue(field.value(), message, reflection, fd, path)) {
        return false;
      }
    }
    std::vector<const FieldDescriptor*> set_fields;
    reflection->ListFields(message, &set_fields);
    for (const FieldDescriptor* fd : set_fields) {
      if (seen.count(fd) == 0 &&
          FieldsWithoutJson().count(fd->full_name()) == 0) {
        errors_.push_back(absl::StrCat(prefix.empty() ? "" : prefix + ".",
                                       fd->name(),
                                       ": set, but absent from the fixture"));
      }
    }
    return true;
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  bool Fail(simdjson::error_code error, const std::string& path) {
    if (error == simdjson::SUCCESS) return false;
    errors_.push_back(absl::StrCat(path, ": fixture JSON error: ",
                                   simdjson::error_message(error)));
    return true;
  }

  void Mismatch(const std::string& path, absl::string_view expected,
                absl::string_view got) {
    errors_.push_back(
        absl::StrCat(path, ": expected ", expected, ", got ", got));
  }

  bool CompareValue(ondemand::value value, const Message& message,
                    const Reflection* reflection, const FieldDescriptor* fd,
                    const std::string& path) {
    ondemand::json_type type;
    if (Fail(value.type().get(type), path)) return false;
    const bool set = fd->is_repeated() ? reflection->FieldSize(message, fd) > 0
                                       : reflection->HasField(message, fd);
    switch (type) {
      case ondemand::json_type::null: {
        bool is_null = false;
        if (Fail(value.is_null().get(is_null), path)) return false;
        if (set) Mismatch(path, "unset (null in the fixture)", "a value");
        return true;
      }
      case ondemand::json_type::string: {
        std::string_view text;
        if (Fail(value.get_string().get(text), path)) return false;
        std::string expected(text);
        auto override_it = overrides_.find(path);
        if (override_it != overrides_.end()) expected = override_it->second;
        if (fd->cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
            fd->is_repeated()) {
          Mismatch(path, "a string field", fd->type_name());
        } else if (!set) {
          Mismatch(path, absl::StrCat("\"", expected, "\""), "unset");
        } else if (reflection->GetString(message, fd) != expected) {
          Mismatch(path, absl::StrCat("\"", expected, "\""),
                   absl::StrCat("\"", reflection->GetString(message, fd),
                                "\""));
        }
        return true;
      }
      case ondemand::json_type::number: {
        int64_t number = 0;
        if (Fail(value.get_int64().get(number), path)) return false;
        if (fd->cpp_type() != FieldDescriptor::CPPTYPE_INT64 ||
            fd->is_repeated()) {
          Mismatch(path, "an int64 field", fd->type_name());
        } else if (!set) {
          Mismatch(path, absl::StrCat(number), "unset");
        } else if (reflection->GetInt64(message, fd) != number) {
          Mismatch(path, absl::StrCat(number),
                   absl::StrCat(reflection->GetInt64(message, fd)));
        }
        return true;
      }
      case ondemand::json_type::boolean: {
        bool flag = false;
        if (Fail(value.get_bool().get(flag), path)) return false;
        if (fd->cpp_type() != FieldDescriptor::CPPTYPE_BOOL ||
            fd->is_repeated()) {
          Mismatch(path, "a bool field", fd->type_name());
        } else if (!set) {
          Mismatch(path, flag ? "true" : "false", "unset");
        } else if (reflection->GetBool(message, fd) != flag) {
          Mismatch(path, flag ? "true" : "false", flag ? "false" : "true");
        }
        return true;
      }
      case ondemand::json_type::object: {
        ondemand::object object;
        if (Fail(value.get_object().get(object), path)) return false;
        if (fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
            fd->is_repeated()) {
          Mismatch(path, "a message field", fd->type_name());
          return true;
        }
        if (!set) {
          Mismatch(path, "a set message", "unset");
          // Still walk it, so that every missing leaf is listed.
        }
        return CompareObject(object, reflection->GetMessage(message, fd),
                             path);
      }
      case ondemand::json_type::array: {
        ondemand::array array;
        if (Fail(value.get_array().get(array), path)) return false;
        if (fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
            !fd->is_repeated()) {
          Mismatch(path, "a repeated message field", fd->type_name());
          return true;
        }
        const int size = reflection->FieldSize(message, fd);
        int index = 0;
        for (auto element : array) {
          ondemand::value item;
          const std::string item_path = absl::StrCat(path, "[", index, "]");
          if (Fail(std::move(element).get(item), item_path)) return false;
          ondemand::object object;
          if (Fail(item.get_object().get(object), item_path)) return false;
          if (index < size &&
              !CompareObject(object,
                             reflection->GetRepeatedMessage(message, fd, index),
                             item_path)) {
            return false;
          }
          ++index;
        }
        if (index != size) {
          Mismatch(path, absl::StrCat(index, " elements"),
                   absl::StrCat(size));
        }
        return true;
      }
    }
    return true;
  }

  const std::map<std::string, std::string>& overrides_;
  std::vector<std::string> errors_;
};

}  // namespace

::testing::AssertionResult UserMatchesFixture(
    absl::string_view fixture_json, absl::string_view user_id,
    const std::map<std::string, std::string>& overrides,
    const usergateway::v1::User& user) {
  const simdjson::padded_string padded(fixture_json.data(),
                                       fixture_json.size());
  ondemand::parser parser;
  ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return ::testing::AssertionFailure() << "the fixture does not parse";
  }
  size_t count = 0;
  {
    ondemand::array users;
    if (doc.get_array().get(users) != simdjson::SUCCESS ||
        users.count_elements().get(count) != simdjson::SUCCESS) {
      return ::testing::AssertionFailure() << "the fixture is not an array";
    }
  }
  // at_pointer rewinds the document, so the users can be visited by index.
  for (size_t i = 0; i < count; ++i) {
    std::string_view id;
    if (doc.at_pointer(absl::StrCat("/", i, "/profile/authn_user_id"))
            .get_string()
            .get(id) != simdjson::SUCCESS ||
        std::string(id) != std::string(user_id)) {
      continue;
    }
    ondemand::object object;
    if (doc.at_pointer(absl::StrCat("/", i)).get_object().get(object) !=
        simdjson::SUCCESS) {
      return ::testing::AssertionFailure()
             << "fixture user " << i << " is not an object";
    }
    Comparer comparer(overrides);
    comparer.CompareObject(object, user, "");
    if (comparer.errors().empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "user " << user_id << " differs from the fixture:\n  "
           << absl::StrJoin(comparer.errors(), "\n  ");
  }
  return ::testing::AssertionFailure()
         << "the fixture has no user with profile.authn_user_id \"" << user_id
         << "\"";
}

}  // namespace testing
}  // namespace usergateway
