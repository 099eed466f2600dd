"""Model specs: the one string users give to name a model, and how it becomes local files.

Accepted forms (checked in this order):

- `smollm2-135m`            the embedded default (SmolLM2-135M-Instruct, fetched once via pip)
- `scripted`                the scripted demonstrator (``omni_model.scripted``): a baseline, no weights
- `openai:<base_url>#<model>` an OpenAI-compatible completions server
- a path to a `.gguf` file  dequantized once and cached by content hash
- a local folder            an omni checkpoint (`omni_config.json`: LM + image and audio encoders),
                            an HF model folder (`config.json`) or a PEFT adapter (`adapter_config.json`)
- `org/name`                a Hugging Face Hub id (needs the network unless already cached)

`parse_spec` only classifies; `resolve_model_dir` turns a local-weights spec into an HF folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from omni_model.errors import ModelLoadError, UnknownSpecError

DEFAULT_POLICY = "smollm2-135m"
_EMBEDDED_ALIASES = frozenset({DEFAULT_POLICY, "smollm2-135m-instruct", "default"})
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")

_HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]

SCRIPTED = "scripted"
SpecKind = Literal["embedded", "scripted", "openai", "gguf", "omni_dir", "hf_dir", "peft_dir", "hub"]

ACCEPTED_FORMS = (
    f"'{DEFAULT_POLICY}', 'scripted', 'openai:<base_url>#<model>', a path to a .gguf file, "
    "a local omni checkpoint, HF model or PEFT adapter folder, or a Hub id 'org/name'"
)


@dataclass(frozen=True)
class SpecInfo:
    kind: SpecKind
    spec: str
    path: Path | None = None  # gguf / hf_dir / peft_dir
    base_url: str | None = None  # openai
    model: str | None = None  # openai model name, or the Hub id


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or spec.endswith(".gguf") or "\\" in spec


def parse_spec(spec: str) -> SpecInfo:
    """Classify `spec`; raises ModelLoadError for a missing path, UnknownSpecError otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownSpecError(f"empty model spec; expected {ACCEPTED_FORMS}")
    spec = spec.strip()
    if spec.lower() in _EMBEDDED_ALIASES:
        return SpecInfo("embedded", spec)
    if spec.lower() == SCRIPTED:
        return SpecInfo("scripted", spec)
    if spec.startswith("openai:"):
        rest = spec[len("openai:"):]
        base_url, sep, model = rest.partition("#")
        if not sep or not model or not base_url.startswith(("http://", "https://")):
            raise UnknownSpecError(
                f"bad OpenAI spec {spec!r}; expected 'openai:<http(s)://host[:port]>#<model>'"
            )
        return SpecInfo("openai", spec, base_url=base_url.rstrip("/"), model=model)

    path = Path(spec).expanduser()
    if path.exists():
        if path.is_file():
            if path.suffix.lower() == ".gguf":
                return SpecInfo("gguf", spec, path=path.resolve())
            raise ModelLoadError(f"{path} is a file but not a .gguf; give a .gguf file or a model folder")
        if (path / "omni_config.json").is_file():
            return SpecInfo("omni_dir", spec, path=path.resolve())
        if (path / "adapter_config.json").is_file():
            return SpecInfo("peft_dir", spec, path=path.resolve())
        if (path / "config.json").is_file():
            return SpecInfo("hf_dir", spec, path=path.resolve())
        raise ModelLoadError(
            f"folder {path} has neither config.json (HF model) nor adapter_config.json (PEFT adapter)"
        )
    if _looks_like_path(spec):
        raise ModelLoadError(f"model file or folder not found: {path}")
    if _HUB_ID.match(spec):
        return SpecInfo("hub", spec, model=spec)
    raise UnknownSpecError(f"unknown model spec {spec!r}; expected {ACCEPTED_FORMS}")


def resolve_model_dir(spec: str) -> Path:
    """A local HF folder holding the weights `spec` names, converting and caching as needed.

    A PEFT adapter folder is returned as is (its base is resolved by whoever applies it).
    """
    info = parse_spec(spec)
    if info.kind == "embedded":
        from omni_model.embedded import default_model_dir

        return default_model_dir()
    if info.kind == "gguf":
        from omni_model.embedded import gguf_model_dir

        assert info.path is not None
        return gguf_model_dir(info.path)
    if info.kind in ("hf_dir", "peft_dir", "omni_dir"):
        assert info.path is not None
        return info.path
    if info.kind == "hub":
        return _hub_snapshot(info.spec)
    raise UnknownSpecError(f"{spec!r} names a remote server or the scripted policy, which have no local model folder")


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        # Only what from_pretrained needs: many repos also carry ONNX/GGUF/PyTorch-bin copies.
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES))
    except Exception as e:  # offline mode, missing repo, network failures all land here
        raise ModelLoadError(
            f"could not get Hub model {repo_id!r} ({type(e).__name__}: {e}); "
            "check the id and network, or pass a local folder / .gguf file"
        ) from e
