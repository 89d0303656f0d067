// Encoding throughput in MB/s for English and for mixed CJK/emoji text.
//   bazel run //engine/tokenizer/tools:tokenizer_benchmark -- --model=/path/vocab.gguf
//       [--model=/path/other.gguf] [--benchmark_min_time=1]
// Without --model it measures the small built-in test vocabularies (mostly byte fallback, so
// only an upper bound on per-byte overhead).
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/test_vocabs.h"
#include "engine/tokenizer/tokenizer.h"

namespace baton::engine::tokenizer {
namespace {

std::string Repeat(const std::string& unit, size_t bytes) {
  std::string s;
  while (s.size() < bytes) s += unit;
  return s;
}

const std::string& EnglishText() {
  static const std::string* text = new std::string(
      Repeat("The quick brown fox jumps over the lazy dog. In 2024, researchers measured 1,234 "
             "samples across 56 sites; results weren't conclusive, but they're promising!\n"
             "def tokenize(text):\n    return [ord(c) for c in text]  # naive\n",
             1 << 18));
  return *text;
}

const std::string& MixedText() {
  static const std::string* text =
      new std::string(Repeat("今日は良い天気ですね。我们明天去北京吧！한국어 문장도 있습니다. "
                             "🙂👍🏽🚀 "
                             "Mixed with English words, 数字 12345 and emoji 🎉🎉. Привет, мир! ",
                             1 << 18));
  return *text;
}

void BM_Encode(benchmark::State& state, const Tokenizer* tokenizer, const std::string* text) {
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tokenizer->Encode(*text, EncodeOptions{.add_special = false});
    tokens = ids->size();
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text->size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

void BM_StreamDecode(benchmark::State& state, const Tokenizer* tokenizer, const std::string* text) {
  const std::vector<int32_t> ids = *tokenizer->Encode(*text, EncodeOptions{.add_special = false});
  for (auto _ : state) {
    IncrementalDecoder decoder(tokenizer);
    size_t bytes = 0;
    for (int32_t id : ids) bytes += decoder.Feed(id).size();
    bytes += decoder.Flush().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text->size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}

void Register(const std::string& name, const Tokenizer* tokenizer) {
  benchmark::RegisterBenchmark(("Encode/" + name + "/english").c_str(), BM_Encode, tokenizer,
                               &EnglishText());
  benchmark::RegisterBenchmark(("Encode/" + name + "/cjk_emoji").c_str(), BM_Encode, tokenizer,
                               &MixedText());
  benchmark::RegisterBenchmark(("StreamDecode/" + name + "/english").c_str(), BM_StreamDecode,
                               tokenizer, &EnglishText());
}

}  // namespace
}  // namespace baton::engine::tokenizer

int main(int argc, char** argv) {
  using namespace baton::engine::tokenizer;
  std::vector<std::unique_ptr<Tokenizer>> tokenizers;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--model=", 8) != 0) {
      rest.push_back(argv[i]);
      continue;
    }
    const std::string path = argv[i] + 8;
    auto file = baton::engine::gguf::GgufFile::Open(path);
    auto vocab = file.ok() ? LoadVocabFromGguf(**file) : file.status();
    auto tokenizer = vocab.ok() ? Tokenizer::Create(*std::move(vocab)) : vocab.status();
    if (!tokenizer.ok()) {
      std::cerr << path << ": " << tokenizer.status() << "\n";
      return 1;
    }
    std::string name = path.substr(path.find_last_of('/') + 1);
    tokenizers.push_back(*std::move(tokenizer));
    Register(name, tokenizers.back().get());
  }
  if (tokenizers.empty()) {
    tokenizers.push_back(*Tokenizer::Create(testing::MakeSentencePieceVocab()));
    Register("test-spm", tokenizers.back().get());
    tokenizers.push_back(*Tokenizer::Create(testing::MakeByteLevelVocab()));
    Register("test-bpe", tokenizers.back().get());
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
