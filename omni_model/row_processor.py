"""The bookkeeping every masking ``LogitsProcessor`` of webqa shares: which row is which, and what it has written.

A subclass says what row ``r`` may write next (``allowed(r)``, a boolean mask over the
vocabulary); ``RowMaskProcessor`` lays the rows out, decodes each row's new tokens as they come
(``texts``, ``done``) and applies the masks. Rows are prompt-major with ``n`` samples per prompt
(row ``i*n + j``), or one row per prompt when the policy decodes greedily. A row with nothing
allowed ends (EOS) instead of sampling from NaNs; a model whose embedding is padded past the
tokenizer gets those extra ids masked.

Used by ``omni_model.constrained`` (browsing commands) and ``omni_model.extractive`` (answers).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import torch
from transformers import LogitsProcessor

Row = TypeVar("Row")


class RowMaskProcessor(LogitsProcessor, Generic[Row]):
    vocab: Any  # omni_model.vocab_index.Vocab
    eos_mask: torch.Tensor

    def _init_rows(self, per_prompt: list[Row], n: int, prompt_len: int | None = None) -> None:
        self.per_prompt = list(per_prompt)
        self.n = n
        self.prompt_len = prompt_len
        self.rows: list[Row] | None = None
        self.texts: list[str] = []
        self.done: list[bool] = []
        self.seen = 0

    def allowed(self, r: int) -> torch.Tensor:
        raise NotImplementedError

    def _start(self, input_ids: torch.Tensor) -> None:
        batch = input_ids.shape[0]
        if batch == len(self.per_prompt) * self.n:
            self.rows = [r for r in self.per_prompt for _ in range(self.n)]
        elif batch == len(self.per_prompt):  # greedy decoding samples each prompt once
            self.rows = list(self.per_prompt)
        else:
            raise ValueError(f"batch has {batch} rows but the constraint has {len(self.per_prompt)} prompts "
                             f"x n={self.n}")
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
        self.texts = [""] * batch
        self.done = [False] * batch

    def _absorb(self, input_ids: torch.Tensor) -> None:
        assert self.prompt_len is not None
        new = input_ids[:, self.prompt_len + self.seen:].tolist()
        eos = self.eos_mask
        for r, toks in enumerate(new):
            for t in toks:
                if self.done[r]:
                    break
                if t >= self.vocab.size or eos[t] or t in self.vocab.special:
                    self.done[r] = True
                else:
                    self.texts[r] += self.vocab.strs[t]
        self.seen += len(new[0]) if new else 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.rows is None:
            self._start(input_ids)
        elif input_ids.shape[0] != len(self.rows):
            raise ValueError(f"batch changed from {len(self.rows)} to {input_ids.shape[0]} rows; "
                             f"use a fresh {type(self).__name__} per generate call")
        self._absorb(input_ids)
        vocab_width = scores.shape[-1]
        mask = torch.zeros((len(self.texts), self.vocab.size), dtype=torch.bool)
        for r in range(len(self.texts)):
            mask[r] = self.allowed(r)
        dead = ~mask.any(dim=1)
        if bool(dead.any()):  # a dead end would give NaN probabilities: end the row instead
            mask[dead] = self.eos_mask
        if vocab_width > mask.shape[1]:  # the model's embedding is padded past the tokenizer
            mask = torch.cat([mask, mask.new_zeros(mask.shape[0], vocab_width - mask.shape[1])], dim=1)
        elif vocab_width < mask.shape[1]:
            mask = mask[:, :vocab_width]
        return scores.masked_fill(~mask.to(scores.device), float("-inf"))
