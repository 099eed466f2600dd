"""Hugging Face image-text-to-text checkpoints behind the same ``Policy`` protocol as the omni model.

A local folder whose ``config.json`` has a ``vision_config`` (LLaVA, Idefics, SmolVLM, Qwen2-VL,
Qwen2.5-VL, ...) loads with ``AutoModelForImageTextToText`` and ``AutoProcessor``. Text-only
prompts take the plain ``TransformersPolicy`` path; a prompt's ``<image>`` markers become the
checkpoint's own image placeholder, and its processor expands them and prepares the pixels, so
each family's preprocessing is its own. These checkpoints see but do not hear: speech raises
``MediaError``. (Qwen2-VL's processor needs ``torchvision`` in this transformers version.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omni_model.errors import ModelLoadError, PromptTooLongError
from omni_model.media import Audio, MediaError
from omni_model.omni import IMAGE_MARK
from omni_model.policy import Completion, TransformersPolicy, _TextStreamer, per_prompt


def is_multimodal_dir(folder: Path) -> bool:
    try:
        config = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    processor_files = ("preprocessor_config.json", "processor_config.json")
    return "vision_config" in config and any((Path(folder) / f).is_file() for f in processor_files)


@dataclass
class _MediaConfig:
    image_tokens: int  # positions one picture takes, for prompt budgets
    image_size: int = 0


def _pil(item: Any) -> Any:
    import io

    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    if isinstance(item, PILImage.Image):
        return item.convert("RGB")
    if isinstance(item, Audio):
        raise MediaError("this checkpoint reads pictures, not speech")
    try:
        return PILImage.open(io.BytesIO(item) if isinstance(item, bytes) else item).convert("RGB")
    except FileNotFoundError as e:
        raise MediaError(f"{item}: no such image file") from e
    except (UnidentifiedImageError, OSError) as e:
        raise MediaError(f"{item if not isinstance(item, bytes) else '<image>'}: not an image PIL can read ({e})") from e


class HFMultimodalPolicy(TransformersPolicy):
    """An image-text-to-text model and its processor; ``accepts_media`` for pictures."""

    accepts_media = True

    def __init__(self, model: Any, processor: Any, *, spec: str = "<in-memory>") -> None:
        super().__init__(model, processor.tokenizer, spec=spec)
        self.processor = processor
        self.placeholder = getattr(processor, "image_token", None) or IMAGE_MARK
        self.config = _MediaConfig(image_tokens=self._count_image_tokens())

    @classmethod
    def from_dir(cls, folder: str | Path, *, device: str | None = None, dtype: str | None = None) -> HFMultimodalPolicy:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from omni_model.device import configure_threads, pick_attn_implementation, pick_device, pick_dtype

        configure_threads()
        dev = pick_device(device)
        try:
            model = AutoModelForImageTextToText.from_pretrained(str(folder), dtype=pick_dtype(dev, dtype),
                                                                attn_implementation=pick_attn_implementation(dev))
            processor = AutoProcessor.from_pretrained(str(folder))
        except Exception as e:  # a missing processor file, an unknown architecture, a missing extra package
            raise ModelLoadError(f"could not load the image-text-to-text checkpoint {folder}: "
                                 f"{type(e).__name__}: {e}") from e
        return cls(model.to(dev), processor, spec=str(folder))

    def _count_image_tokens(self) -> int:
        from PIL import Image as PILImage

        probe = self._inputs(f"x{IMAGE_MARK}", [PILImage.new("RGB", (224, 224))])
        plain = self._inputs("x", [])
        return max(1, probe["input_ids"].shape[1] - plain["input_ids"].shape[1])

    def _inputs(self, prompt: str, images: list[Any]) -> dict:
        text = prompt.replace(IMAGE_MARK, self.placeholder)
        return self.processor(text=[text], images=images or None, return_tensors="pt")

    def prepare_image(self, item: Any) -> Any:
        return _pil(item)

    def transcribe(self, audio: Any, **_: Any) -> str:
        raise MediaError(f"{self.spec} reads pictures but not speech")

    def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
                 max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
                 logits_processor: Any = None, on_text: Any = None,
                 media: list[list[Any] | None] | None = None) -> list[list[Completion]]:
        if media is None or not any(media):
            return super().generate(prompts, n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                    stop=stop, seed=seed, logits_processor=logits_processor, on_text=on_text)
        import torch

        if len(media) != len(prompts):
            raise ValueError(f"{len(media)} media lists for {len(prompts)} prompts")
        reps = 1 if temperature == 0 else n
        rows, pixel_parts = [], []
        for prompt, items in zip(prompts, media):
            images = [_pil(x) for x in items or []]
            if prompt.count(IMAGE_MARK) != len(images):
                raise ValueError(f"the prompt has {prompt.count(IMAGE_MARK)} image markers for {len(images)} pictures")
            inputs = self._inputs(prompt, images)
            ids = inputs["input_ids"][0].tolist()
            if len(ids) + max_new_tokens > self.context_length:
                raise PromptTooLongError(len(ids), max_new_tokens, self.context_length)
            extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
            for _ in range(reps):
                rows.append(ids)
                if images:
                    pixel_parts.append(extra)
        # Pixels of every row, in row order: each family's model takes them concatenated on dim 0.
        extra_inputs = {k: torch.cat([p[k] for p in pixel_parts]).to(self.device) for k in pixel_parts[0]} \
            if pixel_parts else {}
        streamer = _TextStreamer(self.tokenizer, reps, on_text) if on_text is not None else None
        outs = self._generate_rows(rows, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                   stop=[s for s in (stop or []) if s], seed=seed, logits_processor=logits_processor,
                                   streamer=streamer, extra_inputs=extra_inputs)
        return per_prompt(outs, len(prompts), reps, n)
