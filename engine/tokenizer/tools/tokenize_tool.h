// The `tokenize` command-line tool: prints the token ids of a text for a GGUF model's
// vocabulary, or runs a .inp/.out conformance vector pair. Single-threaded.
#pragma once

#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace baton::engine::tokenizer {

struct TokenizeOptions {
  std::string model_path;   // GGUF file holding tokenizer.* metadata
  std::string text;         // text to encode (used when file and vectors are empty)
  std::string file;         // read the text from this file instead
  std::string vectors;      // PREFIX of PREFIX.inp / PREFIX.out: run the conformance cases
  bool json = false;        // print {"ids": [...], "pieces": [...]} instead of plain ids
  bool add_special = true;  // add BOS/EOS as the vocabulary says
  bool parse_special = false;
};

// Runs the tool, writing results to `out`. For --vectors the status is kFailedPrecondition
// when a case fails (after printing every case and the "N passed, N failed" line). Other errors
// come from opening the model or files.
absl::Status RunTokenize(const TokenizeOptions& options, std::ostream& out);

}  // namespace baton::engine::tokenizer
