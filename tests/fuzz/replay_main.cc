// A main() for the fuzz targets outside libFuzzer: runs
// LLVMFuzzerTestOneInput once on every file named on the command line or
// found (recursively) under a directory named there. The corpus tests of
// tests/fuzz/BUILD.bazel run it over tests/fuzz/corpus/<target>/, so that
// `bazel test //...` (g++, and the ASan pass) replays every seed and every
// past crasher with the properties checked. A failed property aborts, which
// fails the test; the last "replay:" line names the input.
//
// Exits 0 when every input ran, 1 when an argument cannot be read or no
// input was found (an empty corpus would make the test pass vacuously).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool CollectInputs(const std::filesystem::path& root,
                   std::vector<std::filesystem::path>* inputs) {
  std::error_code error;
  if (std::filesystem::is_regular_file(root, error)) {
    inputs->push_back(root);
    return true;
  }
  if (!std::filesystem::is_directory(root, error)) {
    std::fprintf(stderr, "replay: cannot read %s\n", root.c_str());
    return false;
  }
  for (std::filesystem::recursive_directory_iterator it(
           root, std::filesystem::directory_options::follow_directory_symlink,
           error),
       end;
       !error && it != end; it.increment(error)) {
    if (std::filesystem::is_regular_file(it->path())) {
      inputs->push_back(it->path());
    }
  }
  if (error) {
    std::fprintf(stderr, "replay: cannot list %s: %s\n", root.c_str(),
                 error.message().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!CollectInputs(argv[i], &inputs)) return 1;
  }
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no input found (an empty corpus?)\n");
    return 1;
  }
  for (const std::filesystem::path& path : inputs) {
    std::ifstream file(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    if (!file.good() && !file.eof()) {
      std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
      return 1;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(),
                 data.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                           data.size());
  }
  std::printf("replayed %zu inputs, every property held\n", inputs.size());
  return 0;
}
