"""Words and sentences of page text: the one definition the demonstrator, the decoder and the metrics share.

- ``content_words`` / ``stems``: the words of a text that carry meaning (no stop words);
- ``make_query``: a search query from a question's content words;
- ``sentences``: a page's whitespace-normalised sentences within a length range, boilerplate out;
- ``passages``: what may be quoted, a sentence run on with the ones after it (``quote_span``);
- ``word_f1``: content-word F1 between two texts (the first query against its question);
- ``coverage``: how much of a sentence's content the given texts hold (answer support).

The scripted demonstrator (``training.synth``) quotes ``passages`` and searches with
``make_query``; the constrained decoder (``omni_model.constrained``) offers a policy exactly those
passages to quote and the question's ``query_words`` to search with, so the teacher's and the
student's choices are drawn from the same sets. Pure text: no torch, no playwright.

    >>> content_words("Why is the sky blue?")
    ['sky', 'blue']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from .citation_marks import format_citation

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each eli5 else ever few for from further get gets got
had has have having he her here hers him his how i if in into is it its itself just know like made make
makes many me more most much my no nor not now of off on once only or other our out over own really same
she should so some such than that the their them then there these they thing things this those through
to too under until up very was way we were what when where which while who whom why will with would you
your yours yet also use used using happen happens actually someone people exactly mean means
""".split())

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_BOILERPLATE = ("creative commons", "cc by-sa", "wikipedia", "license", "licence", "retrieved from")
MIN_SENTENCE_CHARS = 40
MAX_SENTENCE_CHARS = 400


def content_words(text: str) -> list[str]:
    """Lower-case words of ``text`` that carry meaning (no stop words, no 1-letter words), in order."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def stem(word: str) -> str:
    # Crude, but enough to let "scattering" meet "scatter" and "planets" meet "planet". (It also
    # cuts "blues" to "blu"; the shipped adapters were trained with exactly this rule.)
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def query_words(question: str) -> list[str]:
    """The question's distinct content words, in order: what a search query is made of
    (every word, when none carries meaning)."""
    return list(dict.fromkeys(content_words(question) or _WORD.findall(question.lower())))


def make_query(question: str, max_words: int = 8) -> str:
    """The search query: the question's first ``max_words`` distinct content words."""
    return " ".join(list(dict.fromkeys(content_words(question)))[:max_words]) or question.strip()[:100]


def overlap(text: str, question_stems: set[str]) -> int:
    return len(stems(text) & question_stems)


def sentences(plain: str, min_chars: int = MIN_SENTENCE_CHARS, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Whitespace-normalised sentences of a page, within a length range, boilerplate left out.

    Paragraphs (blank-line separated) are split first, so a heading is never glued to the
    sentence after it."""
    return passages(plain, 1, min_chars, max_chars)


def passages(plain: str, span: int = 1, min_chars: int = MIN_SENTENCE_CHARS,
             max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """What may be quoted: each of ``sentences(plain)``, run on with up to ``span - 1`` of the
    sentences that follow it in its paragraph while the whole stays within ``max_chars``.

    One passage per sentence, in the same order, so ``passages(p, k)[i]`` starts with
    ``sentences(p)[i]`` (``passage_starts`` gives both at once). A passage is a run of the page's
    own text (only whitespace differs), so the browser's quote check accepts it; a longer quote
    gives an extractive answer more to choose from than WebGPT-length paragraphs would cost in
    prompt tokens."""
    return [p for _, p in passage_starts(plain, span, min_chars, max_chars)]


def passage_starts(plain: str, span: int = 1, min_chars: int = MIN_SENTENCE_CHARS,
                   max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[str, str]]:
    """``(sentence, passage)`` for each passage of ``passages``: the sentence it starts with (what
    is ranked, or looked for in a window) and the passage itself (what is quoted)."""
    out = []
    for paragraph in re.split(r"\n\s*\n", plain):
        raw = [s.strip() for s in _SENTENCE_END.split(" ".join(paragraph.split()))]
        clean = [not any(b in s.lower() for b in _BOILERPLATE) for s in raw]
        for i, first in enumerate(raw):
            if not (clean[i] and min_chars <= len(first) <= max_chars):
                continue
            s = first
            for j in range(i + 1, min(i + span, len(raw))):  # a short sentence may follow, not lead
                if not clean[j] or len(s) + 1 + len(raw[j]) > max_chars:
                    break
                s = f"{s} {raw[j]}"
            out.append((first, s))
    return out


def shares_sentence(passage: str, text: str) -> bool:
    """Whether any sentence of ``passage`` is in ``text`` (quotes already taken, whitespace-normalised)."""
    return any(s in text for s in split_sentences(passage))


def split_sentences(text: str) -> list[str]:
    """Every sentence of ``text`` (no length bounds): how an answer is read, sentence by sentence."""
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def cited_sentence(text: str, n: int) -> str:
    """``text`` as one sentence of an answer citing quote ``n``: ``[n]`` before its final stop."""
    text = text.strip()
    end = text[-1] if text and text[-1] in ".!?" else "."
    body = text[:-1].rstrip() if text and text[-1] in ".!?" else text
    return f"{body} {format_citation(n)}{end}"


def word_f1(candidate: str, reference: str) -> float:
    """F1 of the content words of ``candidate`` against those of ``reference`` (multiset overlap)."""
    c, r = Counter(content_words(candidate)), Counter(content_words(reference))
    common = sum((c & r).values())
    if not common:
        return 0.0
    p, rec = common / sum(c.values()), common / sum(r.values())
    return 2 * p * rec / (p + rec)


def coverage(sentence: str, sources: Iterable[str]) -> float | None:
    """Share of ``sentence``'s distinct content stems found in ``sources``; None if it has none."""
    words = stems(sentence)
    if not words:
        return None
    pool: set[str] = set()
    for s in sources:
        pool |= stems(s)
    return len(words & pool) / len(words)
