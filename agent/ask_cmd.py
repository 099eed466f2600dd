"""``webqa ask``: answer one question by browsing, with verified citations.

    webqa ask "Why is the sky blue?"                       # the offline mini-web, default models
    webqa ask "Why is the sky blue?" --n 4 --json          # best-of-4, the stable JSON format
    webqa ask "..." --search searxng:http://127.0.0.1:8888 --verbose
    webqa ask --audio question.wav --speak answer.wav     # a spoken question, the answer read aloud
    webqa ask --image photo.png "What is this building?"  # with the asker's picture

Plain output: the answer with inline [n] citations, the numbered references (title, URL,
quoted extract) and a short browsing summary. ``--json`` prints ``Result.to_json()`` (see
``agent.types``). The flags, model loading and runtime it shares with ``webqa eval`` are
``agent.cli_common``, where the default models are resolved.
Exit codes: 0 an outcome (answered, no sources, nonsense, controversial), 1 failed or a model
or index that could not be loaded, 2 bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_common import (DEFAULT_POLICY_SPEC, DEFAULT_REWARD_MODEL, CommandExit, add_agent_args, agent_config,
                         check_agent_args, load_models, open_runtime, reports_exits, run_session)
from .cli_common import default_policy_spec, default_reward_model_spec  # noqa: F401 (bench/ reads them here)

if TYPE_CHECKING:
    from omni_model.types import Policy, RewardModel

    from .types import AgentConfig, Result

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
    p.add_argument("--n", type=int, default=1, help="candidate answers for best-of-n (default: 1)")
    add_agent_args(p)
    p.add_argument("--eli5", action="store_true", help="ELI5-evaluation mode: block reddit.com and quora.com, "
                                                       "censor pages that leak the question (10-gram rule)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (a stable format)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="stream commands and events to stderr (the default on a terminal, without --json)")
    return p


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
    return check_agent_args(args, args.n)


def shows_progress(args: argparse.Namespace, stream: Any = None) -> bool:
    """Commands and events go to stderr with -v, and by default on a terminal (never with --json,
    whose output a program reads): a person should not wait in silence while the agent browses."""
    stream = stream or sys.stderr
    return bool(args.verbose or (not args.json and hasattr(stream, "isatty") and stream.isatty()))


def verbose_printer(stream: Any = None) -> Any:
    """An ``on_event`` callback that writes one line per event as it happens."""

    from omni_model.prompts import ANSWER_END

    streamed: dict[int, str] = {}  # question -> the part of its first answer already written
    ended: set[int] = set()  # questions whose streamed line is closed

    def on_event(event: Any) -> None:
        out = stream or sys.stderr
        d = event.data
        tag = f"[q{d.get('question', 0)} ep{event.episode}]"
        question = d.get("question", 0)
        if event.kind == "answer_text":
            # The first candidate of the first episode streams as it is written; the rest would
            # interleave. Its citations are checked (and the best candidate chosen) afterwards.
            if event.episode != 0 or d.get("candidate", 0) != 0 or question in ended:
                return
            text = d["text"].split(ANSWER_END)[0].split("\n♦")[0].rstrip("\n")
            done = streamed.get(question)
            if done is None:
                print(f"{tag} writing: ", end="", file=out)
                done = ""
            if text.startswith(done) and len(text) > len(done):
                out.write(text[len(done):])
                out.flush()
                streamed[question] = text
            else:
                streamed.setdefault(question, done)
            return
        if question in streamed and question not in ended and event.kind in ("candidate_scored", "final_answer"):
            print(file=out, flush=True)  # end the streamed line before the next one
            ended.add(question)
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


async def _run(args: argparse.Namespace, policy: Policy, reward_model: RewardModel | None, config: AgentConfig
               ) -> Result:
    from browser_env.text.env import EnvConfig

    from .agent import Agent

    env_config = (EnvConfig.eli5 if args.eli5 else EnvConfig)(max_actions=args.max_actions)
    # One env per episode; prewarming more contexts than episodes would waste Chromium's time.
    async with open_runtime(args, env_config, prewarm=min(2, config.n // config.answers_per_browse)) as rt:
        agent = Agent(policy, reward_model, rt, config)
        return await agent.ask(args.question or None, on_event=verbose_printer() if shows_progress(args) else None,
                               image=args.image, audio=args.audio)


def _check_hearing(policy: Policy, hearing: str) -> None:
    """--hearing lm needs a policy whose language model writes speech down (``Policy.hearings``)."""
    if hearing == "lm" and "lm" not in policy.hearings:
        raise CommandExit(f"--hearing lm needs an omni checkpoint; {policy.spec} has no audio encoder", 2)


@reports_exits("ask")
def main(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        raise CommandExit(problem, 2)
    t0 = time.perf_counter()
    config = agent_config(args, n=args.n)
    # With one candidate there is nothing to choose: skip loading and running the reward model.
    policy, reward_model = load_models(args, media=bool(args.audio or args.image), reward_model=args.n > 1)
    if args.hearing:
        _check_hearing(policy, args.hearing)
        config = dataclasses.replace(config, hearing=args.hearing)
    result = run_session(_run(args, policy, reward_model, config))
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
            raise CommandExit(f"could not read the answer aloud: {e}", 1) from e
    return 1 if result.status == "failed" else 0
