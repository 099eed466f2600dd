"""Answers written from their quotes: a ``LogitsProcessor`` that keeps every sentence on its source.

"An answer writer that stays close to its quotes". With ``AnswerConstraint`` each sentence of an
answer is one sentence of a quote, copied whole and cited with that quote's number right before
its final stop (``browser_env.text.sentences.cited_sentence``: ``... scattering [2].``). The policy
chooses, token by token under its own log-probabilities, which sentences to use, in what order,
and when to stop (after at least ``min_sentences``, or all there are); no sentence is used twice. So every claim is supported by
the quote it cites, by construction; what the model still decides is relevance and length.

    segments = answer_segments(quotes)                 # the sentences it may use, already cited
    proc = AnswerConstraint(tokenizer, [segments], n=4, max_new_tokens=256)
    policy.generate([prompt], n=4, logits_processor=proc, stop=ANSWER_STOP)
    answer = complete_part(text, segments)             # a sample cut by the token budget: whole sentences only

Rows are prompt-major like ``omni_model.constrained`` (row ``i*n + j``), or one per prompt when
decoding greedily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from browser_env.text.sentences import cited_sentence, split_sentences
from omni_model.prompts import ANSWER_END
from omni_model.row_processor import RowMaskProcessor
from omni_model.vocab_index import vocab_for

SEPARATOR = " "
TERMINATOR = "\n" + ANSWER_END
MIN_SEGMENT_CHARS = 20  # shorter pieces of a quote are headings or fragments, not claims


CHARS_PER_TOKEN = 3  # a cautious guess for English prose (SmolLM2 averages about 4)


def fits(segment: str, tokens_left: int) -> bool:
    """Whether a sentence plausibly fits the tokens left, with the terminator after it; one that
    does not is cut by the budget and dropped by ``complete_part``."""
    return (len(segment) + 1 + len(TERMINATOR)) / CHARS_PER_TOKEN < tokens_left


def answer_segments(extracts: Sequence[str]) -> list[str]:
    """Every sentence of every quote (numbered from 1), cited as it would stand in the answer."""
    out: list[str] = []
    for n, extract in enumerate(extracts, 1):
        # A quote with no sentence of claim length is used whole.
        pieces = [s for s in split_sentences(extract) if len(s) >= MIN_SEGMENT_CHARS] or [" ".join(extract.split())]
        for s in pieces:
            seg = cited_sentence(s, n) if s else ""
            if seg and seg not in out:
                out.append(seg)
    return out


def split_segments(text: str, segments: Sequence[str]) -> tuple[list[str], str]:
    """``text`` read as whole segments joined by the separator: (the whole ones, what follows)."""
    done: list[str] = []
    rest = text
    while True:
        hit = next((s for s in sorted(segments, key=len, reverse=True)
                    if rest.startswith(s) and (len(rest) == len(s) or rest[len(s)] in (SEPARATOR, "\n"))
                    and s not in done), None)
        if hit is None:
            return done, rest
        done.append(hit)
        rest = rest[len(hit):]
        if rest.startswith(SEPARATOR):
            rest = rest[len(SEPARATOR):]
        elif rest:  # a newline: the terminator follows
            return done, rest


def complete_part(text: str, segments: Sequence[str]) -> str:
    """The whole segments at the start of ``text`` (what is left when a sample ran out of tokens)."""
    return SEPARATOR.join(split_segments(text, segments)[0])


class AnswerConstraint(RowMaskProcessor[list[str]]):
    """Masks logits so each row writes only whole cited quote sentences; see the module doc."""

    def __init__(self, tokenizer: Any, rows: list[list[str]], *, n: int = 1,
                 max_new_tokens: int | None = None, min_sentences: int = 1) -> None:
        if not rows:
            raise TypeError("rows must be a non-empty list of segment lists")
        self.vocab = vocab_for(tokenizer, 200)
        eos = [i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None]
        self.eos_mask = self.vocab.mask_of(sorted(set(eos)))
        chars = self.vocab.single_chars
        # A segment the vocabulary cannot spell character by character could trap a row.
        self._init_rows([[s for s in segs if all(ch in chars for ch in s)] for segs in rows], n)
        self.max_new_tokens = max_new_tokens
        self.min_sentences = max(1, min_sentences)  # or as many as there are, if fewer

    def targets(self, r: int) -> tuple[list[str], bool]:
        """Strings row ``r`` may go on with, and whether it may end (EOS) here."""
        segments = self.rows[r]  # type: ignore[index]
        text = self.texts[r]
        done, rest = split_segments(text, segments)
        if rest.startswith("\n"):  # writing the terminator
            return ([TERMINATOR[len(rest):]] if TERMINATOR.startswith(rest) and rest != TERMINATOR else []), True
        unused = [s for s in segments if s not in done]
        steps = None if self.max_new_tokens is None else self.max_new_tokens - self.seen
        if rest == "" and steps is not None:  # a new sentence: one the budget can finish, if any can
            unused = [s for s in unused if fits(s, steps)] or unused
        out = [s[len(rest):] for s in unused if s.startswith(rest) and len(s) > len(rest)]
        # Right after a whole sentence (not after the separator that starts the next one).
        whole = bool(done) and rest == "" and not text.endswith(SEPARATOR)
        if whole:
            out = [SEPARATOR + s for s in unused if steps is None or fits(s, steps)]
            if len(done) < min(self.min_sentences, len(segments)) and out:
                return out, False  # not long enough yet: go on
            out.append(TERMINATOR)
        return out, whole

    def allowed(self, r: int) -> torch.Tensor:
        if self.done[r]:
            return self.eos_mask
        v = self.vocab
        targets, may_end = self.targets(r)
        ids: set[int] = set()
        for t in targets:
            for k in range(1, min(len(t), v.longest) + 1):
                ids.update(v.by_str.get(t[:k], ()))
        mask = v.mask_of(sorted(ids))
        if may_end:
            mask |= self.eos_mask
        return mask
