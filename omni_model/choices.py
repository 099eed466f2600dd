"""Arguments chosen from a set, token by token: whole sentences to quote, question words to search.

"Choose, do not generate, where a tiny model is weak": instead of spelling a quote or a query
freely, the policy picks among options the page or the question offers, and every token it
writes is scored by its own log-probabilities. The constrained decoder (``omni_model.constrained``)
asks a choice three things about the argument ``a`` written so far:

- ``next_strings(a)``: strings a next token may spell (any token that is a prefix of one fits);
- ``complete(a)``: whether the argument may end here;
- ``valid_prefix(a)``: whether ``a`` can still grow into an option (a token running from the
  command's literal into the argument is checked with it).

``SentenceChoice``: exactly one of the options (a page's sentences). ``WordChoice``: distinct
words from a set, separated by single spaces (a query made of the question's words).
Options that the vocabulary cannot spell (a character with no token of its own) are dropped,
so the decoder never walks into a dead end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class Choice(Protocol):
    def valid_prefix(self, a: str) -> bool: ...

    def complete(self, a: str) -> bool: ...

    def next_strings(self, a: str) -> Iterable[str]: ...

    def __bool__(self) -> bool: ...


def spellable(text: str, single_chars: frozenset[str] | set[str]) -> bool:
    """Whether every character of ``text`` has a token of its own (so any prefix can be written)."""
    return all(ch in single_chars for ch in text)


class SentenceChoice:
    """The argument is exactly one of ``options``."""

    def __init__(self, options: Iterable[str], single_chars: frozenset[str] | set[str] | None = None) -> None:
        kept = [o for o in dict.fromkeys(options) if o and (single_chars is None or spellable(o, single_chars))]
        self.options: tuple[str, ...] = tuple(kept)
        self._set = frozenset(kept)

    def __bool__(self) -> bool:
        return bool(self.options)

    def valid_prefix(self, a: str) -> bool:
        return any(o.startswith(a) for o in self.options)

    def complete(self, a: str) -> bool:
        return a in self._set

    def next_strings(self, a: str) -> list[str]:
        return [o[len(a):] for o in self.options if len(o) > len(a) and o.startswith(a)]


class WordChoice:
    """The argument is ``min_words``..``max_words`` distinct words of ``words`` (at least all of them,
    when there are fewer than ``min_words``), separated by single spaces."""

    def __init__(self, words: Sequence[str], *, max_words: int = 8, min_words: int = 1,
                 single_chars: frozenset[str] | set[str] | None = None) -> None:
        kept = [w for w in dict.fromkeys(words) if w and " " not in w
                and (single_chars is None or spellable(w, single_chars))]
        self.words: tuple[str, ...] = tuple(kept)
        self._set = frozenset(kept)
        self.max_words = max_words
        self.min_words = max(1, min(min_words, len(kept), max_words))

    def __bool__(self) -> bool:
        return bool(self.words)

    def _parts(self, a: str) -> tuple[list[str], str] | None:
        """(whole words, the word being written) or None when ``a`` cannot lead to a query."""
        if a.startswith(" ") or "  " in a:
            return None
        *whole, partial = a.split(" ")
        if len(set(whole)) != len(whole) or not all(w in self._set for w in whole):
            return None
        if len(whole) >= self.max_words:
            return None
        return whole, partial

    def valid_prefix(self, a: str) -> bool:
        parts = self._parts(a)
        if parts is None:
            return False
        whole, partial = parts
        return any(w.startswith(partial) and w not in whole for w in self.words)

    def complete(self, a: str) -> bool:
        parts = self._parts(a)
        return (parts is not None and parts[1] in self._set and parts[1] not in parts[0]
                and len(parts[0]) + 1 >= self.min_words)

    def next_strings(self, a: str) -> list[str]:
        parts = self._parts(a)
        if parts is None:
            return []
        whole, partial = parts
        out = []
        for w in self.words:
            if w in whole or not w.startswith(partial):
                continue
            rest = w[len(partial):]
            if rest:
                out.append(rest)
            if len(whole) + 1 < self.max_words:  # this word, then a space and another word
                out.extend(rest + " " + w2 for w2 in self.words if w2 != w and w2 not in whole)
        return out
