"""Demonstrations -> trl prompt/completion rows, through the one prompt module.

Every prompt comes from ``omni_model.prompts``, the same functions the agent calls at
inference, so a training row is exactly what the policy will see:

- one row per browsing step: prompt = ``build_browsing_prompt(observation_parts)`` (page
  text truncated to ``max_tokens`` exactly as at inference); a step recorded without its parts
  uses the stored observation text inside the same instruction wrapper (it cannot be
  truncated, so a too-long one raises ``PromptTooLongError``); completion =
  ``browsing_completion(command)``;
- one answer row when the demo has an answer and quotes: ``answer_prompt(question, quotes)`` /
  ``answer_completion(answer)``.

    rows = demos_to_rows(read_demos("demos.jsonl"), tokenizer=tok, max_tokens=2048)
    write_rows_jsonl("sft.jsonl", rows)   # load with datasets.load_dataset("json", ...)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from omni_model import prompts
from omni_model.errors import PromptTooLongError
from training.demos import DAGGER_SOURCE, Demo, Step


def _prompt_from_text(observation: str, tokenizer: Any, max_tokens: int | None) -> str:
    return prompts.browsing_prompt_from_text(observation, tokenizer=tokenizer, max_tokens=max_tokens)


def step_prompt(step: Step, *, tokenizer: Any = None, max_tokens: int | None = None,
                overflow: int | None = None) -> str:
    """The browsing prompt the policy saw (or would see) at this step.

    ``overflow``: as the agent does (``omni_model.prompts.fit_browsing_prompt``), a state whose
    question, quotes and past actions alone pass ``max_tokens`` still gets a little page text, in
    a prompt of up to ``overflow`` tokens; None: such a state raises ``PromptTooLongError``."""
    if step.observation_parts is not None:
        return prompts.fit_browsing_prompt(step.observation_parts, tokenizer=tokenizer, cap=max_tokens,
                                           budget=max_tokens if overflow is None else overflow).text
    return _prompt_from_text(step.observation, tokenizer, max_tokens)


def _step_row(step: Step, tokenizer: Any, max_tokens: int | None, overflow: int | None = None) -> dict:
    return {"prompt": step_prompt(step, tokenizer=tokenizer, max_tokens=max_tokens, overflow=overflow),
            "completion": prompts.browsing_completion(step.command)}


def demo_to_rows(demo: Demo, *, tokenizer: Any = None, max_tokens: int | None = None,
                 overflow: int | None = None) -> list[dict]:
    """``{"prompt", "completion"}`` rows: one per browsing step, then the answer row if any.

    Raises ``PromptTooLongError`` when a prompt cannot be made to fit ``max_tokens``.
    """
    rows = [_step_row(s, tokenizer, max_tokens, overflow) for s in demo.steps]
    if demo.answer.strip() and demo.quotes:
        rows.append({"prompt": prompts.answer_prompt(demo.question, demo.quotes, tokenizer=tokenizer,
                                                     max_tokens=max_tokens),
                     "completion": prompts.answer_completion(demo.answer)})
    return rows


def demos_to_rows(demos: Iterable[Demo], *, tokenizer: Any = None, max_tokens: int | None = None,
                  skipped: list[tuple[str, str]] | None = None, overflow: int | None = None) -> list[dict]:
    """All demos' rows in order. A demo with a prompt that cannot fit is left out whole (so
    no episode is half-trained) and recorded in ``skipped`` as (demo id, reason).

    DAgger's demos are the exception: each of their steps is a state the expert labelled on its
    own, with no answer to tie them together, so only a step that cannot fit is left out
    (recorded as ``<demo id>#<step>``); dropping the whole rollout lost a third of them."""
    rows: list[dict] = []

    def add(name: str, make: Callable[[], list[dict]]) -> None:
        try:
            rows.extend(make())
        except PromptTooLongError as e:
            if skipped is not None:
                skipped.append((name, str(e)))

    for demo in demos:
        if demo.metadata.source == DAGGER_SOURCE and not demo.answer.strip():
            for k, step in enumerate(demo.steps):
                add(f"{demo.id}#{k}", lambda step=step: [_step_row(step, tokenizer, max_tokens, overflow)])
        else:
            add(demo.id, lambda demo=demo: demo_to_rows(demo, tokenizer=tokenizer, max_tokens=max_tokens,
                                                         overflow=overflow))
    return rows


def write_rows_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows as JSONL (atomically: temporary file + rename); returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n
