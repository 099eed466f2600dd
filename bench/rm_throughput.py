"""Reward-model scoring throughput on the embedded default backbone, by batch size.

Scores real WebGPT (question, quotes, answer) triples from the eli5_webgpt_samples folder
(``answers.json`` + ``docs/docs-webgpt.json``) at batch sizes 1, 8 and 32. The baseline is
batch size 1 measured in the same run; the last line holds the figures as key=value pairs.

    python bench/rm_throughput.py /work/shared/data/eli5_webgpt_samples [--n 32] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path

_TITLE = re.compile(r"^(.*) \(([^()]*)\)\s*$")


def load_items(data_dir: Path, n: int) -> list:
    from browser_env.text.observation import Quote

    answers = {r["question_id"]: r for r in json.loads((data_dir / "answers.json").read_text())}
    docs = json.loads((data_dir / "docs" / "docs-webgpt.json").read_text())
    items = []
    for row in docs:
        answer = answers.get(row["question_id"], {}).get("webgpt_answer", "").strip()
        if not answer or not row["docs"]:
            continue
        quotes = []
        for d in row["docs"]:
            m = _TITLE.match(d["title"])
            title, domain = (m.group(1), m.group(2)) if m else (d["title"], "")
            quotes.append(Quote(title, domain, "", d["text"]))
        items.append((row["question"], quotes, answer))
        if len(items) == n:
            break
    if len(items) < n:
        raise SystemExit(f"only {len(items)} usable rows in {data_dir}, asked for {n}")
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the eli5_webgpt_samples folder")
    parser.add_argument("--n", type=int, default=32, help="triples scored per batch size")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch-sizes", default="1,8,32")
    args = parser.parse_args(argv)

    from omni_model.reward import load_reward_model

    items = load_items(args.data_dir, args.n)
    t0 = time.perf_counter()
    rm = load_reward_model(args.model)
    load_s = time.perf_counter() - t0
    tokens = [len(rm._encode(rm.text(*it))) for it in items]
    print(f"model={args.model} load_s={load_s:.1f} items={len(items)} "
          f"tokens_mean={sum(tokens) / len(tokens):.0f} tokens_max={max(tokens)}")
    rm.score_batch(items[:2], batch_size=2)  # warm-up: first-call allocations
    rates: dict[int, float] = {}
    reference: list[float] | None = None
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        t = time.perf_counter()
        scores = rm.score_batch(items, batch_size=bs)
        dt = time.perf_counter() - t
        rates[bs] = len(items) / dt
        drift = 0.0 if reference is None else max(abs(a - b) for a, b in zip(scores, reference, strict=True))
        reference = reference or scores
        print(f"batch_size={bs} seconds={dt:.2f} pairs_per_s={rates[bs]:.2f} max_score_drift_vs_first={drift:.2e}")
    base = rates[min(rates)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = " ".join(f"bs{bs}_pairs_per_s={r:.2f} bs{bs}_vs_bs1={r / base:.2f}" for bs, r in rates.items())
    print(f"baseline=batch_size_{min(rates)} {figures} tokens_mean={sum(tokens) / len(tokens):.0f} "
          f"peak_rss_mb={peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
