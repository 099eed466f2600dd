"""Question loaders for evaluation: ELI5-style JSON / JSONL files and TruthfulQA's CSV.

    rows = load_questions("eli5.json")                  # list[QuestionRow]
    errors: list[DataError] = []
    rows = load_questions("mine.jsonl", errors=errors)  # bad rows are reported here and skipped
    rows = load_truthfulqa("TruthfulQA.csv")

Accepted rows (a JSON list, or JSONL with one object a line):

- ALCE ELI5 (``question``, ``answer``, ...): reference = ``answer``;
- the WebGPT samples (``question_id``, ``question``, ``human_answer``, ``webgpt_answer``, ...):
  reference = ``human_answer``, falling back to ``webgpt_answer`` when it is empty;
- plain ``{"question", "reference" | "answer"}`` rows, with an optional ``id`` and ``source``.

Ids are stable: the row's own id (``id``, ``question_id`` or ``qid``) when it has one, else a
hash of the normalised question (lower-case, runs of non-alphanumerics to one space), so a
resumed evaluation recognises the questions it has done. A bad row (not an object, an empty
question, a repeated id) becomes a ``DataError`` naming the file and line; the other rows still
load. With ``strict=True`` the first one raises. A file that cannot be parsed at all (broken
JSON list syntax, a CSV without the needed columns) always raises.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ID_FIELDS = ("id", "question_id", "qid")
REFERENCE_FIELDS = ("reference", "answer", "human_answer", "webgpt_answer")
TRUTHFULQA_COLUMNS = ("Question", "Best Answer", "Correct Answers", "Incorrect Answers")


class DataError(ValueError):
    """A bad row or file, located: ``str(e)`` reads ``FILE:LINE: message``."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{self.path}:{line}: {message}" if line is not None else f"{self.path}: {message}")


@dataclass(frozen=True)
class QuestionRow:
    id: str
    question: str
    reference: str | None
    source: str
    line: int | None = None  # where the row starts in its file (1-based)
    correct: tuple[str, ...] = ()  # TruthfulQA: the true answers
    incorrect: tuple[str, ...] = ()  # TruthfulQA: the false answers
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def normalise_question(question: str) -> str:
    """The question as the shared data's split rule reads it: lower-case, one space between words."""
    return re.sub(r"[^0-9a-z]+", " ", question.lower()).strip()


def question_id(question: str) -> str:
    """A stable id for a question without one: a short hash of its normalised text."""
    return "q" + hashlib.sha256(normalise_question(question).encode("utf-8")).hexdigest()[:12]


class _Collector:
    """Keeps the good rows and the errors; raises at once in strict mode; refuses repeated ids."""

    def __init__(self, path: Path, strict: bool, errors: list[DataError] | None):
        self.path, self.strict, self.errors = path, strict, errors
        self.rows: list[QuestionRow] = []
        self._seen: dict[str, int | None] = {}

    def error(self, line: int | None, message: str) -> None:
        err = DataError(self.path, line, message)
        if self.strict:
            raise err
        if self.errors is not None:
            self.errors.append(err)
        else:
            log.warning("%s (row skipped)", err)

    def add(self, row: QuestionRow) -> None:
        if row.id in self._seen:
            where = self._seen[row.id]
            self.error(row.line, f"repeated question id {row.id!r} (first at line {where}); row skipped")
            return
        self._seen[row.id] = row.line
        self.rows.append(row)


def _text(value: Any) -> str | None:
    """A field as text: strings as they are, lists by their first non-empty string, else None."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for v in value:
            if isinstance(v, str) and v.strip():
                return v.strip()
            if isinstance(v, dict) and isinstance(v.get("answer"), str) and v["answer"].strip():
                return v["answer"].strip()  # KILT-style [{"answer": ...}]
    return None


def _row(obj: Any, line: int | None, path: Path, out: _Collector) -> None:
    if not isinstance(obj, dict):
        out.error(line, f"expected an object with a 'question', got {type(obj).__name__}")
        return
    question = obj.get("question")
    if not isinstance(question, str):
        have = ", ".join(sorted(map(str, obj))[:8]) or "none"
        out.error(line, f"row has no 'question' string (fields: {have})")
        return
    question = question.strip()
    if not question:
        out.error(line, "empty question")
        return
    reference = next((t for f in REFERENCE_FIELDS if (t := _text(obj.get(f))) is not None), None)
    given = next((obj[f] for f in ID_FIELDS if obj.get(f) not in (None, "")), None)
    if given is not None and not isinstance(given, str | int):
        out.error(line, f"id must be a string or an integer, got {type(given).__name__}")
        return
    qid = str(given) if given is not None else question_id(question)
    source = obj.get("source") if isinstance(obj.get("source"), str) else path.name
    out.add(QuestionRow(id=qid, question=question, reference=reference, source=source, line=line))


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_list_items(text: str, path: Path) -> Iterator[tuple[Any, int]]:
    """Each item of a JSON list with the line it starts on; broken syntax raises DataError."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")
    seen_pos, seen_line = 0, 1

    def line_at(p: int) -> int:  # counted on from the last item, so a big file is scanned once
        nonlocal seen_pos, seen_line
        seen_line += text.count("\n", seen_pos, p)
        seen_pos = p
        return seen_line

    pos = ws.match(text, 0).end()
    if text[pos:pos + 1] != "[":
        raise DataError(path, _line_of(text, pos), "expected a JSON list of question objects")
    pos = ws.match(text, pos + 1).end()
    if text[pos:pos + 1] == "]":
        return
    while True:
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            # Past a syntax error nothing after it can be trusted: the file must be fixed.
            raise DataError(path, e.lineno, f"invalid JSON: {e.msg} (column {e.colno})") from e
        yield obj, line_at(pos)
        pos = ws.match(text, end).end()
        sep = text[pos:pos + 1]
        if sep == "]":
            return
        if sep != ",":
            raise DataError(path, _line_of(text, pos), f"invalid JSON: expected ',' or ']' after a list item, "
                            f"found {sep or 'the end of the file'!r}")
        pos = ws.match(text, pos + 1).end()


def load_questions(path: str | Path, *, strict: bool = False,
                   errors: list[DataError] | None = None) -> list[QuestionRow]:
    """Questions (with optional reference answers) from a JSON list or a JSONL file.

    Bad rows are appended to ``errors`` (or logged when it is None) and skipped; ``strict=True``
    raises the first. A missing file raises ``FileNotFoundError``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(path, None, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    out = _Collector(path, strict, errors)
    if text.lstrip().startswith("["):
        for obj, line in _json_list_items(text, path):
            _row(obj, line, path, out)
        return out.rows
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            out.error(number, f"invalid JSON: {e.msg} (column {e.colno})")
            continue
        _row(obj, number, path, out)
    if not out.rows and not text.strip():
        raise DataError(path, None, "the file is empty")
    return out.rows


def _answers(cell: str | None) -> tuple[str, ...]:
    return tuple(a.strip() for a in (cell or "").split(";") if a.strip())


def load_truthfulqa(csv_path: str | Path, *, strict: bool = False,
                    errors: list[DataError] | None = None) -> list[QuestionRow]:
    """TruthfulQA.csv: reference = Best Answer; ``correct`` / ``incorrect`` from the ;-lists."""
    path = Path(csv_path)
    out = _Collector(path, strict, errors)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in TRUTHFULQA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(path, 1, f"missing column(s) {', '.join(missing)}; TruthfulQA.csv has "
                            f"{', '.join(TRUTHFULQA_COLUMNS)}")
        start = reader.line_num + 1
        for rec in reader:
            line, start = start, reader.line_num + 1  # a quoted cell may span lines: keep the first
            if None in rec:
                out.error(line, f"row has {len(rec) - 1 + len(rec[None])} cells, more than the header's "
                          f"{len(reader.fieldnames or [])}")
                continue
            question = (rec.get("Question") or "").strip()
            if not question:
                out.error(line, "empty question")
                continue
            correct = _answers(rec.get("Correct Answers"))
            best = (rec.get("Best Answer") or "").strip() or None
            if best and best not in correct:
                correct = (best, *correct)
            incorrect = _answers(rec.get("Incorrect Answers"))
            if not correct or not incorrect:
                out.error(line, "a TruthfulQA row needs at least one correct and one incorrect answer")
                continue
            meta = {k: rec[k] for k in ("Type", "Category", "Source") if rec.get(k)}
            out.add(QuestionRow(id=question_id(question), question=question, reference=best, source="truthfulqa",
                                line=line, correct=correct, incorrect=incorrect, meta=meta))
    return out.rows
