// tokenize --model PATH (--text TEXT | --file F) [--json] [--add_special=false]
//          [--parse_special]
// tokenize --model PATH --vectors PREFIX     (runs PREFIX.inp / PREFIX.out)
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/tokenizer/tools/tokenize_tool.h"

ABSL_FLAG(std::string, model, "", "GGUF file with the tokenizer metadata");
ABSL_FLAG(std::string, text, "", "text to tokenize");
ABSL_FLAG(std::string, file, "", "read the text to tokenize from this file");
ABSL_FLAG(std::string, vectors, "", "run conformance vectors PREFIX.inp / PREFIX.out");
ABSL_FLAG(bool, json, false, "print JSON with ids and token texts");
ABSL_FLAG(bool, add_special, true, "add BOS/EOS as the vocabulary says");
ABSL_FLAG(bool, parse_special, false, "recognize control-token text in the input");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  baton::engine::tokenizer::TokenizeOptions options;
  options.model_path = absl::GetFlag(FLAGS_model);
  options.text = absl::GetFlag(FLAGS_text);
  options.file = absl::GetFlag(FLAGS_file);
  options.vectors = absl::GetFlag(FLAGS_vectors);
  options.json = absl::GetFlag(FLAGS_json);
  options.add_special = absl::GetFlag(FLAGS_add_special);
  options.parse_special = absl::GetFlag(FLAGS_parse_special);
  const absl::Status status = baton::engine::tokenizer::RunTokenize(options, std::cout);
  if (!status.ok()) {
    std::cerr << "tokenize: " << status << "\n";
    return 1;
  }
  return 0;
}
