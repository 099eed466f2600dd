"""``OmniPolicy``: the ``Policy`` protocol over an ``OmniModel``, so prompts may carry pictures and speech.

``generate(prompts, media=[...])`` takes, per prompt, the media its ``<image>``/``<audio>``
markers stand for. Text-only prompts take the plain ``TransformersPolicy`` path unchanged (same
batching, stop strings, log-probs and logits processors); prompts with media are tokenized with
placeholder positions and their prefill runs on the omni model's spliced embeddings, after which
decoding continues from token ids with the KV cache.

``transcribe(audio)`` writes down what the model hears: the agent uses it to turn a spoken question
into text for the pages, the answer and the reward model, which read text. By default
(``OmniConfig.hearing = "whisper"``) Whisper's own decoder writes it, reading the omni model's
Whisper encoder (shared when frozen); with ``"lm"`` the language model writes it from the projected
features, as ``webqa train omni`` trains it to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omni_model.omni import (AUDIO_MARK, IMAGE_MARK, MediaSlots, OmniConfig, OmniModel, pad_mels, prepare_media,
                             read_config, tokenize_with_media, whisper_folder)
from omni_model.errors import PromptTooLongError, UnsupportedError
from omni_model.policy import Completion, TransformersPolicy, _TextStreamer, per_prompt
from omni_model.types import Hearing

TRANSCRIBE_SYSTEM = "Write down the spoken question exactly."


def transcription_prompt(tokenizer: Any) -> str:
    """The prompt under which the omni model transcribes speech (training and inference share it)."""
    messages = [{"role": "system", "content": TRANSCRIBE_SYSTEM}, {"role": "user", "content": AUDIO_MARK}]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{TRANSCRIBE_SYSTEM}\n{AUDIO_MARK}\nQuestion:"


class OmniPolicy(TransformersPolicy):
    """A local omni model behind the ``Policy`` protocol: it sees (``accepts_media``) and hears
    (``hearings``: with Whisper's decoder over its encoder, or with the language model itself)."""

    accepts_media = True

    @property
    def image_tokens(self) -> int:
        return self.config.image_tokens

    @property
    def hearings(self) -> tuple[Hearing, ...]:
        # A scratch audio encoder was never Whisper's: only the language model can read it.
        return ("whisper", "lm") if self.config.audio_encoder != "scratch" else ("lm",)

    def __init__(self, omni: OmniModel, tokenizer: Any, *, spec: str = "<in-memory>") -> None:
        super().__init__(omni.lm, tokenizer, spec=spec)
        self.omni = omni.eval()
        self.config: OmniConfig = omni.config
        self._whisper: Any = None

    @classmethod
    def from_dir(cls, folder: str | Path, *, device: str | None = None, dtype: str | None = None) -> OmniPolicy:
        """An omni checkpoint: its ``lm/`` (or ``lm_spec``) with the encoders of ``encoders.safetensors``."""
        folder = Path(folder)
        config = read_config(folder)
        lm_spec = str(folder / "lm") if (folder / "lm").is_dir() else config.lm_spec
        text = TransformersPolicy.from_spec(lm_spec, device=device, dtype=dtype)
        omni = OmniModel.from_pretrained(folder, text.model).to(text.device)
        return cls(omni, text.tokenizer, spec=str(folder))

    @classmethod
    def fresh(cls, lm_spec: str, config: OmniConfig | None = None, **kwargs: Any) -> OmniPolicy:
        """A new omni model around ``lm_spec`` (encoders pretrained where available, projectors untrained)."""
        text = TransformersPolicy.from_spec(lm_spec, **kwargs)
        config = config or OmniConfig(lm_spec=lm_spec)
        return cls(OmniModel(text.model, config).to(text.device), text.tokenizer, spec=lm_spec)

    def prepare_image(self, item: Any) -> Any:
        """A picture (path, bytes, PIL image) as this model's input, checked once up front."""
        return prepare_media([item], self.config, ["image"])[0]

    def save_pretrained(self, folder: str | Path) -> Path:
        return self.omni.save_pretrained(folder, tokenizer=self.tokenizer)

    def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.8, top_p: float = 1.0,
                 max_new_tokens: int = 128, stop: list[str] | None = None, seed: int | None = None,
                 logits_processor: Any = None, on_text: Any = None,
                 media: list[list[Any] | None] | None = None) -> list[list[Completion]]:
        """As ``TransformersPolicy.generate``; ``media[i]`` lists prompt i's items in marker order
        (paths, bytes, PIL images, ``(rate, samples)`` pairs, or ``Image``/``Audio``)."""
        if media is None or not any(media):
            return super().generate(prompts, n=n, temperature=temperature, top_p=top_p,
                                    max_new_tokens=max_new_tokens, stop=stop, seed=seed,
                                    logits_processor=logits_processor, on_text=on_text)
        if len(media) != len(prompts):
            raise ValueError(f"{len(media)} media lists for {len(prompts)} prompts")
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"n and max_new_tokens must be >= 1 (got n={n}, max_new_tokens={max_new_tokens})")
        encoded, items = [], []
        for prompt, group in zip(prompts, media):
            kinds = ["image" if m == IMAGE_MARK else "audio" for m in _marks(prompt)]
            prepared = prepare_media(group, self.config, kinds if len(kinds) == len(group or []) else None)
            ids, slots = tokenize_with_media(self.tokenizer, prompt, prepared, self.config, self._pad_id)
            if len(ids) + max_new_tokens > self.context_length:
                raise PromptTooLongError(len(ids), max_new_tokens, self.context_length)
            encoded.append(ids)
            items.append(list(zip(prepared, slots)))
        reps = 1 if temperature == 0 else n
        rows = [ids for ids in encoded for _ in range(reps)]
        row_items = [it for it in items for _ in range(reps)]
        width = max(len(r) for r in rows)

        def embed(input_ids: Any) -> Any:
            slots, pixels, mels = MediaSlots(), [], []
            for r, (row, group) in enumerate(zip(rows, row_items)):
                offset = width - len(row)  # left padding shifts every slot
                for item, (kind, start, count) in group:
                    if kind == "image":
                        slots.images.append((r, offset + start, count))
                        pixels.append(item.pixels)
                    else:
                        slots.audios.append((r, offset + start, count))
                        mels.append(item.mel)
            import torch

            stacked = torch.stack(pixels) if pixels else None
            audio = pad_mels(mels)
            return self.omni.embed(input_ids, slots, stacked, audio["mels"], audio["mel_frames"])

        streamer = _TextStreamer(self.tokenizer, reps, on_text) if on_text is not None else None
        outs = self._generate_rows(rows, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                   stop=[s for s in (stop or []) if s], seed=seed, logits_processor=logits_processor,
                                   streamer=streamer, embed=embed)
        return per_prompt(outs, len(prompts), reps, n)

    @property
    def whisper(self) -> Any:
        """Whisper's decoder over this model's audio encoder (a pristine copy if that one was trained)."""
        if self._whisper is None:
            from omni_model.whisper import WhisperTranscriber

            shared = None if self.config.train_audio_encoder else self.omni.encoders["audio"]
            self._whisper = WhisperTranscriber.from_dir(whisper_folder(self.config), encoder=shared)
            self._whisper.decoder.to(self.device)
            if shared is None:
                self._whisper.encoder.to(self.device)
        return self._whisper

    def transcribe(self, audio: Any, *, hearing: Hearing | None = None, max_new_tokens: int = 64) -> str:
        """What the model hears in ``audio`` (a WAV path, ``(rate, samples)`` or ``Audio``), greedily decoded;
        ``hearing`` says who writes it down (None: ``OmniConfig.hearing``)."""
        if hearing is not None and hearing not in self.hearings:
            raise UnsupportedError(f"{self.spec} cannot hear with {hearing!r}; it hears with {self.hearings}")
        if (hearing or self.config.hearing) == "whisper" and "whisper" in self.hearings:
            return self.whisper.transcribe(audio, max_new_tokens=max_new_tokens)
        return self.transcribe_with_lm(audio, max_new_tokens=max_new_tokens)

    def transcribe_with_lm(self, audio: Any, *, max_new_tokens: int = 64) -> str:
        """The language model's own transcript, from the projected audio features (``hearing="lm"``)."""
        out = self.generate([transcription_prompt(self.tokenizer)], media=[[audio]], temperature=0,
                            max_new_tokens=max_new_tokens, stop=["\n"])
        return out[0][0].text.strip()


def _marks(prompt: str) -> list[str]:
    from omni_model.omni import _MARKS

    return _MARKS.findall(prompt)
