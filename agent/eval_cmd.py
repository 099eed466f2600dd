"""``webqa eval eli5`` / ``webqa eval truthfulqa``: evaluate the agent on a question set.

    webqa eval eli5 --questions ../shared/data/eli5_alce/eli5.json --out runs/eli5 --n 1,4,16 --limit 50
    webqa eval eli5 --questions qs.jsonl --out runs/eli5 --resume          # after a crash or Ctrl-C
    webqa eval truthfulqa --questions TruthfulQA.csv --out runs/tqa --n 1,4

Writes answers.jsonl (one line per question, as it goes), metrics.json and report.html in --out;
the loop itself is ``agent.evaluation``, the metrics ``agent.metrics``. Exit codes: 0 done
(questions that failed are recorded as failed), 1 a model, index or browser that could not be
started, 2 bad input (a missing file, a bad --n, answers.jsonl present without --resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """scaling:
  One process runs one Chromium and one model; --workers W keeps W questions in flight, all their
  browsing episodes batched into each generate call. To go wider, serve the policy with vLLM (or
  any OpenAI-compatible server) and point several eval processes at it, each on its own slice
  (--limit, or split question files) and its own --out:
      vllm serve HuggingFaceTB/SmolLM2-135M-Instruct --port 8000
      webqa eval eli5 --questions part1.jsonl --out runs/p1 --workers 8 \\
          --policy openai:http://host:8000/v1#HuggingFaceTB/SmolLM2-135M-Instruct
  The server batches the requests of every worker; the reward model still runs in each process.

input:
  JSON list or JSONL rows with "question" and an optional reference ("reference", "answer",
  "human_answer", "webgpt_answer") and id ("id", "question_id"); TruthfulQA.csv for truthfulqa.
  Bad rows are reported as FILE:LINE and skipped; the others run."""


def _ns(text: str) -> list[int]:
    try:
        ns = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--n takes comma-separated integers like 1,4,16, got {text!r}") from None
    if not ns or ns[0] < 1:
        raise argparse.ArgumentTypeError(f"--n values must be >= 1, got {text!r}")
    return ns


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--questions", required=True, metavar="FILE", help="the question file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (answers.jsonl, metrics.json, "
                                                                "report.html)")
    p.add_argument("--index", metavar="DIR", help="index folder (default: the wiki-vital mini-web from setup)")
    p.add_argument("--search", nargs="+", metavar="BACKEND", help="search backends tried in order: local, direct, "
                                                                  "searxng:URL, brave, duckduckgo (default: local)")
    p.add_argument("--n", type=_ns, default=[1, 4], metavar="N1,N2,...",
                   help="best-of-n points; max(n) answers are sampled per question (default: 1,4)")
    p.add_argument("--answers-per-browse", type=int, default=None, metavar="K",
                   help="answers per browsing episode; max(n) must be a multiple (default: all n from one "
                        "episode when browsing is greedy, else 1)")
    p.add_argument("--limit", type=int, metavar="K", help="only the first K questions of the file")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="questions in flight at once (default: 1)")
    p.add_argument("--resume", action="store_true", help="continue --out/answers.jsonl, skipping questions done")
    p.add_argument("--policy", metavar="SPEC", help="policy model spec (default: as `webqa ask`)")
    p.add_argument("--reward-model", metavar="SPEC", help="reward model spec (default: as `webqa ask`)")
    p.add_argument("--max-actions", type=int, default=20, metavar="K",
                   help="actions per episode (default: 20; WebGPT evaluated with 100)")
    p.add_argument("--max-answer-tokens", type=int, default=256, metavar="T", help="answer length cap (default: 256)")
    p.add_argument("--no-closed-book", action="store_true", help="skip the closed-book baseline")
    p.add_argument("--baseline-policy", nargs="+", default=["scripted"], metavar="SPEC",
                   help="other policies answering the same questions in the same run (one answer each), reported "
                        "beside the closed-book baseline: e.g. scripted (the demonstrator the policy was cloned "
                        "from; the default) and smollm2-135m (the base model); 'none' for no such row")
    p.add_argument("--no-constrain", action="store_true", help="decode commands freely (no grammar constraint)")
    from .ask_cmd import add_choice_args

    add_choice_args(p)
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("eval", help="evaluate the agent on ELI5 or TruthfulQA questions",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="eval_task", metavar="<task>", required=True)
    e = sub.add_parser("eli5", help="ELI5-style questions: best-of-n reward, ROUGE-L, citations",
                       description="Evaluate on ELI5-style questions with reddit.com and quora.com blocked and "
                                   "pages that share a 10-gram with the question or reference censored.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(e)
    t = sub.add_parser("truthfulqa", help="TruthfulQA.csv: the automatic similarity proxy, best-of-n reward",
                       description="Evaluate on TruthfulQA. Its metric here is the AUTOMATIC 'similarity' proxy "
                                   "(max ROUGE-L to the true answers minus max to the false ones), not the "
                                   "paper's human judgement.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(t)
    return p


def _check(args: argparse.Namespace) -> str | None:
    if not Path(args.questions).is_file():
        return f"no such question file: {args.questions}"
    from .ask_cmd import settle_answers_per_browse

    settle_answers_per_browse(args, max(args.n))
    if args.temperature is not None and args.temperature < 0:
        return "--temperature must be >= 0"
    if args.workers < 1 or args.max_actions < 1 or args.answers_per_browse < 1 or args.max_answer_tokens < 1:
        return "--workers, --max-actions, --answers-per-browse and --max-answer-tokens must be >= 1"
    if args.limit is not None and args.limit < 1:
        return "--limit must be >= 1"
    if max(args.n) % args.answers_per_browse:
        return f"max(--n) = {max(args.n)} is not a multiple of --answers-per-browse {args.answers_per_browse}"
    answers = Path(args.out) / "answers.jsonl"
    if answers.exists() and answers.stat().st_size and not args.resume:
        return f"{answers} already has answers: pass --resume to continue it, or choose another --out"
    from .ask_cmd import check_web_args

    return check_web_args(args)


def load_rows(args: argparse.Namespace) -> list[Any]:
    """The questions, bad rows reported on stderr as FILE:LINE: message."""
    from data.eli5.loaders import DataError, load_questions, load_truthfulqa

    errors: list[DataError] = []
    loader = load_truthfulqa if args.eval_task == "truthfulqa" else load_questions
    rows = loader(args.questions, errors=errors)
    for e in errors:
        print(f"webqa eval: {e} (skipped)", file=sys.stderr)
    if errors:
        print(f"webqa eval: {len(errors)} bad row(s) skipped, {len(rows)} loaded", file=sys.stderr)
    return rows[: args.limit] if args.limit else rows


async def _run(args: argparse.Namespace, rows: list[Any], policy: Any, reward_model: Any, config: Any,
               baseline_policies: dict[str, Any] | None = None) -> dict:
    from browser_env.env import EnvConfig
    from browser_env.runtime import WebRuntime

    from .agent import Agent
    from .evaluation import ClosedBook, evaluate

    env_config = EnvConfig.eli5(max_actions=args.max_actions)
    per_q = config.n // config.answers_per_browse
    rt = WebRuntime(args.index, search=args.search or ["local"], config=env_config,
                    prewarm=min(4, per_q * args.workers))
    try:
        await rt.start()  # InputError (a backend spec the registry refuses) goes up to main
        agent = Agent(policy, reward_model, rt, config)
        closed = None if args.no_closed_book else ClosedBook(policy, reward_model, config)
        import dataclasses

        one = dataclasses.replace(config, n=1, answers_per_browse=1)
        bases = {name: Agent(p, reward_model, rt, one) for name, p in (baseline_policies or {}).items()}
        settings = {"questions_file": str(args.questions), "n": args.n, "policy": getattr(policy, "spec", None),
                    "reward_model": getattr(reward_model, "spec", None), "max_actions": args.max_actions,
                    "workers": args.workers, "search": args.search or ["local"], "index": args.index,
                    "blocked": list(env_config.block_domains), "censor_leaks": env_config.censor_leaks,
                    "constrained": config.constrained, "seed": config.seed,
                    "baseline_policies": list(baseline_policies or {}),
                    "choose_quotes": config.choose_quotes, "query_from_question": config.query_from_question,
                    "answer_mode": config.answer_mode}
        return await evaluate(rows, agent, args.out, ns=args.n, workers=args.workers, resume=args.resume,
                              closed_book=closed, env_config=env_config, task=args.eval_task,
                              progress=not args.no_progress, settings=settings, baselines=bases)
    finally:
        await rt.close()


def main(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        print(f"webqa eval: {problem}", file=sys.stderr)
        return 2
    import asyncio

    from browser_env.types import InputError, WorldError
    from data.eli5.loaders import DataError
    from omni_model import load_policy, load_reward_model
    from omni_model.errors import OmniModelError

    from .ask_cmd import choice_config, default_policy_spec, default_reward_model_spec
    from .types import AgentConfig

    try:
        rows = load_rows(args)
    except DataError as e:
        print(f"webqa eval: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"webqa eval: no usable questions in {args.questions}", file=sys.stderr)
        return 2
    config = AgentConfig(n=max(args.n), answers_per_browse=args.answers_per_browse, max_actions=args.max_actions,
                         max_answer_tokens=args.max_answer_tokens, constrained=not args.no_constrain,
                         seed=args.seed, **choice_config(args))
    try:
        policy = load_policy(args.policy or default_policy_spec())
        reward_model = load_reward_model(args.reward_model or default_reward_model_spec())
        baselines = {spec: load_policy(spec) for spec in args.baseline_policy if spec.lower() != "none"}
    except OmniModelError as e:
        print(f"webqa eval: could not load a model: {e}", file=sys.stderr)
        return 1
    try:
        metrics = asyncio.run(_run(args, rows, policy, reward_model, config, baselines))
    except InputError as e:
        print(f"webqa eval: {e}", file=sys.stderr)
        return 2
    except (WorldError, OSError) as e:  # the index is missing, Chromium would not start, ...
        print(f"webqa eval: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    print(f"webqa eval: {metrics['questions']} questions, status {metrics['status_counts']}; "
          f"{out / 'metrics.json'}, {out / 'report.html'}")
    return 0
