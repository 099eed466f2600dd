"""Grounding pairs: WebGPT's answer over its own quotes against the ways an answer stops being grounded.

From ``eli5_webgpt_samples`` (``answers.json`` + ``docs/docs-webgpt.json``), each question gives
one ``Comparison`` per kind, the better answer first (``answer_0``) and ``kind`` naming the
perturbation. The chosen side is WebGPT's answer over WebGPT's quotes, with ``[n]`` citations put
back (the release stripped them): each sentence cites the quote that covers most of its content
words, when one covers at least ``CITE_COVERAGE`` of them. The rejected side, by kind:

- ``closed_book``: no quotes (``(no quotes)``, as ``webqa eval`` scores its closed-book answer),
  and either the same answer without citations or GPT-3's closed-book answer to the question;
- ``other_quotes``: the same cited answer over another question's quotes;
- ``unsupported``: sentences of another question's answer that no quote supports, appended, or
  substituted for one cited sentence (keeping its citation);
- ``wrong_citations``: every ``[n]`` renumbered to another of the quotes (needs 2+ quotes; an
  out-of-range number is never made, since the agent removes those before scoring);
- ``missing_citations``: the same answer with its citations removed;
- ``repeated``: one sentence repeated one to three more times at the end (padding);
- ``search_page``: a degenerate answer quoting a search-results page ("Search results for: ...");
- ``other_extractive``: chosen is an extractive answer (sentences of its own quotes, cited),
  rejected the same number of sentences taken from another question's quotes, cited alike.

Held out by question with ``training.common.held_out(question, fraction, seed)``, the rule
``webqa train rm`` applies to each file, so training on the file written here with the same
``--eval-fraction``/``--seed`` holds out exactly these questions. Another question's material is
only ever drawn from the same side of the split. Rows come out question by question (every kind
of one question together), so the first N rows of the file cover every kind.

    webqa rm pairs --webgpt ../shared/data/eli5_webgpt_samples --out runs/grounding_pairs.jsonl
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from browser_env.text.observation import Quote
from browser_env.text.sentences import cited_sentence, content_words, make_query, sentences  # noqa: F401
from browser_env.text.sentences import coverage as shared_coverage

from .comparisons import Comparison
from .perturb import CITATION, is_supported, remove_citations
from .perturb import sentences as sentences_of

Kind = Literal["closed_book", "other_quotes", "unsupported", "wrong_citations", "missing_citations",
               "repeated", "search_page", "other_extractive"]
KINDS: tuple[Kind, ...] = ("closed_book", "other_quotes", "unsupported", "wrong_citations", "missing_citations",
                           "repeated", "search_page", "other_extractive")
SOURCE = "eli5_webgpt_samples"
CITE_COVERAGE = 0.5  # a sentence cites its best quote when that quote holds half its content words
_TRIES = 20  # draws of another question before giving up on one pair
_NUMBER = re.compile(r"\d+")


def coverage(sentence: str, extract: str) -> float:
    """Share of the sentence's distinct content stems that the extract holds (0 when it has none)."""
    return shared_coverage(sentence, [extract]) or 0.0


def split_sentences(text: str) -> list[str]:
    """Every sentence of ``text``, whitespace-normalised: how an answer is read, sentence by sentence."""
    return sentences_of(" ".join(text.split()))


@dataclass(frozen=True)
class Sample:
    """One question of the WebGPT samples: its quotes, WebGPT's answer and a closed-book answer."""

    question_id: int
    question: str
    quotes: tuple[Quote, ...]
    answer: str
    closed_book: str = ""  # GPT-3's answer without documents ("" when the row has none)


def load_samples(folder: str | os.PathLike) -> list[Sample]:
    """Questions with both a WebGPT answer and WebGPT quotes, in file order."""
    from .imports import split_title

    folder = Path(folder)
    answers = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
    docs = {r["question_id"]: r["docs"] for r in json.loads((folder / "docs" / "docs-webgpt.json")
                                                             .read_text(encoding="utf-8"))}
    out = []
    for row in answers:
        answer = (row.get("webgpt_answer") or "").strip()
        items = docs.get(row["question_id"]) or []
        if not answer or not items:
            continue
        quotes = tuple(Quote(*split_title(d["title"]), "", d["text"].strip()) for d in items if d["text"].strip())
        if quotes:
            out.append(Sample(row["question_id"], row["question"].strip(), quotes, answer,
                              (row.get("gpt3_answer") or "").strip()))
    return out


def cite(answer: str, quotes: Sequence[Quote], min_coverage: float = CITE_COVERAGE) -> str:
    """``answer`` with ``[n]`` after each sentence that quote ``n`` supports best (paragraphs kept)."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", answer.strip()):
        out = []
        for s in split_sentences(paragraph):
            scores = [coverage(s, q.extract) for q in quotes]
            best = max(range(len(quotes)), key=lambda i: scores[i]) if quotes else 0
            out.append(cited_sentence(s, best + 1) if quotes and scores[best] >= min_coverage else s)
        if out:
            paragraphs.append(" ".join(out))
    return "\n\n".join(paragraphs)


def renumber(answer: str, mapping: dict[int, int]) -> str:
    """Every citation number ``n`` in ``answer`` replaced by ``mapping[n]`` (others kept)."""
    return CITATION.sub(lambda m: _NUMBER.sub(lambda d: str(mapping.get(int(d[0]), int(d[0]))), m[0]), answer)


def derangement(k: int, rng: random.Random) -> dict[int, int]:
    """A random permutation of 1..k with no fixed point (k >= 2): every citation moves."""
    while True:
        p = list(range(1, k + 1))
        rng.shuffle(p)
        if all(a != b for a, b in zip(range(1, k + 1), p, strict=True)):
            return dict(zip(range(1, k + 1), p, strict=True))


def extractive(quotes: Sequence[Quote], n_sentences: int, start: int = 1) -> list[str]:
    """Up to ``n_sentences`` sentences from the quotes, round robin, each citing its quote.

    ``start`` numbers the first quote (1 for one's own quotes)."""
    per_quote = [sentences(q.extract) or [" ".join(q.extract.split())] for q in quotes]
    out: list[str] = []
    for depth in range(max((len(p) for p in per_quote), default=0)):
        for i, ss in enumerate(per_quote):
            if depth < len(ss) and len(out) < n_sentences:
                out.append(cited_sentence(ss[depth], i + start))
    return out


def search_page(sample: Sample, rng: random.Random) -> tuple[tuple[Quote, ...], str]:
    """A quote taken from a search-results page and a degenerate answer "quoting" it."""
    query = make_query(sample.question)
    listing = "\n\n".join(f"【{i}†{q.title}†{q.domain}】" for i, q in enumerate(sample.quotes))
    quote = Quote(f"Search results for: {query}", "", "", listing)
    titles = " ".join(f"[{i}] {q.title}" for i, q in enumerate(sample.quotes, 1))
    answer = rng.choice([f"Search results for: {query} ()", f"Search results for: {query} [1].",
                         f"Quote 1: {titles}", f"{titles} [1]."])
    return (quote, *sample.quotes), answer


def _other(pool: Sequence[Sample], me: Sample, rng: random.Random) -> Sample | None:
    for _ in range(_TRIES):
        o = pool[rng.randrange(len(pool))]
        if o.question != me.question:
            return o
    return None


def _unsupported(me: Sample, pool: Sequence[Sample], rng: random.Random, n: int) -> list[str]:
    extra: list[str] = []
    for _ in range(_TRIES):
        other = _other(pool, me, rng)
        if other is None:
            break
        cand = [s for s in split_sentences(other.answer) if len(s) > 30 and not is_supported(s, me.quotes)
                and s not in extra]
        extra += rng.sample(cand, min(n - len(extra), len(cand)))
        if len(extra) >= n:
            break
    return extra


def rejected(kind: Kind, me: Sample, chosen: str, pool: Sequence[Sample], rng: random.Random
             ) -> tuple[str, tuple[Quote, ...], tuple[Quote, ...], str] | None:
    """(chosen answer, chosen quotes, rejected quotes, rejected answer) for ``kind``; None when
    this question cannot make that kind (too few quotes, no other material)."""
    quotes = me.quotes
    if kind == "closed_book":
        answer = me.closed_book if me.closed_book and rng.random() < 0.5 else remove_citations(chosen)
        return chosen, quotes, (), answer
    if kind == "other_quotes":
        other = _other(pool, me, rng)
        return None if other is None else (chosen, quotes, other.quotes, chosen)
    if kind == "unsupported":
        parts = split_sentences(chosen)
        cited = [i for i, s in enumerate(parts) if CITATION.search(s)]
        if cited and rng.random() < 0.5:  # substitute: a cited sentence becomes an unsupported one
            extra = _unsupported(me, pool, rng, 1)
            if not extra:
                return None
            i = rng.choice(cited)
            new = cited_sentence(extra[0], int(_NUMBER.search(CITATION.search(parts[i])[0])[0]))
            # cite() wrote each sentence verbatim, so this keeps the answer's paragraphs
            return chosen, quotes, quotes, chosen.replace(parts[i], new, 1)
        extra = _unsupported(me, pool, rng, 2)
        return None if not extra else (chosen, quotes, quotes, chosen + " " + " ".join(extra))
    if kind == "wrong_citations":
        if len(quotes) < 2:
            return None
        return chosen, quotes, quotes, renumber(chosen, derangement(len(quotes), rng))
    if kind == "missing_citations":
        return chosen, quotes, quotes, remove_citations(chosen)
    if kind == "repeated":
        parts = split_sentences(chosen)
        return chosen, quotes, quotes, chosen + (" " + rng.choice(parts)) * rng.randint(1, 3)
    if kind == "search_page":
        bad_quotes, answer = search_page(me, rng)
        return chosen, quotes, bad_quotes, answer
    if kind == "other_extractive":
        n = rng.randint(2, 4)
        good = extractive(quotes, n)
        other = _other(pool, me, rng)
        if other is None or not good:
            return None
        bad = [cited_sentence(remove_citations(s), int(_NUMBER.search(CITATION.search(g)[0])[0]))
               for s, g in zip(extractive(other.quotes, len(good)), good, strict=False)]
        return (None if not bad else (" ".join(good), quotes, quotes, " ".join(bad)))
    raise ValueError(f"unknown grounding-pair kind {kind!r}; choose from {list(KINDS)}")


@dataclass
class Built:
    pairs: list[Comparison]
    split: dict[str, str]  # question -> "train" | "heldout"
    skipped_uncited: int  # questions whose WebGPT answer no quote supports well enough to cite


def build_pairs(samples: Sequence[Sample], *, kinds: Sequence[Kind] = KINDS, fraction: float = 0.1,
                seed: int = 0) -> Built:
    """Every kind for every usable question, question by question; seeded and split by question."""
    from .common import held_out

    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown grounding-pair kinds {unknown}; choose from {list(KINDS)}")
    split = {s.question: "heldout" if held_out(s.question, fraction, seed) else "train" for s in samples}
    pairs: list[Comparison] = []
    skipped = 0
    for side in ("train", "heldout"):
        pool = [s for s in samples if split[s.question] == side]
        rng = random.Random(f"{seed}:{side}")  # a str seed is hashed the same on every run
        for me in pool:
            chosen = cite(me.answer, me.quotes)
            if not CITATION.search(chosen):
                skipped += 1
                continue
            for kind in kinds:
                made = rejected(kind, me, chosen, pool, rng)
                if made is None:
                    continue
                good, good_quotes, bad_quotes, bad = made
                if (good.strip(), good_quotes) == (bad.strip(), bad_quotes):
                    continue
                pairs.append(Comparison(me.question, good, bad, 1.0, -1.0, good_quotes, bad_quotes,
                                        source=f"{SOURCE}:{me.question_id}#{kind}", kind=kind))
    return Built(pairs, split, skipped)
