"""Behaviour cloning: demonstrations -> a policy checkpoint, with trl's ``SFTTrainer``.

Rows come from ``training.rows`` (the same prompt module the agent uses at inference), as trl
``prompt``/``completion`` pairs, so the loss falls on the completions only. Demonstrations are
split into train and held-out **by demo**, so no episode has steps on both sides; the held-out
loss is reported, and ``next_command_accuracy`` measures how often greedy decoding reproduces
the demonstrated command.

    config = BCConfig(output_dir="runs/bc", lora=True, num_train_epochs=1)
    result = train_bc(["demos.jsonl"], config)        # writes the checkpoint to output_dir
    policy = omni_model.load_policy("runs/bc")

The checkpoint is a PEFT adapter folder (``--lora``) whose ``base_model_name_or_path`` is the
base *spec* (``smollm2-135m`` by default), or a full model folder; both load through
``omni_model.load_policy``. On a GPU the config turns on bf16 and gradient checkpointing; on the
CPU it trains in fp32.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trl import SFTConfig

from .common import (AdapterOptions, ContinueOptions, TrainingDataError, adapted, device_defaults, resume_point,
                     save_checkpoint, set_adapter_base, split_by_question, trainable_parameters)
from .demos import Demo, DemoFormatError, read_demos
from .rows import demos_to_rows


@dataclass
class BCConfig(SFTConfig, AdapterOptions, ContinueOptions):
    """trl's ``SFTConfig`` plus what webqa's behaviour cloning needs."""

    base_policy: str = field(default="smollm2-135m", metadata={"help": "model spec to start from"})
    max_eval_rows: int | None = None  # held-out rows scored for eval_loss (None: all)
    final_dir: str | None = field(
        default=None, metadata={"help": "where the trained policy goes (default: output_dir, which also "
                                        "holds the checkpoints)"})

    def __post_init__(self) -> None:
        device_defaults(self)
        super().__post_init__()


def split_demos(demos: Sequence[Demo], fraction: float, seed: int = 0) -> tuple[list[Demo], list[Demo]]:
    # The human and model demos of one question stay on one side.
    return split_by_question(demos, fraction, seed)


def load_demo_files(paths: Sequence[str | os.PathLike], *, strict: bool = False
                    ) -> tuple[list[Demo], list[DemoFormatError]]:
    """Every demo in the files; malformed rows are collected (or raised with ``strict``)."""
    demos: list[Demo] = []
    errors: list[DemoFormatError] = []
    for path in paths:
        if not Path(path).is_file():
            raise TrainingDataError(f"demonstration file not found: {path}")
        demos.extend(read_demos(path, strict=strict, errors=errors))
    if not demos:
        raise TrainingDataError("no demonstrations to train on in " + ", ".join(map(str, paths))
                                + (f" ({len(errors)} malformed rows, first: {errors[0]})" if errors else ""))
    return demos, errors


@dataclass
class BCResult:
    output_dir: str
    train_demos: int
    eval_demos: int
    train_rows: int
    eval_rows: int
    skipped_demos: int
    malformed_rows: int
    train_loss: float | None
    eval_loss: float | None
    train_seconds: float
    train_samples_per_second: float | None
    trainable_parameters: int
    base_policy: str

    def to_json(self) -> dict:
        return asdict(self)


def export_checkpoint(checkpoint: Path, folder: Path, base_spec: str) -> int:
    """A trainer checkpoint's LoRA as a shippable adapter folder (fp16, base named by spec), so a
    long run's adapter can be committed while it is still training; returns the checkpoint's step."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        shutil.copyfile(checkpoint / name, folder / name)
    set_adapter_base(folder, base_spec)
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return int(state["global_step"])


def prepare_rows(demos: Sequence[Demo], tokenizer: Any, max_length: int) -> tuple[list[dict], int]:
    """trl rows for ``demos`` whose prompt and completion fit ``max_length`` tokens."""
    skipped: list[tuple[str, str]] = []
    # Room for the completion: a command is short; an answer may be long and gets cut by trl.
    # A state whose quotes and past actions alone pass the cap gets a longer prompt, as at
    # inference (omni_model.prompts.fit_browsing_prompt), leaving the command 32 tokens.
    rows = demos_to_rows(demos, tokenizer=tokenizer, max_tokens=max(64, max_length - 96), skipped=skipped,
                         overflow=max(64, max_length - 32))
    return rows, len(skipped)


def train_bc(demo_paths: Sequence[str | os.PathLike], config: BCConfig) -> BCResult:
    """Train, evaluate on the held-out demos, save to ``config.output_dir``; returns the figures."""
    import time

    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    from omni_model.loading import load_tokenizer
    from omni_model.spec import resolve_model_dir

    demos, errors = load_demo_files(demo_paths, strict=config.strict)
    train_demos, eval_demos = split_demos(demos, config.eval_fraction, config.split_seed)
    base_dir = resolve_model_dir(config.base_policy)
    tokenizer = load_tokenizer(base_dir)
    train_rows, skipped = prepare_rows(train_demos, tokenizer, config.max_length)
    eval_rows, skipped_eval = prepare_rows(eval_demos, tokenizer, config.max_length)
    eval_rows = eval_rows[:config.max_eval_rows]
    if not train_rows:
        raise TrainingDataError(f"none of the {len(train_demos)} training demos gives a row within "
                                f"max_length={config.max_length} tokens")
    if not eval_rows:
        config.eval_strategy = "no"
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype="auto")
    model, peft_config = adapted(model, config, "CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(train_rows),
                         eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
                         processing_class=tokenizer, peft_config=peft_config)
    start = time.perf_counter()
    out = trainer.train(resume_from_checkpoint=resume_point(config))
    seconds = time.perf_counter() - start
    eval_loss = trainer.evaluate()["eval_loss"] if eval_rows else None
    folder = Path(config.final_dir or config.output_dir)
    save_checkpoint(trainer, tokenizer, folder, config.base_policy, config.lora)
    result = BCResult(
        output_dir=str(folder), train_demos=len(train_demos), eval_demos=len(eval_demos),
        train_rows=len(train_rows), eval_rows=len(eval_rows), skipped_demos=skipped + skipped_eval,
        malformed_rows=len(errors), train_loss=out.training_loss, eval_loss=eval_loss, train_seconds=seconds,
        train_samples_per_second=out.metrics.get("train_samples_per_second"),
        trainable_parameters=trainable_parameters(trainer.model), base_policy=config.base_policy)
    (folder / "training_summary.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def next_command_accuracy(policy: Any, demos: Sequence[Demo], *, max_tokens: int | None = None,
                          batch_size: int = 8) -> dict[str, float]:
    """Greedy next-command accuracy on the browsing steps of ``demos``.

    ``exact``: the decoded command equals the demonstrated one; ``kind``: the same command type
    (Search, Click, Quote, ...); ``valid``: the decoded text parses at all.
    """
    from browser_env.text.grammar import ParseError, parse
    from omni_model.prompts import BROWSING_STOP
    from training.rows import step_prompt

    steps = [s for d in demos for s in d.steps]
    if not steps:
        return {"steps": 0, "exact": float("nan"), "kind": float("nan"), "valid": float("nan")}
    tok = getattr(policy, "tokenizer", None)
    exact = kind = valid = 0
    for start in range(0, len(steps), batch_size):
        chunk = steps[start:start + batch_size]
        prompts = [step_prompt(s, tokenizer=tok, max_tokens=max_tokens) for s in chunk]
        outs = policy.generate(prompts, n=1, temperature=0.0, max_new_tokens=64, stop=BROWSING_STOP)
        for step, out in zip(chunk, outs, strict=True):
            text = out[0].text.strip()
            want = parse(step.command)
            try:
                got = parse(text)
            except ParseError:
                continue
            valid += 1
            kind += got.name == want.name
            exact += got.text == want.text
    n = len(steps)
    return {"steps": n, "exact": exact / n, "kind": kind / n, "valid": valid / n}
