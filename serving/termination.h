// Waiting for SIGTERM / SIGINT in a worker's main thread, so it can shut down cleanly.
//
// BlockTerminationSignals() must run in main before any thread starts (threads inherit the
// mask, so the signals stay pending for WaitForTerminationSignal's sigwait).
#pragma once

namespace baton::serving {

void BlockTerminationSignals();
// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace baton::serving
