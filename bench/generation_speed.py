"""Generation speed of the embedded default policy on this machine.

Measures tokens/s for greedy and sampled decoding, and for n = 4 and 16 completions of one
prompt done as ONE batched `generate` call versus the baseline of n sequential single-sample
calls, measured in the same run. Also reports peak RSS. llama-cpp-python on the same GGUF is
the near-limit reference; it is only used when already importable and `--llama-cpp` is given
(it builds from source for 7-13 minutes here, so this script never installs it).

    .venv/bin/python bench/generation_speed.py [--max-new-tokens 32] [--threads 1] [--llama-cpp]

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PROMPT_MESSAGES = [{"role": "user", "content": "Write a short story about a lighthouse keeper who finds a "
                                                "message in a bottle. Use vivid details."}]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(policy, prompt: str, *, n: int, temperature: float, max_new_tokens: int, seed: int) -> tuple[int, float]:
    start = time.perf_counter()
    [group] = policy.generate([prompt], n=n, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
    return sum(c.tokens for c in group), time.perf_counter() - start


def _sequential(policy, prompt: str, *, n: int, max_new_tokens: int) -> tuple[int, float]:
    tokens, seconds = 0, 0.0
    for j in range(n):
        t, s = _timed(policy, prompt, n=1, temperature=0.8, max_new_tokens=max_new_tokens, seed=1000 + j)
        tokens, seconds = tokens + t, seconds + s
    return tokens, seconds


def _llama_cpp(gguf: str, prompt: str, max_new_tokens: int, threads: int) -> float:
    from llama_cpp import Llama

    llm = Llama(model_path=gguf, n_ctx=2048, n_threads=threads, verbose=False)
    llm(prompt, max_tokens=4, temperature=0)  # warm-up
    start = time.perf_counter()
    out = llm(prompt, max_tokens=max_new_tokens, temperature=0)
    return out["usage"]["completion_tokens"] / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: omni_model's choice)")
    ap.add_argument("--ns", type=int, nargs="+", default=[4, 16], help="batch sizes to compare")
    ap.add_argument("--llama-cpp", action="store_true", help="also time llama-cpp-python if importable")
    args = ap.parse_args(argv)

    from omni_model import load_policy
    from omni_model.device import configure_threads

    threads = configure_threads(args.threads)
    t0 = time.perf_counter()
    policy = load_policy("smollm2-135m", device="cpu")
    load_s = time.perf_counter() - t0
    prompt = policy.apply_chat_template(PROMPT_MESSAGES)
    m = args.max_new_tokens
    print(f"threads={threads} load_s={load_s:.2f} prompt_tokens={policy.count_tokens(prompt)} max_new_tokens={m}")
    _timed(policy, prompt, n=1, temperature=0, max_new_tokens=4, seed=0)  # warm-up

    figures: dict[str, str] = {"threads": str(threads)}
    tok, s = _timed(policy, prompt, n=1, temperature=0, max_new_tokens=m, seed=0)
    figures["greedy_tok_s"] = f"{tok / s:.1f}"
    print(f"greedy: {tok} tokens in {s:.2f}s")
    tok, s = _timed(policy, prompt, n=1, temperature=0.8, max_new_tokens=m, seed=1)
    figures["sampled_tok_s"] = f"{tok / s:.1f}"
    print(f"sampled: {tok} tokens in {s:.2f}s")
    for n in args.ns:
        btok, bs = _timed(policy, prompt, n=n, temperature=0.8, max_new_tokens=m, seed=2)
        stok, ss = _sequential(policy, prompt, n=n, max_new_tokens=m)
        figures[f"n{n}_batched_tok_s"] = f"{btok / bs:.1f}"
        figures[f"n{n}_sequential_tok_s"] = f"{stok / ss:.1f}"
        figures[f"batch_speedup_n{n}"] = f"{(btok / bs) / (stok / ss):.2f}"
        print(f"n={n}: batched {btok} tokens in {bs:.2f}s; sequential (baseline) {stok} tokens in {ss:.2f}s")

    if importlib.util.find_spec("llama_cpp") is None:
        figures["llama_cpp"] = "unavailable"
    elif not args.llama_cpp:
        figures["llama_cpp"] = "skipped"
    else:
        from omni_model.embedded import fetch_default_gguf

        ref = _llama_cpp(str(fetch_default_gguf()), prompt, m, threads)
        figures["llama_cpp_greedy_tok_s"] = f"{ref:.1f}"
        figures["greedy_vs_llama_cpp"] = f"{float(figures['greedy_tok_s']) / ref:.2f}"
    figures["peak_rss_mb"] = f"{_peak_rss_mb():.0f}"
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
