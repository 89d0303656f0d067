// Turns token ids into text by concatenating GGUF vocabulary pieces (SentencePiece-style "▁" as
// space, "<0xNN>" byte tokens as raw bytes, control tokens dropped). A stopgap for tools until
// engine/tokenizer's decoder is wired in; no normalisation or merges. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>


namespace baton::engine::tools {

// Ids outside `pieces` are rendered as "<unk:ID>".
std::string NaiveDetokenize(const std::vector<std::string>& pieces,
                            std::span<const int32_t> ids);

}  // namespace baton::engine::tools
