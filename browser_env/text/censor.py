"""WebGPT's anti-cheating rule for evaluation: hide pages that contain the question or its answer.

When evaluating on ELI5, a page sharing any 10-word sequence (a 10-gram) with the question, or
with the reference answer when one is given, is replaced by an error message, so the agent
cannot copy the answer from a mirror of the original thread.

Text is normalised before comparing: case-folded, split into word tokens, punctuation dropped
(apostrophes inside words too, so "don't" and "dont" agree). The n-grams of the question and of
the reference go once into a hash set (of word tuples, so a hash collision cannot censor a clean
page); a page is scanned with at most one set lookup per position, and positions whose last n
words are not all in the question's or reference's vocabulary are skipped without hashing.

    censor = LeakCensor(question, reference=answer)
    if censor.leaks(page_text):
        show(censor.message)
"""

from __future__ import annotations

import re

from ..types import PageContents

_APOSTROPHES = re.compile(r"(?<=\w)['’](?=\w)")
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _WORD.findall(_APOSTROPHES.sub("", text.casefold()))


def ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class LeakCensor:
    def __init__(self, question: str, reference: str | None = None, n: int = 10):
        if n < 1:
            raise ValueError(f"n-gram length must be >= 1, got {n}")
        self.n = n
        # The two texts are separate sources: an n-gram straddling the join would be invented.
        self._grams = ngrams(tokens(question), n)
        if reference:
            self._grams |= ngrams(tokens(reference), n)
        # Words that occur in some n-gram: a page window holding any other word cannot match,
        # so most positions of an unrelated page are skipped before hashing anything.
        self._vocab = set(tokens(question)) | (set(tokens(reference)) if reference else set())

    @property
    def active(self) -> bool:
        """False when question and reference are both shorter than n words: nothing can leak."""
        return bool(self._grams)

    @property
    def message(self) -> str:
        return (
            "This page was removed because it overlaps with the evaluation question or its "
            f"reference answer (WebGPT's {self.n}-gram rule)."
        )

    def leaks(self, text: str) -> bool:
        if not self._grams:
            return False
        words = tokens(text)
        n, vocab, grams = self.n, self._vocab, self._grams
        run = 0  # how many words in a row, ending here, are in the vocabulary
        for i, word in enumerate(words):
            run = run + 1 if word in vocab else 0
            if run >= n and tuple(words[i - n + 1 : i + 1]) in grams:
                return True
        return False

    def apply(self, page: PageContents) -> PageContents:
        """``page`` itself if clean, else an error page with the same URL and title carrying ``message``."""
        if not self.leaks(page.title + "\n" + page.text):
            return page
        return PageContents(
            url=page.url, title=page.title, text=self.message, domain=page.domain, kind="error", error=self.message
        )
