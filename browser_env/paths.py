"""Where webqa keeps its own files: ``webqa_home()`` (``$WEBQA_HOME`` or ``~/.cache/webqa``)."""

from __future__ import annotations

import os
from pathlib import Path


def webqa_home() -> Path:
    """The cache root for downloaded corpora and built indexes; not created here."""
    env = os.environ.get("WEBQA_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "webqa"
