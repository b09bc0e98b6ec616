// Tests of the call log: the line format, and the CallLogWriter's promises
// (Submit never waits, drops are counted and reported in-band, every line
// is one complete JSON object, destruction writes what is queued), on real
// pipes. A pipe is made "stuck" by filling it before the writer writes, so
// that the writer's first write(2) blocks until the test starts reading.
#include "gateway/ingress/call_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>  // NOLINT(build/c++11)
#include <cstdint>
#include <functional>
#include <future>  // NOLINT(build/c++11)
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gateway/common/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace usergateway {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Le;

// How long Submit calls may take in all, measured generously: they take
// microseconds; a Submit that waited for the stuck pipe would never return.
constexpr auto kSubmitBound = std::chrono::seconds(30);

// The FakeClock's default start, as the log writes it.
constexpr char kFakeNow[] = "2023-11-14T22:13:20.000Z";

CallLogEntry MakeEntry(int i, std::string user_id = "") {
  CallLogEntry entry;
  entry.start = absl::FromUnixMillis(1700000000000 + i);
  entry.request_id = absl::StrCat("req-", i);
  entry.user_id = user_id.empty() ? absl::StrCat("user-", i) : user_id;
  entry.grpc_code = i % 2 == 0 ? "OK" : "NOT_FOUND";
  entry.reason = i % 2 == 0 ? "" : "UPSTREAM_NOT_FOUND";
  entry.http_status = i % 2 == 0 ? 200 : 404;
  entry.attempts = 1;
  entry.latency = absl::Microseconds(1500);
  entry.upstream_latency = absl::Microseconds(1250);
  return entry;
}

// A pipe whose read end the test controls. Not thread-safe: one test
// thread drives it; its reader thread only appends to `text_`, which is
// read after the join.
class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_fd_ = fds[0];
      write_fd_ = fds[1];
    }
  }
  ~Pipe() {
    CloseWriteEnd();
    if (reader_.joinable()) reader_.join();
    if (read_fd_ >= 0) ::close(read_fd_);
  }

  bool ok() const { return read_fd_ >= 0 && write_fd_ >= 0; }
  int write_fd() const { return write_fd_; }

  // Fills the pipe with lines of 'f's until it holds no more, so that the
  // next blocking write waits for a reader. Returns false on error.
  bool Fill() {
    const int flags = ::fcntl(write_fd_, F_GETFL);
    if (flags < 0 || ::fcntl(write_fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
      return false;
    }
    // Small enough that a write into a nearly full pipe cannot be partial
    // (writes of at most PIPE_BUF bytes are all or nothing).
    const std::string chunk = std::string(511, 'f') + "\n";
    bool ok = true;
    for (;;) {
      ssize_t n = ::write(write_fd_, chunk.data(), chunk.size());
      if (n == static_cast<ssize_t>(chunk.size())) continue;
      ok = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      break;
    }
    return ::fcntl(write_fd_, F_SETFL, flags) == 0 && ok;
  }

  // Reads everything from now on, in a thread, until the write end closes.
  void StartReading() {
    reader_ = std::thread([this] {
      char buffer[16384];
      for (;;) {
        ssize_t n = ::read(read_fd_, buffer, sizeof(buffer));
        if (n > 0) {
          text_.append(buffer, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          return;
        }
      }
    });
  }

  // Closes the write end (the writer must be gone) and returns every line
  // read, without the filler.
  std::vector<std::string> Finish() {
    CloseWriteEnd();
    if (reader_.joinable()) reader_.join();
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(text_, '\n')) {
      if (line.empty() || line.front() == 'f') continue;
      lines.emplace_back(line);
    }
    return lines;
  }

  // Everything read, byte for byte (valid after Finish).
  const std::string& text() const { return text_; }

 private:
  void CloseWriteEnd() {
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
  }

  int read_fd_ = -1;
  int write_fd_ = -1;
  std::thread reader_;
  std::string text_;
};

// What one log line says; each member is present only when the line has
// it with the expected JSON type.
struct ParsedLine {
  std::optional<std::string> ts, request_id, user_id, grpc_code, reason,
      level, msg;
  std::optional<int64_t> http_status, attempts, dropped;
  std::optional<double> latency_ms;
};

// Parses `line` as one complete JSON object (simdjson's DOM parser checks
// the whole text). Returns kInvalidArgument otherwise.
absl::StatusOr<ParsedLine> ParseLine(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (simdjson::error_code error = parser.parse(line).get(doc); error) {
    return absl::InvalidArgumentError(
        absl::StrCat(simdjson::error_message(error), " in: ", line));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object)) {
    return absl::InvalidArgumentError(absl::StrCat("not an object: ", line));
  }
  ParsedLine out;
  auto text = [&object](const char* key, std::optional<std::string>* value) {
    std::string_view v;
    if (!object[key].get_string().get(v)) value->emplace(v);
  };
  auto integer = [&object](const char* key, std::optional<int64_t>* value) {
    int64_t v;
    if (!object[key].get_int64().get(v)) *value = v;
  };
  text("ts", &out.ts);
  text("request_id", &out.request_id);
  text("user_id", &out.user_id);
  text("grpc_code", &out.grpc_code);
  text("reason", &out.reason);
  text("level", &out.level);
  text("msg", &out.msg);
  integer("http_status", &out.http_status);
  integer("attempts", &out.attempts);
  integer("dropped", &out.dropped);
  double latency;
  if (!object["latency_ms"].get_double().get(latency)) out.latency_ms = latency;
  return out;
}

// The call lines and the drop reports of one log, every line parsed.
struct ParsedLog {
  std::vector<ParsedLine> calls;
  std::vector<ParsedLine> drop_reports;
  uint64_t reported_drops = 0;  // the sum of the reports' "dropped"
};

ParsedLog ParseLog(const std::vector<std::string>& lines) {
  ParsedLog log;
  for (const std::string& line : lines) {
    absl::StatusOr<ParsedLine> parsed = ParseLine(line);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) continue;
    if (parsed->level.has_value()) {
      EXPECT_EQ(parsed->level, "warn") << line;
      EXPECT_TRUE(parsed->dropped.has_value()) << line;
      const int64_t n = parsed->dropped.value_or(0);
      EXPECT_GT(n, 0) << line;
      EXPECT_EQ(parsed->msg, absl::StrCat("call log: ", n,
                                          n == 1 ? " line" : " lines",
                                          " dropped"))
          << line;
      log.reported_drops += static_cast<uint64_t>(n);
      log.drop_reports.push_back(*std::move(parsed));
    } else {
      log.calls.push_back(*std::move(parsed));
    }
  }
  return log;
}

// Submits entries 0..n-1 on a thread of its own. Returns whether they were
// all submitted within kSubmitBound; if not, `unblock` runs (to let a
// blocked Submit return) before the thread is joined.
bool SubmitWithinBound(CallLogWriter& writer, int n,
                       const std::function<void()>& unblock) {
  std::promise<void> done;
  std::future<void> submitted = done.get_future();
  std::thread submitter([&writer, n, &done] {
    for (int i = 0; i < n; ++i) writer.Submit(MakeEntry(i));
    done.set_value();
  });
  const bool in_time =
      submitted.wait_for(kSubmitBound) == std::future_status::ready;
  if (!in_time) unblock();
  submitter.join();
  return in_time;
}

// ---------------------------------------------------------------------------
// The line format.

struct FormatCase {
  std::string name;
  CallLogEntry entry;
  std::string line;
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.name; }

class FormatCallLogTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatCallLogTest, OneJsonObjectAndANewline) {
  const FormatCase& c = GetParam();
  EXPECT_EQ(FormatCallLog(c.entry), c.line);
}

CallLogEntry Entry(std::string user_id, std::string code, std::string reason,
                   int http_status, int attempts) {
  CallLogEntry entry;
  entry.start = absl::FromUnixMillis(1700000000123);
  entry.request_id = "req-1";
  entry.user_id = std::move(user_id);
  entry.grpc_code = std::move(code);
  entry.reason = std::move(reason);
  entry.http_status = http_status;
  entry.attempts = attempts;
  entry.latency = absl::Microseconds(7341);
  entry.upstream_latency = absl::Microseconds(6952);
  return entry;
}

INSTANTIATE_TEST_SUITE_P(
    Table, FormatCallLogTest,
    ::testing::Values(
        FormatCase{"Success", Entry("u-1", "OK", "", 200, 1),
                   R"({"ts":"2023-11-14T22:13:20.123Z","request_id":"req-1",)"
                   R"("user_id":"u-1","grpc_code":"OK","http_status":200,)"
                   R"("attempts":1,"latency_ms":7.341,"upstream_ms":6.952})"
                   "\n"},
        FormatCase{"ErrorHasReason",
                   Entry("u-1", "NOT_FOUND", "UPSTREAM_NOT_FOUND", 404, 3),
                   R"({"ts":"2023-11-14T22:13:20.123Z","request_id":"req-1",)"
                   R"("user_id":"u-1","grpc_code":"NOT_FOUND",)"
                   R"("reason":"UPSTREAM_NOT_FOUND","http_status":404,)"
                   R"("attempts":3,"latency_ms":7.341,"upstream_ms":6.952})"
                   "\n"},
        FormatCase{"UserIdEscaped",
                   Entry("a\"b\\c\nd\x01", "INVALID_ARGUMENT",
                         "INVALID_REQUEST", 0, 0),
                   R"({"ts":"2023-11-14T22:13:20.123Z","request_id":"req-1",)"
                   R"("user_id":"a\"b\\c\nd\u0001",)"
                   R"("grpc_code":"INVALID_ARGUMENT",)"
                   R"("reason":"INVALID_REQUEST","http_status":0,)"
                   R"("attempts":0,"latency_ms":7.341,"upstream_ms":6.952})"
                   "\n"}),
    [](const ::testing::TestParamInfo<FormatCase>& info) {
      return info.param.name;
    });

// ---------------------------------------------------------------------------
// The writer.

TEST(CallLogWriterTest, WritesOneCompleteJsonLinePerEntryInOrder) {
  Pipe pipe;
  ASSERT_TRUE(pipe.ok());
  pipe.StartReading();
  // User ids that would break a line or a naive escaper, and one line
  // longer than PIPE_BUF, which goes out in a write of its own.
  const std::vector<std::string> user_ids = {
      "plain", "quote\"back\\slash", "new\nline\r\n", "tab\tnul",
      "\xC3\xA9\xF0\x9F\xA6\x93", std::string(5000, 'u'), "after-long"};
  constexpr int kRounds = 300;  // several batches, several writes each
  {
    CallLogWriter writer(pipe.write_fd());
    for (int i = 0; i < kRounds * static_cast<int>(user_ids.size()); ++i) {
      writer.Submit(MakeEntry(i, user_ids[i % user_ids.size()]));
    }
    EXPECT_EQ(writer.dropped(), 0u);
  }
  const std::vector<std::string> lines = pipe.Finish();
  // Only whole lines: the text ends with the last line's newline.
  EXPECT_TRUE(absl::EndsWith(pipe.text(), "}\n"));
  const ParsedLog log = ParseLog(lines);
  EXPECT_TRUE(log.drop_reports.empty());
  ASSERT_EQ(log.calls.size(), kRounds * user_ids.size());
  for (size_t i = 0; i < log.calls.size(); ++i) {
    const ParsedLine& line = log.calls[i];
    const CallLogEntry want = MakeEntry(static_cast<int>(i));
    EXPECT_EQ(line.request_id, want.request_id) << i;
    EXPECT_EQ(line.user_id, user_ids[i % user_ids.size()]) << i;
    EXPECT_EQ(line.grpc_code, want.grpc_code) << i;
    EXPECT_EQ(line.http_status, want.http_status) << i;
    EXPECT_EQ(line.latency_ms, 1.5) << i;
  }
}

TEST(CallLogWriterTest, ConcurrentSubmitsAreEachWrittenOnce) {
  Pipe pipe;
  ASSERT_TRUE(pipe.ok());
  pipe.StartReading();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  {
    CallLogWriter writer(pipe.write_fd());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) {
          writer.Submit(MakeEntry(t * kPerThread + i));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(writer.dropped(), 0u);
  }
  const ParsedLog log = ParseLog(pipe.Finish());
  ASSERT_EQ(log.calls.size(), kThreads * kPerThread);
  std::vector<bool> seen(kThreads * kPerThread, false);
  for (const ParsedLine& line : log.calls) {
    ASSERT_TRUE(line.request_id.has_value());
    int i = -1;
    ASSERT_TRUE(absl::SimpleAtoi(line.request_id->substr(4), &i))
        << *line.request_id;
    ASSERT_GE(i, 0);
    ASSERT_LT(i, kThreads * kPerThread);
    EXPECT_FALSE(seen[i]) << "twice: " << *line.request_id;
    seen[i] = true;
  }
}

// The pipe is full and nobody reads it: the writer is stuck in its first
// write(2), and must not take the callers with it.
TEST(CallLogWriterTest, SubmitNeverWaitsForAStuckPipeAndCountsDrops) {
  Pipe pipe;
  ASSERT_TRUE(pipe.ok());
  ASSERT_TRUE(pipe.Fill());
  FakeClock clock;
  constexpr size_t kCapacity = 8;
  constexpr int kSubmits = 1000;
  auto writer =
      std::make_unique<CallLogWriter>(pipe.write_fd(), kCapacity, clock);

  const bool in_time =
      SubmitWithinBound(*writer, kSubmits, [&pipe] { pipe.StartReading(); });
  EXPECT_TRUE(in_time) << "Submit waited for the pipe";
  // Accepted: a full queue, plus the batch the writer took before it got
  // stuck (none if it had not woken up yet, at most kCapacity entries).
  // The rest were dropped.
  const uint64_t dropped = writer->dropped();
  EXPECT_THAT(dropped, AllOf(Ge(kSubmits - 2 * kCapacity),
                             Le(kSubmits - kCapacity)));

  if (in_time) pipe.StartReading();  // unstick the writer
  writer.reset();                    // drains, then joins
  const ParsedLog log = ParseLog(pipe.Finish());
  // Every accepted entry was written, and every dropped one reported.
  EXPECT_EQ(log.calls.size() + dropped, static_cast<size_t>(kSubmits));
  EXPECT_EQ(log.reported_drops, dropped);
  ASSERT_FALSE(log.drop_reports.empty());
  EXPECT_EQ(log.drop_reports[0].ts, kFakeNow);  // the injected clock's time
  // The first lines are the first entries, in order: those came before any
  // drop, and the report follows the lines queued ahead of the drops.
  ASSERT_FALSE(log.calls.empty());
  EXPECT_EQ(log.calls[0].request_id, "req-0");
}

// Destruction writes what is still queued, even when the writer has to wait
// for the pipe to get there.
TEST(CallLogWriterTest, DestructionDrainsTheQueue) {
  Pipe pipe;
  ASSERT_TRUE(pipe.ok());
  ASSERT_TRUE(pipe.Fill());
  constexpr int kSubmits = 200;
  auto writer = std::make_unique<CallLogWriter>(pipe.write_fd());
  ASSERT_TRUE(SubmitWithinBound(*writer, kSubmits,
                                [&pipe] { pipe.StartReading(); }));
  // None of them can have been written: the pipe is full.
  pipe.StartReading();
  writer.reset();
  const ParsedLog log = ParseLog(pipe.Finish());
  EXPECT_TRUE(log.drop_reports.empty());
  ASSERT_EQ(log.calls.size(), static_cast<size_t>(kSubmits));
  for (int i = 0; i < kSubmits; ++i) {
    EXPECT_EQ(log.calls[i].request_id, absl::StrCat("req-", i));
  }
}

// A descriptor that refuses every write (ENOSPC): the lines are lost and
// counted (the report of the loss, lost too, is not), and Submit goes on
// working.
TEST(CallLogWriterTest, FailedWritesCountAsDropped) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "no /dev/full";
  {
    CallLogWriter writer(fd);
    for (int i = 0; i < 3; ++i) writer.Submit(MakeEntry(i));
    // The counter has no notification: poll it, bounded.
    const auto deadline = std::chrono::steady_clock::now() + kSubmitBound;
    while (writer.dropped() < 3 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    EXPECT_EQ(writer.dropped(), 3u);
  }
  ::close(fd);
}

}  // namespace
}  // namespace usergateway
