"""Spoken questions when none were recorded: ELI5 questions read by espeak-ng, and a manifest.

    manifest = synthesize_questions(["Why is the sky blue?", ...], "runs/speech")
    rows = read_manifest(manifest)            # [{"question", "audio"}], audio as an absolute path

The folder holds ``clips/NNNNN.wav`` and ``manifest.jsonl`` (one ``{"question", "audio"}`` per
line, the audio path relative to the folder). Clips over Whisper's 30 s window are reported by
``read_manifest`` as bad rows and left out. Voices and speaking rates vary with the row, in a
fixed pattern, so the model does not learn one voice; the same questions always give the same
files. A manifest row that is broken or names a missing clip is reported with its file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from data.eli5.loaders import DataError
from omni_model.media import MAX_AUDIO_SECONDS

VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb+m3")
RATES = (140, 160, 180)


def synthesize_questions(questions: Sequence[str], out_dir: str | Path, *,
                         progress: Callable[[], None] | None = None) -> Path:
    """Speak every question into ``out_dir/clips`` and write ``out_dir/manifest.jsonl``; returns its path."""
    from omni_model.media import synthesize_speech

    out = Path(out_dir)
    clips = out / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, question in enumerate(questions):
        wav = clips / f"{i:05d}.wav"
        if not wav.is_file():
            synthesize_speech(question, wav, voice=VOICES[i % len(VOICES)], words_per_minute=RATES[i % len(RATES)])
        lines.append(json.dumps({"question": question, "audio": f"clips/{wav.name}"}, ensure_ascii=False))
        if progress is not None:
            progress()
    manifest = out / "manifest.jsonl"
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, manifest)
    return manifest


def _seconds(wav: Path) -> float:
    import wave

    try:
        with wave.open(str(wav), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, OSError) as e:
        raise ValueError(f"{wav} is not a readable WAV file: {e}") from e


def read_manifest(path: str | Path, *, errors: list[DataError] | None = None) -> list[dict]:
    """``{"question", "audio"}`` rows with absolute audio paths; bad rows are skipped into ``errors``
    (or raised when ``errors`` is None)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.jsonl"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(path, None, f"cannot read the speech manifest: {e}") from e
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            question, audio = d["question"], d["audio"]
            if not isinstance(question, str) or not question.strip() or not isinstance(audio, str):
                raise ValueError("needs a non-empty 'question' and an 'audio' path")
            wav = (path.parent / audio).resolve()
            if not wav.is_file():
                raise ValueError(f"audio file {wav} does not exist")
            seconds = _seconds(wav)
            if seconds > MAX_AUDIO_SECONDS:
                raise ValueError(f"{wav.name} lasts {seconds:.1f} s; the model hears at most {MAX_AUDIO_SECONDS:g} s")
        except (ValueError, KeyError, TypeError) as e:
            err = DataError(path, n, str(e))
            if errors is None:
                raise err from e
            errors.append(err)
            continue
        rows.append({"question": question.strip(), "audio": str(wav)})
    return rows
