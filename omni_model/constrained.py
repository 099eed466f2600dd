"""Decoding constrained to the browsing command grammar: a ``transformers.LogitsProcessor``.

``CommandConstraint`` masks the logits of every generated row so that the row can only spell
one well-formed command from ``browser_env.text.grammar.COMMANDS`` followed by the end marker
(``prompts.BROWSING_END``) or EOS. The language is read from the grammar's ``prefix`` and
``arg`` fields, so a new command needs no change here:

- literal prefixes are forced; a token may run from the literal into the argument;
- ``link_id``: only the ids on the row's current page, then the end;
- ``scroll``: 1, 2 or 3;
- ``text``: a free single line, non-empty, at most ``max_arg_chars``; with ``quote_sentences``
  a Quote is exactly one of those sentences, and with ``query_words`` a Search is made of
  those words (``omni_model.choices``: the policy chooses, token by token, among them); with
  ``constrain_quote`` a Quote (with ``constrain_find`` a Find) stays a substring of the page
  (ignoring case and collapsing
  whitespace, which is stricter than the browser's whitespace-blind match, so every quote
  the decoder allows is accepted). The ``<start>━<end>`` short form is never produced;
- commands with no argument end right after the literal.

Per-tokenizer work (decoding the ~49k token strings, masks per literal state, tries for page
matching) is done once and cached in ``omni_model.vocab_index``; per step a row costs a few
vectorised mask operations.
Pass ``logits_processor=None`` to the policy to decode unconstrained.

    proc = make_command_processor(policy.tokenizer, [RowConstraint(frozenset({0, 1}))], n=4)
    policy.generate([prompt], n=4, stop=BROWSING_STOP, logits_processor=proc)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from browser_env.text.grammar import COMMANDS, SCROLL_AMOUNTS, CommandSpec, ParseError, parse
from omni_model.choices import Choice, SentenceChoice, WordChoice
from omni_model.prompts import BROWSING_END
from omni_model.row_processor import RowMaskProcessor
# The vocabulary index and page matching live in vocab_index; normalise_for_quote and
# PAGE_BOUND stay importable from here, where callers and tests have always found them.
from omni_model.vocab_index import BOUNDABLE, PAGE_BOUND, Page, normalise_for_quote, vocab_for  # noqa: F401

_LINK_ID = re.compile(r"【(\d+)†")


@dataclass(frozen=True)
class RowConstraint:
    """What one row may say: the link ids on its page, and the page text for quotes."""

    link_ids: frozenset[int] = frozenset()
    page_text: str | None = None
    constrain_quote: bool = False
    constrain_find: bool = False
    # Names from grammar.COMMANDS this row may use; None allows all. E.g. before any page is
    # open, the browser refuses everything but Search and the End commands.
    commands: frozenset[str] | None = None
    # Choices (``omni_model.choices``): a Quote is one of these sentences; a Search is made of
    # these words. None leaves the argument to the other rules.
    quote_sentences: tuple[str, ...] | None = None
    query_words: tuple[str, ...] | None = None
    min_query_words: int = 1  # a query has at least this many of query_words (or all, if fewer)

    def allows(self, name: str) -> bool:
        return self.commands is None or name in self.commands

    def constrains(self, name: str) -> bool:
        """Whether the text argument of command ``name`` must come from the page."""
        return ((name == "quote" and (self.constrain_quote or self.quote_sentences is not None))
                or (name == "find" and self.constrain_find) or (name == "search" and self.query_words is not None))

    def __post_init__(self) -> None:
        if not isinstance(self.link_ids, frozenset) or not all(isinstance(i, int) and i >= 0 for i in self.link_ids):
            raise TypeError(f"link_ids must be a frozenset of non-negative ints, got {self.link_ids!r}")
        if self.commands is not None:
            unknown = set(self.commands) - {c.name for c in COMMANDS}
            if not isinstance(self.commands, frozenset) or unknown:
                raise ValueError(f"commands must be a frozenset of grammar command names; unknown: {sorted(unknown)}")
        if (self.constrain_quote or self.constrain_find) and self.page_text is None:
            raise ValueError("constrain_quote / constrain_find need the page_text the text must come from")

    @classmethod
    def from_page(cls, page_text: str, *, constrain_quote: bool = False,
                  constrain_find: bool = False) -> RowConstraint:
        """Link ids read from the ``【id†text†domain】`` links in a rendered page."""
        ids = frozenset(int(m) for m in _LINK_ID.findall(page_text))
        return cls(ids, page_text, constrain_quote, constrain_find)


def _is_command(text: str, row: RowConstraint) -> bool:
    try:
        action = parse(text)
    except ParseError:
        return False
    return action.name != "click" or action.arg in row.link_ids


class CommandConstraint(RowMaskProcessor[RowConstraint]):
    """Masks logits so each row can only become one grammatical command; see the module doc.

    ``rows`` has one ``RowConstraint`` per prompt; the batch is prompt-major with ``n`` samples
    per prompt (row ``i*n + j``), or one row per prompt when the policy decodes greedily.
    ``prompt_len`` defaults to the width of ``input_ids`` at the first call (left padding).
    ``max_new_tokens``, when given, makes a text argument end before the token budget runs out.
    """

    def __init__(self, tokenizer: Any, rows: list[RowConstraint], *, n: int = 1, prompt_len: int | None = None,
                 max_arg_chars: int = 200, max_new_tokens: int | None = None,
                 eos_ids: list[int] | None = None) -> None:
        if not rows or not all(isinstance(r, RowConstraint) for r in rows):
            raise TypeError("rows must be a non-empty list of RowConstraint")
        if n < 1 or not 1 <= max_arg_chars:
            raise ValueError(f"need n >= 1 and max_arg_chars >= 1 (got {n}, {max_arg_chars})")
        self.vocab = vocab_for(tokenizer, max_arg_chars)
        eos = list(eos_ids or [])
        for extra in (tokenizer.eos_token_id, tokenizer.pad_token_id):
            if extra is not None and extra not in eos:
                eos.append(int(extra))
        if not eos:
            raise ValueError("the tokenizer has no EOS or pad token to end a finished row with")
        self.eos_mask = self.vocab.mask_of(eos)
        self.finish_mask = self.vocab.end | self.eos_mask
        self._init_rows(rows, n, prompt_len)
        self.max_new_tokens = max_new_tokens
        self._pages: dict[int, Page] = {}
        self._link_strs: dict[int, frozenset[str]] = {}
        self._text_masks: dict[tuple[bool, bool], torch.Tensor] = {}
        self._static: dict[tuple[str, frozenset[str] | None], torch.Tensor] = {}
        self._choices: dict[tuple[int, str], Choice | None] = {}

    def _page(self, r: int) -> Page:
        row = self.rows[r]  # type: ignore[index]
        key = id(row.page_text)
        if key not in self._pages:
            self._pages[key] = Page(row.page_text or "", self.vocab)
        return self._pages[key]

    # --- the language ---------------------------------------------------------------------

    def allowed(self, r: int) -> torch.Tensor:
        """The boolean mask over the vocabulary for row ``r`` in its current state."""
        text = self.texts[r]
        if self.done[r] or BROWSING_END in text:
            return self.eos_mask
        for spec in COMMANDS:
            if spec.arg == "none":
                if text == spec.prefix:
                    return self.finish_mask
            elif text.startswith(spec.prefix):
                return self._arg(r, spec, text[len(spec.prefix):])
        if not any(spec.prefix.startswith(text) for spec in COMMANDS):
            raise AssertionError(f"row {r} left the command language: {text!r}")  # a bug in this module
        return self._literal(r, text)

    def _literal(self, r: int, p: str) -> torch.Tensor:
        row = self.rows[r]  # type: ignore[index]
        entry = self.vocab.literal(p)
        key = (p, row.commands)
        if key not in self._static:
            mask = torch.zeros(self.vocab.size, dtype=torch.bool)
            for name, m in entry["static"].items():
                if row.allows(name):
                    mask |= m
            self._static[key] = mask
        mask = self._static[key].clone()
        for name in BOUNDABLE:
            if name not in entry["per_cmd"] or not row.allows(name):
                continue
            if not row.constrains(name):
                mask |= entry["free"][name]
                continue
            choice = self._choice(r, name)
            if choice is not None:
                if choice:  # else nothing to choose from: the command is unavailable
                    inside, _ = entry["per_cmd"][name]
                    mask[inside] = True
                    rem = next(c.prefix for c in COMMANDS if c.name == name)[len(p):]
                    mask |= self.vocab.mask_of(self._choice_ids(choice, "", rem)) & self.vocab.clean
                continue
            page = self._page(r)
            if bool(page.start_mask.any()):  # else nothing on the page: the command is unavailable
                inside, spans = entry["per_cmd"][name]
                mask[inside] = True
                mask |= self._page_spans(page, (name, p), spans)
        if "click" in entry["per_cmd"] and row.link_ids and row.allows("click"):
            inside, digits = entry["per_cmd"]["click"]
            mask[inside] = True
            prefixes = self._link_prefixes(row)
            ok = [i for i, d in digits if d in prefixes]
            mask[ok] = True
        steps = self._steps_left()
        if steps is not None and steps <= 1:
            # The last token: keep only tokens that leave a whole command, where there are any.
            ids = mask.nonzero().flatten().tolist()
            whole = [i for i in ids if _is_command(p + self.vocab.strs[i], row)]
            if whole:
                return self.vocab.mask_of(whole)
        return mask

    def _page_spans(self, page: Page, key: tuple[str, str], spans: list[tuple[int, str]]) -> torch.Tensor:
        if key not in page.span_cache:
            ok = []
            for i, arg in spans:
                na = normalise_for_quote(arg).lstrip(" ")
                if na == "" or na in page.norm:
                    ok.append(i)
            page.span_cache[key] = self.vocab.mask_of(ok)
        return page.span_cache[key]

    def _choice(self, r: int, name: str) -> Choice | None:
        """Row ``r``'s choice for command ``name``'s argument (None: not a choice)."""
        row = self.rows[r]  # type: ignore[index]
        key = (id(row), name)
        if key not in self._choices:
            chars = self.vocab.single_chars
            choice: Choice | None = None
            if name == "quote" and row.quote_sentences is not None:
                choice = SentenceChoice((s for s in row.quote_sentences if len(s) <= self.vocab.max_arg_chars), chars)
            elif name == "search" and row.query_words is not None:
                choice = WordChoice(row.query_words, min_words=row.min_query_words, single_chars=chars)
            self._choices[key] = choice
        return self._choices[key]

    def _choice_ids(self, choice: Choice, a: str, lead: str = "") -> list[int]:
        """Tokens spelling ``lead`` plus a prefix of a string that may follow ``a``."""
        v = self.vocab
        ids: set[int] = set()
        for target in choice.next_strings(a):
            for k in range(1, min(len(target), v.longest) + 1):
                ids.update(v.by_str.get(lead + target[:k], ()))
        return sorted(ids)

    def _link_prefixes(self, row: RowConstraint) -> frozenset[str]:
        key = id(row)
        if key not in self._link_strs:
            self._link_strs[key] = frozenset(s[:k] for s in map(str, row.link_ids) for k in range(1, len(s) + 1))
        return self._link_strs[key]

    def _steps_left(self) -> int | None:
        return None if self.max_new_tokens is None else self.max_new_tokens - self.seen

    def _arg(self, r: int, spec: CommandSpec, a: str) -> torch.Tensor:
        row = self.rows[r]  # type: ignore[index]
        v = self.vocab
        if spec.arg == "scroll":
            if a in {str(s) for s in SCROLL_AMOUNTS}:
                return self.finish_mask
            return v.mask_of([i for s in SCROLL_AMOUNTS for i in v.by_str.get(str(s), [])])
        if spec.arg == "link_id":
            targets = {str(i) for i in row.link_ids}
            nxt = [i for s in targets if s.startswith(a) and len(s) > len(a)
                   for k in range(len(a) + 1, len(s) + 1) for i in v.by_str.get(s[len(a):k], [])]
            mask = v.mask_of(nxt)
            return mask | self.finish_mask if a in targets else mask
        if spec.arg != "text":
            raise AssertionError(f"unhandled arg kind {spec.arg}")
        budget = v.max_arg_chars - len(a)
        blank = not a.strip()
        steps = self._steps_left()
        if not blank and (budget <= 0 or (steps is not None and steps <= 1)):
            return self.finish_mask
        choice = self._choice(r, spec.name) if row.constrains(spec.name) else None
        if choice is not None:
            mask = v.mask_of(self._choice_ids(choice, a)) & v.clean
            if budget < v.longest:
                mask &= v.length <= budget
            return mask | self.finish_mask if choice.complete(a) else mask
        if row.constrains(spec.name):
            page = self._page(r)
            na = normalise_for_quote(a).lstrip(" ")
            if not na:
                mask = page.start_mask.clone()
            else:
                mask = v.mask_of(sorted(page.continuations(na, v)))
            if budget < v.longest:
                mask &= v.length <= budget
            return mask if blank else mask | self.finish_mask
        key = (blank, spec.name == "quote")
        if key not in self._text_masks:
            m = v.nonblank if blank else v.clean
            if spec.name == "quote":
                m = m & v.no_sep
            self._text_masks[key] = m if blank else m | self.finish_mask
        mask = self._text_masks[key]
        if budget < v.longest:  # rarely: only near the length cap
            mask = mask & ((v.length <= budget) | self.finish_mask)
        return mask


def make_command_processor(tokenizer: Any, rows: list[RowConstraint], *, n: int = 1,
                           **kwargs: Any) -> CommandConstraint:
    """A fresh ``CommandConstraint`` for one ``generate`` call (it keeps per-row state)."""
    return CommandConstraint(tokenizer, rows, n=n, **kwargs)


def command_token_budget(max_arg_chars: int = 200) -> int:
    """Enough new tokens for the longest command the constraint allows (every token >= 1 char)."""
    return max(len(c.prefix) for c in COMMANDS) + max_arg_chars + len(BROWSING_END) + 1
