"""The one definition of an answer's citation marks: ``[1]``, ``[1, 2]``, ``[1][2]``, ``[1-3]``.

A mark is a bracket holding only quote numbers, commas and ranges (a hyphen or an en dash);
``[citation needed]`` is not one. Quotes are numbered from 1, as in the answer prompt
(``omni_model.prompts.format_quotes``). Everything that reads or writes citations goes through
here: the agent's check (``agent.citations``), the metrics, the recorder's check, the demo's
links, the read-aloud text and the training data's perturbations. Pure text: no torch, no
playwright.

    >>> cited_numbers("Blue light scatters [1-3], red less [2, 5].")
    ('Blue light scatters  , red less  .', [1, 2, 3, 5])
    >>> strip_citations("Blue light scatters [1, 2].")
    'Blue light scatters.'
"""

from __future__ import annotations

import re
from collections.abc import Callable

CITATION = re.compile(r"\[\s*\d+\s*(?:(?:,|-|–)\s*\d+\s*)*\]")
_ITEM = re.compile(r"(\d+)\s*(?:[-–]\s*(\d+))?")
_NUMBER = re.compile(r"\d+")
_WITH_BLANK = re.compile(r"[ \t]*" + CITATION.pattern)  # a mark and the blank before it
MAX_RANGE = 50  # [1-100000] is noise: count its out-of-range part without enumerating it
_ANY = MAX_RANGE * 20  # the largest quote number read where no quote count is known


def format_citation(*numbers: int) -> str:
    """The canonical mark for ``numbers``: ``[1]``, ``[1, 2]``."""
    if not numbers:
        raise ValueError("a citation names at least one quote")
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def expand(mark: str, n_quotes: int) -> tuple[list[int], int]:
    """The numbers ``mark`` names that are quotes 1..``n_quotes`` (in order, deduplicated, ranges
    expanded) and how many it names that are not."""
    valid: list[int] = []
    invalid = 0
    for m in _ITEM.finditer(mark):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            lo, hi = hi, lo
        if hi - lo >= MAX_RANGE:
            inside = max(0, min(hi, n_quotes) - max(lo, 1) + 1)
            invalid += (hi - lo + 1) - inside
            numbers = range(max(lo, 1), min(hi, n_quotes) + 1)
        else:
            numbers = range(lo, hi + 1)
            invalid += sum(1 for k in numbers if not 1 <= k <= n_quotes)
        for k in numbers:
            if 1 <= k <= n_quotes and k not in valid:
                valid.append(k)
    return valid, invalid


def cited_numbers(text: str) -> tuple[str, list[int]]:
    """``text`` without its citation marks, and the distinct numbers those marks name, in order."""
    numbers: list[int] = []
    for mark in CITATION.findall(text):
        for k in expand(mark, _ANY)[0]:
            if k not in numbers:
                numbers.append(k)
    return CITATION.sub(" ", text), numbers


def out_of_range(text: str, n_quotes: int) -> list[str]:
    """The numbers and ranges cited in ``text`` that reach past quotes 1..``n_quotes``, in order of
    their first number: ``out_of_range("a [1][9-12]", 3) == ['9-12']``."""
    bad: set[tuple[int, int]] = set()
    for mark in CITATION.findall(text):
        for m in _ITEM.finditer(mark):
            lo, hi = sorted((int(m.group(1)), int(m.group(2) or m.group(1))))
            if lo < 1 or hi > n_quotes:
                bad.add((lo, hi))
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in sorted(bad)]


def count_citations(text: str) -> int:
    """How many quote numbers the marks name: ``[1][2]`` and ``[1, 2]`` count two, ``[1-3]`` three."""
    return sum(len(expand(mark, _ANY)[0]) for mark in CITATION.findall(text))


def strip_citations(text: str) -> str:
    """``text`` without its citation marks (and the spaces before each)."""
    return _WITH_BLANK.sub("", text).strip()


def sub_citations(text: str, replace: Callable[[str, list[int]], str]) -> str:
    """``text`` with each mark replaced by ``replace(mark, numbers)``: the mark as written and the
    numbers it names (ranges expanded)."""
    return CITATION.sub(lambda m: replace(m.group(0), expand(m.group(0), _ANY)[0]), text)


def sub_numbers(mark: str, replace: Callable[[int, str], str]) -> str:
    """One mark with each number in it replaced by ``replace(n, digits)`` (the brackets, commas and
    dashes kept): to link ``[1, 2]`` number by number."""
    return _NUMBER.sub(lambda m: replace(int(m.group(0)), m.group(0)), mark)
