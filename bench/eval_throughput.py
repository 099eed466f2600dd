"""Questions per minute of the ``webqa eval eli5`` machinery, with and without batching across episodes.

    python bench/eval_throughput.py ../shared/data/eli5_alce/eli5.json [--limit 20] [--ns 1,4]
        [--workers 8] [--max-actions 3] [--max-answer-tokens 64] [--answers-per-browse K]
        [--policy SPEC] [--index DIR]

Loads the policy and reward model once and opens one ``WebRuntime`` (one Chromium, the default
mini-web, ELI5 mode), then for each n runs ``agent.evaluation.evaluate`` over the same questions
twice: with ``AgentConfig(batch_across_episodes=True)`` (every live episode of the ``--workers``
questions in flight shares one ``generate`` call per round) and with it False (one call per
episode), the baseline. The closed-book pass and the HTML report are off, so the timing is the
agent's. Browsing is greedy by default, so that both modes take the same actions and do the same
work (sampled browsing gives each mode its own trajectories, and the one that happens to quote
less finishes sooner). By default the n candidates come from one browsing episode per question (WebGPT's
"answer phases per browsing phase" = n, as the 50-question evaluation ran); ``--answers-per-browse 1``
browses n times per question instead, which costs about n times as much on a CPU. Reports questions/min for each, the speed-up, and the peak RSS of this process plus its
Chromium children. The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def run_all(args: argparse.Namespace, rows: list, policy, rm) -> dict[tuple[int, bool], float]:
    env_config = EnvConfig.eli5(max_actions=args.max_actions)
    qpm: dict[tuple[int, bool], float] = {}
    async with WebRuntime(args.index, config=env_config, prewarm=min(4, args.workers)) as rt:
        for n in args.ns:
            for batched in (True, False):
                per_browse = n if args.answers_per_browse is None else min(n, args.answers_per_browse)
                config = AgentConfig(n=n, answers_per_browse=per_browse, max_actions=args.max_actions,
                                     temperature=args.temperature,
                                     max_answer_tokens=args.max_answer_tokens,
                                     batch_across_episodes=batched, seed=0)
                agent = Agent(policy, rm, rt, config)
                with tempfile.TemporaryDirectory() as out:
                    t0 = time.perf_counter()
                    m = await evaluate(rows, agent, out, ns=[n], workers=args.workers, env_config=env_config,
                                       progress=False, report=False)
                    secs = time.perf_counter() - t0
                qpm[(n, batched)] = 60 * len(rows) / secs
                print(f"n={n} batched={batched}: {len(rows)} questions in {secs:.1f} s = {qpm[(n, batched)]:.2f} q/min"
                      f"; status {m['status_counts']}, actions {m['actions']['total']}", flush=True)
    return qpm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("questions", type=Path, help="eli5.json (or any file load_questions reads)")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--ns", default="1,4", help="comma-separated n values (default: 1,4)")
    ap.add_argument("--workers", type=int, default=8, help="questions in flight (default: 8)")
    ap.add_argument("--max-actions", type=int, default=3,
                    help="actions per episode (default: 3, to keep CPU runs short)")
    ap.add_argument("--max-answer-tokens", type=int, default=64)
    ap.add_argument("--answers-per-browse", type=int, default=None,
                    help="answers written per browsing episode (default: n, one browse per question)")
    ap.add_argument("--temperature", type=float, default=0.0,
                    help="browsing temperature (default: 0, greedy, so both modes browse the same pages and "
                         "the timing compares equal work; answers are still sampled)")
    ap.add_argument("--policy", default=None)
    ap.add_argument("--reward-model", default=None)
    ap.add_argument("--index", default=None)
    args = ap.parse_args()
    args.ns = [int(x) for x in args.ns.split(",")]
    rows = load_questions(args.questions)[: args.limit]

    with PeakRSS() as mem:
        t = time.perf_counter()
        policy = load_policy(args.policy or default_policy_spec())
        rm = load_reward_model(args.reward_model or default_reward_model_spec())
        print(f"models loaded in {time.perf_counter() - t:.1f} s", flush=True)
        qpm = asyncio.run(run_all(args, rows, policy, rm))

    keys: dict[str, object] = {"questions": len(rows), "workers": args.workers, "max_actions": args.max_actions,
                               "answers_per_browse": args.answers_per_browse or "n"}
    for n in args.ns:
        keys[f"qpm_n{n}"] = qpm[(n, True)]
        keys[f"qpm_n{n}_unbatched"] = qpm[(n, False)]
        keys[f"speedup_n{n}"] = qpm[(n, True)] / qpm[(n, False)]
    keys["baseline"] = "batch_across_episodes=False"
    keys["peak_rss_mb"] = mem.peak_bytes / 2**20
    print(last_line(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
