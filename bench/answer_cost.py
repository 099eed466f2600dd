"""What an answer costs on this machine: `webqa ask` best-of-4 seconds and eval questions/min at n=1.

    python bench/answer_cost.py ../shared/data/eli5_alce/eli5.json [--limit 8] [--workers 4]
        [--max-actions 12] [--policy SPEC] [--reward-model SPEC]

Issue 13's cost targets (2-core CPU): best-of-4 for one question <= 60 s, and >= 2 questions/min
for an n=1 evaluation. Both are measured for the shipped defaults (choices for quotes and queries,
extractive answers, greedy browsing: ``AgentConfig()``) and, in the same run, for the baseline
``free``: the same policy writing its queries, quotes and answers token by token
(``choose_quotes=False, query_from_question=False, answer_mode="free"``), as the agent did before,
and ``sentences``: the defaults with one-sentence quotes (``quote_span=1``) instead of passages.
Models load once; one Chromium; the questions are the file's first ``--limit`` (the evaluation's).
The last line holds the figures as key=value pairs, the ratios and the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from _memory import PeakRSS
from _report import last_line  # bench/ is on sys.path when a script runs

from agent.agent import Agent
from agent.ask_cmd import default_policy_spec, default_reward_model_spec
from agent.evaluation import evaluate
from agent.types import AgentConfig
from browser_env.text.env import EnvConfig
from browser_env.runtime import WebRuntime
from data.eli5.loaders import load_questions
from omni_model import load_policy, load_reward_model

FREE = {"choose_quotes": False, "query_from_question": False, "answer_mode": "free"}
SENTENCES = {"quote_span": 1}  # chosen quotes of one sentence, as before passages


async def measure(args: argparse.Namespace, rows: list, policy, rm) -> dict[str, float]:
    env_config = EnvConfig.eli5(max_actions=args.max_actions)
    out: dict[str, float] = {}
    async with WebRuntime(args.index, config=env_config, prewarm=2) as rt:
        for name, extra in (("default", {}), ("free", FREE), ("sentences", SENTENCES)):
            base = dataclasses.replace(AgentConfig(max_actions=args.max_actions, seed=0), **extra)
            one = dataclasses.replace(base, n=4, answers_per_browse=4)
            t0 = time.perf_counter()
            result = await Agent(policy, rm, rt, one).ask(rows[0].question)
            out[f"ask_best_of_4_s_{name}"] = time.perf_counter() - t0
            print(f"{name}: best-of-4 on {rows[0].question!r}: {out[f'ask_best_of_4_s_{name}']:.1f} s, "
                  f"status {result.status}", flush=True)
            with tempfile.TemporaryDirectory() as folder:
                t0 = time.perf_counter()
                m = await evaluate(rows, Agent(policy, rm, rt, base), folder, ns=[1], workers=args.workers,
                                   env_config=env_config, progress=False, report=False)
                secs = time.perf_counter() - t0
            out[f"eval_qpm_n1_{name}"] = 60 * len(rows) / secs
            out[f"answered_{name}"] = m["answered_share"]
            print(f"{name}: n=1 eval of {len(rows)} questions in {secs:.1f} s = "
                  f"{out[f'eval_qpm_n1_{name}']:.2f} q/min; answered {m['answered_share']:.2f}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("questions", type=Path, help="eli5.json (or any file load_questions reads)")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--max-actions", type=int, default=12)
    ap.add_argument("--policy", default=None)
    ap.add_argument("--reward-model", default=None)
    ap.add_argument("--index", default=None)
    args = ap.parse_args()
    rows = load_questions(args.questions)[: args.limit]
    with PeakRSS() as mem:
        policy = load_policy(args.policy or default_policy_spec())
        rm = load_reward_model(args.reward_model or default_reward_model_spec())
        got = asyncio.run(measure(args, rows, policy, rm))
    keys: dict[str, object] = {"questions": len(rows), "workers": args.workers, **got,
                               "ask_ratio": got["ask_best_of_4_s_default"] / got["ask_best_of_4_s_free"],
                               "eval_ratio": got["eval_qpm_n1_default"] / got["eval_qpm_n1_free"],
                               "ask_ratio_sentences": got["ask_best_of_4_s_default"] / got["ask_best_of_4_s_sentences"],
                               "eval_ratio_sentences": got["eval_qpm_n1_default"] / got["eval_qpm_n1_sentences"],
                               "baseline": "free_decoding", "peak_rss_mb": mem.peak_bytes / 2**20}
    print(last_line(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
