// Small hand-built vocabularies for tests that must run without ../shared. Test-only.
#pragma once

#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer::testing {

// SentencePiece-style: <unk>=0 (unknown), <s>=1 and </s>=2 (control), byte tokens <0x00>..<0xFF>
// at 3..258, then a few scored pieces ("▁the", "▁hello", "ll", ...). Adds BOS and a space
// prefix. No piece covers non-ASCII text, so that goes through byte fallback.
Vocab MakeSentencePieceVocab();

// Byte-level BPE with the "gpt-2" pre-tokenizer: the 256 byte tokens at 0..255, then merged
// tokens ("Ġh", "he", "Ġthe", "ll", "Ġhello", ...), then "<|endoftext|>" (control, also EOS)
// and "<tool>" (user-defined).
Vocab MakeByteLevelVocab();

}  // namespace baton::engine::tokenizer::testing
