// How many CPUs this process may use: the affinity mask, bounded by a
// cgroup v2 CPU quota (a Kubernetes CPU limit) when one is set. The
// gateway sizes its upstream event loops from it.
//
// Example:
//
//   size_t loops = AvailableCpus();  // 2 in a pod with limits.cpu: "1500m"
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_CPU_COUNT_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_CPU_COUNT_H_

#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace usergateway {

// Parses the contents of a cgroup v2 `cpu.max` file ("QUOTA PERIOD" in
// microseconds, or "max PERIOD" for no limit) and returns the CPUs it allows,
// rounded up: "150000 100000" -> 2. Returns nullopt for "max ..." and for
// anything malformed (the caller then ignores the file).
std::optional<size_t> CpusFromCgroupCpuMax(absl::string_view contents);

// The CPUs in this thread's affinity mask, capped by the quota in
// /sys/fs/cgroup/cpu.max when that file exists and sets one. At least 1.
size_t AvailableCpus();

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_CPU_COUNT_H_
