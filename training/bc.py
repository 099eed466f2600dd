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

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trl import SFTConfig

from .demos import Demo, DemoFormatError, read_demos
from .rows import demos_to_rows


class TrainingDataError(ValueError):
    """The training data cannot be used (empty, only ties, unreadable): raised before any model loads."""


def _on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def device_defaults(config: Any) -> None:
    """Call before the parent ``__post_init__``: on the CPU, fp32 without gradient checkpointing
    (trl's defaults, bf16 and checkpointing, are right for CUDA and are kept there)."""
    if not _on_gpu():
        config.bf16 = False
        config.use_cpu = True
        config.gradient_checkpointing = False
    if config.report_to in (None, "all", ["all"]):
        config.report_to = "none"


@dataclass
class AdapterOptions:
    """What webqa adds to trl's configs, for both trainers: the LoRA, the held-out split, strictness."""

    lora: bool = field(default=True, metadata={"help": "train a LoRA adapter instead of every weight"})
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    lora_layers: int | None = field(default=None, metadata={
        "help": "adapt only the top N decoder layers (None: all); backward then stops at them, "
                "which is what makes CPU training affordable"})
    eval_fraction: float = field(default=0.1, metadata={"help": "share held out, by question"})
    split_seed: int = 0
    strict: bool = field(default=False, metadata={"help": "stop at the first malformed row"})


@dataclass
class BCConfig(SFTConfig, AdapterOptions):
    """trl's ``SFTConfig`` plus what webqa's behaviour cloning needs."""

    base_policy: str = field(default="smollm2-135m", metadata={"help": "model spec to start from"})
    max_eval_rows: int | None = None  # held-out rows scored for eval_loss (None: all)
    final_dir: str | None = field(
        default=None, metadata={"help": "where the trained policy goes (default: output_dir, which also "
                                        "holds the checkpoints)"})
    init_adapter: str | None = field(
        default=None, metadata={"help": "a LoRA adapter folder to go on training (e.g. the committed one, so a "
                                        "run continues across sessions); None: a fresh LoRA"})

    def __post_init__(self) -> None:
        device_defaults(self)
        super().__post_init__()


def held_out(key: str, fraction: float, seed: int = 0) -> bool:
    """A stable split: the same key is held out on every machine and every run."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_by_question(items: Sequence[Any], fraction: float, seed: int = 0) -> tuple[list, list]:
    """(train, held out) by each item's ``question``, so one question's items stay on one side."""
    train = [x for x in items if not held_out(x.question, fraction, seed)]
    test = [x for x in items if held_out(x.question, fraction, seed)]
    if not train and test:  # a tiny set can land wholly on one side; training needs something
        train, test = test[1:], test[:1]
    return train, test


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


def set_adapter_base(folder: Path, base_spec: str) -> None:
    """Point a saved adapter at the base *spec*, not at this machine's cache path, and store its
    weights in fp16: half the size on disk (PEFT casts them back to the model's dtype on load)."""
    config_path = folder / "adapter_config.json"
    if config_path.is_file():
        cfg = json.loads(config_path.read_text())
        cfg["base_model_name_or_path"] = base_spec
        config_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    weights = folder / "adapter_model.safetensors"
    if weights.is_file():
        from safetensors.torch import load_file, save_file

        state = load_file(str(weights))
        save_file({k: v.half().contiguous() if v.is_floating_point() else v for k, v in state.items()},
                  str(weights), metadata={"format": "pt"})


# What trainer.save_model writes beside an adapter: its arguments (a pickle), the tokenizer and
# a boilerplate model card naming this machine's paths.
_TRAINER_EXTRAS = ("training_args.bin", "README.md", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                   "special_tokens_map.json", "vocab.json", "merges.txt")


def save_checkpoint(trainer: Any, tokenizer: Any, folder: Path, base_spec: str, lora: bool) -> None:
    """A LoRA checkpoint keeps only the adapter (its tokenizer is the base's, found by the loader);
    a full one keeps its tokenizer too. Either way it loads by folder."""
    trainer.save_model(str(folder))
    if lora:
        for name in _TRAINER_EXTRAS:
            (folder / name).unlink(missing_ok=True)
        set_adapter_base(folder, base_spec)
    else:
        tokenizer.save_pretrained(str(folder))
        (folder / "training_args.bin").unlink(missing_ok=True)


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


def _lora(config: Any, task_type: str, model: Any) -> Any:
    from peft import LoraConfig

    layers = None
    if config.lora_layers is not None:
        n = int(model.config.get_text_config().num_hidden_layers)
        layers = list(range(max(0, n - config.lora_layers), n))
    return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_target_modules), task_type=task_type,
                      layers_to_transform=layers)


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def prepare_rows(demos: Sequence[Demo], tokenizer: Any, max_length: int) -> tuple[list[dict], int]:
    """trl rows for ``demos`` whose prompt and completion fit ``max_length`` tokens."""
    skipped: list[tuple[str, str]] = []
    # Room for the completion: a command is short; an answer may be long and gets cut by trl.
    rows = demos_to_rows(demos, tokenizer=tokenizer, max_tokens=max(64, max_length - 96), skipped=skipped)
    return rows, len(skipped)


def resume_point(config: Any) -> str | None:
    """The checkpoint to resume from: ``resume_from_checkpoint`` as given, or with ``"auto"`` the
    newest ``checkpoint-N`` in ``output_dir`` (None when there is none: a fresh start)."""
    if config.resume_from_checkpoint != "auto":
        return config.resume_from_checkpoint
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(config.output_dir) if Path(config.output_dir).is_dir() else None


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
    peft_config = _lora(config, "CAUSAL_LM", model) if config.lora else None
    if config.init_adapter:
        from peft import PeftModel

        # The adapter is stored in fp16; its weights train in the base model's dtype.
        model = PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True).to(model.dtype)
        peft_config = None
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
        trainable_parameters=_trainable(trainer.model), base_policy=config.base_policy)
    (folder / "training_summary.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def next_command_accuracy(policy: Any, demos: Sequence[Demo], *, max_tokens: int | None = None,
                          batch_size: int = 8) -> dict[str, float]:
    """Greedy next-command accuracy on the browsing steps of ``demos``.

    ``exact``: the decoded command equals the demonstrated one; ``kind``: the same command type
    (Search, Click, Quote, ...); ``valid``: the decoded text parses at all.
    """
    from browser_env.grammar import ParseError, parse
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
