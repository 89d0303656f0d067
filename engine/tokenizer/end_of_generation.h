// The end-of-generation (EOG) rule: which token ids end a model's turn. One owner for the rule,
// so that the decode worker (which stops on these ids), the generate tool and the router's
// tokenizer (Tokenizer::IsEndOfGeneration) always agree.
//
// Pure function over a Vocab; thread-safe. GGUF files: LoadEndOfGenerationIds in gguf_vocab.h.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer {

// The ids that end generation, sorted and without duplicates:
//   - the ids the vocabulary names as EOS, EOT and EOM (tokenizer.ggml.{eos,eot,eom}_token_id);
//   - every special token (control or user-defined) whose text is a well-known end marker:
//     <|eot_id|>, <|eom_id|> (Llama 3), <|im_end|> (ChatML / Qwen), <|end|> (Phi-3),
//     <end_of_turn> (Gemma), <|endoftext|>, <|end_of_text|>, </s>, <EOT> (CodeLlama infill),
//     <｜end▁of▁sentence｜> (DeepSeek).
// Many converted models name only the EOS id, while their chat templates end a turn with
// another marker; llama.cpp fills its EOG set the same way, by text. A marker spelled by a normal
// token is ordinary text and does not count. Ids outside the vocabulary are left out; empty when
// the vocabulary names no EOS and holds no marker (generation then ends only by length).
std::vector<int32_t> EndOfGenerationIds(const Vocab& vocab);

}  // namespace baton::engine::tokenizer
