#include "gateway/upstream/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>  // NOLINT(build/c++11): hardware_concurrency
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gateway/common/file_util.h"

namespace usergateway {

std::optional<size_t> CpusFromCgroupCpuMax(absl::string_view contents) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(contents), ' ',
                     absl::SkipEmpty());
  if (fields.size() != 2) return std::nullopt;
  uint64_t quota = 0;
  uint64_t period = 0;
  if (!absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period) || quota == 0 || period == 0) {
    return std::nullopt;  // "max" (no limit) lands here too
  }
  const uint64_t cpus = quota / period + (quota % period != 0 ? 1 : 0);
  return static_cast<size_t>(std::max<uint64_t>(cpus, 1));
}

size_t AvailableCpus() {
  size_t cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    cpus = static_cast<size_t>(CPU_COUNT(&set));
  }
  if (cpus == 0) cpus = std::thread::hardware_concurrency();
  if (std::optional<std::string> contents =
          ReadFileToString("/sys/fs/cgroup/cpu.max")) {
    std::optional<size_t> quota = CpusFromCgroupCpuMax(*contents);
    if (quota.has_value() && (cpus == 0 || *quota < cpus)) cpus = *quota;
  }
  return std::max<size_t>(cpus, 1);
}

}  // namespace usergateway
