// Early-return helpers for absl::Status and absl::StatusOr (abseil 20220623 has neither).
// Header only; no threading concerns.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define BATON_STATUS_CONCAT_INNER_(a, b) a##b
#define BATON_STATUS_CONCAT_(a, b) BATON_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status or absl::StatusOr<T>) once and returns its status from the
// enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                                                \
  do {                                                                       \
    const ::absl::Status baton_status_ = ::baton::common::ToStatus((expr));  \
    if (!baton_status_.ok()) return baton_status_;                           \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error returns its
// status, otherwise move-assigns the value to `lhs`, which may be a declaration
// (`auto x`, `const Foo& y`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  BATON_ASSIGN_OR_RETURN_IMPL_(BATON_STATUS_CONCAT_(baton_statusor_, __LINE__), lhs, expr)

#define BATON_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace baton::common {

inline const absl::Status& ToStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace baton::common
