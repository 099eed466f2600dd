"""Corpus readers: turn a JSONL file, a folder of documents, a WikiExtractor dump or ``wiki-vital``
into a stream of ``Doc`` objects for ``browser_env.miniweb.index.build_index``.

``iter_corpus(source)`` detects the kind (the folder and WikiExtractor readers live in
``browser_env.miniweb.corpus_folder`` and ``browser_env.miniweb.wikiextractor``). A corpus's own HTML pages go
through the web's visibility pass in Chromium (``browser_env.miniweb.corpus_html``), so hidden text is
never indexed. Bad rows, and files that are not text, are collected in a ``CorpusReport`` (file,
and line where there is one) and skipped, unless ``strict=True``, which raises ``CorpusError`` on
the first.
Links between documents are written as root-relative ``/page/<id>`` hrefs (``page_path``), so that
pages work under the mini-web's real address and under its virtual host alike.

    for doc in iter_corpus("../shared/data/wikipedia_featured_good"): ...
"""

from __future__ import annotations

import bz2
import gzip
import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote

log = logging.getLogger(__name__)

CorpusKind = Literal["jsonl", "folder", "wikiextractor", "wiki-vital"]
DOC_SUFFIXES = (".html", ".htm", ".txt", ".pdf")
_WIKI_FILE = re.compile(r"^wiki_\d+(\.gz|\.bz2)?$")
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_BLOCK_TAGS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol tr table br section article header footer pre blockquote dd dt "
    "dl figure figcaption main nav aside hr caption".split()
)


@dataclass
class Doc:
    id: str
    title: str
    text: str | None = None
    # The article body (no <html>/<head>), only what a reader sees: the readers run a corpus's own
    # HTML through the visibility pass (browser_env.miniweb.corpus_html); links are /page/<id> where resolved.
    html: str | None = None
    url: str | None = None  # where the text came from, shown in the attribution footer
    source: str = ""
    license: str = ""


class CorpusError(Exception):
    """A corpus that cannot be read, or (with ``strict=True``) a bad row, named by file and line."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(where + message)
        self.file, self.line = file, line


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass
class CorpusReport:
    """What a reader saw: the kind it detected, how many docs it yielded, and the rows it skipped."""

    kind: str = ""
    loaded: int = 0
    bad: list[BadRow] = field(default_factory=list)

    def summary(self, limit: int = 20) -> str:
        lines = [f"{self.loaded} documents loaded ({self.kind}), {len(self.bad)} bad rows skipped"]
        lines += [f"  {b}" for b in self.bad[:limit]]
        if len(self.bad) > limit:
            lines.append(f"  ... and {len(self.bad) - limit} more")
        return "\n".join(lines)


def page_path(doc_id: str) -> str:
    """The mini-web path of a document; every character outside [A-Za-z0-9_.~-] is percent-encoded."""
    return "/page/" + quote(doc_id, safe="")


def title_key(title: str) -> str:
    """Normalise a title the way Wikipedia matches them: '_' is ' ', the first letter is case-blind."""
    t = " ".join(title.replace("_", " ").split())
    return t[:1].upper() + t[1:]


def detect_kind(source: str | Path) -> CorpusKind:
    if str(source) == "wiki-vital":
        return "wiki-vital"
    path = Path(source)
    if not path.exists():
        raise CorpusError(f"no such corpus: {source} (expected a .jsonl[.gz] file, a folder, or 'wiki-vital')")
    if path.is_file():
        if path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            return "jsonl"
        raise CorpusError(f"{path}: not a corpus; a file corpus must be .jsonl or .jsonl.gz")
    files = [p for p in path.rglob("*") if p.is_file()]
    if any(_WIKI_FILE.match(p.name) and _starts_with_doc(p) for p in files):
        return "wikiextractor"
    if any(_inner_suffix(p) in DOC_SUFFIXES for p in files):
        return "folder"
    raise CorpusError(
        f"{path}: found no .html/.htm/.txt/.pdf files and no WikiExtractor wiki_NN files in this folder"
    )


def iter_corpus(
    source: str | Path, *, strict: bool = False, report: CorpusReport | None = None, visibility=None
) -> Iterator[Doc]:
    """The documents of ``source``; bad rows go to ``report`` (or raise when ``strict``).

    The kind is detected (and a bad ``source`` raises ``CorpusError``) at the call, not at the
    first ``next()``. HTML pages are made visible by ``visibility`` (a
    ``browser_env.web.visibility.OfflineVisibility``); without one, one is started at the first HTML
    page and closed at the end.
    """
    report = report if report is not None else CorpusReport()
    report.kind = detect_kind(source)
    if report.kind == "wiki-vital":
        from .wiki_vital import fetch_wheel, iter_wiki_vital

        docs = iter_wiki_vital(fetch_wheel())
    elif report.kind == "wikiextractor":
        from .wikiextractor import iter_wikiextractor  # imported here: it builds on this module

        docs = iter_wikiextractor(Path(source), strict, report)
    else:
        from .corpus_folder import iter_folder  # imported here: both build on this module
        from .corpus_html import visible_docs

        reader = {"jsonl": _iter_jsonl, "folder": iter_folder}
        items = reader[report.kind](Path(source), strict, report)
        docs = visible_docs(items, visibility, strict=strict, report=report)
    return _counted(docs, report)


def _counted(docs: Iterator[Doc], report: CorpusReport) -> Iterator[Doc]:
    for doc in docs:
        report.loaded += 1
        yield doc


def _bad(report: CorpusReport, strict: bool, file: Path | str, line: int | None, reason: str) -> None:
    if strict:
        raise CorpusError(reason, file=str(file), line=line)
    row = BadRow(str(file), line, reason)
    # Said once, in the report's summary at the end; a log line per row as well would say it twice.
    log.info("skipping bad corpus row: %s", row)
    report.bad.append(row)


def _opener(path: Path):
    name = path.name.lower()
    return gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open


def _starts_with_doc(path: Path) -> bool:
    try:
        with _opener(path)(path, "rb") as f:
            return f.read(5) == b"<doc "
    except OSError:
        return False


def _inner_suffix(path: Path) -> str:
    name = path.name.lower()
    for packed in (".gz", ".bz2"):
        if name.endswith(packed):
            name = name[: -len(packed)]
    return PurePosixPath(name).suffix


# Bytes that text in any ASCII-based encoding all but never holds: C0 controls other than tab, line
# ends, form feed and escape, and DEL. Random or compressed data is about one byte in nine of them.
_BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b") + b"\x7f"
SNIFF_BYTES = 8192


def not_text(head: bytes) -> str | None:
    """Why the bytes a file starts with are not text (None when they may well be)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 with its byte-order mark: text full of NULs
    head = head[:SNIFF_BYTES]
    if not head:
        return None
    if b"\x00" in head or len(head) - len(head.translate(None, _BINARY_BYTES)) > len(head) // 100:
        return "not a text file (binary data)"
    return None


# --- JSONL -------------------------------------------------------------------------------------


def _iter_jsonl(path: Path, strict: bool, report: CorpusReport) -> Iterator:
    try:
        with _opener(path)(path, "rb") as f:
            why = not_text(f.read(SNIFF_BYTES))
            if why:  # one report for the file, not one per "line" of it
                _bad(report, strict, path, None, why)
                return
            f.seek(0)
            for lineno, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                doc = _jsonl_row(path, lineno, raw, strict, report)
                if doc is not None:
                    yield doc
    except (OSError, EOFError) as e:  # e.g. a truncated .gz
        raise CorpusError(f"cannot read: {e}", file=str(path)) from e


def _jsonl_row(path: Path, lineno: int, raw: bytes, strict: bool, report: CorpusReport):
    """A ``Doc``, a ``PendingPage`` (a row with ``html``, for the visibility pass) or None (bad)."""
    from .corpus_html import PendingPage, prepare_markup

    try:
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return _bad(report, strict, path, lineno, f"not valid JSON ({e})")
    if not isinstance(row, dict):
        return _bad(report, strict, path, lineno, "row is not a JSON object")
    doc_id, title = row.get("id"), row.get("title")
    if doc_id is None or str(doc_id).strip() == "":
        return _bad(report, strict, path, lineno, "missing 'id'")
    if not isinstance(title, str) or not title.strip():
        return _bad(report, strict, path, lineno, "missing 'title'")
    text, body = row.get("text"), row.get("html")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(body, str) and body.strip()):
        return _bad(report, strict, path, lineno, "row has neither 'text' nor 'html'")
    doc = Doc(
        id=str(doc_id), title=title.strip(), text=text if isinstance(text, str) and text.strip() else None,
        url=row.get("url") or None, source=str(row.get("source") or path.name), license=str(row.get("license") or ""),
    )  # fmt: skip
    if not (isinstance(body, str) and body.strip()):
        return doc
    try:
        return PendingPage(doc, prepare_markup(body), str(path), lineno)
    except ValueError as e:
        return _bad(report, strict, path, lineno, f"'html' is {e}")


# --- HTML helpers ------------------------------------------------------------------------------


def clean_html(markup: str | bytes, link_map=None, *, visible: bool = False) -> tuple[str, str, str]:
    """Return (body inner HTML, plain text, <title>) with scripts and styles removed.

    ``link_map(href) -> str | None`` may rewrite each ``<a href>``; None leaves it as it was.
    ``visible``: the markup is the visibility pass's output, so every element left is one a
    reader saw; inline styles, whose work is done, go too, so that the mini-web (on its own
    background, without the page's style sheet) shows all of it and nothing else.
    """
    import lxml.html
    from lxml import etree

    if isinstance(markup, bytes):
        try:
            markup = markup.decode("utf-8")
        except UnicodeDecodeError:
            pass  # left as bytes, lxml follows the file's own <meta charset>
    if isinstance(markup, str):
        markup = _XML_DECL.sub("", markup)  # lxml refuses str input that declares an encoding
    if not markup.strip():
        return "", "", ""
    root = lxml.html.document_fromstring(markup)
    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split())
    for bad in list(root.iter(*_DROP_TAGS, etree.Comment)):
        bad.drop_tree()
    if visible:
        for el in root.iter(etree.Element):
            el.attrib.pop("style", None)
    if link_map is not None:
        for a in root.iter("a"):
            new = link_map(a.get("href") or "")
            if new is not None:
                a.set("href", new)
    body = root.find("body")
    if body is None:
        body = root
    inner = (html.escape(body.text, quote=False) if body.text else "") + "".join(
        lxml.html.tostring(c, encoding="unicode") for c in body
    )
    if not title:
        h1 = root.find(".//h1")
        title = " ".join(h1.text_content().split()) if h1 is not None else ""
    return inner, element_text(body), title


def element_text(root) -> str:
    """Plain text of an lxml element, with a line break around every block element."""
    from lxml import etree

    parts: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else None
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if tag and el.text:
                parts.append(el.text)
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if el is not root and el.tail:
                parts.append(el.tail)
    return normalise_text("".join(parts))


def html_to_text(markup: str) -> str:
    return clean_html(markup)[1]


def normalise_text(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    """Paragraphs (blank-line separated) as escaped ``<p>`` elements; single newlines become <br>."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>\n") + "</p>" for p in paras)
