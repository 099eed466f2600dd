"""``webqa browse``: drive the text browser by hand, or from a script of commands.

    webqa browse --question "Why is the sky blue?"                  # interactive
    printf 'Search sky\nClicked on link 0\n' | webqa browse --commands - --json

With ``--json`` every step prints one JSON object per line (a stable interface other tools
use): ``{"command", "valid", "error", "observation", "quotes", "actions_left", "done"}``.
The first line is the opening observation, with ``"command": null``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterator, TextIO

DESCRIPTION = """Drive webqa's text browser (WebGPT's command set) over the offline mini-web or a web
search backend. After each command the observation the model would see is printed.

Commands: Search <query> | Clicked on link <id> | Find in page: <text> | Quote: <text>
| Scrolled down <1-3> | Scrolled up <1-3> | Top | Back | End: Answer | End: Nonsense
| End: Controversial. Anything else is an invalid action: it uses up one action and its
error is shown in the next observation."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("browse", help="drive the text browser by hand or from a script",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", help="index folder from `webqa index build` (default: the wiki-vital index "
                                   "built by the set-up)")
    p.add_argument("--search", nargs="+", default=["local"], metavar="BACKEND",
                   help="search backends tried in order: local, direct, searxng:URL, brave, duckduckgo "
                        "(default: local)")
    p.add_argument("--question", "-q", help="the question shown at the top of every observation")
    p.add_argument("--reference", help="a reference answer (for 10-gram censoring with --eli5)")
    p.add_argument("--commands", metavar="FILE|-",
                   help="read one command per line from FILE (or - for stdin) instead of prompting")
    p.add_argument("--max-actions", type=int, default=100, help="action budget (default: 100, as WebGPT)")
    p.add_argument("--eli5", action="store_true",
                   help="ELI5-evaluation mode: block reddit.com and quora.com, censor 10-gram leaks")
    p.add_argument("--block", nargs="*", default=[], metavar="DOMAIN", help="extra domains to block")
    p.add_argument("--allow", nargs="*", metavar="DOMAIN", help="allow only these domains")
    p.add_argument("--json", action="store_true", help="print one JSON object per step")
    return p


def _script_lines(source: str) -> Iterator[str]:
    stream: TextIO = sys.stdin if source == "-" else open(source, encoding="utf-8")
    try:
        for line in stream:
            if line.strip():
                yield line.rstrip("\n")
    finally:
        if stream is not sys.stdin:
            stream.close()


def _prompt_lines() -> Iterator[str]:
    while True:
        try:
            yield input("command> ")
        except EOFError:
            return


def main(args: argparse.Namespace) -> int:
    from .env import EnvConfig
    from .runtime import SyncWebRuntime
    from .types import WorldError

    interactive = args.commands is None
    question = args.question
    if not question:
        question = input("question> ").strip() if interactive and sys.stdin.isatty() else ""
    question = question or "(no question given)"
    make = EnvConfig.eli5 if args.eli5 else EnvConfig
    config = make(max_actions=args.max_actions)
    if args.block:
        config.block_domains = tuple(config.block_domains) + tuple(args.block)
    if args.allow is not None:
        config.allow_domains = tuple(args.allow)

    def emit(command: str | None, text: str, info: dict, done: bool) -> None:
        if args.json:
            record = {"command": command, "valid": info.get("valid", True), "error": info.get("error"),
                      "observation": text, "quotes": info.get("quotes", []),
                      "actions_left": info.get("actions_left", config.max_actions), "done": done}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            print(text, flush=True)

    try:
        with SyncWebRuntime(args.index, search=args.search, config=config, prewarm=1) as rt:
            env = rt.make_env()
            text = env.reset(question, args.reference)
            emit(None, text, {}, False)
            lines = _prompt_lines() if interactive else _script_lines(args.commands)
            for command in lines:
                text, _, done, info = env.step(command)
                emit(command, text, info, done)
                if done:
                    if not args.json:
                        print(f"[episode over: {info['end']}]")
                    break
            env.close()
    except (WorldError, OSError) as e:
        print(f"webqa browse: {e}", file=sys.stderr)
        return 1
    return 0
