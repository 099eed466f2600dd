"""The folder reader: a tree of .html/.htm/.txt/.pdf files (each optionally .gz or .bz2) as documents.

A document's id is its path relative to the folder; relative links between its files are pointed
at their mini-web pages. HTML files become ``corpus_html.PendingPage`` items, for the visibility
pass that ``browser_env.miniweb.corpus.iter_corpus`` runs them through; text and PDF files become ``Doc``
objects here. A file that cannot be read, or whose bytes are not text (random data under an
.html.gz name), is reported once, by file, and skipped.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

# _bad and _opener are corpus's shared row-reporting and (de)compression helpers, used by every reader.
from .corpus import DOC_SUFFIXES, CorpusReport, Doc, _bad, _inner_suffix, _opener, normalise_text, not_text, page_path
from .corpus_html import PendingPage, prepare_markup


def iter_folder(root: Path, strict: bool, report: CorpusReport) -> Iterator[Doc | PendingPage]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and _inner_suffix(p) in DOC_SUFFIXES)
    ids = {_folder_id(root, p) for p in files}
    for path in files:
        doc_id = _folder_id(root, path)
        try:
            with _opener(path)(path, "rb") as f:
                data = f.read()
        except Exception as e:  # a bad gzip or bz2 stream must not stop the build
            _bad(report, strict, path, None, f"cannot read the file ({e})")
            continue
        suffix = PurePosixPath(doc_id).suffix.lower()
        why = None if suffix == ".pdf" else not_text(data)
        if why:
            _bad(report, strict, path, None, why)
            continue
        try:
            item = _folder_item(doc_id, path, data, ids)
        except Exception as e:  # a broken PDF makes pdfminer raise many unrelated types
            _bad(report, strict, path, None, f"cannot read {suffix} file: {e!r}")
            continue
        if item is None:
            _bad(report, strict, path, None, "no text in file")
            continue
        (item.doc if isinstance(item, PendingPage) else item).source = str(root.name)
        yield item


def _folder_id(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    for packed in (".gz", ".bz2"):
        if rel.lower().endswith(packed):
            rel = rel[: -len(packed)]
    return rel


def _folder_item(doc_id: str, path: Path, data: bytes, ids: set[str]) -> Doc | PendingPage | None:
    suffix = PurePosixPath(doc_id).suffix.lower()
    fallback_title = PurePosixPath(doc_id).stem.replace("_", " ").replace("-", " ")
    if suffix in (".html", ".htm"):
        if not data.strip():
            return None
        markup = prepare_markup(data, _relative_link_map(doc_id, ids))
        return PendingPage(Doc(id=doc_id, title=fallback_title), markup, str(path), title_from_page=True)
    if suffix == ".pdf":
        from pdfminer.high_level import extract_text

        text = normalise_text(extract_text(io.BytesIO(data)))
    else:
        text = data.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    first = text.splitlines()[0].strip()
    title = first[:200] if first and suffix == ".txt" else fallback_title
    if suffix == ".pdf" and first and len(first) <= 200:
        title = first
    return Doc(id=doc_id, title=title, text=text)


def _relative_link_map(doc_id: str, ids: set[str]):
    """Point relative links that name another file of the folder at that file's mini-web page."""
    base = PurePosixPath(doc_id).parent

    def rewrite(href: str) -> str | None:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path:
            return None
        target = PurePosixPath(unquote(parts.path.lstrip("/")) if parts.path.startswith("/") else base / unquote(parts.path))
        resolved: list[str] = []
        for part in target.parts:  # resolve '..' by hand: PurePath does not, and there is no disk here
            if part == "..":
                if resolved:
                    resolved.pop()
            elif part != ".":
                resolved.append(part)
        key = "/".join(resolved)
        return page_path(key) + (f"#{parts.fragment}" if parts.fragment else "") if key in ids else None

    return rewrite
