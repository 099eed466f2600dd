"""Readers for the public preference sets, as ``Comparison``s: Xu et al.'s expert pairwise
preferences on long-form answers (``lfqa_expert_preferences``), HaluQuestQA's expert preferences
between human and GPT-4 answers, and Anthropic's HH-RLHF harmless pairs.

``load_comparison_file(path)`` tells every format webqa reads apart by its content (these three,
WebGPT comparisons and trl rows), for ``webqa train rm`` and ``webqa rm eval`` alike.

Each reader takes the file's path (the product never needs ../shared/data) and returns a
``Loaded`` with the comparisons and the bad rows, named by file and line, as ``training.comparisons``
does for WebGPT's format.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from training.comparisons import Comparison, Loaded, _jsonl, _read, _text, load_comparisons
from training.json_rows import read_json_rows


def _preferred_first(question: str, better: str, worse: str, where: str) -> Comparison:
    if better.strip() == worse.strip():
        raise ValueError("the two answers are identical")
    return Comparison(question, better, worse, 1.0, -1.0, source=where)


def load_lfqa_expert_preferences(path: str | Path, *, strict: bool = False) -> Loaded:
    """``experts_pairwise_human_preferences.jsonl``: ``overall_preference`` -1 = answer_a, 1 = answer_b, 0 = tie."""

    def convert(row: Any, where: str) -> Comparison:
        if not isinstance(row, dict):
            raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
        a, b = (_text(row, k).replace("<br />", "\n") for k in ("answer_a", "answer_b"))
        pref = row["overall_preference"]
        if pref not in (-1, 0, 1) or isinstance(pref, bool):
            raise ValueError(f"'overall_preference' must be -1, 0 or 1, got {pref!r}")
        if a.strip() == b.strip():
            raise ValueError("the two answers are identical")
        s0 = -float(pref)  # -1 means answer_a (our answer_0) is better
        return Comparison(_text(row, "question"), a, b, s0 + 0.0, -s0 + 0.0, source=where)

    return _read(path, _jsonl(path), convert, strict)


def _tsv(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Rows as dicts with the line each record starts on (fields may span lines)."""
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if header is None:
            return
        start = reader.line_num + 1
        for rec in reader:
            if len(rec) != len(header):
                yield start, ValueError(f"{len(rec)} fields, the header has {len(header)}")
            else:
                yield start, dict(zip(header, rec, strict=True))
            start = reader.line_num + 1


def load_haluquestqa(path: str | Path, *, strict: bool = False) -> Loaded:
    """HaluQuestQA's ``preference_data.tsv``: ``question_text``, ``preferred_response``, ``rejected_response``.

    The preferred answer becomes ``answer_0``.
    """

    def convert(row: dict, where: str) -> Comparison:
        return _preferred_first(_text(row, "question_text"), _text(row, "preferred_response"),
                                _text(row, "rejected_response"), where)

    return _read(path, _tsv(path), convert, strict)


_ASSISTANT = "\n\nAssistant:"


def split_dialogue(chosen: str, rejected: str) -> tuple[str, str, str]:
    """HH-RLHF: (shared dialogue up to the last ``Assistant:`` both share, chosen reply, rejected reply)."""
    n = 0
    limit = min(len(chosen), len(rejected))
    while n < limit and chosen[n] == rejected[n]:
        n += 1
    cut = chosen.rfind(_ASSISTANT, 0, n)  # the last "Assistant:" wholly inside the shared prefix
    if cut < 0:
        raise ValueError("chosen and rejected share no dialogue ending in 'Assistant:'")
    cut += len(_ASSISTANT)
    return chosen[:cut].strip(), chosen[cut:].strip(), rejected[cut:].strip()


def load_hh_rlhf(path: str | Path, *, strict: bool = False) -> Loaded:
    """Anthropic HH-RLHF JSONL (``chosen``/``rejected`` dialogues); the question is the shared dialogue."""

    def convert(row: Any, where: str) -> Comparison:
        if not isinstance(row, dict):
            raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
        prompt, better, worse = split_dialogue(_text(row, "chosen"), _text(row, "rejected"))
        if not better or not worse:
            raise ValueError("an empty final Assistant reply")
        return _preferred_first(prompt, better, worse, where)

    return _read(path, _jsonl(path), convert, strict)


def load_comparison_file(path: str | os.PathLike, *, strict: bool = False) -> Loaded:
    """Any comparisons file webqa reads, told apart by its content.

    WebGPT comparisons JSONL and trl ``prompt``/``chosen``/``rejected`` JSONL
    (``training.comparisons``); Xu et al.'s lfqa expert preferences (``answer_a``/``answer_b``);
    HH-RLHF dialogues (``chosen``/``rejected`` with no ``prompt``); HaluQuestQA's TSV.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"comparisons file not found: {path}")
    if path.suffix.lower() == ".tsv":
        return load_haluquestqa(path, strict=strict)
    # The first row, whether the file is JSON Lines or one pretty-printed document.
    first = next((row for _, row in read_json_rows(path)), None)
    if isinstance(first, dict):
        if "answer_a" in first and "overall_preference" in first:
            return load_lfqa_expert_preferences(path, strict=strict)
        if "chosen" in first and "rejected" in first and "prompt" not in first:
            return load_hh_rlhf(path, strict=strict)
    return load_comparisons(path, strict=strict)
