"""``webqa eval eli5`` / ``webqa eval truthfulqa``: evaluate the agent on a question set.

    webqa eval eli5 --questions ../shared/data/eli5_alce/eli5.json --out runs/eli5 --n 1,4,16 --limit 50
    webqa eval eli5 --questions qs.jsonl --out runs/eli5 --resume          # after a crash or Ctrl-C
    webqa eval truthfulqa --questions TruthfulQA.csv --out runs/tqa --n 1,4

Writes answers.jsonl (one line per question, as it goes), metrics.json and report.html in --out;
the loop itself is ``agent.evaluation``, the metrics ``agent.metrics``, and the flags, model loading
and runtime it shares with ``webqa ask`` are ``agent.cli_common``. Exit codes: 0 done
(questions that failed are recorded as failed), 1 a model, index or browser that could not be
started, 2 bad input (a missing file, a bad --n, answers.jsonl present without --resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_common import (CommandExit, add_agent_args, agent_config, check_agent_args, load_models, loading_models,
                         open_runtime, reports_exits, run_session)

if TYPE_CHECKING:
    from omni_model.types import Policy, RewardModel

    from .types import AgentConfig

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
    p.add_argument("--n", type=_ns, default=[1, 4], metavar="N1,N2,...",
                   help="best-of-n points; max(n) answers are sampled per question (default: 1,4)")
    p.add_argument("--limit", type=int, metavar="K", help="only the first K questions of the file")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="questions in flight at once (default: 1)")
    p.add_argument("--resume", action="store_true", help="continue --out/answers.jsonl, skipping questions done")
    p.add_argument("--no-closed-book", action="store_true", help="skip the closed-book baseline")
    p.add_argument("--baseline-policy", nargs="+", default=["scripted"], metavar="SPEC",
                   help="other policies answering the same questions in the same run (one answer each), reported "
                        "beside the closed-book baseline: e.g. scripted (the demonstrator the policy was cloned "
                        "from; the default) and smollm2-135m (the base model); 'none' for no such row")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_agent_args(p)


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
    r = sub.add_parser("rescore", help="recompute a finished run's ROUGE-L figures from its stored answers",
                       description="Recompute ROUGE-L (the answer, every candidate, the closed-book answer and each "
                                   "baseline policy's answer) in DIR/answers.jsonl under today's definition, then "
                                   "rewrite metrics.json and report.html. Nothing is asked again; rewards, support "
                                   "and browsing figures stay as measured.")
    r.add_argument("out", metavar="DIR", help="a `webqa eval` output folder")
    return p


def _check(args: argparse.Namespace) -> str | None:
    if not Path(args.questions).is_file():
        return f"no such question file: {args.questions}"
    if args.workers < 1:
        return "--workers must be >= 1"
    if args.limit is not None and args.limit < 1:
        return "--limit must be >= 1"
    answers = Path(args.out) / "answers.jsonl"
    if answers.exists() and answers.stat().st_size and not args.resume:
        return f"{answers} already has answers: pass --resume to continue it, or choose another --out"
    return check_agent_args(args, max(args.n), n_name="max(--n) =")


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


async def _run(args: argparse.Namespace, rows: list[Any], policy: Policy, reward_model: RewardModel | None,
               config: AgentConfig, baseline_policies: dict[str, Policy] | None = None) -> dict:
    import dataclasses

    from browser_env.text.env import EnvConfig

    from .agent import Agent
    from .evaluation import ClosedBook, evaluate

    env_config = EnvConfig.eli5(max_actions=args.max_actions)
    per_q = config.n // config.answers_per_browse
    async with open_runtime(args, env_config, prewarm=min(4, per_q * args.workers)) as rt:
        agent = Agent(policy, reward_model, rt, config)
        closed = None if args.no_closed_book else ClosedBook(policy, reward_model, config)
        one = dataclasses.replace(config, n=1, answers_per_browse=1)
        bases = {name: Agent(p, reward_model, rt, one) for name, p in (baseline_policies or {}).items()}
        settings = {"questions_file": str(args.questions), "n": args.n, "policy": policy.spec,
                    "reward_model": getattr(reward_model, "spec", None), "max_actions": args.max_actions,
                    "workers": args.workers, "search": args.search or ["local"], "index": args.index,
                    "blocked": list(env_config.block_domains), "censor_leaks": env_config.censor_leaks,
                    "constrained": config.constrained, "seed": config.seed,
                    "baseline_policies": list(baseline_policies or {}),
                    "choose_quotes": config.choose_quotes, "quote_span": config.quote_span,
                    "min_quotes": config.min_quotes, "min_answer_sentences": config.min_answer_sentences,
                    "min_query_words": config.min_query_words, "quote_options": config.quote_options,
                    "query_from_question": config.query_from_question,
                    "answer_mode": config.answer_mode}
        return await evaluate(rows, agent, args.out, ns=args.n, workers=args.workers, resume=args.resume,
                              closed_book=closed, env_config=env_config, task=args.eval_task,
                              progress=not args.no_progress, settings=settings, baselines=bases)


def _rescore(out: Path) -> int:
    from .evaluation import rescore_run

    try:
        metrics = rescore_run(out)
    except FileNotFoundError as e:
        raise CommandExit(f"{e}: give a `webqa eval` output folder", 2) from e
    rouge = metrics.get("rouge_l")
    print(f"webqa eval rescore: {metrics['questions']} questions, ROUGE-L "
          f"{'n/a' if rouge is None else f'{rouge:.4f}'}; {out / 'metrics.json'}, {out / 'report.html'}")
    return 0


@reports_exits("eval")
def main(args: argparse.Namespace) -> int:
    if args.eval_task == "rescore":
        return _rescore(Path(args.out))
    problem = _check(args)
    if problem:
        raise CommandExit(problem, 2)
    from data.eli5.loaders import DataError
    from omni_model import load_policy

    try:
        rows = load_rows(args)
    except DataError as e:
        raise CommandExit(str(e), 2) from e
    if not rows:
        raise CommandExit(f"no usable questions in {args.questions}", 2)
    config = agent_config(args, n=max(args.n))
    policy, reward_model = load_models(args)
    with loading_models():
        baselines = {spec: load_policy(spec) for spec in args.baseline_policy if spec.lower() != "none"}
    metrics = run_session(_run(args, rows, policy, reward_model, config, baselines))
    out = Path(args.out)
    print(f"webqa eval: {metrics['questions']} questions, status {metrics['status_counts']}; "
          f"{out / 'metrics.json'}, {out / 'report.html'}")
    return 0
