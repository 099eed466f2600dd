"""What the trainers share: data errors, device defaults, the LoRA options, the split by question,
checkpoints and resuming.

``training.bc`` (behaviour cloning), ``training.rm`` (the reward model) and ``training.omni_train``
(the omni checkpoint) each subclass a trl config with ``AdapterOptions`` and call
``device_defaults`` before trl's ``__post_init__``; they build their LoRA with ``lora_config``,
save with ``save_checkpoint`` (or ``set_adapter_base``) and resume with ``resume_point``.
Nothing heavy is imported at the top: torch, peft and transformers load inside the functions.

    @dataclass
    class MyConfig(SFTConfig, AdapterOptions):
        def __post_init__(self):
            device_defaults(self)
            super().__post_init__()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    """What webqa adds to trl's configs, for every trainer: the LoRA, the held-out split, strictness."""

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
class ContinueOptions:
    """For trainers that can go on from a committed LoRA adapter (BC and the reward model; the omni
    trainer starts from its ``base_policy`` adapter instead)."""

    init_adapter: str | None = field(
        default=None, metadata={"help": "a LoRA adapter folder to go on training (e.g. the committed one, so a "
                                        "run continues across sessions); None: a fresh LoRA"})


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


def lora_config(config: Any, task_type: str, model: Any) -> Any:
    """The PEFT ``LoraConfig`` an ``AdapterOptions`` describes, for ``task_type`` (``CAUSAL_LM``, ``SEQ_CLS``)."""
    from peft import LoraConfig

    layers = None
    if config.lora_layers is not None:
        n = int(model.config.get_text_config().num_hidden_layers)
        layers = list(range(max(0, n - config.lora_layers), n))
    return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_target_modules), task_type=task_type,
                      layers_to_transform=layers)


def adapted(model: Any, config: Any, task_type: str) -> tuple[Any, Any]:
    """(model, peft_config) for a trainer: a fresh LoRA as ``config`` describes, or the model already
    wrapped in ``config.init_adapter`` with its weights (a reward head too) trainable, in which case
    the trainer gets no peft_config."""
    if not config.init_adapter:
        return model, lora_config(config, task_type, model) if config.lora else None
    from peft import PeftModel

    # The adapter is stored in fp16; its weights train in the base model's dtype.
    return PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True).to(model.dtype), None


def resumable_checkpoints(every: int) -> dict[str, Any]:
    """Trainer settings that checkpoint every ``every`` steps (the last two kept) and resume from the
    newest checkpoint when the same run is started again (see ``resume_point``)."""
    return dict(save_strategy="steps", save_steps=every, save_total_limit=2, resume_from_checkpoint="auto")


def trainable_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resume_point(config: Any) -> str | None:
    """The checkpoint to resume from: ``resume_from_checkpoint`` as given, or with ``"auto"`` the
    newest ``checkpoint-N`` in ``output_dir`` (None when there is none: a fresh start)."""
    if config.resume_from_checkpoint != "auto":
        return config.resume_from_checkpoint
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(config.output_dir) if Path(config.output_dir).is_dir() else None
