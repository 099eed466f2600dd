"""Loading a tokenizer from model folders and merging a PEFT adapter, shared by the policy and the reward model.

Both load a tokenizer the same way: from the first of several folders (an adapter folder,
then its base) that holds tokenizer files, and raise ``ModelLoadError`` naming every folder
tried. transformers is imported only when a tokenizer is actually loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omni_model.errors import ModelLoadError


def load_tokenizer(*folders: Path) -> Any:
    """The tokenizer of the first folder with tokenizer files that loads; else ModelLoadError."""
    from transformers import AutoTokenizer

    errors = []
    for folder in folders:
        if not (folder / "tokenizer_config.json").is_file() and not (folder / "tokenizer.json").is_file():
            continue
        try:
            return AutoTokenizer.from_pretrained(str(folder))
        except Exception as e:
            errors.append(f"{folder}: {type(e).__name__}: {e}")
    raise ModelLoadError("no loadable tokenizer in " + ", ".join(map(str, folders))
                         + ("; " + "; ".join(errors) if errors else ""))


def apply_adapter(base: Any, adapter_dir: Path) -> Any:
    """``base`` with the PEFT adapter of ``adapter_dir`` merged in (the runtime never trains it)."""
    import warnings

    from peft import PeftModel

    with warnings.catch_warnings():
        # PEFT 0.x still asks transformers 5 for a deprecated attribute; the user can do nothing about it.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
