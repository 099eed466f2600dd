"""Pairwise answer comparisons: WebGPT's JSONL as it is, the shared preference sets, trl rows.

``Comparison`` is the one in-memory form. Readers:

- ``load_webgpt(path)``: openai/webgpt_comparisons rows (``question`` as ``{"full_text": ...}`` or
  a string, ``quotes_0``/``quotes_1`` as ``{"title": [...], "extract": [...]}``, ``answer_0``/
  ``answer_1``, ``score_0``/``score_1`` in [-1, 1]); the row is kept, so ``export_webgpt`` writes
  it back unchanged;
- the public preference sets (lfqa expert preferences, HaluQuestQA, HH-RLHF) are read by
  ``training.preference_sets`` into the same form;
- ``load_trl(path)``: ``prompt``/``chosen``/``rejected`` JSONL, as ``to_trl_rows`` writes it;
- ``load_comparisons(path)``: WebGPT or trl JSONL, told apart by the first row's keys.

Files are JSON Lines or pretty-printed JSON documents alike (``training.json_rows``).
Every reader returns ``Loaded(comparisons, errors)``: a malformed row becomes a ``RowError``
naming its file and line and is skipped, or raises ``MalformedRowError`` with ``strict=True``.

A row may carry ``kind`` (a string naming how the pair was made, e.g. a perturbation); it is
read into ``Comparison.kind`` and written back by both exporters, so ``webqa rm eval`` can
report accuracy by kind.

Labels follow WebGPT: a score of 0 is a tie, read as a soft 50% label; any other score counts
by its sign only. ``to_trl_rows`` turns comparisons into rows for trl's ``RewardTrainer``
(see its docstring for how ties are carried).

    loaded = load_webgpt("comparisons.jsonl")
    rows = to_trl_rows(loaded.comparisons, ties="drop")
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from browser_env.text.observation import Quote
from omni_model.prompts import reward_text
from training.json_rows import read_json_rows

TieMode = Literal["soft", "drop"]

# "Title (www.example.com)": WebGPT writes the domain into the quote's title.
_TITLE_DOMAIN = re.compile(r"^(?P<title>.*\S)\s+\((?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\)\s*$", re.S)


class MalformedRowError(ValueError):
    """A row that cannot be read as a comparison; the message names the file and line."""


@dataclass(frozen=True)
class RowError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Comparison:
    """Two answers to one question, each with the quotes it was written from.

    ``score_0``/``score_1`` use WebGPT's scale: positive means preferred, 0 is a tie.
    ``raw`` is the source row when it was WebGPT JSONL, so export is lossless.
    """

    question: str
    answer_0: str
    answer_1: str
    score_0: float
    score_1: float
    quotes_0: tuple[Quote, ...] = ()
    quotes_1: tuple[Quote, ...] = ()
    source: str = ""  # "path:line" (or a note saying how the pair was made)
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    kind: str = ""  # what kind of pair this is (a perturbation's name), when the file says

    @property
    def is_tie(self) -> bool:
        return self.score_0 == self.score_1

    @property
    def preferred(self) -> int | None:
        """0 or 1, the index of the better answer; None for a tie."""
        if self.is_tie:
            return None
        return 0 if self.score_0 > self.score_1 else 1

    @property
    def label(self) -> float:
        """P(answer_0 is better): 1, 0, or 0.5 for a tie (only the sign of a score counts)."""
        p = self.preferred
        return 0.5 if p is None else float(p == 0)

    def side(self, i: int) -> tuple[str, tuple[Quote, ...], str]:
        """(question, quotes, answer) of answer ``i``, as ``RewardModel.score_batch`` takes it."""
        if i == 0:
            return self.question, self.quotes_0, self.answer_0
        if i == 1:
            return self.question, self.quotes_1, self.answer_1
        raise IndexError(i)


@dataclass
class Loaded:
    comparisons: list[Comparison]
    errors: list[RowError]

    def __len__(self) -> int:
        return len(self.comparisons)

    def __iter__(self) -> Iterator[Comparison]:
        return iter(self.comparisons)


# --- shared reading machinery -----------------------------------------------------------------

def _read(path: str | Path, rows: Iterable[tuple[int, Any]], convert: Callable[[Any, str], Comparison | None],
          strict: bool) -> Loaded:
    """``convert(row, where)`` each (line, row); a ``ValueError`` marks the row malformed."""
    out, errors = [], []
    for line, row in rows:
        where = f"{path}:{line}"
        try:
            if isinstance(row, Exception):
                raise row
            c = convert(row, where)
        except (ValueError, TypeError, KeyError) as e:
            msg = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            if isinstance(e, TypeError):
                msg = f"TypeError: {e}"
            err = RowError(str(path), line, msg)
            if strict:
                raise MalformedRowError(str(err)) from e
            errors.append(err)
            continue
        if c is not None:
            out.append(c)
    return Loaded(out, errors)


_jsonl = read_json_rows  # the readers' historical name


def _text(row: dict, key: str) -> str:
    value = row[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string, got {type(value).__name__} {str(value)[:40]!r}")
    return value


# --- WebGPT -------------------------------------------------------------------------------------

def quote_from_title(title: str, extract: str) -> Quote:
    """A WebGPT quote: the domain is read back out of ``Title (domain)`` when it is there."""
    m = _TITLE_DOMAIN.match(title)
    if m:
        return Quote(m["title"], m["domain"], "", extract)
    # reward_text writes a quote without a domain as "title ()": read it back as that title, or
    # every round trip through trl rows would add another " ()"
    return Quote(title.removesuffix(" ()"), "", "", extract)


def _webgpt_quotes(row: dict, key: str) -> tuple[Quote, ...]:
    q = row.get(key)
    if q is None or q == []:
        return ()
    if not isinstance(q, dict):
        raise ValueError(f"{key!r} must be {{'title': [...], 'extract': [...]}}, got {type(q).__name__}")
    titles, extracts = q.get("title", []), q.get("extract", [])
    if not isinstance(titles, list) or not isinstance(extracts, list) or len(titles) != len(extracts):
        raise ValueError(f"{key!r} needs two lists of one length, 'title' and 'extract'")
    if not all(isinstance(x, str) for x in [*titles, *extracts]):
        raise ValueError(f"{key!r} titles and extracts must be strings")
    return tuple(quote_from_title(t, e) for t, e in zip(titles, extracts, strict=True))


def _score(row: dict, key: str) -> float:
    s = row[key]
    if isinstance(s, bool) or not isinstance(s, int | float) or not -1 <= s <= 1:
        raise ValueError(f"{key!r} must be a number in [-1, 1], got {s!r}")
    return float(s)


def webgpt_comparison(row: Any, where: str = "") -> Comparison:
    """One WebGPT comparisons row, kept in ``raw``; raises ValueError/KeyError when malformed."""
    if not isinstance(row, dict):
        raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
    q = row["question"]
    question = q.get("full_text") if isinstance(q, dict) else q
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a string or an object with a non-empty 'full_text'")
    s0, s1 = _score(row, "score_0"), _score(row, "score_1")
    if s0 * s1 > 0 or (s0 == 0) != (s1 == 0):
        raise ValueError(f"score_0={s0} and score_1={s1} disagree (they should sum to 0)")
    return Comparison(question, _text(row, "answer_0"), _text(row, "answer_1"), s0, s1,
                      _webgpt_quotes(row, "quotes_0"), _webgpt_quotes(row, "quotes_1"), where, row, _kind(row))


def _kind(row: dict) -> str:
    kind = row.get("kind", "")
    if not isinstance(kind, str):
        raise ValueError(f"'kind' must be a string, got {type(kind).__name__}")
    return kind


def load_webgpt(path: str | Path, *, strict: bool = False) -> Loaded:
    return _read(path, _jsonl(path), webgpt_comparison, strict)


def _quotes_field(quotes: Sequence[Quote]) -> dict[str, list[str]]:
    return {"title": [f"{q.title} ({q.domain})" if q.domain else q.title for q in quotes],
            "extract": [q.extract for q in quotes]}


def to_webgpt_row(c: Comparison) -> dict[str, Any]:
    """The original row when there is one, else a row in WebGPT's shape."""
    if c.raw is not None:
        return c.raw
    row = {"question": {"full_text": c.question}, "quotes_0": _quotes_field(c.quotes_0), "answer_0": c.answer_0,
           "score_0": c.score_0, "quotes_1": _quotes_field(c.quotes_1), "answer_1": c.answer_1,
           "score_1": c.score_1}
    return {**row, "kind": c.kind} if c.kind else row


def export_webgpt(path: str | Path, comparisons: Iterable[Comparison]) -> int:
    """Write WebGPT comparisons JSONL; returns the number of rows."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for c in comparisons:
            f.write(json.dumps(to_webgpt_row(c), ensure_ascii=False) + "\n")
            n += 1
    return n


# --- trl rows -------------------------------------------------------------------------------------

_QUESTION_HEAD = "♦Question\n"
_QUOTES_HEAD = "\n\n♦Quotes\n"
_ANSWER_HEAD = "\n\n♦Answer\n"
_NO_QUOTES = "(no quotes)"
_QUOTE_HEAD = re.compile(r"^\[(\d+)\] (.*)$", re.M)


def _reward_text(question: str, quotes: Sequence[Quote], answer: str) -> str:
    return reward_text(question, list(quotes), answer)


def to_trl_rows(comparisons: Iterable[Comparison], *, ties: TieMode = "soft") -> list[dict[str, Any]]:
    """Rows for trl's ``RewardTrainer``: ``prompt``, ``chosen``, ``rejected``, ``label``, ``weight``.

    ``prompt + chosen`` is exactly ``omni_model.prompts.reward_text(question, quotes, answer)``,
    the string the reward model scores. When both answers share their quotes the prompt holds
    the question and quotes and ``chosen``/``rejected`` are the bare answers; when each answer
    has its own quotes (WebGPT) the prompt stops at the ``♦Quotes`` header and each side carries
    its quotes. trl 1.x concatenates ``prompt + chosen`` itself.

    Ties (WebGPT's 50% soft label): ``ties="drop"`` leaves them out; ``ties="soft"`` writes
    both orderings, each with ``label=0.5`` and ``weight=0.5``. Hard pairs have ``label=1.0``,
    ``weight=1.0``. The WebGPT loss is ``sum(weight * -logsigmoid(r_chosen - r_rejected))``: on a
    tie's two rows that is exactly ``-0.5*log σ(d) - 0.5*log σ(-d)``. trl's stock loss drops
    unknown columns (``remove_unused_columns``), so it weighs each tie twice a hard pair, still
    pulling the two rewards together; keep ``weight`` and multiply it in to match WebGPT exactly.
    No ``margin`` column is written (trl would subtract it from the reward difference).

    Raises ValueError when no row remains (no comparisons, or only ties with ``ties="drop"``).
    """
    if ties not in ("soft", "drop"):
        raise ValueError(f"ties must be 'soft' or 'drop', got {ties!r}")
    rows: list[dict[str, Any]] = []
    n_in = n_ties = 0
    for c in comparisons:
        n_in += 1
        p = c.preferred
        if p is None:
            n_ties += 1
            if ties == "drop":
                continue
            rows.append(_trl_row(c, 0, 0.5, 0.5))
            rows.append(_trl_row(c, 1, 0.5, 0.5))
        else:
            rows.append(_trl_row(c, p, 1.0, 1.0))
    if not rows:
        raise ValueError(_empty_message(n_in, n_ties))
    return rows


def _empty_message(n: int, n_ties: int) -> str:
    if n == 0:
        return "no comparisons to use: the data set is empty"
    return f"no comparisons to use: all {n} are ties, and ties are dropped"


def _trl_row(c: Comparison, chosen: int, label: float, weight: float) -> dict[str, Any]:
    q, cq, ca = c.side(chosen)
    _, rq, ra = c.side(1 - chosen)
    a, b = _reward_text(q, cq, ca), _reward_text(q, rq, ra)
    if cq == rq:
        prompt = _reward_text(q, cq, "")
    else:
        prompt = f"{_QUESTION_HEAD}{q.strip()}{_QUOTES_HEAD}"
    if not (a.startswith(prompt) and b.startswith(prompt)):  # reward_text's layout changed
        raise AssertionError("prompt is not a prefix of the reward text")
    row = {"prompt": prompt, "chosen": a[len(prompt):], "rejected": b[len(prompt):], "label": label,
           "weight": weight, "source": c.source}
    return {**row, "kind": c.kind} if c.kind else row


def parse_reward_text(text: str) -> tuple[str, tuple[Quote, ...], str]:
    """(question, quotes, answer) back from ``reward_text``'s layout; ValueError if it is not that."""
    if not text.startswith(_QUESTION_HEAD) or _QUOTES_HEAD not in text or _ANSWER_HEAD not in text:
        raise ValueError("not in reward_text's layout (♦Question / ♦Quotes / ♦Answer)")
    head, answer = text.split(_ANSWER_HEAD, 1)  # the answer may contain the header itself; quotes never end one
    question, body = head[len(_QUESTION_HEAD):].split(_QUOTES_HEAD, 1)
    if body == _NO_QUOTES:
        return question, (), answer
    # Blocks are "[n] title (domain)\n\nextract", numbered from 1; a head must carry the next number.
    quotes, starts = [], []
    expected = 1
    for m in _QUOTE_HEAD.finditer(body):
        if int(m[1]) == expected and (m.start() == 0 or body[m.start() - 2:m.start()] == "\n\n"):
            starts.append(m)
            expected += 1
    if not starts or starts[0].start() != 0:
        raise ValueError("the quotes block does not start with [1]")
    for i, m in enumerate(starts):
        end = starts[i + 1].start() - 2 if i + 1 < len(starts) else len(body)
        title_line = m[2]
        extract = body[m.end():end]
        if not extract.startswith("\n\n"):
            raise ValueError(f"quote [{m[1]}] has no blank line before its extract")
        quotes.append(quote_from_title(title_line, extract[2:]))
    return question, tuple(quotes), answer


def trl_comparison(row: Any, where: str = "") -> Comparison:
    """A ``prompt``/``chosen``/``rejected`` row (prompt optional); chosen becomes answer_0."""
    if not isinstance(row, dict):
        raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
    prompt = row.get("prompt", "")
    if not isinstance(prompt, str):
        raise ValueError("'prompt' must be a string")
    chosen, rejected = _text(row, "chosen"), _text(row, "rejected")
    label = row.get("label", 1.0)
    if label not in (0.5, 1.0, 1):
        raise ValueError(f"'label' must be 1.0 or 0.5, got {label!r}")
    s = 0.0 if label == 0.5 else 1.0
    kind = _kind(row)
    try:
        q0, qs0, a0 = parse_reward_text(prompt + chosen)
        q1, qs1, a1 = parse_reward_text(prompt + rejected)
        if q0 != q1:
            raise ValueError("chosen and rejected read as different questions")
        return Comparison(q0, a0, a1, s, -s, qs0, qs1, where, kind=kind)
    except ValueError:
        if not prompt.strip():
            raise ValueError("'prompt' is empty and chosen/rejected are not reward texts") from None
        # A plain prompt (not reward_text's layout): it is the question, and there are no quotes.
        return Comparison(prompt, chosen, rejected, s, -s, source=where, kind=kind)


def load_trl(path: str | Path, *, strict: bool = False) -> Loaded:
    """trl JSONL. A soft tie written as two rows (both orderings) reads back as two tied comparisons."""
    return _read(path, _jsonl(path), trl_comparison, strict)


def export_trl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def load_comparisons(path: str | Path, *, strict: bool = False) -> Loaded:
    """WebGPT or trl JSONL, told apart by the first row's keys; ValueError when the file holds no rows."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"comparisons file not found: {path}")
    bad, first = None, None
    for line, row in _jsonl(path):
        if not isinstance(row, Exception):
            first = row
            break
        bad = bad or f"{path}:{line}: {row}"
    if first is None:  # name the first bad line when that is why nothing was read
        raise ValueError(bad or f"no comparisons in {path}: the file has no JSON rows")
    if isinstance(first, dict) and "chosen" in first and "rejected" in first:
        return load_trl(path, strict=strict)
    if isinstance(first, dict) and "answer_0" in first:
        return load_webgpt(path, strict=strict)
    keys = sorted(first) if isinstance(first, dict) else type(first).__name__
    raise ValueError(f"{path}: neither WebGPT comparisons (answer_0/answer_1) nor trl rows (chosen/rejected): {keys}")


def require_decided(comparisons: Sequence[Comparison], source: str = "the data set") -> list[Comparison]:
    """The non-tie comparisons; ValueError when there are none (call it before loading a model)."""
    if not comparisons:
        raise ValueError(f"no comparisons in {source}: the data set is empty")
    decided = [c for c in comparisons if not c.is_tie]
    if not decided:
        raise ValueError(f"no comparisons to use in {source}: all {len(comparisons)} are ties")
    return decided
