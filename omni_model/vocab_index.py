"""The per-tokenizer vocabulary index behind ``omni_model.constrained``, and page matching.

``Vocab`` decodes a tokenizer's token strings once and keeps what the constraint asks of them
at every step: clean/blank/separator masks, lookups by exact string and by prefix, the allowed
tokens per literal state, and character tries over normalised tokens. ``vocab_for`` caches one
per (tokenizer, ``max_arg_chars``), weakly keyed so a dropped tokenizer frees its index.
``Page`` prepares one page's text for quote/find matching against those tries, by the browser's
own rule (``browser_env.text.quote_match.normalise_for_quote``, re-exported here).

Kept apart from the ``LogitsProcessor`` so the one-off, vocabulary-sized work lives in one place
and the processor only does per-step bookkeeping. Like the rest of omni_model it never loads
playwright (``browser_env.text.render`` and ``browser_env.text.grammar`` are pure).
"""

from __future__ import annotations

import bisect
import weakref
from typing import Any

import torch

from browser_env.text.grammar import COMMANDS, QUOTE_RANGE_SEP, SCROLL_AMOUNTS, has_refused_chars
from browser_env.text.quote_match import normalise_for_quote
from browser_env.text.render import strip_links
from omni_model.prompts import BROWSING_END

_IDS = "\x00ids"  # trie key holding the token ids that end at a node (never a token character)
PAGE_BOUND = ("quote", "find")  # text commands whose argument can be tied to the page
# Text commands whose argument can be constrained at all: to the page, or to a choice
# (``omni_model.choices``: sentences to quote, the question's words to search with).
BOUNDABLE = ("quote", "find", "search")


def _clean(s: str) -> bool:
    # Refused characters are what grammar.parse refuses (newlines included): a token holding one
    # could only ever write a command the browser rejects.
    return bool(s) and "\ufffd" not in s and not has_refused_chars(s)


class Vocab:
    """Everything about one tokenizer's vocabulary that the constraint needs, computed once."""

    def __init__(self, tokenizer: Any, max_arg_chars: int) -> None:
        n = len(tokenizer)
        self.size = n
        self.max_arg_chars = max_arg_chars
        self.strs: list[str] = tokenizer.batch_decode(
            [[i] for i in range(n)], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        special = {int(i) for i in tokenizer.all_special_ids}
        for i, tok in getattr(tokenizer, "added_tokens_decoder", {}).items():
            if getattr(tok, "special", False):
                special.add(int(i))
        self.special = special
        clean = [i not in special and _clean(s) for i, s in enumerate(self.strs)]
        self.clean = torch.tensor(clean, dtype=torch.bool)
        self.nonblank = torch.tensor([bool(s.strip()) for s in self.strs], dtype=torch.bool) & self.clean
        self.no_sep = torch.tensor([QUOTE_RANGE_SEP not in s for s in self.strs], dtype=torch.bool)
        self.length = torch.tensor([len(s) for s in self.strs], dtype=torch.long)
        self.longest = int(self.length[self.clean].max()) if bool(self.clean.any()) else 0
        self.end = torch.tensor(
            [i not in special and s.startswith(BROWSING_END) and not s.strip() and "\r" not in s
             for i, s in enumerate(self.strs)], dtype=torch.bool)
        if not bool(self.end.any()):
            raise ValueError(f"the tokenizer has no token for the end marker {BROWSING_END!r}")
        # Lookups cover every ordinary token; callers filter by ``clean`` where the text must be.
        self.by_str: dict[str, list[int]] = {}
        for i, s in enumerate(self.strs):
            if i not in special and s and "\ufffd" not in s:
                self.by_str.setdefault(s, []).append(i)
        order = sorted((s, i) for s, ids in self.by_str.items() for i in ids)
        self.sorted_strs = [s for s, _ in order]
        self.sorted_ids = torch.tensor([i for _, i in order], dtype=torch.long)
        self.single_chars = frozenset(s for s in self.by_str if len(s) == 1)
        self._literal: dict[str, dict[str, Any]] = {}
        self._tries: tuple[dict, dict, int] | None = None

    def mask_of(self, ids: Any) -> torch.Tensor:
        m = torch.zeros(self.size, dtype=torch.bool)
        if len(ids):
            m[torch.as_tensor(ids, dtype=torch.long)] = True
        return m

    def starting_with(self, prefix: str) -> torch.Tensor:
        """Ids of usable tokens whose string starts with ``prefix`` (a contiguous sorted range)."""
        lo = bisect.bisect_left(self.sorted_strs, prefix)
        hi = bisect.bisect_right(self.sorted_strs, prefix + "\U0010ffff")
        return self.sorted_ids[lo:hi]

    def literal(self, p: str) -> dict[str, Any]:
        """Allowed tokens from literal state ``p`` (a proper prefix of some command's literal)."""
        if p in self._literal:
            return self._literal[p]
        static: dict[str, torch.Tensor] = {}
        free = {name: torch.zeros(self.size, dtype=torch.bool) for name in BOUNDABLE}
        per_cmd: dict[str, tuple[list[int], list[tuple[int, str]]]] = {}
        for spec in COMMANDS:
            if not spec.prefix.startswith(p) or spec.prefix == p:
                continue
            rem = spec.prefix[len(p):]
            inside = [i for k in range(1, len(rem) + 1) for i in self.by_str.get(rem[:k], [])]
            span = self.starting_with(rem)
            span = span[self.length[span] > len(rem)]  # tokens that run past the literal
            base = static[spec.name] = torch.zeros(self.size, dtype=torch.bool)
            if spec.arg == "none":
                ends = self.starting_with(rem + BROWSING_END).tolist()
                ok = [i for i in ends if not self.strs[i][len(rem):].strip() and "\r" not in self.strs[i]]
                base[inside] = True
                base[ok] = True
            elif spec.arg == "scroll":
                ok = [i for a in SCROLL_AMOUNTS for i in self.by_str.get(rem + str(a), [])]
                base[inside] = True
                base[ok] = True
            elif spec.arg == "text":
                # The argument may not start blank: a blank start could use up the token budget.
                blank_tail = torch.tensor([not self.strs[i][len(rem):].strip() for i in span.tolist()], dtype=torch.bool)
                ok_mask = self.clean[span] & ~blank_tail & (self.length[span] - len(rem) <= self.max_arg_chars)
                target = base
                if spec.name == "quote":
                    ok_mask &= self.no_sep[span]
                if spec.name in BOUNDABLE:
                    target = free[spec.name]
                    # Candidates when tied to the page: (id, argument text after the literal).
                    per_cmd[spec.name] = (inside, [(i, self.strs[i][len(rem):]) for i in span[ok_mask].tolist()])
                target[inside] = True
                target[span[ok_mask]] = True
            elif spec.arg == "link_id":
                tails = [(i, self.strs[i][len(rem):]) for i in span.tolist()]
                digits = [(i, d) for i, d in tails if d.isascii() and d.isdigit()]
                per_cmd[spec.name] = (inside, digits)
            else:
                raise AssertionError(f"unhandled arg kind {spec.arg}")  # a new kind in the grammar
        entry = {"static": static, "free": free, "per_cmd": per_cmd}
        self._literal[p] = entry
        return entry

    def tries(self) -> tuple[dict, dict, int]:
        """Two character tries over normalised clean tokens: full keys and left-stripped keys."""
        if self._tries is None:
            full: dict = {}
            lstripped: dict = {}
            longest = 0
            ok = (self.clean & self.no_sep).tolist()
            for i, s in enumerate(self.strs):
                if not ok[i] or len(s) > self.max_arg_chars:
                    continue
                key = normalise_for_quote(s)
                for trie, k in ((full, key), (lstripped, key.lstrip(" "))):
                    node = trie
                    for ch in k:
                        node = node.setdefault(ch, {})
                    node.setdefault(_IDS, []).append(i)
                longest = max(longest, len(key))
            self._tries = (full, lstripped, longest)
        return self._tries


_VOCABS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def vocab_for(tokenizer: Any, max_arg_chars: int) -> Vocab:
    per_tok = _VOCABS.setdefault(tokenizer, {})
    if max_arg_chars not in per_tok:
        per_tok[max_arg_chars] = Vocab(tokenizer, max_arg_chars)
    return per_tok[max_arg_chars]


class Page:
    """A page prepared for quote matching: its normalised text and the tokens a quote may start with."""

    def __init__(self, text: str, vocab: Vocab) -> None:
        # The range separator never matches, so a constrained quote is always a plain quote.
        self.norm = normalise_for_quote(strip_links(text)).replace(QUOTE_RANGE_SEP, "\x00")
        self.span_cache: dict[tuple[str, str], torch.Tensor] = {}
        if not self.norm.strip():  # nothing to quote: skip building the tries at all
            self.window, self.start_mask = 0, torch.zeros(vocab.size, dtype=torch.bool)
            return
        _, lstripped, longest = vocab.tries()
        self.window = longest
        starts: set[int] = set()
        for pos in range(len(self.norm)):
            if self.norm[pos] == " ":
                continue  # a quote's leading whitespace is stripped, and ids at the root are blank
            walk(lstripped, self.norm, pos, longest, starts)
        self.start_mask = vocab.mask_of(sorted(starts))

    def continuations(self, na: str, vocab: Vocab) -> set[int]:
        """Tokens x such that the normalised ``na + x`` is still a substring of the page."""
        full, lstripped, _ = vocab.tries()
        trie = lstripped if na.endswith(" ") else full
        out: set[int] = set(lstripped.get(_IDS, [])) if na.endswith(" ") else set()
        seen: set[str] = set()
        pos = self.norm.find(na)
        while pos >= 0:
            start = pos + len(na)
            window = self.norm[start:start + self.window]
            if window not in seen:
                seen.add(window)
                walk(trie, window, 0, len(window), out)
            pos = self.norm.find(na, pos + 1)
        return out


def walk(trie: dict, text: str, pos: int, depth: int, out: set[int]) -> None:
    """Add to ``out`` the ids of every token spelled by ``text[pos:pos + depth]`` or a prefix of it."""
    node = trie
    for ch in text[pos:pos + depth]:
        node = node.get(ch)
        if node is None:
            return
        ids = node.get(_IDS)
        if ids:
            out.update(ids)
