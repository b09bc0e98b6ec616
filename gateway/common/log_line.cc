#include "gateway/common/log_line.h"

#include <cstdio>
#include <string>

#include "gateway/common/json_escape.h"

namespace usergateway {

void WriteLogLine(absl::string_view level, absl::string_view message) {
  std::string line = "{\"level\":";
  AppendJsonString(level, &line);
  line += ",\"msg\":";
  AppendJsonString(message, &line);
  line += "}\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace usergateway
