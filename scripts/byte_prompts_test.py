"""Tests of scripts/byte_prompts.py."""
import json
import os
import tempfile
import unittest

import byte_prompts


class BytePromptsTest(unittest.TestCase):
    def test_prompts_have_the_letters_for_the_token_count_and_differ(self):
        texts = byte_prompts.prompts(16, 128, seed=1)
        self.assertEqual(len(texts), 16)
        self.assertEqual(len(set(texts)), 16)
        for text in texts:
            self.assertEqual(len(text), 128 - byte_prompts.OVERHEAD_TOKENS)
            self.assertTrue(text.isascii() and text.isalpha() and text.islower())

    def test_same_seed_same_prompts(self):
        self.assertEqual(byte_prompts.prompts(3, 20, seed=7), byte_prompts.prompts(3, 20, seed=7))

    def test_too_short_is_refused(self):
        with self.assertRaises(ValueError):
            byte_prompts.prompts(1, byte_prompts.OVERHEAD_TOKENS, seed=1)

    def test_writes_loadgen_jsonl(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "p.jsonl")
            self.assertEqual(byte_prompts.main(["byte_prompts.py", "2", "10", "64", "3", path]), 0)
            with open(path, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f]
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0]["output_tokens"], 64)
        self.assertEqual(len(rows[0]["prompt"]), 6)


if __name__ == "__main__":
    unittest.main()
