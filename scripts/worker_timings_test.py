"""Tests of scripts/worker_timings.py on metrics text in the workers' format."""
import os
import tempfile
import unittest

import worker_timings



def metrics_text(samples):
    """Metrics text in the workers' format: one sample a line after a comment."""
    return "# TYPE baton_x counter\n" + "".join(f"{k} {v}\n" for k, v in samples.items())


def prefill_text(prompt_tokens, steps, seconds, inf_bucket, sequences):
    return metrics_text({
        "baton_prefill_prompt_tokens_total": prompt_tokens,
        "baton_prefill_step_seconds_count": steps,
        "baton_prefill_step_seconds_sum": seconds,
        'baton_prefill_step_seconds_bucket{le="0.5"}': 1,
        'baton_prefill_step_seconds_bucket{le="+Inf"}': inf_bucket,
        "baton_prefill_batch_tokens_count": steps,
        "baton_prefill_batch_tokens_sum": prompt_tokens,
        "baton_prefill_batch_sequences_count": steps,
        "baton_prefill_batch_sequences_sum": sequences,
    })


PREFILL_BEFORE = prefill_text(100, 2, 1.5, 2, 2)
PREFILL_AFTER = prefill_text(1124, 4, 9.5, 4, 10)
DECODE_BEFORE = "baton_decode_step_seconds_count 0\nbaton_decode_step_seconds_sum 0\n"
DECODE_AFTER = """\
baton_decode_step_seconds_count 10 1700000000000
baton_decode_step_seconds_sum 2
baton_decode_batch_size_count 10
baton_decode_batch_size_sum 80
baton_decode_generated_tokens_total 88
baton_decode_local_prefill_tokens_total 0
"""


class WorkerTimingsTest(unittest.TestCase):
    def test_parse_keeps_labels_and_skips_comments(self):
        samples = worker_timings.parse(PREFILL_BEFORE)
        self.assertEqual(samples["baton_prefill_prompt_tokens_total"], 100)
        self.assertEqual(samples['baton_prefill_step_seconds_bucket{le="+Inf"}'], 2)
        self.assertNotIn("#", "".join(samples))

    def test_parse_rejects_a_line_without_value(self):
        with self.assertRaises(ValueError):
            worker_timings.parse("baton_prefill_steps_total\n")

    def test_prefill_figures_are_per_window(self):
        f = worker_timings.prefill_figures(worker_timings.parse(PREFILL_BEFORE),
                                           worker_timings.parse(PREFILL_AFTER))
        self.assertEqual(f["steps"], 2)
        self.assertAlmostEqual(f["step_seconds"], 8.0)
        self.assertEqual(f["tokens"], 1024)
        self.assertAlmostEqual(f["tokens_per_second"], 128.0)
        self.assertAlmostEqual(f["mean_batch_tokens"], 512.0)
        self.assertAlmostEqual(f["mean_batch_sequences"], 4.0)

    def test_decode_figures_count_step_tokens_not_first_tokens(self):
        f = worker_timings.decode_figures(worker_timings.parse(DECODE_BEFORE),
                                          worker_timings.parse(DECODE_AFTER))
        self.assertEqual(f["tokens"], 80)  # absent before: counted from zero
        self.assertAlmostEqual(f["tokens_per_second"], 40.0)
        self.assertAlmostEqual(f["mean_batch_size"], 8.0)
        self.assertEqual(f["generated_tokens"], 88)

    def test_idle_window_gives_zero_rates(self):
        samples = worker_timings.parse(DECODE_AFTER)
        f = worker_timings.decode_figures(samples, samples)
        self.assertEqual(f["tokens_per_second"], 0.0)
        self.assertEqual(f["mean_batch_size"], 0.0)

    def test_grown_compares_with_the_baseline(self):
        before = worker_timings.parse(PREFILL_BEFORE)
        after = worker_timings.parse(PREFILL_AFTER)
        metric = "baton_prefill_prompt_tokens_total"
        self.assertTrue(worker_timings.grown(before, after, metric, 1024))
        self.assertFalse(worker_timings.grown(before, after, metric, 1025))

    def test_missing_metric_is_an_error(self):
        with self.assertRaises(KeyError):
            worker_timings.prefill_figures({}, worker_timings.parse(DECODE_AFTER))

    def test_report_command_reads_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, text in enumerate([PREFILL_BEFORE, PREFILL_AFTER, DECODE_BEFORE, DECODE_AFTER]):
                paths.append(os.path.join(tmp, f"{i}.txt"))
                with open(paths[-1], "w", encoding="utf-8") as f:
                    f.write(text)
            self.assertEqual(worker_timings.main(["worker_timings.py", "report", "x"] + paths), 0)
            self.assertEqual(worker_timings.main(["worker_timings.py", "report"]), 2)


if __name__ == "__main__":
    unittest.main()
