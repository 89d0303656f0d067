// Minimal leveled logging to stderr (abseil 20220623 has no absl/log; glog would drag in gflags).
//   LOG(INFO) << "listening on " << port;
//   CHECK(ptr != nullptr) << "why";        // our own invariants only, never peer/user input
// Thread-safe: each statement is formatted into its own buffer and written with one write(2).
#pragma once

#include <sstream>
#include <string_view>

namespace baton::common {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

// Messages below this level are dropped. Default kInfo. Thread-safe.
void SetMinLogLevel(LogSeverity level);
LogSeverity MinLogLevel();

class LogMessage {
 public:
  LogMessage(const char* file, int line, LogSeverity severity);
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  // Writes the line; aborts the process for kFatal.
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

// Swallows the stream expression when the level is disabled.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace baton::common

#define BATON_LOG_SEVERITY_DEBUG ::baton::common::LogSeverity::kDebug
#define BATON_LOG_SEVERITY_INFO ::baton::common::LogSeverity::kInfo
#define BATON_LOG_SEVERITY_WARNING ::baton::common::LogSeverity::kWarning
#define BATON_LOG_SEVERITY_ERROR ::baton::common::LogSeverity::kError
#define BATON_LOG_SEVERITY_FATAL ::baton::common::LogSeverity::kFatal

#define LOG(level)                                                        \
  (BATON_LOG_SEVERITY_##level < ::baton::common::MinLogLevel())           \
      ? (void)0                                                           \
      : ::baton::common::LogVoidify() &                                   \
            ::baton::common::LogMessage(__FILE__, __LINE__, BATON_LOG_SEVERITY_##level).stream()

#define CHECK(cond)                                                                \
  (cond) ? (void)0                                                                 \
         : ::baton::common::LogVoidify() &                                         \
               ::baton::common::LogMessage(__FILE__, __LINE__,                     \
                                           ::baton::common::LogSeverity::kFatal)   \
                       .stream()                                                   \
                   << "Check failed: " #cond " "

#define CHECK_OK(expr)                                                             \
  do {                                                                             \
    const ::absl::Status baton_check_status_ = (expr);                             \
    CHECK(baton_check_status_.ok()) << baton_check_status_;                        \
  } while (false)
