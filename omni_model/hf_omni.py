"""Hugging Face thinker/talker checkpoints (Qwen2.5-Omni) behind the ``Policy`` protocol: they see and hear.

A local folder whose ``config.json`` has a ``thinker_config`` (``model_type`` "qwen2_5_omni") loads
only its thinker: that is the part that reads text, pictures and speech and writes text. It is the
class transformers registers for image-text-to-text under the thinker config's type
(``Qwen2_5OmniThinkerForConditionalGeneration``), loaded from the whole checkpoint. The talker and
token-to-wave weights, which produce speech output, stay on disk.

``<image>`` and ``<audio>`` markers become the checkpoint's placeholders
(``<|vision_bos|><|IMAGE|><|vision_eos|>``, ``<|audio_bos|><|AUDIO|><|audio_eos|>``), and its
processor expands them. The processor's Whisper-style feature extractor (128 mels) reads 16 kHz
samples, so a clip may be a WAV path, a ``(rate, samples)`` pair, or an ``Audio`` made by
``media.log_mel``, which keeps its samples. An ``Audio`` holding only 80-mel features is refused.
``transcribe`` asks the model itself to write down a spoken question.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from omni_model.errors import ModelLoadError, UnsupportedError
from omni_model.hf_multimodal import HFMultimodalPolicy, _pil, has_processor_and, media_placeholder
from omni_model.media import MAX_AUDIO_SECONDS, SAMPLE_RATE, Audio, MediaError, load_samples
from omni_model.omni import AUDIO_MARK, IMAGE_MARK
from omni_model.types import Hearing

TRANSCRIBE_REQUEST = "Write down exactly what is said in this recording, and nothing else."


def is_omni_dir(folder: Path) -> bool:
    return has_processor_and(folder, "thinker_config")


def speech_samples(item: Any) -> np.ndarray:
    """16 kHz mono float32 samples of a WAV path, a ``(rate, samples)`` pair or an ``Audio`` that kept them."""
    if isinstance(item, Audio):
        if item.samples is None:
            raise MediaError(f"{item.source}: this clip has only log-mel features, and this model computes its own "
                             "from the samples; give the WAV path or (rate, samples) instead")
        samples, source = np.asarray(item.samples, dtype=np.float32).reshape(-1), item.source
    elif isinstance(item, (tuple, str, Path)):
        samples, source = load_samples(item)
    else:
        raise MediaError(f"a {type(item).__name__} is not audio; give a WAV path, (rate, samples) or an Audio")
    if samples.size == 0:
        raise MediaError(f"{source}: the audio is empty")
    # The feature extractor pads or cuts every clip to one 30 s window, so anything longer would be lost without a word.
    if samples.size > MAX_AUDIO_SECONDS * SAMPLE_RATE:
        raise MediaError(f"{source}: {samples.size / SAMPLE_RATE:.1f} s of audio; at most {MAX_AUDIO_SECONDS:g} s")
    return samples


class HFOmniPolicy(HFMultimodalPolicy):
    """The thinker of an omni checkpoint and its processor: pictures and speech in, text out."""

    marks = (IMAGE_MARK, AUDIO_MARK)
    describes = "omni (thinker/talker)"
    hearings: tuple[Hearing, ...] = ("lm",)  # the thinker writes speech down itself

    def __init__(self, model: Any, processor: Any, *, spec: str = "<in-memory>") -> None:
        audio = media_placeholder(processor, model.config, "audio")
        if audio is None or not hasattr(processor, "feature_extractor"):
            raise ModelLoadError(f"{spec}: its processor has no audio token or feature extractor, so it cannot hear")
        super().__init__(model, processor, spec=spec)
        self.placeholders[AUDIO_MARK] = audio

    @classmethod
    def _model_class(cls, folder: Path) -> Any:
        from transformers import AutoConfig
        from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING

        thinker = getattr(AutoConfig.from_pretrained(str(folder)), "thinker_config", None)
        if thinker is None or type(thinker) not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING:
            raise ModelLoadError(f"{folder}: transformers has no text-output model for its thinker "
                                 f"({type(thinker).__name__})")
        return MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING[type(thinker)]

    def _prepare(self, mark: str, item: Any) -> Any:
        return speech_samples(item) if mark == AUDIO_MARK else _pil(item)

    def transcription_prompt(self) -> str:
        """A short request to write down the speech in one ``<audio>`` clip, in the model's chat format."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.apply_chat_template([{"role": "user", "content": f"{AUDIO_MARK}\n{TRANSCRIBE_REQUEST}"}])
        return f"{AUDIO_MARK}\n{TRANSCRIBE_REQUEST}\nTranscript:"

    def transcribe(self, audio: Any, *, hearing: Hearing | None = None, max_new_tokens: int = 64) -> str:
        """What the model hears in ``audio`` (a WAV path, ``(rate, samples)`` or ``Audio``), greedily decoded."""
        if hearing not in (None, *self.hearings):
            raise UnsupportedError(f"{self.spec} hears with its language model only, not {hearing!r}")
        out = self.generate([self.transcription_prompt()], media=[[audio]], temperature=0,
                            max_new_tokens=max_new_tokens, stop=["\n"])
        return out[0][0].text.strip()
