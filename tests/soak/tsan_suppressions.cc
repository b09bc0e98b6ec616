// ThreadSanitizer suppressions, compiled into every test binary that runs
// the upstream emulator in-process (a dependency of //tests/emulator:emulator),
// so that `bazel test --config=tsan` needs no suppressions file or path.
//
// Debian's cpp-httplib (the emulator's HTTP server; test code only) is a
// shared library not built for TSan: TSan sees the memcpy and memcmp its
// worker threads make (they are intercepted) but not the plain loads and
// stores around them, and reports races between two of its own workers.
// `race:` drops only reports with a frame in that library: the gateway's
// client side (the libcurl loops) never has one. (`called_from_lib` would
// also hide its close() calls from TSan's descriptor tracking, which then
// reports false races on reused descriptors.)
//
// TSan reads this weak hook of its runtime at start; without TSan nothing
// calls it.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libcpp-httplib.so\n";
}
