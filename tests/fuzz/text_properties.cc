#include "tests/fuzz/text_properties.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace usergateway {
namespace fuzz {
namespace {

// Decodes the character at text[i] into *cp and returns its length, or 0
// when the bytes there are not well-formed UTF-8.
size_t Decode(absl::string_view text, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  size_t length;
  uint32_t min;
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80, *cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800, *cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000, *cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
    return 0;
  }
  return length;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  uint32_t cp;
  for (size_t i = 0; i < text.size();) {
    const size_t length = Decode(text, i, &cp);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool HasControlCharacter(absl::string_view text) {
  uint32_t cp;
  for (size_t i = 0; i < text.size();) {
    const size_t length = Decode(text, i, &cp);
    if (length == 0) {  // not UTF-8: judge the byte alone
      cp = static_cast<unsigned char>(text[i]);
      if (cp < 0x20 || cp == 0x7F) return true;
      ++i;
      continue;
    }
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
        cp == 0x2028 || cp == 0x2029) {
      return true;
    }
    i += length;
  }
  return false;
}

std::optional<std::string> FindSecretPiece(absl::string_view text,
                                           absl::string_view secret,
                                           size_t min_bytes) {
  if (secret.empty()) return std::nullopt;
  const size_t piece = secret.size() < min_bytes ? secret.size() : min_bytes;
  for (size_t i = 0; i + piece <= secret.size(); ++i) {
    if (text.find(secret.substr(i, piece)) != absl::string_view::npos) {
      return std::string(secret.substr(i, piece));
    }
  }
  return std::nullopt;
}

std::vector<std::string> SplitAtNul(absl::string_view data) {
  std::vector<std::string> parts;
  while (!data.empty()) {
    const size_t nul = data.find('\0');
    if (nul == absl::string_view::npos) {
      parts.emplace_back(data);
      break;
    }
    parts.emplace_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  return parts;
}

}  // namespace fuzz
}  // namespace usergateway
