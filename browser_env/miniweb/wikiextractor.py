"""The WikiExtractor reader: ``wiki_NN`` files of ``<doc id= url= title=>`` articles as ``Doc`` objects.

WikiExtractor keeps an article's links as ``<a href="Title">text</a>`` inside plain-text lines.
Reading takes two passes over the files: the first collects every closed article's title -> id,
so the second, streaming, pass can turn links to articles of the dump into ``/page/<id>`` hrefs
(links to anything else become plain text). Bad articles go to the ``CorpusReport`` as in the
other readers. ``browser_env.miniweb.corpus.iter_corpus`` detects the kind and calls ``iter_wikiextractor``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

# _bad and _opener are corpus's shared row-reporting and (de)compression helpers, used by every reader.
from .corpus import _WIKI_FILE, CorpusReport, Doc, _bad, _opener, page_path, title_key

_DOC_OPEN = re.compile(r'(\w+)="([^"]*)"')
_ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


def _wiki_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and _WIKI_FILE.match(p.name))


def _scan_wiki_titles(files: list[Path]) -> dict[str, str]:
    """First pass: every article's title -> id, so that links can be resolved while streaming."""
    titles: dict[str, str] = {}
    for path in files:
        with _opener(path)(path, "rt", encoding="utf-8", errors="replace") as f:
            attrs: dict[str, str] = {}
            for line in f:
                if line.startswith("<doc "):
                    attrs = {k: html.unescape(v) for k, v in _DOC_OPEN.findall(line)}
                elif line.startswith("</doc>"):  # only articles that are closed will be yielded
                    if attrs.get("id") and attrs.get("title"):
                        titles.setdefault(title_key(attrs["title"]), attrs["id"])
                    attrs = {}
    return titles


def iter_wikiextractor(root: Path, strict: bool, report: CorpusReport) -> Iterator[Doc]:
    files = _wiki_files(root)
    titles = _scan_wiki_titles(files)
    for path in files:
        attrs: dict[str, str] | None = None
        start, body = 0, []
        with _opener(path)(path, "rt", encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                if line.startswith("<doc "):
                    if attrs is not None:
                        _bad(report, strict, path, start, "<doc> without </doc>")
                    attrs = {k: html.unescape(v) for k, v in _DOC_OPEN.findall(line)}
                    start, body = lineno, []
                elif line.startswith("</doc>"):
                    if attrs is None:
                        _bad(report, strict, path, lineno, "</doc> without <doc>")
                        continue
                    doc = _wiki_doc(attrs, body, titles, root.name)
                    if isinstance(doc, str):
                        _bad(report, strict, path, start, doc)
                    else:
                        yield doc
                    attrs = None
                elif attrs is not None:
                    body.append(line.rstrip("\n"))
        if attrs is not None:
            _bad(report, strict, path, start, "<doc> without </doc> at end of file")


def _wiki_doc(attrs: dict[str, str], body: list[str], titles: dict[str, str], source: str) -> Doc | str:
    doc_id, title = attrs.get("id", "").strip(), attrs.get("title", "").strip()
    if not doc_id or not title:
        return "<doc> without id or title"
    lines = [ln.strip() for ln in body]
    if lines and lines[0] == title:
        lines = lines[1:]  # WikiExtractor repeats the title as the first body line
    html_parts, text_parts = [], []
    for line in lines:
        if not line:
            continue
        plain = _ANCHOR.sub(lambda m: m.group(2), line)
        text_parts.append(plain)
        if _looks_like_heading(line, plain):
            html_parts.append(f"<h2>{html.escape(plain.rstrip('.'), quote=False)}</h2>")
        else:
            html_parts.append(f"<p>{_wiki_links_to_html(line, titles)}</p>")
    if not text_parts:
        return f"article {title!r} (id {doc_id}) has no text"
    url = attrs.get("url") or None
    licence = "CC BY-SA 3.0" if url and "wikipedia.org" in url else ""
    return Doc(id=doc_id, title=title, text="\n\n".join(text_parts), html="\n".join(html_parts),
               url=url, source=source, license=licence)  # fmt: skip


def _looks_like_heading(line: str, plain: str) -> bool:
    # Section titles survive in some dumps as short lines ("Early life."); a short sentence
    # occasionally matches too, which only costs it a bigger font.
    words = plain.split()
    return (
        line == plain and 0 < len(words) <= 5 and plain[0].isupper()
        and not any(c in plain for c in ",;:?!\"()") and plain.count(".") <= 1
        and (plain.endswith(".") or plain[-1].isalnum())
    )  # fmt: skip


def _wiki_links_to_html(line: str, titles: dict[str, str]) -> str:
    out, pos = [], 0
    for m in _ANCHOR.finditer(line):
        out.append(html.escape(line[pos : m.start()], quote=False))
        target = unquote(m.group(1)).split("#", 1)[0]
        anchor = html.escape(m.group(2), quote=False)
        target_id = titles.get(title_key(target)) if target else None
        out.append(f'<a href="{page_path(target_id)}">{anchor}</a>' if target_id else anchor)
        pos = m.end()
    out.append(html.escape(line[pos:], quote=False))
    return "".join(out)

