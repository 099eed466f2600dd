"""Answer-phase demonstrations imported from real WebGPT data (``eli5_webgpt_samples``).

The folder (given by the caller) holds ``answers.json`` and ``docs/docs-{human,webgpt}.json``
(Chen et al. 2023, from OpenAI's released WebGPT samples). Each question gives two demos:

- ``webgpt-human``: the human demonstrator's quotes (docs-human) and ``human_answer``;
- ``webgpt-model``: WebGPT's own quotes (docs-webgpt) and ``webgpt_answer``.

They have no browsing steps (``steps == []``) and no URLs (the data has none). Quote titles
read ``<title> (<domain>)`` and are split into the two fields. Answers are kept verbatim: in
this release they carry no ``[n]`` citation markers (they were stripped upstream; a handful
of stray brackets remain), which ``ImportStats.answers_with_markers`` reports.

    demos, stats = import_webgpt_samples_with_stats("../shared/data/eli5_webgpt_samples")
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from browser_env.text.citation_marks import CITATION
from browser_env.text.observation import Quote
from training.demos import Demo, Metadata, utc_now

SOURCE = "eli5_webgpt_samples"
# (who, docs file, answer field)
KINDS = (("webgpt-human", "docs-human.json", "human_answer"),
         ("webgpt-model", "docs-webgpt.json", "webgpt_answer"))

_TITLE_DOMAIN = re.compile(r"^(?P<title>.*?)\s*\((?P<domain>[^()\s]+\.[^()\s]+)\)\s*$", re.S)


@dataclass
class ImportStats:
    questions: int = 0
    demos: dict[str, int] = field(default_factory=dict)  # per `who`
    skipped_empty_answer: dict[str, int] = field(default_factory=dict)
    skipped_no_quotes: dict[str, int] = field(default_factory=dict)
    titles_without_domain: int = 0  # quotes kept with domain ""
    answers_with_markers: int = 0  # answers containing `[n]` / `[n, m]`


def split_title(raw: str) -> tuple[str, str]:
    """``"<title> (<domain>)"`` -> (title, domain); a title with no domain gives (title, "").

    A page with an empty HTML title reads ``(<domain>)`` and gives ("", domain).

    One title in the data is UTF-16 text shown as ``\\x00`` escapes; those escapes are removed.
    """
    raw = raw.replace("\\x00", "").replace("\x00", "").replace("\ufffd", " ")
    raw = re.sub(r"\s+", " ", raw).strip()
    m = _TITLE_DOMAIN.match(raw)
    if m:
        return m["title"].strip(), m["domain"]
    return raw, ""


def _load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list, got {type(rows).__name__}")
    return rows


def import_webgpt_samples_with_stats(folder: str | os.PathLike, *, when: str | None = None
                                     ) -> tuple[list[Demo], ImportStats]:
    """Two answer-phase demos per question (see the module docstring), and what was skipped."""
    folder = Path(folder)
    when = when or utc_now()
    answers = _load(folder / "answers.json")
    docs = {fname: {r["question_id"]: r for r in _load(folder / "docs" / fname)} for _, fname, _ in KINDS}
    stats = ImportStats(questions=len(answers))
    demos: list[Demo] = []
    for row in answers:
        qid = row["question_id"]
        question = row["question"].strip()
        for who, fname, answer_key in KINDS:
            answer = (row.get(answer_key) or "").strip()
            doc_row = docs[fname].get(qid)
            items = doc_row["docs"] if doc_row else []
            if not answer:
                stats.skipped_empty_answer[who] = stats.skipped_empty_answer.get(who, 0) + 1
                continue
            if not items:
                stats.skipped_no_quotes[who] = stats.skipped_no_quotes.get(who, 0) + 1
                continue
            quotes = []
            for item in items:
                title, domain = split_title(item["title"])
                stats.titles_without_domain += not domain
                quotes.append(Quote(title=title, domain=domain, url="", extract=item["text"].strip()))
            stats.answers_with_markers += bool(CITATION.search(answer))
            demos.append(Demo(
                id=f"{SOURCE}:{qid}:{who.removeprefix('webgpt-')}",
                question=question,
                quotes=quotes,
                answer=answer,
                steps=[],
                metadata=Metadata(who=who, when=when, source=f"{SOURCE}:{fname}",
                                  extra={"question_id": qid, "doc_ids": [i.get("doc_id") for i in items]}),
            ))
            stats.demos[who] = stats.demos.get(who, 0) + 1
    return demos, stats


def import_webgpt_samples(folder: str | os.PathLike, *, when: str | None = None) -> list[Demo]:
    """The demos of ``import_webgpt_samples_with_stats``, without the counts."""
    return import_webgpt_samples_with_stats(folder, when=when)[0]
