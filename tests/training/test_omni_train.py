"""Omni training on a tiny LM and tiny encoders: screenshot demos and spoken questions in one run."""

from __future__ import annotations

import json

import pytest
import torch

from browser_env.text.observation import render_observation
from training.demos import Demo, Metadata, Step, write_demos
from training.omni_train import OmniTrainConfig, demo_rows, train_omni
from training.speech import read_manifest
from tests.helpers.models import save_tiny_llama, write_png, write_wav
from tests.omni_model.test_omni import TINY
from tests.training.test_train import _demo


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("omni-base"), max_positions=2048)


def _shot_demos(folder, n=8):
    shots = folder / "demos.jsonl.screens"
    shots.mkdir(parents=True)
    demos = []
    for i in range(n):
        d = _demo(i)
        write_png(shots / f"{i}.png", colour=(10 * i, 0, 0))
        steps = [Step(s.observation, s.command, s.observation_parts, screenshot=f"{shots.name}/{i}.png" if k else None)
                 for k, s in enumerate(d.steps)]
        demos.append(Demo(d.id, d.question, d.quotes, d.answer, steps, d.metadata))
    path = folder / "demos.jsonl"
    write_demos(path, demos)
    return path


def _manifest(folder, n=6):
    (folder / "clips").mkdir(parents=True)
    lines = []
    for i in range(n):
        write_wav(folder / "clips" / f"{i}.wav", seconds=0.3 + 0.1 * i, freq=200.0 + 50 * i)
        lines.append(json.dumps({"question": f"Why is the sky blue {i}?", "audio": f"clips/{i}.wav"}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


def test_rows_show_screenshots_only_where_recorded(tmp_path, base):
    from omni_model.loading import load_tokenizer
    from training.demos import read_demos

    path = _shot_demos(tmp_path, n=2)
    tok = load_tokenizer(base)
    demos = [(d, path) for d in read_demos(path)]
    rows = demo_rows(demos, tok, 1900, 4)
    with_image = [r for r in rows if r.get("images")]
    assert len(with_image) == 2 and all("<image>" in r["prompt"] for r in with_image)
    assert all("<image>" not in r["prompt"] for r in rows if not r.get("images"))
    assert with_image[0]["images"][0].endswith("demos.jsonl.screens/0.png")
    text_only = demo_rows(demos, tok, 1900, 4, screenshots=False)
    assert not any(r.get("images") for r in text_only) and len(text_only) == len(rows)


def test_one_run_trains_screenshots_and_speech_and_reloads(tmp_path, base):
    from omni_model import load_policy
    from omni_model.omni_policy import OmniPolicy

    demos = _shot_demos(tmp_path / "d")
    manifest = _manifest(tmp_path / "s")
    config = OmniTrainConfig(output_dir=str(tmp_path / "omni"), base_policy=str(base), lora_r=4, lora_alpha=8,
                             max_length=2048, max_steps=2, per_device_train_batch_size=4, learning_rate=1e-2,
                             save_strategy="no", eval_strategy="no", disable_tqdm=True, eval_fraction=0.25,
                             train_audio_encoder=True, encoder_config={k: v for k, v in TINY.items()},
                             int8_encoders=True)
    result = train_omni([str(demos)], [str(manifest)], config)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "omni" / "encoders.safetensors"))
    assert stored["image_proj.net.0.weight"].dtype == torch.int8  # --int8, as the shipped checkpoint
    assert result.rows_with_screenshot > 0 and result.speech_rows > 0 and result.eval_loss is not None
    assert all(n > 0 for n in result.trainable_parameters.values()), result.trainable_parameters
    policy = load_policy(result.output_dir, device="cpu")
    assert isinstance(policy, OmniPolicy)
    assert isinstance(policy.transcribe(read_manifest(manifest)[0]["audio"]), str)
    out = policy.generate(["Look <image>:"], media=[[write_png(tmp_path / "x.png")]], max_new_tokens=2, temperature=0)
    assert out[0][0].tokens >= 1


def test_bad_manifest_rows_are_named(tmp_path):
    from data.eli5.loaders import DataError

    (tmp_path / "manifest.jsonl").write_text('{"question": "Why?", "audio": "missing.wav"}\n{bad\n')
    errors: list = []
    assert read_manifest(tmp_path, errors=errors) == []
    assert [e.line for e in errors] == [1, 2] and "missing.wav" in str(errors[0])
    with pytest.raises(DataError, match="manifest.jsonl:1"):
        read_manifest(tmp_path / "manifest.jsonl")
