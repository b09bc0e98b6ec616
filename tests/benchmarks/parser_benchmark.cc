// How fast the gateway turns the upstream's 200 body into a User:
// ResponseParser (simdjson on-demand) against the same job done with
// nlohmann::json (tests/benchmarks/nlohmann_user_parser.h), on the body the
// emulator sends for the fullest fixture user.
//
//   bazel run --config=opt //tests/benchmarks:parser_benchmark
//
// Each line's label gives the body size and simdjson's two kernels. With
// Debian's shared libsimdjson, stage 1 (structural indexing) and string
// unescaping run in the library, picked at run time from the CPU
// ("stage1="); only the on-demand iteration inlined into ResponseParser is
// the kernel chosen at compile time from the -m flags ("ondemand=":
// `fallback` by default, `westmere` with -msse4.2 -mpclmul, `haswell` with
// -march=haswell). That iteration is scalar code in every kernel, so the
// compile-time choice barely moves these numbers.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "gateway/response/response_parser.h"
#include "simdjson.h"
#include "tests/benchmarks/nlohmann_user_parser.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/json_tree.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

// The emulator's 200 body for the first (fullest) fixture user: the array
// element serialized compactly, as the emulator does. Computed once.
const absl::StatusOr<std::string>& FixtureBody() {
  static const absl::StatusOr<std::string>* const body =
      new absl::StatusOr<std::string>([]() -> absl::StatusOr<std::string> {
        absl::StatusOr<testing::JsonValue> users =
            testing::ParseJson(testing::EmbeddedUsersJson());
        if (!users.ok()) return users.status();
        if (!users->is_array() || users->items().empty()) {
          return absl::FailedPreconditionError(
              "the fixture is not a non-empty array");
        }
        return users->items().front().Serialize();
      }());
  return *body;
}

std::string Label(size_t body_size) {
  return absl::StrCat(
      body_size, "-byte body; simdjson stage1=",
      simdjson::get_active_implementation()->name(),
      " ondemand=", simdjson::builtin::implementation().name());
}

// Reports MB/s (bytes of body) and the time per document; called after the
// timed loop.
void SetCounters(benchmark::State& state, size_t body_size) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body_size));
  // Documents per second, inverted: seconds per document, which the console
  // shows with an SI prefix ("812.3ns") and JSON output as seconds.
  state.counters["time/doc"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(Label(body_size));
}

void SkipWithStatus(benchmark::State& state, const absl::Status& status) {
  const std::string message = status.ToString();
  state.SkipWithError(message.c_str());
}

// The parse loop shared by the ResponseParser variants: `body`'s capacity
// decides whether ResponseParser parses in place or copies first.
void RunResponseParser(benchmark::State& state, const std::string& body) {
  ResponseParser parser;
  // Reused across iterations. Clear() keeps the top-level strings' buffers
  // but deletes the `profile` and `emm` sub-messages (protobuf 3.21, no
  // arena), so most of a parse's ~58 allocations recur every time.
  v1::User user;
  for (auto _ : state) {
    const absl::Status status = parser.ParseUser(body, &user);
    if (!status.ok()) {
      SkipWithStatus(state, status);
      break;
    }
    benchmark::DoNotOptimize(user);
    benchmark::ClobberMemory();
  }
  SetCounters(state, body.size());
}

// ResponseParser on a body with SIMDJSON_PADDING spare capacity, as the
// upstream client delivers it: parsed in place, no copy.
void BM_SimdjsonResponseParser(benchmark::State& state) {
  const absl::StatusOr<std::string>& fixture = FixtureBody();
  if (!fixture.ok()) return SkipWithStatus(state, fixture.status());
  std::string body;
  body.reserve(fixture->size() + simdjson::SIMDJSON_PADDING);
  body.assign(*fixture);
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    return state.SkipWithError("the body did not get its padding");
  }
  RunResponseParser(state, body);
}
BENCHMARK(BM_SimdjsonResponseParser);

// ResponseParser on a body without spare capacity: each call copies it into
// the parser's padded scratch buffer first.
void BM_SimdjsonResponseParserUnpadded(benchmark::State& state) {
  const absl::StatusOr<std::string>& fixture = FixtureBody();
  if (!fixture.ok()) return SkipWithStatus(state, fixture.status());
  std::string body(*fixture);
  body.shrink_to_fit();
  if (body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING) {
    return state.SkipWithError("the body has padding; no copy would happen");
  }
  RunResponseParser(state, body);
}
BENCHMARK(BM_SimdjsonResponseParserUnpadded);

// The same job with nlohmann::json: DOM parse, then the proto filled by
// find() per known key.
void BM_NlohmannParser(benchmark::State& state) {
  const absl::StatusOr<std::string>& fixture = FixtureBody();
  if (!fixture.ok()) return SkipWithStatus(state, fixture.status());
  const std::string& body = *fixture;
  v1::User user;  // reused, as above
  for (auto _ : state) {
    const absl::Status status = NlohmannParseUser(body, &user);
    if (!status.ok()) {
      SkipWithStatus(state, status);
      break;
    }
    benchmark::DoNotOptimize(user);
    benchmark::ClobberMemory();
  }
  SetCounters(state, body.size());
}
BENCHMARK(BM_NlohmannParser);

}  // namespace
}  // namespace usergateway
