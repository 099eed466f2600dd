"""Synthetic comparisons from perturbed answers (opt-in): the original must beat the perturbation.

Three kinds, each turning the better answer of a comparison (and its quotes) into a
``Comparison`` with ``answer_0`` = original (score 1) and ``answer_1`` = perturbed (score -1):

- ``"no_citations"``: the ``[n]`` / ``[1, 2]`` / ``[1-3]`` markers removed (answers without any are
  skipped);
- ``"swapped_quotes"``: the same answer, scored against the quotes of a random other question;
- ``"unsupported"``: sentences from another question's answer, sharing few words with any quote,
  appended to the answer.

Each pair's ``kind`` names its perturbation, so ``webqa rm eval`` reports them apart. Seeded:
the same comparisons, kinds and seed give the same pairs. ``training.grounding_pairs`` makes the
wider set of grounding pairs from WebGPT's samples.

    extra = perturb(loaded.comparisons, kinds=("no_citations",), seed=0)
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Literal

# The marks are defined once; remove_citations is the one rule for taking them out.
from browser_env.text.citation_marks import CITATION
from browser_env.text.citation_marks import strip_citations as remove_citations  # noqa: F401 - this module's API
from browser_env.text.observation import Quote

from .comparisons import Comparison

Kind = Literal["no_citations", "swapped_quotes", "unsupported"]
KINDS: tuple[Kind, ...] = ("no_citations", "swapped_quotes", "unsupported")

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"[a-z0-9]+")
MAX_OVERLAP = 0.5  # a sentence is "unsupported" when at most half its content words appear in a quote


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3}


def is_supported(sentence: str, quotes: Sequence[Quote], max_overlap: float = MAX_OVERLAP) -> bool:
    """Whether some quote contains more than ``max_overlap`` of the sentence's content words."""
    words = _content_words(sentence)
    if not words:
        return True  # nothing to check it against: do not use it as an unsupported claim
    return any(len(words & _content_words(q.extract)) / len(words) > max_overlap for q in quotes)


def _original(c: Comparison) -> tuple[str, tuple[Quote, ...], str] | None:
    p = c.preferred
    return None if p is None else c.side(p)


_TRIES = 20  # random draws of another question before giving up on one comparison


def _other(originals: list, rng: random.Random, ok) -> tuple[str, tuple[Quote, ...], str] | None:
    """A random other (question, quotes, answer) that passes ``ok``; None after ``_TRIES`` misses."""
    for _ in range(_TRIES):
        o = originals[rng.randrange(len(originals))][1]
        if ok(o):
            return o
    return None


def perturb(comparisons: Sequence[Comparison], kinds: Sequence[Kind] = KINDS, *, seed: int = 0,
            n_sentences: int = 2) -> list[Comparison]:
    """Synthetic (original > perturbed) comparisons, one per usable comparison and kind.

    Ties are skipped (no better answer to start from), and so is any pair where the
    perturbation would change nothing.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown perturbation kinds {unknown}; choose from {list(KINDS)}")
    rng = random.Random(seed)
    originals = [(c, o) for c in comparisons if (o := _original(c)) is not None]
    out: list[Comparison] = []
    for kind in kinds:
        for c, (question, quotes, answer) in originals:
            bad_quotes, bad_answer = quotes, answer
            if kind == "no_citations":
                if not CITATION.search(answer):
                    continue
                bad_answer = remove_citations(answer)
            elif kind == "swapped_quotes":
                other = _other(originals, rng, lambda o: o[0] != question and bool(o[1]) and o[1] != quotes)
                if not quotes or other is None:
                    continue
                bad_quotes = other[1]
            else:
                extra: list[str] = []
                for _ in range(_TRIES):
                    other = _other(originals, rng, lambda o: o[0] != question)
                    if other is None:
                        break
                    pool = [s for s in sentences(remove_citations(other[2]))
                            if not is_supported(s, quotes) and s not in extra]
                    extra += rng.sample(pool, min(n_sentences - len(extra), len(pool)))
                    if len(extra) == n_sentences:
                        break
                if not extra:
                    continue
                bad_answer = answer.rstrip() + " " + " ".join(extra)
            if bad_answer == answer and bad_quotes == quotes:
                continue
            out.append(Comparison(question, answer, bad_answer, 1.0, -1.0, quotes, bad_quotes,
                                  source=f"{c.source}#perturb:{kind}", kind=kind))
    return out
