"""Best-of-n scoring speed: the shared-prompt path of ``RewardModel.score_batch`` against the plain one.

    python bench/rm_scoring.py ../shared/data/eli5_webgpt_samples [--questions 4] [--n 4]
        [--model SPEC] [--batch-size 8] [--repeats 1]

Each question's n candidates are real answers to it (WebGPT's, the human demonstrator's, then
GPT-3's and Alpaca's written from WebGPT's documents), all over WebGPT's quotes for it: what
best-of-n scores. Both paths score the same candidates in the same run, one after the other after
a warm-up: "plain" (``share_prefix=False``: every candidate re-reads the question and quotes) and
"shared" (the prompt read once per question, each candidate's answer on its cached keys and
values). Reported: pairs/s for each (a pair is two answers, as ``webqa rm eval`` scores them),
their ratio, the largest score difference between the paths, and the peak RSS while each ran.
The default model is the shipped reward model, at its default max_length (2,048 tokens).
The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _memory import PeakRSS
from _report import last_line  # bench/ is on sys.path when a script runs

ANSWER_FIELDS = ("webgpt_answer", "human_answer", "gpt3_wdoc_answer", "alpaca_wdoc_answer", "gpt3_whudoc_answer",
                 "alpaca_whudoc_answer", "gpt3_answer", "alpaca_answer")


def load_groups(data_dir: Path, questions: int, n: int) -> list[list[tuple]]:
    """``questions`` groups of ``n`` (question, quotes, answer) triples sharing one question and its quotes."""
    from training.grounding_pairs import load_samples

    rows = {r["question_id"]: r for r in json.loads((data_dir / "answers.json").read_text(encoding="utf-8"))}
    groups = []
    for s in load_samples(data_dir):
        answers = [a.replace("</s>", "").strip() for f in ANSWER_FIELDS if (a := rows[s.question_id].get(f) or "")]
        answers = [a for a in answers if a][:n]
        if len(answers) == n:
            groups.append([(s.question, list(s.quotes), a) for a in answers])
        if len(groups) == questions:
            return groups
    raise SystemExit(f"only {len(groups)} questions with {n} answers in {data_dir}")


def timed(rm, items: list, batch_size: int, share: bool, repeats: int) -> tuple[float, list[float], int]:
    with PeakRSS() as mem:
        t = time.perf_counter()
        for _ in range(repeats):
            scores = rm.score_batch(items, batch_size=batch_size, share_prefix=share)
        seconds = (time.perf_counter() - t) / repeats
    return seconds, scores, mem.peak_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the eli5_webgpt_samples folder")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--n", type=int, default=4, help="candidates per question (best-of-n)")
    parser.add_argument("--model", default=None, help="reward model spec (default: the shipped one)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)

    from omni_model.reward import load_reward_model
    from omni_model.shipped import default_reward_model_spec

    groups = load_groups(args.data_dir, args.questions, args.n)
    items = [it for g in groups for it in g]
    spec = args.model or default_reward_model_spec()
    t0 = time.perf_counter()
    rm = load_reward_model(spec)
    tokens = [len(rm._encode(rm.text(*it))) for it in items]
    answer_tokens = [len(rm._encode(it[2].strip())) for it in items]
    print(f"model={spec} load_s={time.perf_counter() - t0:.1f} questions={len(groups)} n={args.n} "
          f"tokens_mean={sum(tokens) / len(tokens):.0f} answer_tokens_mean={sum(answer_tokens) / len(items):.0f}")
    rm.score_batch(items[:2], batch_size=2, share_prefix=False)  # warm-up: first-call allocations
    rm.score_batch(items[:2], batch_size=2, share_prefix=True)
    plain_s, plain, plain_mem = timed(rm, items, args.batch_size, False, args.repeats)
    shared_s, shared, shared_mem = timed(rm, items, args.batch_size, True, args.repeats)
    diff = max(abs(a - b) for a, b in zip(plain, shared, strict=True))
    pairs = len(items) / 2
    for name, s, mem in (("plain", plain_s, plain_mem), ("shared", shared_s, shared_mem)):
        print(f"path={name} seconds={s:.2f} pairs_per_s={pairs / s:.3f} peak_rss_mb={mem / 2**20:.0f}")
    print(last_line({"baseline": "plain", "plain_pairs_per_s": pairs / plain_s, "shared_pairs_per_s": pairs / shared_s,
                     "shared_vs_plain": plain_s / shared_s, "max_score_diff": f"{diff:.1e}",
                     "plain_peak_rss_mb": round(plain_mem / 2**20), "shared_peak_rss_mb": round(shared_mem / 2**20),
                     "tokens_mean": round(sum(tokens) / len(tokens))}, digits=3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
