#!/usr/bin/env python3
"""Writes a //loadgen JSONL dataset of distinct prompts of an exact token count for models whose
vocabulary has only byte pieces for plain text, such as the random-weight files engine/tools:
make_model writes (and llama-quantize copies): their word tokens ("▁tokN") are never produced by
the SentencePiece encoder, so loadgen's synthetic prompts cannot be built from them, and text
encodes to BOS + the three bytes of the leading "▁" + one byte token per ASCII letter.

  byte_prompts.py COUNT PROMPT_TOKENS OUTPUT_TOKENS SEED FILE

Every prompt is random lowercase letters, so no two share a KV block (no prefix-cache hits).
"""
import json
import random
import sys

# BOS and the leading "▁" (three byte tokens) the tokenizer adds before the letters.
OVERHEAD_TOKENS = 4


def prompts(count, prompt_tokens, seed):
    if prompt_tokens <= OVERHEAD_TOKENS:
        raise ValueError(f"prompts need more than {OVERHEAD_TOKENS} tokens")
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(prompt_tokens - OVERHEAD_TOKENS))
            for _ in range(count)]


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    count, prompt_tokens, output_tokens, seed = (int(a) for a in argv[1:5])
    with open(argv[5], "w", encoding="utf-8") as f:
        for text in prompts(count, prompt_tokens, seed):
            f.write(json.dumps({"prompt": text, "output_tokens": output_tokens}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
