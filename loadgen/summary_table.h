// The terminal rendering of a run: a table in the layout of `vllm bench serve`'s summary, with the
// failures by error code (and one message each) when any request failed, and the one-line
// progress display that a terminal shows while a run goes. Stateless functions, thread-safe.
#pragma once

#include <string>

#include "loadgen/result_json.h"
#include "loadgen/runner.h"
#include "loadgen/summary.h"

namespace baton::loadgen {

std::string SummaryTable(const RunDescription& run, const Summary& summary);

// "[=====>    ] 120/200 req  12.0 s  9.8 req/s  1530 tok/s  errors 2", without a newline.
std::string ProgressLine(const Progress& progress, int width = 30);

}  // namespace baton::loadgen
