"""The one definition of WebGPT's browsing commands (Nakano et al. 2021, Table 1).

Everything that needs to know what a command looks like reads ``COMMANDS``:
the parser below, the executor in ``browser_env.text.browser``, the prompt help text
(``help_text``) and omni_model's constrained decoder (which walks ``prefix`` and
``arg`` of each spec). Nothing else spells a command out.

    >>> parse("Scrolled down 2")
    Action(name='scroll_down', arg=2, text='Scrolled down 2')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

ArgKind = Literal["none", "text", "link_id", "scroll"]

# A generous bound: a query or quote longer than this is the model rambling, not a command.
MAX_ARG_CHARS = 1000
SCROLL_AMOUNTS = (1, 2, 3)
QUOTE_RANGE_SEP = "━"  # WebGPT's short form `Quote: <start>━<end>`


@dataclass(frozen=True)
class CommandSpec:
    name: str
    prefix: str  # literal text the command starts with; for arg == "none" it is the whole command
    arg: ArgKind
    arg_name: str
    help: str

    @property
    def template(self) -> str:
        return self.prefix if self.arg == "none" else f"{self.prefix}<{self.arg_name}>"


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("search", "Search ", "text", "query", "send the query to the search engine and show the results page"),
    CommandSpec("click", "Clicked on link ", "link_id", "link id", "follow the link with that id on the current page"),
    CommandSpec("find", "Find in page: ", "text", "text", "scroll to the next occurrence of the text"),
    CommandSpec("quote", "Quote: ", "text", "text",
                f"if the text is on the current page, add it as a reference (or <start>{QUOTE_RANGE_SEP}<end>)"),
    CommandSpec("scroll_down", "Scrolled down ", "scroll", "1, 2, 3", "scroll down a number of windows"),
    CommandSpec("scroll_up", "Scrolled up ", "scroll", "1, 2, 3", "scroll up a number of windows"),
    CommandSpec("top", "Top", "none", "", "scroll to the top of the page"),
    CommandSpec("back", "Back", "none", "", "go to the previous page"),
    CommandSpec("end_answer", "End: Answer", "none", "", "end browsing and write the answer"),
    CommandSpec("end_nonsense", "End: Nonsense", "none", "", "end browsing: the question makes no sense"),
    CommandSpec("end_controversial", "End: Controversial", "none", "", "end browsing: the question is too controversial"),
)
BY_NAME: dict[str, CommandSpec] = {c.name: c for c in COMMANDS}
END_COMMANDS = frozenset({"end_answer", "end_nonsense", "end_controversial"})

# Zero-width, bidi and other format characters can make two commands look alike; refuse them
# (control characters, newlines among them, too). The constrained decoder never offers a token
# holding one (``omni_model.vocab_index``).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})


def has_refused_chars(text: str) -> bool:
    """Whether ``text`` holds a character of a ``REFUSED_CATEGORIES`` category."""
    return any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in text)


@dataclass(frozen=True)
class Action:
    name: str
    arg: str | int | None
    text: str  # the command exactly as accepted (stripped)

    @property
    def spec(self) -> CommandSpec:
        return BY_NAME[self.name]


class ParseError(ValueError):
    """The model's fault: the text is not a command. ``str(err)`` is written for the model to read."""


def _valid_commands_hint() -> str:
    return "Valid commands: " + "; ".join(c.template for c in COMMANDS) + "."


def _bad(text: str, why: str) -> ParseError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return ParseError(f"Invalid action `{shown}`: {why}. {_valid_commands_hint()}")


def parse(text: str) -> Action:
    """Parse one command. Raises ``ParseError`` (the model's fault) for anything else."""
    if not isinstance(text, str):
        raise TypeError(f"command must be str, got {type(text).__name__}")  # a bug, not the model's fault
    stripped = text.strip()
    if not stripped:
        raise _bad(text, "the command is empty")
    if "\n" in stripped or "\r" in stripped:
        raise _bad(stripped, "a command is a single line")
    if has_refused_chars(stripped):
        raise _bad(stripped.encode("unicode_escape").decode(), "it contains control or invisible characters")
    for spec in COMMANDS:
        if spec.arg == "none":
            if stripped == spec.prefix:
                return Action(spec.name, None, stripped)
            continue
        if not stripped.startswith(spec.prefix):
            continue
        raw = stripped[len(spec.prefix):].strip()
        return Action(spec.name, _parse_arg(spec, raw, stripped), stripped)
    raise _bad(stripped, "unknown command")


def _parse_arg(spec: CommandSpec, raw: str, text: str) -> str | int:
    if spec.arg == "text":
        if not raw:
            raise _bad(text, f"`{spec.prefix.strip()}` needs a {spec.arg_name}")
        if len(raw) > MAX_ARG_CHARS:
            raise _bad(text, f"the {spec.arg_name} is longer than {MAX_ARG_CHARS} characters")
        if spec.name == "quote" and QUOTE_RANGE_SEP in raw:
            start, _, end = raw.partition(QUOTE_RANGE_SEP)
            if not start.strip() or not end.strip() or QUOTE_RANGE_SEP in end:
                raise _bad(text, f"the short form is `Quote: <start>{QUOTE_RANGE_SEP}<end>`")
        return raw
    if spec.arg == "link_id":
        if not re.fullmatch(r"\d{1,6}", raw):
            raise _bad(text, "the link id must be a number shown as 【<id>†...】 on the page")
        return int(raw)
    if spec.arg == "scroll":
        if raw not in {str(n) for n in SCROLL_AMOUNTS}:
            raise _bad(text, "scroll by 1, 2 or 3")
        return int(raw)
    raise AssertionError(f"unhandled arg kind {spec.arg}")  # a bug


def format_action(name: str, arg: str | int | None = None) -> str:
    """The inverse of ``parse``: the canonical text of a command."""
    spec = BY_NAME[name]
    if spec.arg == "none":
        if arg is not None:
            raise ValueError(f"{name} takes no argument")
        return spec.prefix
    if arg is None:
        raise ValueError(f"{name} needs a {spec.arg_name}")
    return f"{spec.prefix}{arg}"


def help_text() -> str:
    """The command list as shown to a model or a person."""
    width = max(len(c.template) for c in COMMANDS)
    return "\n".join(f"{c.template:<{width}}  {c.help}" for c in COMMANDS)
