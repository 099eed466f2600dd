"""Citation verification: every ``[n]`` in an answer must name a quote the agent really took.

    checked = verify_citations("Blue light scatters more [1][7].", quotes)
    checked.text        # "Blue light scatters more [1]."   ([7] did not exist: removed)
    checked.removed     # 1
    checked.references  # [Reference(n=1, ...)]   only cited quotes, original numbers kept

Forms understood: ``[1]``, ``[1, 2]``, ``[1][2]``, ``[1-3]`` (also with an en dash), as
``browser_env.text.citation_marks`` defines them. A citation to a quote that does not exist is the
model's fault: it is removed from the text and counted, never shown. Every quote was checked
against its page when it was taken (the browser refuses a quote that is not on the page), so
each reference is marked verified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# The marks themselves (what a citation looks like, the numbers it names) are defined once, in
# browser_env.text.citation_marks; this module decides what happens to marks that name no quote.
from browser_env.text.citation_marks import CITATION, cited_numbers, expand  # noqa: F401 - cited_numbers re-exported

from .types import Reference

_REMOVED = "\x00"  # placeholder for a citation group that lost every number
_GAP = re.compile(r"[ \t]*\x00+[ \t]*")
_CLOSE_PUNCT = set(".,;:!?)]}")


@dataclass
class CheckedAnswer:
    text: str  # the answer with every citation to a missing quote removed
    cited: list[int] = field(default_factory=list)  # distinct valid quote numbers, in order of first use
    citations: int = 0  # valid citation marks (each number in each group counts once)
    removed: int = 0  # citation marks that named a quote that does not exist
    references: list[Reference] = field(default_factory=list)


def _close_gap(m: re.Match[str]) -> str:
    # A removed citation leaves no double space, and no space before punctuation or line end.
    text = m.string
    before = text[m.start() - 1] if m.start() > 0 else "\n"
    after = text[m.end()] if m.end() < len(text) else "\n"
    if before == "\n" or after == "\n" or after in _CLOSE_PUNCT:
        return ""
    return " "


def clean_citations(answer: str, n_quotes: int) -> tuple[str, list[int], int, int]:
    """``(text, cited, citations, removed)``: ``answer`` with citations to missing quotes removed."""
    if n_quotes < 0:
        raise ValueError(f"n_quotes must be >= 0, got {n_quotes}")
    cited: list[int] = []
    counts = {"citations": 0, "removed": 0}

    def fix(m: re.Match[str]) -> str:
        valid, invalid = expand(m.group(0), n_quotes)
        counts["citations"] += len(valid)
        counts["removed"] += invalid
        for k in valid:
            if k not in cited:
                cited.append(k)
        if not invalid:
            return m.group(0)  # keep the model's own spelling when it is all valid
        if not valid:
            return _REMOVED
        return "[" + ", ".join(map(str, valid)) + "]"

    text = CITATION.sub(fix, answer)
    if _REMOVED in text:
        text = _GAP.sub(_close_gap, text)
    return text.strip(), cited, counts["citations"], counts["removed"]


def verify_citations(answer: str, quotes: Sequence[dict]) -> CheckedAnswer:
    """Check ``answer``'s citations against ``quotes`` (dicts with title, url, extract), 1-based."""
    text, cited, citations, removed = clean_citations(answer, len(quotes))
    refs = [Reference(n=k, title=quotes[k - 1].get("title", ""), url=quotes[k - 1].get("url", ""),
                      extract=quotes[k - 1].get("extract", "")) for k in sorted(cited)]
    return CheckedAnswer(text=text, cited=cited, citations=citations, removed=removed, references=refs)
