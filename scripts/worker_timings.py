#!/usr/bin/env python3
"""Worker-level engine timings from the workers' Prometheus /metrics (docs/BENCHMARKS.md).

  worker_timings.py scrape URL FILE
      Saves the metrics text served at URL (e.g. http://127.0.0.1:PORT/metrics) to FILE.
  worker_timings.py wait URL BASELINE_FILE METRIC INCREASE TIMEOUT_S
      Polls URL until METRIC has grown by INCREASE since BASELINE_FILE (a saved scrape); exits 1
      at the timeout. Used to start a decode-only window once every prompt is prefilled.
  worker_timings.py report LABEL PREFILL_BEFORE PREFILL_AFTER DECODE_BEFORE DECODE_AFTER
      Prints, for what happened between the two scrapes of each worker, one line per worker:
      prefill: steps, step seconds, prompt tokens, prompt tokens per step second, mean tokens
      and sequences per step; decode: steps, step seconds, tokens the decode steps computed
      (the sum of baton_decode_batch_size: one per sequence per step), tokens per step second,
      mean batch size, and the generated tokens counted by the worker (those include each
      request's first token, which the prefill worker sampled).

Step seconds are the workers' own measure of Engine::Step (baton_*_step_seconds), so the figures
compare with engine/tools:bench's on the same model and shape; a decode step that also
prefilled locally would mix the two, so the decode line says how many local prefill tokens the
window had (zero when the router sent every prompt to the prefill worker).
"""
import sys
import time
import urllib.request


def parse(text):
    """Maps each sample line's name (with its labels, as written) to its value."""
    samples = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # The value follows the last space outside the labels; an optional timestamp follows it.
        if "}" in line:
            name_end = line.rindex("}") + 1
            name, rest = line[:name_end], line[name_end:].split()
        else:
            name, *rest = line.split()
        if not rest:
            raise ValueError(f"metrics line without a value: {line!r}")
        samples[name] = float(rest[0])
    return samples


def delta(before, after, name):
    """The change of one sample between two scrapes (a sample absent before counts as zero)."""
    if name not in after:
        raise KeyError(f"{name} is not in the metrics")
    return after[name] - before.get(name, 0.0)


def ratio(numerator, denominator):
    return numerator / denominator if denominator > 0 else 0.0


def figures(before, after, worker, tokens_metric, means=None, counts=None):
    """Figures of `worker` (prefill or decode) between the scrapes: steps, their seconds, the
    tokens they computed (`tokens_metric`) per step second, the per-step mean of each metric in
    `means` and the change of each one in `counts` (both: figure name -> metric name)."""
    steps = delta(before, after, f"baton_{worker}_step_seconds_count")
    seconds = delta(before, after, f"baton_{worker}_step_seconds_sum")
    tokens = delta(before, after, tokens_metric)
    out = {"steps": steps, "step_seconds": seconds, "tokens": tokens,
           "tokens_per_second": ratio(tokens, seconds)}
    for name, metric in (means or {}).items():
        out[name] = ratio(delta(before, after, metric), steps)
    for name, metric in (counts or {}).items():
        out[name] = delta(before, after, metric)
    return out


def prefill_figures(before, after):
    return figures(before, after, "prefill", "baton_prefill_prompt_tokens_total", means={
        "mean_batch_tokens": "baton_prefill_batch_tokens_sum",
        "mean_batch_sequences": "baton_prefill_batch_sequences_sum"})


def decode_figures(before, after):
    # One token per sequence per step: the sum of the batch sizes.
    return figures(before, after, "decode", "baton_decode_batch_size_sum",
                   means={"mean_batch_size": "baton_decode_batch_size_sum"},
                   counts={"generated_tokens": "baton_decode_generated_tokens_total",
                           "local_prefill_tokens": "baton_decode_local_prefill_tokens_total"})


def format_report(label, prefill, decode):
    return "\n".join([
        f"{label} prefill: {prefill['steps']:.0f} steps, {prefill['step_seconds']:.3f} s, "
        f"{prefill['tokens']:.0f} prompt tokens -> {prefill['tokens_per_second']:.2f} t/s; "
        f"mean {prefill['mean_batch_tokens']:.1f} tokens, "
        f"{prefill['mean_batch_sequences']:.2f} sequences per step",
        f"{label} decode: {decode['steps']:.0f} steps, {decode['step_seconds']:.3f} s, "
        f"{decode['tokens']:.0f} tokens -> {decode['tokens_per_second']:.2f} t/s; "
        f"mean batch {decode['mean_batch_size']:.2f}; {decode['generated_tokens']:.0f} generated "
        f"(with the first tokens), {decode['local_prefill_tokens']:.0f} local prefill tokens",
    ])


def grown(baseline, samples, metric, increase):
    """Whether `metric` grew by at least `increase` from `baseline` to `samples`."""
    return delta(baseline, samples, metric) >= increase


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8")


def read(path):
    with open(path, encoding="utf-8") as f:
        return parse(f.read())


def main(argv):
    if len(argv) == 4 and argv[1] == "scrape":
        text = fetch(argv[2])
        parse(text)  # refuse to save what is not metrics text
        with open(argv[3], "w", encoding="utf-8") as f:
            f.write(text)
        return 0
    if len(argv) == 7 and argv[1] == "wait":
        baseline, deadline = read(argv[3]), time.monotonic() + float(argv[6])
        while not grown(baseline, parse(fetch(argv[2])), argv[4], float(argv[5])):
            if time.monotonic() > deadline:
                print(f"{argv[4]} did not grow by {argv[5]} in {argv[6]} s", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    if len(argv) == 7 and argv[1] == "report":
        prefill = prefill_figures(read(argv[3]), read(argv[4]))
        decode = decode_figures(read(argv[5]), read(argv[6]))
        print(format_report(argv[2], prefill, decode))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
