#include "kvtransfer/ucx/ucx_status.h"

#include "absl/strings/str_cat.h"

namespace baton::kvtransfer {

absl::Status UcsToStatus(ucs_status_t status, absl::string_view what) {
  if (status == UCS_OK) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", ucs_status_string(status));
  switch (status) {
    case UCS_ERR_UNREACHABLE:
    case UCS_ERR_CONNECTION_RESET:
    case UCS_ERR_ENDPOINT_TIMEOUT:
    case UCS_ERR_REJECTED:
    case UCS_ERR_NOT_CONNECTED:
    case UCS_ERR_IO_ERROR:
    case UCS_ERR_NO_DEVICE:
    case UCS_ERR_SHMEM_SEGMENT:
    case UCS_ERR_BUSY:
      return absl::UnavailableError(message);
    case UCS_ERR_CANCELED:
      return absl::AbortedError(message);
    case UCS_ERR_TIMED_OUT:
    case UCS_ERR_EXCEEDS_LIMIT:
      return absl::DeadlineExceededError(message);
    case UCS_ERR_NO_MEMORY:
    case UCS_ERR_NO_RESOURCE:
    case UCS_ERR_OUT_OF_RANGE:
      return absl::ResourceExhaustedError(message);
    case UCS_ERR_INVALID_PARAM:
    case UCS_ERR_INVALID_ADDR:
      return absl::InvalidArgumentError(message);
    case UCS_ERR_UNSUPPORTED:
      return absl::UnimplementedError(message);
    case UCS_ERR_MESSAGE_TRUNCATED:
      return absl::DataLossError(message);
    case UCS_ERR_NO_ELEM:
      return absl::NotFoundError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace baton::kvtransfer
