"""``webqa browse``: drive the text browser by hand, or from a script of commands.

    webqa browse --question "Why is the sky blue?"                  # interactive
    printf 'Search sky\nClicked on link 0\n' | webqa browse --commands - --json

With ``--json`` every step prints one JSON object per line (a stable interface other tools
use): ``{"command", "valid", "error", "observation", "quotes", "actions_left", "done"}``.
The first line is the opening observation, with ``"command": null``.

Typed commands (no ``--commands``) are for a person: readline gives line editing and a history
kept in ``$WEBQA_HOME/browse_history``, ``help`` and ``quit`` cost no action, and a command is
recognised whatever its case (``search cats``, ``back``, ``end: answer``) and passed on in the
grammar's own spelling. Script lines go to the browser exactly as written, as a model's would
(``browser_env.text.grammar.parse`` stays exact). Bad arguments are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .backends.specs import BACKEND_SPECS_HELP
from .types import InputError

if TYPE_CHECKING:  # the env pulls in the browser: not needed for --help
    from .text.env import StepResult
    from .text.observation import Quote

DESCRIPTION = """Drive webqa's text browser (WebGPT's command set) over the offline mini-web or a web
search backend. After each command the observation the model would see is printed; at
`End: Answer` the quotes collected are printed too.

Commands: Search <query> | Clicked on link <id> | Find in page: <text> | Quote: <text>
| Scrolled down <1-3> | Scrolled up <1-3> | Top | Back | End: Answer | End: Nonsense
| End: Controversial. Anything else is an invalid action: it uses up one action and its
error is shown in the next observation.

Typed at the prompt, commands are accepted in any case (`search cats`, `back`, `end: answer`),
`help` lists them and `quit` (or Ctrl-D) leaves; neither costs an action. Lines from --commands
are taken exactly as written, as the model's are."""

EXAMPLES = """examples:
  webqa browse --question "Why is the sky blue?"             # type commands; `help` lists them
  printf 'Search photosynthesis\\nClicked on link 0\\n' \\
    | webqa browse -q "How do plants make food?" --commands - --json
  webqa browse --index idx/featured                          # an index from `webqa index build`
  webqa browse --search direct local                         # a query that is a URL opens it
  webqa browse --search searxng:http://127.0.0.1:8888 --eli5

Exit codes: 0 done, 1 the browser or a backend failed, 2 bad input."""

HELP_WORDS = frozenset(("help", "?", "commands"))
QUIT_WORDS = frozenset(("quit", "exit"))


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("browse", help="drive the text browser by hand or from a script",
                              description=DESCRIPTION, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", help="index folder from `webqa index build` (default: the wiki-vital index "
                                   "built by the set-up)")
    p.add_argument("--search", nargs="+", default=["local"], metavar="BACKEND", help=BACKEND_SPECS_HELP)
    p.add_argument("--question", "-q", help="the question shown at the top of every observation")
    p.add_argument("--reference", help="a reference answer (for 10-gram censoring with --eli5)")
    p.add_argument("--commands", metavar="FILE|-",
                   help="read one command per line from FILE (UTF-8, or - for stdin) instead of prompting")
    p.add_argument("--max-actions", type=int, default=100, help="action budget, at least 1 (default: 100, as WebGPT)")
    p.add_argument("--eli5", action="store_true",
                   help="ELI5-evaluation mode: block reddit.com and quora.com, censor 10-gram leaks")
    p.add_argument("--block", nargs="*", default=[], metavar="DOMAIN", help="extra domains to block")
    p.add_argument("--allow", nargs="*", metavar="DOMAIN", help="allow only these domains")
    p.add_argument("--json", action="store_true", help="print one JSON object per step")
    return p


# --- typed input ----------------------------------------------------------------------------


def typed_command(line: str) -> str:
    """A command typed by a person, in the grammar's spelling when it matches one whatever its case.

    ``search cats`` -> ``Search cats``, ``end:  answer`` -> ``End: Answer``. Only the command's
    words are respelled, never its argument; a line that matches no command is returned as it is,
    for the browser to refuse with its usual error.
    """
    from .text.grammar import COMMANDS

    stripped = line.strip()
    folded = " ".join(stripped.split()).casefold()
    for spec in COMMANDS:
        words = " ".join(spec.prefix.split())
        if spec.arg == "none":
            if folded == words.casefold():
                return spec.prefix
            continue
        if not folded.startswith(words.casefold()):
            continue
        # Walk the typed line past the command's words (its spacing may differ) to keep the argument as typed.
        pos = 0
        for word in words.split():
            while pos < len(stripped) and stripped[pos].isspace():
                pos += 1
            pos += len(word)
        rest = stripped[pos:]
        if rest and not rest[0].isspace() and not words.endswith(":"):
            continue  # `searchlight`, `topology`: not this command
        return spec.prefix + rest.strip() if rest.strip() else spec.prefix.rstrip()
    return stripped


def local_help() -> str:
    from .text.grammar import help_text

    return (help_text() + "\n\nCommands may be typed in any case. `help` shows this list and `quit` "
            "(or Ctrl-D) leaves; neither costs an action.")


def _history_file() -> Path:
    from .paths import webqa_home

    return webqa_home() / "browse_history"


def _enable_readline() -> Callable[[], None]:
    """Line editing and a history kept across sessions; returns the function that saves it."""
    try:
        import readline
    except ImportError:  # not on every platform; input() still works without it
        return lambda: None
    history = _history_file()
    try:
        readline.read_history_file(history)
    except OSError:
        pass  # the first session, or an unreadable file: start a new history
    readline.set_history_length(1000)

    def save() -> None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
        except OSError:
            pass  # a read-only home must not turn the end of a session into an error

    return save


def _prompt_lines(out: TextIO) -> Iterator[str]:
    while True:
        try:
            line = input("command> ")
        except EOFError:
            print(file=out)
            return
        if line.strip():
            yield line


# --- scripted input -------------------------------------------------------------------------


def _decoded(raw: bytes, name: str, lineno: int) -> str:
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise InputError(f"{name}:{lineno}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1})") from e


def _read_script(path: str) -> list[str]:
    """Every command line of a script file, read and checked before the browser starts."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"--commands: cannot read {path}: {e.strerror or e}") from e
    lines = [_decoded(raw, path, n) for n, raw in enumerate(data.splitlines(), 1)]
    return [line for line in lines if line.strip()]


def _stdin_lines() -> Iterator[str]:
    # Streamed, so another program can write a command, read the observation, then write the next.
    for n, raw in enumerate(sys.stdin.buffer, 1):
        line = _decoded(raw, "stdin", n)
        if line.strip():
            yield line


# --- the session ----------------------------------------------------------------------------


def quotes_summary(quotes: Sequence[Quote]) -> str:
    """The quotes collected, numbered as an answer would cite them."""
    if not quotes:
        return "No quotes were collected."
    blocks = [f"Quotes collected ({len(quotes)}):"]
    for i, q in enumerate(quotes, 1):
        extract = "\n".join(f"    > {line}" for line in q.extract.splitlines() or [""])
        blocks.append(f"[{i}] {q.title} ({q.domain})\n    {q.url}\n{extract}")
    return "\n".join(blocks)


def run_session(env, question: str, reference: str | None, lines: Iterable[str], *, as_json: bool,
                typed: bool, out: TextIO, max_actions: int) -> None:
    """Reset ``env`` (a ``SyncBrowserEnv``) and run ``lines`` through it, printing each step to ``out``."""

    def emit(command: str | None, text: str, result: StepResult | None) -> None:
        if as_json:
            record = {"command": command, "valid": result.valid if result else True,
                      "error": result.error if result else None, "observation": text,
                      "quotes": [asdict(q) for q in result.quotes] if result else [],
                      "actions_left": result.actions_left if result else max_actions,
                      "done": result.done if result else False}
            print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
        else:
            print(text, file=out, flush=True)

    emit(None, env.reset(question, reference), None)
    if typed and not as_json:
        print("(type `help` for the commands, `quit` to leave)", file=out, flush=True)
    for line in lines:
        command = line
        if typed:
            word = line.strip().casefold()
            if word in HELP_WORDS:
                print(local_help(), file=sys.stderr if as_json else out, flush=True)
                continue
            if word in QUIT_WORDS:
                break
            command = typed_command(line)
        result = env.step(command)
        emit(command, result.text, result)
        if result.done:
            if not as_json:
                print(f"[episode over: {result.end}]", file=out)
                if result.end == "Answer":
                    print(quotes_summary(result.quotes), file=out, flush=True)
            break


def _check(args: argparse.Namespace) -> str | None:
    from .backends.specs import check_spec

    if args.max_actions < 1:
        return f"--max-actions must be at least 1, got {args.max_actions}"
    for spec in args.search:
        try:
            check_spec(spec)
        except InputError as e:
            return f"--search: {e}"
    return None


def main(args: argparse.Namespace) -> int:
    from .text.env import EnvConfig
    from .runtime import SyncWebRuntime
    from .types import WorldError

    def fail(message: str) -> int:
        print(f"webqa browse: error: {message}", file=sys.stderr)
        return 2

    problem = _check(args)
    if problem:
        return fail(problem)
    typed = args.commands is None
    try:
        lines: Iterable[str] = [] if typed else _stdin_lines() if args.commands == "-" else _read_script(args.commands)
    except InputError as e:
        return fail(str(e))
    save_history = _enable_readline() if typed and sys.stdin.isatty() else (lambda: None)
    question = args.question
    if not question:
        try:
            question = input("question> ").strip() if typed and sys.stdin.isatty() else ""
        except EOFError:
            question = ""
    question = question or "(no question given)"
    make = EnvConfig.eli5 if args.eli5 else EnvConfig
    config = make(max_actions=args.max_actions)
    if args.block:
        config.block_domains = tuple(config.block_domains) + tuple(args.block)
    if args.allow is not None:
        config.allow_domains = tuple(args.allow)

    try:
        with SyncWebRuntime(args.index, search=args.search, config=config, prewarm=1) as rt:
            env = rt.make_env()
            if typed:
                lines = _prompt_lines(sys.stdout)
            run_session(env, question, args.reference, lines, as_json=args.json, typed=typed,
                        out=sys.stdout, max_actions=config.max_actions)
            env.close()
    except InputError as e:
        return fail(str(e))
    except (WorldError, OSError) as e:
        print(f"webqa browse: {e}", file=sys.stderr)
        return 1
    finally:
        save_history()
    return 0
