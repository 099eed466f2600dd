"""The one definition of when text "is on the page", for Find and Quote: case and whitespace aside.

Two forms of the same rule, for two kinds of caller:

- ``loose_pattern(text)``: a compiled pattern that finds ``text`` in page text ignoring case and
  whitespace (as WebGPT's Find and Quote do). The browser matches with it.
- ``normalise_for_quote(text)``: a normal form (lower-cased per character, whitespace runs as one
  space) for callers that must test substrings piece by piece, as the constrained decoder does
  while a quote is being written (``omni_model.vocab_index``).

The two agree one way, which is the way that matters: whenever ``normalise_for_quote(a)`` is a
substring of ``normalise_for_quote(page)``, ``loose_pattern(a)`` finds ``a`` in ``page``, so a
quote the decoder lets through is always one the browser accepts. Pure text: no torch.

    >>> bool(loose_pattern("blue  LIGHT").search("Blue light scatters"))
    True
    >>> normalise_for_quote("Blue\\n  Light")
    'blue light'
"""

from __future__ import annotations

import re

_WS = re.compile(r"\s+")


def loose_pattern(text: str) -> re.Pattern[str]:
    """A pattern for ``text`` that ignores case and whitespace.

    Matching in the regex engine (rather than on a whitespace-free copy of the page) keeps Find
    and Quote to a few milliseconds on long pages."""
    chars = [re.escape(ch) for ch in text if not ch.isspace()]
    return re.compile(r"\s*".join(chars), re.IGNORECASE)


def normalise_for_quote(text: str) -> str:
    """Lower-case per character (as the browser's case-blind match does), whitespace runs as one space."""
    return _WS.sub(" ", "".join(ch.lower() for ch in text))
