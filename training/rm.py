"""Reward-model training: comparisons -> a one-label scorer, with trl's ``RewardTrainer``.

Every text trained on is ``omni_model.prompts.reward_text(question, quotes, answer)``, cut to
``max_length`` tokens the way scoring cuts it (quote extracts lose their tails, never the
question or the answer), so training and ``RewardModel.score`` read the same strings. Rows are
trl's implicit-prompt preference rows (``chosen``/``rejected`` full texts).

Comparisons are split into train and held-out **by question**, per input file. The held-out
pairs are written as trl JSONL under ``heldout_dir`` (default ``<output_dir>/heldout/``) so that
``webqa rm eval --comparisons <heldout_dir>/<set>.jsonl`` measures them.

Ties: ``ties="drop"`` leaves them out; ``ties="soft"`` trains both orderings of a tied pair,
which pulls the two rewards together as WebGPT's 50% soft label does (trl's loss takes no
per-row weight, so a tie weighs as much as two hard pairs rather than one).

    config = RMConfig(output_dir="runs/rm", max_length=512)
    result = train_rm(["prefs.jsonl", "preference_data.tsv"], config)
    rm = omni_model.reward.load_reward_model("runs/rm")
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from trl import RewardConfig

from omni_model.errors import PromptTooLongError
from omni_model.prompts import reward_text

from .common import (AdapterOptions, ContinueOptions, TrainingDataError, adapted, device_defaults, resume_point,
                     save_checkpoint, split_by_question, trainable_parameters)
from .comparisons import Comparison, MalformedRowError, export_trl, to_trl_rows
from .preference_sets import load_comparison_file  # noqa: F401 - its historical home


def split_comparisons(comparisons: Sequence[Comparison], fraction: float, seed: int = 0
                      ) -> tuple[list[Comparison], list[Comparison]]:
    return split_by_question(comparisons, fraction, seed)


@dataclass
class RMConfig(RewardConfig, AdapterOptions, ContinueOptions):
    """trl's ``RewardConfig`` plus what webqa's reward-model training needs."""

    base_model: str = field(default="smollm2-135m", metadata={"help": "backbone spec"})
    ties: Literal["soft", "drop"] = "drop"
    max_pairs_per_file: int | None = None  # training pairs kept per file (a fixed-seed sample)
    pairs_per_file: dict[str, int] | None = field(
        default=None, metadata={"help": "per-file caps by file stem, overriding max_pairs_per_file "
                                        "(e.g. many grounding pairs beside a few of each preference set)"})
    final_dir: str | None = field(
        default=None, metadata={"help": "where the trained RM goes (default: output_dir, which also "
                                        "holds the checkpoints)"})
    perturbations: bool = False  # add synthetic pairs from training.perturb (opt-in)
    max_eval_pairs: int | None = None  # held-out pairs scored for eval_accuracy (None: all)
    heldout_dir: str | None = None  # where held-out pairs go (default: <output_dir>/heldout)

    def __post_init__(self) -> None:
        device_defaults(self)
        super().__post_init__()


@dataclass
class RMResult:
    output_dir: str
    train_pairs: int
    heldout: dict[str, int]
    too_long: int
    malformed_rows: int
    train_loss: float | None
    eval_accuracy: float | None
    train_seconds: float
    train_samples_per_second: float | None
    trainable_parameters: int
    base_model: str

    def to_json(self) -> dict:
        return asdict(self)


def fitted_rows(comparisons: Sequence[Comparison], tokenizer: Any, max_length: int, ties: str
                ) -> tuple[list[dict[str, str]], int]:
    """Implicit-prompt rows whose two texts fit ``max_length`` (one token kept for trl's EOS)."""
    rows, too_long = [], 0
    for row, c in _ordered(comparisons, ties):
        try:
            chosen = reward_text(*c.side(row), tokenizer=tokenizer, max_tokens=max_length - 1)
            rejected = reward_text(*c.side(1 - row), tokenizer=tokenizer, max_tokens=max_length - 1)
        except PromptTooLongError:
            too_long += 1
            continue
        rows.append({"chosen": chosen, "rejected": rejected})
    return rows, too_long


def _ordered(comparisons: Sequence[Comparison], ties: str):
    for c in comparisons:
        p = c.preferred
        if p is None:
            if ties == "soft":
                yield 0, c
                yield 1, c
        else:
            yield p, c


def _check_usable(comparisons: Sequence[Comparison], ties: str, source: str) -> None:
    try:
        to_trl_rows(comparisons, ties=ties)  # raises the clear "empty" / "only ties" errors
    except ValueError as e:
        raise TrainingDataError(f"{source}: {e}") from None


def load_training_sets(paths: Sequence[str | os.PathLike], config: RMConfig
                       ) -> tuple[list[Comparison], dict[str, list[Comparison]], int]:
    """(training pairs, held-out pairs per file stem, malformed rows); checks before any model loads."""
    train: list[Comparison] = []
    heldout: dict[str, list[Comparison]] = {}
    malformed = 0
    rng = random.Random(config.split_seed)
    for path in paths:
        try:
            loaded = load_comparison_file(path, strict=config.strict)
        except (OSError, MalformedRowError, ValueError) as e:
            raise TrainingDataError(str(e)) from e
        malformed += len(loaded.errors)
        tr, te = split_comparisons(loaded.comparisons, config.eval_fraction, config.split_seed)
        stem = Path(path).stem
        cap = (config.pairs_per_file or {}).get(stem, config.max_pairs_per_file)
        if cap is not None and len(tr) > cap:
            tr = rng.sample(tr, cap)
        train.extend(tr)
        while stem in heldout:
            stem += "_"
        heldout[stem] = te
    _check_usable(train, config.ties, ", ".join(map(str, paths)))
    if config.perturbations:
        from .perturb import perturb

        train.extend(perturb(train, seed=config.split_seed))
    return train, heldout, malformed


def train_rm(paths: Sequence[str | os.PathLike], config: RMConfig) -> RMResult:
    """Train on the comparisons in ``paths``; saves the RM and its held-out sets to ``output_dir``."""
    import time

    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification
    from trl import RewardTrainer

    from omni_model.loading import load_tokenizer
    from omni_model.spec import resolve_model_dir

    train, heldout, malformed = load_training_sets(paths, config)
    base_dir = resolve_model_dir(config.base_model)
    tokenizer = load_tokenizer(base_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows, too_long = fitted_rows(train, tokenizer, config.max_length, config.ties)
    if not rows:
        raise TrainingDataError(f"no comparison fits max_length={config.max_length} tokens")
    eval_pairs = [c for te in heldout.values() for c in te]
    eval_rows, _ = fitted_rows(eval_pairs, tokenizer, config.max_length, "drop")
    eval_rows = random.Random(config.split_seed).sample(eval_rows, min(len(eval_rows), config.max_eval_pairs or len(eval_rows)))
    if not eval_rows:
        config.eval_strategy = "no"
    model = AutoModelForSequenceClassification.from_pretrained(str(base_dir), num_labels=1, dtype="auto")
    model.config.pad_token_id = tokenizer.pad_token_id
    random.Random(config.split_seed).shuffle(rows)
    model, peft_config = adapted(model, config, "SEQ_CLS")
    trainer = RewardTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                            eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
                            processing_class=tokenizer, peft_config=peft_config)
    start = time.perf_counter()
    out = trainer.train(resume_from_checkpoint=resume_point(config))
    seconds = time.perf_counter() - start
    eval_accuracy = trainer.evaluate().get("eval_accuracy") if eval_rows else None
    folder = Path(config.final_dir or config.output_dir)
    save_checkpoint(trainer, tokenizer, folder, config.base_model, config.lora)
    heldout_dir = Path(config.heldout_dir) if config.heldout_dir else folder / "heldout"
    heldout_dir.mkdir(parents=True, exist_ok=True)
    for stem, pairs in heldout.items():
        decided = [c for c in pairs if not c.is_tie]
        if decided:
            export_trl(heldout_dir / f"{stem}.jsonl", to_trl_rows(decided, ties="drop"))
    result = RMResult(
        output_dir=str(folder), train_pairs=len(rows), heldout={k: len(v) for k, v in heldout.items()},
        too_long=too_long, malformed_rows=malformed, train_loss=out.training_loss, eval_accuracy=eval_accuracy,
        train_seconds=seconds, train_samples_per_second=out.metrics.get("train_samples_per_second"),
        trainable_parameters=trainable_parameters(trainer.model), base_model=config.base_model)
    (folder / "training_summary.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result
