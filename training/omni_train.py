"""Training the omni model end to end: behaviour cloning with screenshots, plus spoken questions.

Rows are trl ``prompt``/``completion`` pairs that may carry ``images`` and ``audios``:

- one per browsing step, its prompt from ``omni_model.prompts.build_browsing_prompt`` with the
  step's screenshot shown (``media_header(screenshot=True)``) when the demo recorded one
  (``webqa demos synth --screenshots``, or the recorder) and ``screenshots`` is on;
- the demo's answer row, as in text-only BC;
- one per spoken question (``training.speech``): the transcription prompt and the question's
  text, so the network learns to write down what it hears.

``OmniCollator`` batches any mix of them; ``transformers.Trainer`` trains the LM's LoRA, the
image encoder, both projectors and (with ``train_audio_encoder``) Whisper's encoder, with the loss
on completions only. The LM starts from ``base_policy``: a PEFT adapter folder (the shipped BC
policy by default) keeps training that same adapter, so the checkpoint's ``lm/`` still names the
base model by spec and loads anywhere. The result is an omni checkpoint folder for
``load_policy``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from trl import SFTConfig

from .bc import load_demo_files, split_demos
from .common import AdapterOptions, TrainingDataError, device_defaults, lora_config, set_adapter_base
from omni_model.errors import PromptTooLongError

from .demos import Demo


@dataclass
class OmniTrainConfig(SFTConfig, AdapterOptions):
    """trl's ``SFTConfig`` plus the omni model's data and encoder choices."""

    base_policy: str = field(default="shipped", metadata={
        "help": "LM to start from: 'shipped' (the shipped BC adapter), a PEFT adapter folder or any model spec"})
    screenshots: bool = field(default=True, metadata={"help": "show recorded screenshots in browsing rows"})
    train_audio_encoder: bool = field(default=False, metadata={
        "help": "also train Whisper's encoder (else it stays as pretrained and is not saved)"})
    image_encoder: str = field(default="scratch", metadata={"help": "'scratch' or a local HF vision-model folder"})
    max_speech_rows: int | None = None
    speech_repeats: int = field(default=1, metadata={
        "help": "passes over the spoken questions per pass over the demos (they are short and cheap)"})
    max_demo_rows: int | None = None
    max_eval_rows: int | None = 64
    int8_encoders: bool = field(default=False, metadata={
        "help": "store the encoders' weight matrices in int8 (how the shipped checkpoint is stored)"})
    encoder_config: dict = field(default_factory=dict, metadata={
        "help": "other OmniConfig fields (image_dim, image_layers, audio_encoder, ...), for small test models"})

    def __post_init__(self) -> None:
        device_defaults(self)
        super().__post_init__()
        self.remove_unused_columns = False  # the collator needs the media columns


def _resolve(path: str, demo_file: Path) -> str:
    p = Path(path)
    return str(p if p.is_absolute() else (demo_file.parent / p).resolve())


def demo_rows(demos: Sequence[tuple[Demo, Path]], tokenizer: Any, max_tokens: int, image_tokens: int,
              screenshots: bool = True, skipped: list[tuple[str, str]] | None = None) -> list[dict]:
    """Browsing-step rows (with the step's screenshot where recorded) and answer rows; a demo with a
    prompt that cannot fit ``max_tokens`` is left out and recorded in ``skipped``."""
    rows: list[dict] = []
    for demo, source in demos:
        try:
            rows.extend(_one_demo(demo, source, tokenizer, max_tokens, image_tokens, screenshots))
        except PromptTooLongError as e:  # left out whole, as text-only BC does, so no episode is half-trained
            if skipped is not None:
                skipped.append((demo.id, str(e)))
    return rows


def _one_demo(demo: Demo, source: Path, tokenizer: Any, max_tokens: int, image_tokens: int,
              screenshots: bool) -> list[dict]:
    from omni_model import prompts
    from training.rows import demo_to_rows

    rows: list[dict] = []
    for step in demo.steps:
        shot = step.screenshot if screenshots and step.observation_parts is not None else None
        if shot is not None:
            shot = _resolve(shot, source)
            if not Path(shot).is_file():
                shot = None  # a screenshot file that went missing: train on the text alone
        header = prompts.media_header(screenshot=shot is not None)
        budget = max_tokens - (image_tokens if shot else 0)
        if step.observation_parts is not None:
            prompt = prompts.build_browsing_prompt(step.observation_parts, tokenizer=tokenizer,
                                                   max_tokens=budget, header=header).text
        else:
            prompt = prompts.browsing_prompt_from_text(step.observation, tokenizer=tokenizer, max_tokens=max_tokens)
        row: dict[str, Any] = {"prompt": prompt, "completion": prompts.browsing_completion(step.command)}
        if shot is not None:
            row["images"] = [shot]
        rows.append(row)
    if demo.answer.strip() and demo.quotes:
        rows.append(demo_to_rows(replace(demo, steps=[]), tokenizer=tokenizer, max_tokens=max_tokens)[-1])
    return rows


def speech_rows(items: Sequence[dict], tokenizer: Any) -> list[dict]:
    """Transcription rows: hear ``audio``, write ``question``."""
    from omni_model.omni_policy import transcription_prompt

    prompt = transcription_prompt(tokenizer)
    end = tokenizer.eos_token or "\n"
    return [{"prompt": prompt, "completion": f"{it['question']}\n{end}", "audios": [it["audio"]]} for it in items]


@dataclass
class OmniTrainResult:
    output_dir: str
    train_rows: int
    eval_rows: int
    rows_with_screenshot: int
    speech_rows: int
    train_loss: float | None
    eval_loss: float | None
    train_seconds: float
    train_samples_per_second: float | None
    trainable_parameters: dict[str, int]
    base_policy: str
    heldout_demos: str | None = None
    skipped_demos: int = 0


def _load_trainable_lm(spec: str, config: OmniTrainConfig) -> tuple[Any, Any, str]:
    """The LM with a trainable LoRA (continuing an adapter's), its tokenizer and the base spec."""
    from peft import PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from omni_model.loading import load_tokenizer
    from omni_model.spec import parse_spec, resolve_model_dir

    info = parse_spec(spec)
    if info.kind == "peft_dir":
        base_spec = json.loads((info.path / "adapter_config.json").read_text())["base_model_name_or_path"]
        base_dir = resolve_model_dir(base_spec)
        base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype="auto")
        lm = PeftModel.from_pretrained(base, str(info.path), is_trainable=True)
        for adapter in lm.peft_config.values():
            # The local folder while training: PEFT would otherwise look the spec up on the Hub when
            # saving. set_adapter_base writes the spec back into the saved adapter.
            adapter.base_model_name_or_path = str(base_dir)
        return lm, load_tokenizer(info.path, base_dir), base_spec
    base_dir = resolve_model_dir(spec)
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype="auto")
    if not config.lora:
        return base, load_tokenizer(base_dir), spec
    return get_peft_model(base, lora_config(config, "CAUSAL_LM", base)), load_tokenizer(base_dir), spec


def train_omni(demo_paths: Sequence[str], speech_manifests: Sequence[str], config: OmniTrainConfig) -> OmniTrainResult:
    """Train, evaluate on held-out rows, save the omni checkpoint to ``config.output_dir``."""
    import torch
    from transformers import Trainer

    from data.eli5.loaders import DataError
    from omni_model.omni import OmniCollator, OmniConfig, OmniModel
    from omni_model.shipped import default_policy_spec
    from training.demos import write_demos
    from training.speech import read_manifest

    base_spec = default_policy_spec() if config.base_policy == "shipped" else config.base_policy
    demos: list[tuple[Demo, Path]] = []
    heldout: list[Demo] = []
    for path in demo_paths:
        loaded, _ = load_demo_files([path], strict=config.strict)
        train, test = split_demos(loaded, config.eval_fraction, config.split_seed)
        demos += [(d, Path(path)) for d in train]
        # Held-out demos are written beside the checkpoint, so their screenshots get absolute paths.
        heldout += [replace(d, steps=[replace(s, screenshot=_resolve(s.screenshot, Path(path)) if s.screenshot else None)
                                      for s in d.steps]) for d in test]
    errors: list[DataError] = []
    spoken = [row for m in speech_manifests for row in read_manifest(m, errors=errors)]
    if config.strict and errors:
        raise TrainingDataError(str(errors[0]))
    if not demos and not spoken:
        raise TrainingDataError("nothing to train on: no demonstrations and no spoken questions")

    lm, tokenizer, lm_base = _load_trainable_lm(base_spec, config)
    omni_config = OmniConfig(lm_spec=lm_base, image_encoder=config.image_encoder,
                             train_audio_encoder=config.train_audio_encoder, **config.encoder_config)
    model = OmniModel(lm, omni_config)
    skipped: list[tuple[str, str]] = []
    rows = demo_rows(demos, tokenizer, config.max_length - 96, omni_config.image_tokens, config.screenshots, skipped)
    generator = torch.Generator().manual_seed(config.seed)
    if config.max_demo_rows is not None and len(rows) > config.max_demo_rows:  # a fixed-seed sample
        keep = sorted(torch.randperm(len(rows), generator=generator)[:config.max_demo_rows].tolist())
        rows = [rows[i] for i in keep]
    speech_split = int(len(spoken) * (1 - config.eval_fraction)) if len(spoken) > 1 else len(spoken)
    speech_train = speech_rows(spoken[:speech_split], tokenizer)[:config.max_speech_rows]
    speech_eval = speech_rows(spoken[speech_split:], tokenizer)
    eval_rows = (demo_rows([(d, Path("/")) for d in heldout], tokenizer, config.max_length - 96,
                           omni_config.image_tokens, config.screenshots) + speech_eval)[:config.max_eval_rows]
    train_rows = rows + speech_train * max(1, config.speech_repeats)
    train_rows = [train_rows[i] for i in torch.randperm(len(train_rows), generator=generator).tolist()]
    if not eval_rows:
        config.eval_strategy = "no"
    trainer = Trainer(model=model, args=config, train_dataset=train_rows, eval_dataset=eval_rows or None,
                      data_collator=OmniCollator(tokenizer, omni_config, max_length=config.max_length))
    start = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - start
    eval_loss = trainer.evaluate()["eval_loss"] if eval_rows else None
    folder = Path(config.output_dir)
    model.save_pretrained(folder, save_lm=True, int8=config.int8_encoders)
    set_adapter_base(folder / "lm", lm_base)
    (folder / "lm" / "README.md").unlink(missing_ok=True)
    heldout_path = None
    if heldout:
        heldout_path = str(folder / "heldout_demos.jsonl")
        write_demos(heldout_path, heldout)
    groups = {"lm": model.lm, **{k: v for k, v in model.encoders.items()}}
    result = OmniTrainResult(
        output_dir=str(folder), train_rows=len(train_rows), eval_rows=len(eval_rows),
        rows_with_screenshot=sum(1 for r in train_rows if r.get("images")), speech_rows=len(speech_train),
        train_loss=out.training_loss, eval_loss=eval_loss, train_seconds=seconds,
        train_samples_per_second=out.metrics.get("train_samples_per_second"),
        trainable_parameters={k: sum(p.numel() for p in m.parameters() if p.requires_grad) for k, m in groups.items()},
        base_policy=base_spec, heldout_demos=heldout_path, skipped_demos=len(skipped))
    (folder / "training_summary.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result
