"""One reader for files of JSON rows, as webqa's commands take them: JSON Lines, or JSON
documents pretty-printed over many lines (``webqa ask --json``). Every row comes with the line
it starts on, so a bad one is reported as ``FILE:LINE: what is wrong``.

    for line, row in read_json_rows("pairs.json"):
        if isinstance(row, Exception): ...   # not JSON: report it, with the line

Used by ``training.comparisons`` (and so every comparisons reader) and ``training.store``'s pairs
loader (``webqa comparisons load``, ``webqa ui compare --pairs``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_json_rows(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line, row) for each JSON row of a file, or (line, ValueError) for one that is not JSON.

    Two layouts are read alike: JSON Lines (one value per line; a bad line is reported and the
    next read on), and whole JSON documents, pretty-printed over many lines as ``webqa ask
    --json`` prints them: one object, an array of objects (each element is a row, on the line
    where it starts), or several documents one after another (``>>`` appends). A document is
    told apart by its first line: JSON Lines' first line is a complete object by itself. In a
    document nothing after a syntax error can be trusted, so reading stops at the first one.
    A file that is not UTF-8 raises ValueError naming the file.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: a byte-order mark is not a syntax error
            first = next((text for text in f if text.strip()), "")
            jsonl = first.lstrip().startswith("{") and _parses(first)
            if jsonl:
                f.seek(0)
                yield from _lines(f)
                return
            f.seek(0)
            text = f.read()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    yield from _documents(text)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _lines(f: Any) -> Iterator[tuple[int, Any]]:
    n = 0
    try:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                yield n, json.loads(text)
            except json.JSONDecodeError as e:
                yield n, ValueError(f"not JSON: {e.msg} at column {e.colno}")
    except UnicodeDecodeError as e:
        raise ValueError(f"{f.name}:{n + 1}: not UTF-8 text ({e.reason})") from None


_SPACE = re.compile(r"\s*")


def _documents(text: str) -> Iterator[tuple[int, Any]]:
    """Rows of whitespace-separated JSON documents; a top-level array's elements are rows."""
    decoder = json.JSONDecoder()
    line_at = _LineCounter(text)
    pos = _SPACE.match(text, 0).end()
    try:
        while pos < len(text):
            if text[pos] == "[":
                pos = _SPACE.match(text, pos + 1).end()
                while pos < len(text) and text[pos] != "]":
                    row, end = decoder.raw_decode(text, pos)
                    yield line_at(pos), row
                    pos = _SPACE.match(text, end).end()
                    if pos < len(text) and text[pos] == ",":
                        pos = _SPACE.match(text, pos + 1).end()
                    elif pos >= len(text) or text[pos] != "]":
                        raise json.JSONDecodeError("Expecting ',' delimiter or ']'", text, pos)
                if pos >= len(text):
                    raise json.JSONDecodeError("Unterminated array: expecting ']'", text, pos)
                pos += 1
            else:
                row, end = decoder.raw_decode(text, pos)
                yield line_at(pos), row
                pos = end
            pos = _SPACE.match(text, pos).end()
    except json.JSONDecodeError as e:
        yield e.lineno, ValueError(f"not JSON: {e.msg} at column {e.colno} (nothing after it was read)")


class _LineCounter:
    """Line numbers of increasing offsets, counted once (a long array would be quadratic otherwise)."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def __call__(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line
