"""Hugging Face image-text-to-text checkpoints behind the same ``Policy`` protocol as the omni model.

A local folder whose ``config.json`` has a ``vision_config`` (LLaVA, Qwen2-VL, Qwen2.5-VL, Idefics,
SmolVLM, ...) loads with ``AutoModelForImageTextToText`` and its processor. Text-only prompts take the
plain ``TransformersPolicy`` path. A prompt's ``<image>`` markers become the checkpoint's own
placeholder: the processor's ``image_token``, between the start and end tokens the model config names
when it names them (Qwen: ``<|vision_start|><|image_pad|><|vision_end|>``). The processor then expands
the placeholders and prepares the pixels, so each family does its own preprocessing. These checkpoints
see but do not hear: speech in a prompt raises ``MediaError``, and a spoken question is written down
by the agent's Whisper instead. ``omni_model.hf_omni`` adds hearing for Qwen2.5-Omni.

The video half of a processor (Qwen2-VL, Qwen2.5-VL, Qwen2.5-Omni) needs torchvision. Without it the
processor loads without that half, because prompts never carry video, and the image processor falls
back to its PIL version. Checked without torchvision on tiny random-init LLaVA, Qwen2-VL, Qwen2.5-VL
and Qwen2.5-Omni checkpoints built locally: text, pictures, and mixed batches whose rows match the
same prompts run alone (tests/omni_model/test_hf_multimodal.py and test_omni.py).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omni_model.errors import ModelLoadError, PromptTooLongError
from omni_model.media import Audio, MediaError
from omni_model.omni import IMAGE_MARK
from omni_model.policy import Completion, TransformersPolicy, _TextStreamer, per_prompt
from omni_model.types import Hearing

PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
# Processors that size pictures dynamically (Qwen) give a bigger picture more positions, so the
# per-picture budget is measured on the agent's screenshots: its browser's 1280x800 viewport.
PROBE_SIZE = (1280, 800)


def has_processor_and(folder: Path, config_key: str) -> bool:
    """Whether ``folder`` holds a processor file and a ``config.json`` with ``config_key``."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return config_key in config and any((Path(folder) / f).is_file() for f in PROCESSOR_FILES)


def is_multimodal_dir(folder: Path) -> bool:
    return has_processor_and(folder, "vision_config")


def load_processor(folder: str | Path) -> Any:
    """The folder's processor. If it cannot load as it is, it is loaded again without its video processor."""
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(str(folder))
    except Exception as first:  # torchvision missing shows up as ImportError, ValueError or OSError
        base = _processor_class(folder)
        if base is None or "video_processor" not in base.get_attributes():
            raise
        try:
            return _without_video(base).from_pretrained(str(folder))
        except Exception as second:
            raise second from first


def _processor_class(folder: str | Path) -> Any:
    """The processor class AutoProcessor picks for ``folder``: the one a config file names, else the model type's."""
    from transformers import AutoConfig
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING, processor_class_from_name

    for name in (*PROCESSOR_FILES[::-1], "tokenizer_config.json"):
        try:
            named = json.loads((Path(folder) / name).read_text()).get("processor_class")
        except (OSError, ValueError, AttributeError):
            continue
        if named:
            return processor_class_from_name(named)
    try:
        return PROCESSOR_MAPPING.get(type(AutoConfig.from_pretrained(str(folder))), None)
    except Exception:
        return None


@functools.lru_cache(maxsize=None)
def _without_video(base: type) -> type:
    """``base`` with no ``video_processor``, so it loads and runs without torchvision.

    The family's own ``__init__`` still runs (it sets ``image_token`` and the like) and passes its
    sub-processors on by position. The shim placed between it and ``ProcessorMixin`` in the MRO
    drops the missing video processor before ``ProcessorMixin`` checks the sub-processors' types."""
    from transformers.processing_utils import ProcessorMixin

    full = list(base.get_attributes())
    kept = [a for a in full if a != "video_processor"]

    class _DropVideo(ProcessorMixin):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            named = dict(zip(full, args), **kwargs)
            named.pop("video_processor", None)
            ProcessorMixin.__init__(self, **named)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, **dict(zip(kept, args)), **kwargs)

    # The class keeps base's name, so that a processor saved from it names a class AutoProcessor knows.
    return type(base.__name__, (base, _DropVideo),
                {"__init__": __init__, "get_attributes": classmethod(lambda cls: list(kept)),
                 "__module__": base.__module__})


def media_placeholder(processor: Any, config: Any, kind: str) -> str | None:
    """The text a picture (``kind="image"``) or a clip (``"audio"``) stands for before the processor expands it.

    The processor names the token it expands (``image_token``, ``audio_token``). Qwen-style models
    also expect that token between start and end tokens. Their chat templates write those tokens, but
    the processor does not add them. The model config gives their ids (``vision_start_token_id``,
    ``audio_start_token_id``, ...), which is what the model's M-RoPE looks for. Failing that, an omni
    processor names them (``vision_bos_token``, ``audio_eos_token``, ...)."""
    token = getattr(processor, f"{kind}_token", None)
    if not isinstance(token, str) or not token:
        return None
    prefixes = ("vision", "image") if kind == "image" else (kind,)
    for prefix in prefixes:
        start, end = (getattr(config, f"{prefix}_{edge}_token_id", None) for edge in ("start", "end"))
        if isinstance(start, int) and isinstance(end, int):
            tokens = processor.tokenizer.convert_ids_to_tokens([start, end])
            if all(isinstance(t, str) and t and t != token for t in tokens):
                return tokens[0] + token + tokens[1]
    for prefix in prefixes:
        bos, eos = (getattr(processor, f"{prefix}_{edge}_token", None) for edge in ("bos", "eos"))
        if isinstance(bos, str) and isinstance(eos, str) and bos and eos:
            return bos + token + eos
    return token


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
    hearings: tuple[Hearing, ...] = ()  # the agent's Whisper writes speech down for it (HFOmniPolicy hears)
    marks: tuple[str, ...] = (IMAGE_MARK,)  # the markers this policy fills with media; others are plain text
    describes = "image-text-to-text"

    def __init__(self, model: Any, processor: Any, *, spec: str = "<in-memory>") -> None:
        super().__init__(model, processor.tokenizer, spec=spec)
        self.processor = processor
        self.placeholders = {IMAGE_MARK: media_placeholder(processor, model.config, "image") or IMAGE_MARK}
        self.config = _MediaConfig(image_tokens=self._count_image_tokens())

    @classmethod
    def _model_class(cls, folder: Path) -> Any:
        from transformers import AutoModelForImageTextToText

        return AutoModelForImageTextToText

    @classmethod
    def from_dir(cls, folder: str | Path, *, device: str | None = None, dtype: str | None = None) -> HFMultimodalPolicy:
        from omni_model.device import configure_threads, pick_attn_implementation, pick_device, pick_dtype

        configure_threads()
        dev = pick_device(device)
        try:
            model = cls._model_class(Path(folder)).from_pretrained(
                str(folder), dtype=pick_dtype(dev, dtype), attn_implementation=pick_attn_implementation(dev))
            processor = load_processor(folder)
        except Exception as e:  # a missing processor file, an unknown architecture, a missing extra package
            raise ModelLoadError(f"could not load the {cls.describes} checkpoint {folder}: "
                                 f"{type(e).__name__}: {e}") from e
        return cls(model.to(dev), processor, spec=str(folder))

    def _count_image_tokens(self) -> int:
        from PIL import Image as PILImage

        probe = self._inputs(f"x{IMAGE_MARK}", [PILImage.new("RGB", PROBE_SIZE)])
        plain = self._inputs("x", [])
        return max(1, probe["input_ids"].shape[1] - plain["input_ids"].shape[1])

    def _prepare(self, mark: str, item: Any) -> Any:
        """One media item as the processor takes it (``mark`` is the marker it fills)."""
        return _pil(item)

    def _inputs(self, prompt: str, items: list[Any]) -> Any:
        found = re.findall("|".join(map(re.escape, self.marks)), prompt)
        if len(found) != len(items):
            what = " or ".join(self.marks)
            raise ValueError(f"the prompt has {len(found)} {what} markers for {len(items)} media items")
        prepared = [(mark, self._prepare(mark, item)) for mark, item in zip(found, items)]
        images = [x for mark, x in prepared if mark == IMAGE_MARK]
        audio = [x for mark, x in prepared if mark != IMAGE_MARK]
        text = re.sub("|".join(map(re.escape, self.marks)), lambda m: self.placeholders[m.group(0)], prompt)
        kwargs: dict[str, Any] = {"images": images} if images else {}
        if audio:
            kwargs["audio"] = audio
        return self.processor(text=[text], return_tensors="pt", **kwargs)

    @property
    def image_tokens(self) -> int:
        return self.config.image_tokens

    def prepare_image(self, item: Any) -> Any:
        return _pil(item)

    def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
                 max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
                 logits_processor: Any = None, on_text: Any = None,
                 media: list[list[Any] | None] | None = None) -> list[list[Completion]]:
        """As ``TransformersPolicy.generate``; ``media[i]`` lists prompt i's items in marker order."""
        if media is None or not any(media):
            return super().generate(prompts, n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                    stop=stop, seed=seed, logits_processor=logits_processor, on_text=on_text)
        if len(media) != len(prompts):
            raise ValueError(f"{len(media)} media lists for {len(prompts)} prompts")
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"n and max_new_tokens must be >= 1 (got n={n}, max_new_tokens={max_new_tokens})")
        reps = 1 if temperature == 0 else n
        rows, parts = [], []
        for prompt, items in zip(prompts, media):
            inputs = self._inputs(prompt, list(items or []))
            ids = inputs["input_ids"][0].tolist()
            if len(ids) + max_new_tokens > self.context_length:
                raise PromptTooLongError(len(ids), max_new_tokens, self.context_length)
            rows.extend([ids] * reps)
            parts.extend([inputs] * reps)
        streamer = _TextStreamer(self.tokenizer, reps, on_text) if on_text is not None else None
        outs = self._generate_rows(rows, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                   stop=[s for s in (stop or []) if s], seed=seed, logits_processor=logits_processor,
                                   streamer=streamer, extra_inputs=self._batch_inputs(rows, parts))
        return per_prompt(outs, len(prompts), reps, n)

    def _batch_inputs(self, rows: list[list[int]], parts: list[Any]) -> dict:
        """The processor's other outputs for the whole batch, in row order.

        ``_generate_rows`` left-pads the ids, so outputs with one value per token (Qwen2-VL's
        ``mm_token_type_ids``, which its M-RoPE reads) are left-padded the same way, with zeros
        (text). Everything else (pixels, image grids, audio features and their masks) is
        concatenated on dim 0, which is how these models take the media of several rows."""
        import torch

        width = max(len(r) for r in rows)
        keys = dict.fromkeys(k for p in parts for k in p if k not in ("input_ids", "attention_mask"))
        out = {}
        for key in keys:
            have = [p for p in parts if key in p and torch.is_tensor(p[key])]
            if not have:
                continue
            if all(p[key].dim() == 2 and p[key].shape == p["input_ids"].shape for p in have):
                value = torch.zeros((len(rows), width), dtype=have[0][key].dtype)
                for i, p in enumerate(parts):
                    if key in p:
                        value[i, width - p[key].shape[1]:] = p[key][0]
            else:
                value = torch.cat([p[key] for p in have])
            if value.is_floating_point():
                value = value.to(self.model.dtype)
            out[key] = value.to(self.device)
        return out
