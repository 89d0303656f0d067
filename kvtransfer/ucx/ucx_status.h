// The one conversion from UCX status codes to absl::Status (see STYLE.md "Errors").
// Pure function; no threading concerns.
#pragma once

#include <ucs/type/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace baton::kvtransfer {

// UCS_OK -> OK. A peer that is gone, unreachable or reset -> kUnavailable; cancelled ->
// kAborted; timeouts -> kDeadlineExceeded; no memory/resources -> kResourceExhausted; invalid
// parameters -> kInvalidArgument; unsupported -> kUnimplemented; truncation -> kDataLoss;
// anything else -> kInternal. `what` prefixes the message ("ucp_ep_create: ...").
absl::Status UcsToStatus(ucs_status_t status, absl::string_view what);

}  // namespace baton::kvtransfer
