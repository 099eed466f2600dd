"""The demonstration format: one JSON object per line (JSONL), schema in docs/demonstrations.md.

One schema serves every source of demonstrations: the UI recorder, the scripted demonstrator
and the imports (``training.imports``). A demo is a question, the browsing steps taken (each
the observation exactly as shown and the command issued), the quotes collected and the final
answer. ``training.rows`` turns demos into trl prompt/completion rows.

    demos = read_demos("demos.jsonl", errors=errs)   # bad rows skipped, each named FILE:LINE
    write_demos("demos.jsonl", demos, append=True)

A malformed row (bad JSON, a missing field, a wrong type, a command the grammar does not
parse) is the file's fault: it is reported with its file and line and skipped, or raised with
``strict=True``. Writing a malformed demo is a bug and raises.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from browser_env.text.grammar import ParseError, parse
from browser_env.text.observation import Observation, Quote

SCHEMA_VERSION = 1


class DemoFormatError(ValueError):
    """A row that does not follow the schema; ``str(err)`` starts with ``FILE:LINE:``."""

    def __init__(self, path: str | os.PathLike | None, line: int | None, message: str):
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        where = f"{self.path}:{line}: " if self.path is not None else ""
        super().__init__(where + message)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- field checks: each raises DemoFormatError(None, None, why); the reader adds file and line

def _bad(why: str) -> DemoFormatError:
    return DemoFormatError(None, None, why)


def _get(d: Any, key: str, kind: type | tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    if not isinstance(d, dict):
        raise _bad(f"{where} must be an object, got {type(d).__name__}")
    if key not in d or (optional and d[key] is None):
        if optional:
            return None
        raise _bad(f"{where} is missing {key!r}")
    value = d[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a count written as true is still wrong.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise _bad(f"{where}.{key} must be {names}, got {type(value).__name__}")
    return value


def _str_list(value: list, where: str) -> list[str]:
    if not all(isinstance(x, str) for x in value):
        raise _bad(f"{where} must be a list of strings")
    return list(value)


def quote_from_json(d: Any, where: str = "quote") -> Quote:
    return Quote(title=_get(d, "title", str, where), domain=_get(d, "domain", str, where),
                 url=_get(d, "url", str, where), extract=_get(d, "extract", str, where))


def observation_to_parts(obs: Observation) -> dict:
    """The Observation's fields as JSON (quotes as objects, the scrollbar as a pair)."""
    parts = asdict(obs)
    parts.pop("screenshot", None)  # saved as an image file beside the demos (Step.screenshot)
    parts["scrollbar"] = list(obs.scrollbar)
    return parts


def observation_from_parts(d: Any, where: str = "observation_parts") -> Observation:
    scrollbar = _get(d, "scrollbar", list, where)
    if len(scrollbar) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in scrollbar):
        raise _bad(f"{where}.scrollbar must be two integers")
    quotes = _get(d, "quotes", list, where)
    return Observation(
        question=_get(d, "question", str, where),
        quotes=[quote_from_json(q, f"{where}.quotes[{i}]") for i, q in enumerate(quotes)],
        past_actions=_str_list(_get(d, "past_actions", list, where), f"{where}.past_actions"),
        title=_get(d, "title", str, where),
        scrollbar=(scrollbar[0], scrollbar[1]),
        text=_get(d, "text", str, where),
        actions_left=_get(d, "actions_left", int, where),
        error=_get(d, "error", str, where, optional=True),
        truncated_note=_get(d, "truncated_note", str, where, optional=True),
    )


def check_command(command: str) -> None:
    """A demonstrated command must be one the grammar accepts: it is a training label."""
    try:
        parse(command)
    except ParseError as e:
        raise _bad(f"command {command!r} does not parse: {e}") from None


# --- the schema ---------------------------------------------------------------------------

@dataclass
class Step:
    """One browsing step: what was shown and the command issued in reply."""

    observation: str  # render_observation(...) output, exactly as shown
    command: str
    observation_parts: Observation | None = None  # lets prompts be rebuilt and truncated exactly
    screenshot: str | None = None  # path of a screenshot, for later multimodal work

    def to_json(self) -> dict:
        d: dict[str, Any] = {"observation": self.observation, "command": self.command}
        if self.observation_parts is not None:
            d["observation_parts"] = observation_to_parts(self.observation_parts)
        if self.screenshot is not None:
            d["screenshot"] = self.screenshot
        return d

    @classmethod
    def from_json(cls, d: Any, where: str = "step") -> "Step":
        command = _get(d, "command", str, where)
        check_command(command)
        parts = d.get("observation_parts")
        return cls(
            observation=_get(d, "observation", str, where),
            command=command,
            observation_parts=None if parts is None else observation_from_parts(parts, f"{where}.observation_parts"),
            screenshot=_get(d, "screenshot", str, where, optional=True),
        )


DAGGER_SOURCE = "dagger"  # metadata.source of DAgger's browsing-only demos (training.dagger)


@dataclass
class Metadata:
    """Who made the demo, when, against what, and where it came from."""

    who: str  # a labeller's name, "scripted", "webgpt-human" or "webgpt-model"
    when: str = field(default_factory=utc_now)  # ISO 8601
    source: str = ""  # e.g. "ui", "scripted", "eli5_webgpt_samples:docs-human"
    corpus: str | None = None  # the offline corpus browsed, if any
    backend: str | None = None  # the search backend browsed, if any
    extra: dict[str, Any] = field(default_factory=dict)  # any other keys, kept as they are

    _KNOWN = ("who", "when", "source", "corpus", "backend")

    def to_json(self) -> dict:
        d: dict[str, Any] = {"who": self.who, "when": self.when, "source": self.source}
        if self.corpus is not None:
            d["corpus"] = self.corpus
        if self.backend is not None:
            d["backend"] = self.backend
        return {**self.extra, **d}

    @classmethod
    def from_json(cls, d: Any, where: str = "metadata") -> "Metadata":
        return cls(
            who=_get(d, "who", str, where),
            when=_get(d, "when", str, where),
            source=_get(d, "source", str, where, optional=True) or "",
            corpus=_get(d, "corpus", str, where, optional=True),
            backend=_get(d, "backend", str, where, optional=True),
            extra={k: v for k, v in d.items() if k not in cls._KNOWN},
        )


@dataclass
class Demo:
    """One demonstration: a question, the browsing steps, the quotes and the final answer."""

    id: str
    question: str
    quotes: list[Quote]
    answer: str  # "" for a browsing-only demo
    steps: list[Step]
    metadata: Metadata
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> None:
        """Raise DemoFormatError when the demo breaks the schema (the checks ``from_json`` makes)."""
        Demo.from_json(self.to_json())

    def to_json(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "question": self.question,
            "quotes": [asdict(q) for q in self.quotes],
            "answer": self.answer,
            "steps": [s.to_json() for s in self.steps],
            "metadata": self.metadata.to_json(),
        }

    @classmethod
    def from_json(cls, d: Any) -> "Demo":
        version = _get(d, "schema_version", int, "demo")
        if version != SCHEMA_VERSION:
            raise _bad(f"unsupported schema_version {version} (this code reads {SCHEMA_VERSION})")
        demo_id = _get(d, "id", str, "demo")
        question = _get(d, "question", str, "demo")
        if not demo_id.strip() or not question.strip():
            raise _bad("demo.id and demo.question must not be empty")
        quotes = _get(d, "quotes", list, "demo")
        steps = _get(d, "steps", list, "demo")
        return cls(
            id=demo_id,
            question=question,
            quotes=[quote_from_json(q, f"quotes[{i}]") for i, q in enumerate(quotes)],
            answer=_get(d, "answer", str, "demo"),
            steps=[Step.from_json(s, f"steps[{i}]") for i, s in enumerate(steps)],
            metadata=Metadata.from_json(_get(d, "metadata", dict, "demo")),
            schema_version=version,
        )


# --- files --------------------------------------------------------------------------------

def iter_demos(path: str | os.PathLike, *, strict: bool = False,
               errors: list[DemoFormatError] | None = None) -> Iterator[Demo]:
    """Yield the demos in a JSONL file. Blank lines are ignored.

    A malformed row raises ``DemoFormatError`` naming the file and line when ``strict``;
    otherwise it is skipped and the error appended to ``errors`` (when a list is given).
    """
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                try:
                    d = json.loads(line)
                except json.JSONDecodeError as e:
                    raise _bad(f"not valid JSON: {e}") from None
                demo = Demo.from_json(d)
            except DemoFormatError as e:
                err = DemoFormatError(path, lineno, e.message)
                if strict:
                    raise err from None
                if errors is not None:
                    errors.append(err)
                continue
            yield demo


def read_demos(path: str | os.PathLike, *, strict: bool = False,
               errors: list[DemoFormatError] | None = None) -> list[Demo]:
    """All demos in a JSONL file; see ``iter_demos`` for malformed rows."""
    return list(iter_demos(path, strict=strict, errors=errors))


def dumps_demo(demo: Demo) -> str:
    """One JSONL line (without the newline). A demo that breaks the schema is a bug: it raises."""
    d = demo.to_json()
    Demo.from_json(d)
    return json.dumps(d, ensure_ascii=False)


def write_demos(path: str | os.PathLike, demos: Iterable[Demo], *, append: bool = False) -> int:
    """Write demos as JSONL; returns how many were written.

    ``append=False`` replaces the file atomically (temporary file + rename). ``append=True``
    adds all lines in one write; if the file ends in a torn line (a crash mid-write), a newline
    is written first so the torn line stays one bad row rather than corrupting the next.
    Every demo is validated before anything is written.
    """
    lines = [dumps_demo(d) for d in demos]
    payload = "".join(line + "\n" for line in lines)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with open(path, "a+b") as f:
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    payload = "\n" + payload
            f.write(payload.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        return len(lines)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(lines)
