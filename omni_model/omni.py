"""The omni model: one language model that reads text, pictures and speech, and its batch collator.

A prompt marks where media go with ``<image>`` and ``<audio>``. ``tokenize_with_media`` turns
each marker into as many placeholder positions as its encoder yields tokens (fixed for images,
proportional to duration for audio); ``OmniModel.embed`` runs the encoders, projects their
features into the LM's embedding space and writes them over those positions. The LM then sees
one sequence of embeddings, so the whole network trains end to end with the usual causal-LM
loss, and generates with ``inputs_embeds`` for the prefill and the KV cache afterwards.

``OmniCollator`` makes training batches of ``prompt``/``completion`` rows that may carry
``images`` and ``audios`` (any mix: text-only rows, rows with a screenshot, rows with speech),
with the loss on completion tokens only.

Checkpoint layout (``save_pretrained``): ``omni_config.json`` (this config plus the LM's spec),
``encoders.safetensors`` (encoders and projectors, fp16), and ``lm/`` when the LM itself was trained
(a PEFT adapter or a full model folder).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from omni_model.encoders import HFVisionEncoder, PatchEncoder, Projector, WhisperEncoder, load_ct2_encoder
from omni_model.errors import ModelLoadError
from omni_model.media import Audio, Image, load_audio, load_image

IMAGE_MARK, AUDIO_MARK = "<image>", "<audio>"
_MARKS = re.compile(f"({re.escape(IMAGE_MARK)}|{re.escape(AUDIO_MARK)})")
CONFIG_NAME, WEIGHTS_NAME = "omni_config.json", "encoders.safetensors"


@dataclass
class OmniConfig:
    """How the encoders are built; saved beside the weights so a checkpoint rebuilds itself."""

    lm_spec: str = "smollm2-135m"  # the language model (any load_policy spec with local weights)
    image_size: int = 224
    image_patch: int = 16
    image_dim: int = 192
    image_layers: int = 3
    image_heads: int = 3
    image_grid: int = 7  # image tokens = grid^2
    image_encoder: str = "scratch"  # "scratch" or a local HF vision-model folder
    audio_encoder: str = "whisper-tiny.en"  # "whisper-tiny.en" (embedded, pretrained), "scratch", or a CT2 folder
    audio_dim: int = 384  # only for "scratch"
    audio_layers: int = 4  # only for "scratch"
    audio_pool: int = 4  # encoder frames (50/s) averaged into one LM position: 12.5 tokens/s
    train_audio_encoder: bool = True
    # Who writes down speech: "whisper" (Whisper's own decoder over the same encoder; pretrained,
    # so it hears from the start) or "lm" (the language model, from the projected features, which
    # needs long alignment training). A "scratch" audio encoder has no decoder and always uses "lm".
    hearing: str = "whisper"

    def __post_init__(self) -> None:
        if self.hearing not in ("whisper", "lm"):
            raise ValueError(f"hearing must be 'whisper' or 'lm', not {self.hearing!r}")

    @property
    def hears_with_whisper(self) -> bool:
        return self.hearing == "whisper" and self.audio_encoder != "scratch"

    @property
    def image_tokens(self) -> int:
        return self.image_grid * self.image_grid

    def audio_tokens(self, mel_frames: int) -> int:
        return max(1, -(-WhisperEncoder.output_length(mel_frames) // self.audio_pool))


def whisper_folder(config: OmniConfig) -> Path:
    """The CTranslate2 Whisper folder a pretrained audio encoder (and its decoder) comes from."""
    from omni_model.media import whisper_dir

    return whisper_dir() if config.audio_encoder == "whisper-tiny.en" else Path(config.audio_encoder)


def build_encoders(config: OmniConfig, lm_dim: int) -> nn.ModuleDict:
    if config.image_encoder == "scratch":
        image = PatchEncoder(config.image_size, config.image_patch, config.image_dim, config.image_layers,
                             config.image_heads, config.image_grid)
    else:
        image = HFVisionEncoder(config.image_encoder, config.image_grid)
    if config.audio_encoder == "scratch":
        audio = WhisperEncoder(80, config.audio_dim, config.audio_layers, max(1, config.audio_dim // 64))
    else:
        audio = load_ct2_encoder(whisper_folder(config))
    audio.requires_grad_(config.train_audio_encoder)
    return nn.ModuleDict({"image": image, "image_proj": Projector(image.dim, lm_dim),
                          "audio": audio, "audio_proj": Projector(audio.dim, lm_dim)})


@dataclass
class MediaSlots:
    """Where each media item of a batch goes: its row, first position and number of positions."""

    images: list[tuple[int, int, int]] = field(default_factory=list)
    audios: list[tuple[int, int, int]] = field(default_factory=list)


def tokenize_with_media(tokenizer: Any, text: str, media: list[Image | Audio], config: OmniConfig,
                        placeholder_id: int) -> tuple[list[int], list[tuple[str, int, int]]]:
    """Token ids of ``text`` with each marker expanded to placeholder positions, and the slots
    ``(kind, start, count)`` in marker order. ``media`` must match the markers one for one."""
    parts = _MARKS.split(text)
    marks = parts[1::2]
    kinds = ["image" if m == IMAGE_MARK else "audio" for m in marks]
    have = ["image" if isinstance(m, Image) else "audio" for m in media]
    if kinds != have:
        raise ValueError(f"the prompt's media markers {kinds} do not match the media given {have}")
    bos = tokenizer.bos_token
    ids: list[int] = []
    slots: list[tuple[str, int, int]] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            if part:
                special = i == 0 and not (bos and part.startswith(bos))
                ids += tokenizer(part, add_special_tokens=special)["input_ids"]
            continue
        item = media[i // 2]
        count = config.image_tokens if isinstance(item, Image) else config.audio_tokens(item.mel.shape[-1])
        slots.append(("image" if isinstance(item, Image) else "audio", len(ids), count))
        ids += [placeholder_id] * count
    return ids, slots


def prepare_media(items: list[Any] | None, config: OmniConfig, kinds: list[str] | None = None) -> list[Image | Audio]:
    """Paths, bytes, PIL images or (rate, samples) pairs as ``Image``/``Audio`` objects.

    ``kinds`` ("image"/"audio" per item) settles ambiguous inputs; otherwise a ``.wav`` path or a
    tuple is audio and everything else an image."""
    out: list[Image | Audio] = []
    for k, item in enumerate(items or []):
        kind = kinds[k] if kinds else None
        if kind is None:
            is_audio = isinstance(item, (Audio, tuple)) or str(item).lower().endswith(".wav")
            kind = "audio" if is_audio else "image"
        out.append(load_audio(item) if kind == "audio" else load_image(item, config.image_size))
    return out


class OmniModel(nn.Module):
    """A causal LM with an image and an audio encoder whose projected features replace placeholders."""

    def __init__(self, lm: nn.Module, config: OmniConfig, encoders: nn.ModuleDict | None = None):
        super().__init__()
        self.lm, self.config = lm, config
        dim = lm.get_input_embeddings().embedding_dim
        self.encoders = encoders if encoders is not None else build_encoders(config, dim)

    @property
    def device(self) -> torch.device:
        return next(self.lm.parameters()).device

    def embed(self, input_ids: torch.Tensor, slots: MediaSlots, pixels: torch.Tensor | None,
              mels: torch.Tensor | None, mel_frames: torch.Tensor | None) -> torch.Tensor:
        """The LM's input embeddings with every media slot filled by its projected encoder output."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        if slots.images:
            feats = self.encoders["image_proj"](self.encoders["image"](pixels.to(embeds.device, torch.float32)))
            for k, (row, start, count) in enumerate(slots.images):
                embeds[row, start:start + count] = feats[k, :count].to(embeds.dtype)
        if slots.audios:
            enc = self.encoders["audio"](mels.to(embeds.device, torch.float32), mel_frames.to(embeds.device))
            for k, (row, start, count) in enumerate(slots.audios):
                frames = WhisperEncoder.output_length(int(mel_frames[k]))
                pooled = self._pool(enc[k, :frames])
                embeds[row, start:start + count] = self.encoders["audio_proj"](pooled[:count]).to(embeds.dtype)
        return embeds

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        p = self.config.audio_pool
        pad = (-x.shape[0]) % p
        if pad:  # repeat the last frame so the final group averages real audio only
            x = torch.cat([x, x[-1:].expand(pad, -1)])
        return x.view(-1, p, x.shape[-1]).mean(dim=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, labels=None,
                slots: MediaSlots | None = None, pixels=None, mels=None, mel_frames=None, **kwargs: Any) -> Any:
        embeds = self.embed(input_ids, slots or MediaSlots(), pixels, mels, mel_frames)
        return self.lm(inputs_embeds=embeds, attention_mask=attention_mask, labels=labels, **kwargs)

    # -- checkpoints -----------------------------------------------------------------------

    def save_pretrained(self, folder: str | Path, *, save_lm: bool = True, tokenizer: Any = None,
                        int8: bool = False) -> Path:
        """``int8``: weight matrices stored as int8 with one fp16 scale per output row (a quarter of
        fp32, for the committed checkpoint); otherwise every float is stored in fp16."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # fp16 on disk halves the checkpoint; weights load back into the model's own dtype.
        state = {k: v.detach().cpu().to(torch.float16 if v.is_floating_point() else v.dtype).contiguous()
                 for k, v in self.encoders.state_dict().items()}
        if not self.config.train_audio_encoder:  # frozen pretrained weights are re-read from their source
            state = {k: v for k, v in state.items() if not k.startswith("audio.")}
        if int8:
            state = _quantize(state)
        save_file(state, str(folder / WEIGHTS_NAME))
        config = asdict(self.config)
        if save_lm:
            self.lm.save_pretrained(str(folder / "lm"))
            if tokenizer is not None:
                tokenizer.save_pretrained(str(folder / "lm"))
            config["lm_saved"] = True
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, lm: nn.Module) -> OmniModel:
        """Rebuild the encoders of ``folder`` around ``lm`` (already loaded from ``lm/`` or ``lm_spec``)."""
        from safetensors.torch import load_file

        folder = Path(folder)
        config = read_config(folder)
        model = cls(lm, config)
        try:
            state = _dequantize(load_file(str(folder / WEIGHTS_NAME)))
        except (OSError, RuntimeError) as e:
            raise ModelLoadError(f"could not read {folder / WEIGHTS_NAME}: {e}") from e
        missing, unexpected = model.encoders.load_state_dict(state, strict=False)
        missing = [k for k in missing if config.train_audio_encoder or not k.startswith("audio.")]
        if missing or unexpected:
            raise ModelLoadError(f"{folder / WEIGHTS_NAME} does not match its config: missing {missing[:5]}, "
                                 f"unexpected {unexpected[:5]}")
        return model


_SCALE = "::int8_scale"  # a key suffix no module name can contain


def _quantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weight matrices (2-D and up) as symmetric int8 per output row, with their fp16 scales."""
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        if not v.is_floating_point() or v.dim() < 2:
            out[k] = v
            continue
        rows = v.float().reshape(v.shape[0], -1)
        scale = (rows.abs().amax(dim=1) / 127).clamp(min=1e-12)
        out[k] = (rows / scale[:, None]).round().clamp(-127, 127).to(torch.int8).reshape(v.shape).contiguous()
        out[k + _SCALE] = scale.to(torch.float16)
    return out


def _dequantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {k: v for k, v in state.items() if not k.endswith(_SCALE)}
    for k, scale in state.items():
        if k.endswith(_SCALE):
            name = k[: -len(_SCALE)]
            q = out[name]
            out[name] = (q.float().reshape(q.shape[0], -1) * scale.float()[:, None]).reshape(q.shape)
    return out


def read_config(folder: Path) -> OmniConfig:
    try:
        raw = json.loads((Path(folder) / CONFIG_NAME).read_text())
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{folder} is not an omni checkpoint: no readable {CONFIG_NAME} ({e})") from e
    raw.pop("lm_saved", None)
    known = set(OmniConfig.__dataclass_fields__)
    return OmniConfig(**{k: v for k, v in raw.items() if k in known})


class OmniCollator:
    """``prompt``/``completion`` rows, each with optional ``images`` and ``audios``, into one batch.

    Media items are paths, bytes, PIL images, ``(rate, samples)`` pairs or ready ``Image``/``Audio``
    objects; a row's items follow its markers' order (images and audios each in order)."""

    def __init__(self, tokenizer: Any, config: OmniConfig, max_length: int = 2048, placeholder_id: int | None = None):
        self.tokenizer, self.config, self.max_length = tokenizer, config, max_length
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id = int(pad)
        self.placeholder_id = self.pad_id if placeholder_id is None else placeholder_id

    def row_media(self, row: dict) -> list[Image | Audio]:
        images = iter(prepare_media(row.get("images"), self.config, ["image"] * len(row.get("images") or [])))
        audios = iter(prepare_media(row.get("audios"), self.config, ["audio"] * len(row.get("audios") or [])))
        return [next(images) if m == IMAGE_MARK else next(audios) for m in _MARKS.findall(row["prompt"])]

    def __call__(self, rows: list[dict]) -> dict[str, Any]:
        seqs, label_rows, slots = [], [], MediaSlots()
        pixels, mels = [], []
        for r, row in enumerate(rows):
            media = self.row_media(row)
            prompt_ids, row_slots = tokenize_with_media(self.tokenizer, row["prompt"], media, self.config,
                                                        self.placeholder_id)
            completion = self.tokenizer(row.get("completion", ""), add_special_tokens=False)["input_ids"]
            ids = (prompt_ids + completion)[: self.max_length]
            if any(start + count > len(ids) for _, start, count in row_slots):
                raise ValueError(f"row {r}: its media do not fit in max_length={self.max_length}")
            seqs.append(ids)
            label_rows.append(([-100] * len(prompt_ids) + completion)[: self.max_length])
            for item, (kind, start, count) in zip(media, row_slots):
                if kind == "image":
                    slots.images.append((r, start, count))
                    pixels.append(item.pixels)
                else:
                    slots.audios.append((r, start, count))
                    mels.append(item.mel)
        width = max(len(s) for s in seqs)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (s, lab) in enumerate(zip(seqs, label_rows)):  # right padding: training only
            input_ids[i, : len(s)] = torch.tensor(s)
            labels[i, : len(lab)] = torch.tensor(lab)
            attention[i, : len(s)] = 1
        batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention, "labels": labels,
                                 "slots": slots, "pixels": torch.stack(pixels) if pixels else None}
        batch.update(pad_mels(mels))
        return batch


def pad_mels(mels: list[torch.Tensor]) -> dict[str, Any]:
    if not mels:
        return {"mels": None, "mel_frames": None}
    frames = torch.tensor([m.shape[-1] for m in mels])
    out = torch.zeros(len(mels), mels[0].shape[0], int(frames.max()))
    for i, m in enumerate(mels):
        out[i, :, : m.shape[-1]] = m
    return {"mels": out, "mel_frames": frames}
