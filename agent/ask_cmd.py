"""``webqa ask``: answer one question by browsing, with verified citations.

    webqa ask "Why is the sky blue?"                       # the offline mini-web, default models
    webqa ask "Why is the sky blue?" --n 4 --json          # best-of-4, the stable JSON format
    webqa ask "..." --search searxng:http://127.0.0.1:8888 --verbose
    webqa ask --audio question.wav --speak answer.wav     # a spoken question, the answer read aloud
    webqa ask --image photo.png "What is this building?"  # with the asker's picture

Plain output: the answer with inline [n] citations, the numbered references (title, URL,
quoted extract) and a short browsing summary. ``--json`` prints ``Result.to_json()`` (see
``agent.types``). The default models are resolved in ONE place, ``default_policy_spec`` /
``DEFAULT_REWARD_MODEL`` below, so a trained BC adapter or reward model is swapped in there.
Exit codes: 0 an outcome (answered, no sources, nonsense, controversial), 1 failed or a model
or index that could not be loaded, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


# webqa's shipped adapters (omni_model/adapters, written by `webqa train defaults`); without
# them, the embedded base model (and, for the RM, an untrained head).
DEFAULT_POLICY_SPEC = "the shipped BC adapter (omni_model/adapters/policy)"
DEFAULT_REWARD_MODEL = "the shipped reward-model adapter (omni_model/adapters/reward)"

DESCRIPTION = f"""Answer a question WebGPT-style: the policy browses (search, click, find, quote),
then writes an answer citing its quotes as [n]; every citation is checked against the quotes
(citations to quotes that do not exist are removed) and every quote was checked against its
page. With --n N, N candidate answers are written and the reward model picks the best.

Defaults: policy: {DEFAULT_POLICY_SPEC}, a LoRA on the embedded SmolLM2-135M trained by
behaviour cloning; reward model: {DEFAULT_REWARD_MODEL}, used to pick the best of --n
candidates (it is not loaded at all with --n 1). Retrain both with `webqa train defaults`.
With --audio or --image the default policy is the shipped omni checkpoint (omni_model/adapters/omni,
or one rebuilt into ~/.cache/webqa/omni by `webqa train omni`): it sees the picture through its
image encoder, and Whisper tiny.en (the embedded one, over the checkpoint's own encoder) writes the
spoken question down before it browses; --hearing lm has the LM write it instead. A text-only
--policy hears through the same Whisper but takes no picture.
--speak FILE.wav reads the answer aloud into FILE.wav with espeak-ng.
Exit codes: 0 done (including "no sources", nonsense and controversial), 1 failed, 2 bad input."""


def default_policy_spec(media: bool = False) -> str:
    """The policy `webqa ask` uses when --policy is not given (with ``media``: one that hears and sees)."""
    from omni_model.shipped import default_omni_spec, default_policy_spec as shipped

    return default_omni_spec() if media else shipped()


def default_reward_model_spec() -> str:
    """The reward model `webqa ask` uses when --reward-model is not given."""
    from omni_model.shipped import default_reward_model_spec as shipped

    return shipped()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("ask", help="answer a question by browsing, with verified citations",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("question", nargs="?", default="", help="the question to answer (or give --audio)")
    p.add_argument("--audio", metavar="FILE.wav", help="the question, spoken (a PCM WAV file)")
    p.add_argument("--image", metavar="FILE", help="a picture that goes with the question (PNG, JPEG, ...)")
    p.add_argument("--speak", metavar="FILE.wav", help="also read the answer aloud into this WAV file (espeak-ng)")
    p.add_argument("--hearing", choices=["whisper", "lm"], default=None,
                   help="who writes a spoken question down: whisper (Whisper tiny.en's decoder; the default, "
                        "and the only choice for a text-only policy) or lm (an omni checkpoint's language "
                        "model, from its projected audio features)")
    p.add_argument("--index", metavar="DIR", help="index folder from `webqa index build` (default: the "
                                                      "wiki-vital mini-web built by the set-up)")
    p.add_argument("--search", nargs="+", metavar="BACKEND", help="search backends tried in order: local, "
                       "direct, searxng:URL, brave, duckduckgo (default: local)")
    p.add_argument("--policy", metavar="SPEC", help=f"policy model spec (default: {DEFAULT_POLICY_SPEC}); "
                                                    "'scripted' is the rule-based demonstrator, a baseline")
    p.add_argument("--reward-model", metavar="SPEC",
                   help=f"reward model spec (default: {DEFAULT_REWARD_MODEL}, untrained head)")
    p.add_argument("--n", type=int, default=1, help="candidate answers for best-of-n (default: 1)")
    p.add_argument("--answers-per-browse", type=int, default=None, metavar="K",
                   help="answers per browsing episode; --n must be a multiple (default: all n from one "
                        "episode when browsing is greedy, else 1)")
    p.add_argument("--max-actions", type=int, default=20, metavar="K", help="actions per episode (default: 20)")
    p.add_argument("--max-answer-tokens", type=int, default=256, metavar="T", help="answer length cap (default: 256)")
    p.add_argument("--no-constrain", action="store_true", help="decode commands freely (no grammar constraint)")
    add_choice_args(p)
    p.add_argument("--eli5", action="store_true", help="ELI5-evaluation mode: block reddit.com and quora.com, "
                                                       "censor pages that leak the question (10-gram rule)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (a stable format)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="stream commands and events to stderr (the default on a terminal, without --json)")
    return p


def add_choice_args(p: argparse.ArgumentParser) -> None:
    """How much of a command or an answer the policy chooses rather than writes (ask and eval alike)."""
    p.add_argument("--answer-mode", choices=["extractive", "free"], default="extractive",
                   help="extractive (default): the answer is made of the quotes' sentences, each cited, the policy "
                        "choosing which and how many; free: the policy writes the answer itself and its "
                        "citations are checked afterwards")
    p.add_argument("--temperature", type=float, default=None, metavar="T",
                   help="browsing sampling temperature (default: 0, greedy: the small default policy errs less; "
                        "WebGPT sampled at 0.8); answers are always sampled, so best-of-n still has candidates")
    p.add_argument("--free-arguments", action="store_true",
                   help="let the policy spell Search queries and quotes itself (default: a query is made of the "
                        "question's content words and a quote is one whole sentence of the page in view, the "
                        "policy choosing among them)")


def choice_config(args: argparse.Namespace) -> dict[str, Any]:
    """The ``AgentConfig`` fields that ``add_choice_args`` sets."""
    out: dict[str, Any] = {"answer_mode": args.answer_mode, "choose_quotes": not args.free_arguments,
                           "query_from_question": not args.free_arguments}
    if args.temperature is not None:
        out["temperature"] = args.temperature
    return out


def check_web_args(args: argparse.Namespace) -> str | None:
    """A bad --search or --index, found before any model loads (ask and eval alike)."""
    from browser_env.backends.registry import check_spec

    from browser_env.types import InputError

    for spec in args.search or []:
        try:
            check_spec(spec)
        except InputError as e:
            return str(e)
    if args.index and not (Path(args.index) / "meta.json").is_file():
        return f"--index {args.index}: no index there (build one with `webqa index build`)"
    return None


def settle_answers_per_browse(args: argparse.Namespace, n: int) -> None:
    """--answers-per-browse left out: greedy browsing gives every episode the same path, so one
    episode writes all n answers; sampled browsing browses once per answer."""
    if args.answers_per_browse is None:
        args.answers_per_browse = n if args.temperature is None or args.temperature == 0 else 1


def _check(args: argparse.Namespace) -> str | None:
    if not (args.question or "").strip() and not args.audio:
        return "the question is empty (type one, or give --audio FILE.wav)"
    if args.audio and (args.question or "").strip():
        return "give the question typed or spoken (--audio), not both"
    for flag, path in (("--audio", args.audio), ("--image", args.image)):
        if path and not Path(path).is_file():
            return f"{flag}: no such file: {path}"
    if args.n < 1:
        return "--n must be >= 1"
    settle_answers_per_browse(args, args.n)
    if args.answers_per_browse < 1 or args.max_actions < 1 or args.max_answer_tokens < 1:
        return "--n, --answers-per-browse, --max-actions and --max-answer-tokens must be >= 1"
    if args.n % args.answers_per_browse:
        return f"--n {args.n} is not a multiple of --answers-per-browse {args.answers_per_browse}"
    if args.temperature is not None and args.temperature < 0:
        return "--temperature must be >= 0"
    return check_web_args(args)


def shows_progress(args: argparse.Namespace, stream: Any = None) -> bool:
    """Commands and events go to stderr with -v, and by default on a terminal (never with --json,
    whose output a program reads): a person should not wait in silence while the agent browses."""
    stream = stream or sys.stderr
    return bool(args.verbose or (not args.json and hasattr(stream, "isatty") and stream.isatty()))


def verbose_printer(stream: Any = None) -> Any:
    """An ``on_event`` callback that writes one line per event as it happens."""

    def on_event(event: Any) -> None:
        out = stream or sys.stderr
        d = event.data
        tag = f"[q{d.get('question', 0)} ep{event.episode}]"
        if event.kind == "command":
            print(f"{tag} step {d['step'] + 1}: {d['command']!r}", file=out, flush=True)
        elif event.kind == "observation" and (d.get("error") or d.get("done")):
            note = f"invalid: {d['error']}" if d.get("error") else "episode over"
            print(f"{tag}   {note.splitlines()[0][:160]}", file=out, flush=True)
        elif event.kind == "quote_added":
            print(f"{tag}   quoted from {d['quote']['title']}: {d['quote']['extract'][:80]!r}", file=out, flush=True)
        elif event.kind == "candidate_scored":
            print(f"{tag} candidate {d['candidate']}: reward {d['reward']}", file=out, flush=True)
        elif event.kind == "final_answer":
            print(f"[q{d['question']}] done: {d['status']}", file=out, flush=True)

    return on_event


def render_plain(result: Any, seconds: float) -> str:
    lines = [result.answer.strip(), ""]
    if result.references:
        lines.append("References:")
        for r in result.references:
            extract = " ".join(r.extract.split())
            lines.append(f"[{r.n}] {r.title}\n    {r.url}\n    > {extract[:400]}{'…' if len(extract) > 400 else ''}")
        lines.append("")
    s = result.stats
    summary = (f"Browsing: {s.get('episodes', 0)} episode(s), {s.get('actions', 0)} actions "
               f"({s.get('invalid_actions', 0)} invalid), {s.get('quotes', 0)} quotes, "
               f"{len(result.candidates)} candidate(s), status {result.status}, {seconds:.1f} s")
    if result.reason and result.reason not in result.answer:
        summary += f"\nReason: {result.reason}"
    if s.get("removed_citations"):
        summary += f"\nRemoved {s['removed_citations']} citation(s) to quotes that do not exist."
    lines.append(summary)
    return "\n".join(lines)


async def _run(args: argparse.Namespace, policy: Any, reward_model: Any, config: Any) -> Any:
    from browser_env.env import EnvConfig
    from browser_env.runtime import WebRuntime

    from .agent import Agent

    env_config = (EnvConfig.eli5 if args.eli5 else EnvConfig)(max_actions=args.max_actions)
    # One env per episode; prewarming more contexts than episodes would waste Chromium's time.
    rt = WebRuntime(args.index, search=args.search or ["local"], config=env_config,
                    prewarm=min(2, config.n // config.answers_per_browse))
    try:
        # InputError (a backend spec the registry refuses; a policy that cannot hear or see, an
        # unreadable file, nothing heard) goes up to main, which reports it; other errors are bugs.
        await rt.start()
        agent = Agent(policy, reward_model, rt, config)
        return await agent.ask(args.question or None, on_event=verbose_printer() if shows_progress(args) else None,
                               image=args.image, audio=args.audio)
    finally:
        await rt.close()


def main(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        print(f"webqa ask: {problem}", file=sys.stderr)
        return 2
    import asyncio

    from browser_env.types import InputError, WorldError
    from omni_model import load_policy, load_reward_model
    from omni_model.errors import OmniModelError

    from .types import AgentConfig

    t0 = time.perf_counter()
    config = AgentConfig(n=args.n, answers_per_browse=args.answers_per_browse, max_actions=args.max_actions,
                         max_answer_tokens=args.max_answer_tokens, constrained=not args.no_constrain, seed=args.seed,
                         **choice_config(args))
    try:
        policy = load_policy(args.policy or default_policy_spec(media=bool(args.audio or args.image)))
        # With one candidate there is nothing to choose: skip loading and running the reward model.
        reward_model = load_reward_model(args.reward_model or default_reward_model_spec()) if args.n > 1 else None
    except OmniModelError as e:
        print(f"webqa ask: could not load a model: {e}", file=sys.stderr)
        return 1
    if args.hearing:
        omni_config = getattr(policy, "config", None)
        if not hasattr(omni_config, "hearing"):
            if args.hearing == "lm":
                print(f"webqa ask: --hearing lm needs an omni checkpoint; "
                      f"{getattr(policy, 'spec', type(policy).__name__)} has no audio encoder",
                      file=sys.stderr)
                return 2
        else:
            omni_config.hearing = args.hearing
    try:
        result = asyncio.run(_run(args, policy, reward_model, config))
    except InputError as e:
        print(f"webqa ask: {e}", file=sys.stderr)
        return 2
    except (WorldError, OSError) as e:  # the index is missing, Chromium would not start, ...
        print(f"webqa ask: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        if result.stats.get("heard"):
            print(f"Heard: {result.stats['heard']}\n")
        print(render_plain(result, time.perf_counter() - t0))
    if args.speak:
        from omni_model.media import MediaError, speakable, synthesize_speech

        try:
            synthesize_speech(speakable(result.answer), args.speak)
        except MediaError as e:
            print(f"webqa ask: could not read the answer aloud: {e}", file=sys.stderr)
            return 1
    return 1 if result.status == "failed" else 0
