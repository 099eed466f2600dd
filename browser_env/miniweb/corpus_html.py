"""A corpus's own HTML pages, turned into index pages by the same visibility rules as web pages.

A reader (``html`` rows of a JSONL corpus, a folder's .html files) hands over a ``PendingPage``:
the whole document, ``<head>`` and its ``<style>`` rules included, with what would act rather
than show taken out (scripts, event handlers, frames, refreshes: page scripts never run on the
mini-web) and, for a folder, links between its files rewritten (``prepare_markup``).
``visible_docs`` loads those pages in Chromium in batches and runs the web's visibility pass on
them (``visibility.OfflineVisibility``), then keeps the visible body and its text
(``corpus.clean_html``). So the stored text, the search snippets made from it and the page the
mini-web serves hold only what a reader of the original page could see. Documents that are not
pending pass through untouched, in order; a page the pass fails on is a bad row, never indexed
as it came.

    docs = visible_docs(reader_items, strict=False, report=CorpusReport())  # starts Chromium if needed
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .corpus import CorpusReport, Doc, _bad, clean_html
from ..types import FetchError

if TYPE_CHECKING:
    from ..web.visibility import OfflineVisibility

BATCH = 16  # pages loaded per round trip to Chromium (OfflineVisibility loads several at once)
# Elements that run code, load other documents or navigate; none of them is text a reader sees.
_ACTIVE_TAGS = ("script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal")


@dataclass
class PendingPage:
    """An untrusted HTML document waiting for the visibility pass, and where it came from."""

    doc: Doc  # everything but html; text only when the corpus gave plain text of its own
    markup: str  # the whole document, from ``prepare_markup``
    file: str
    line: int | None = None
    title_from_page: bool = False  # a folder file: the page's <title> or <h1> beats the file name


def prepare_markup(markup: str | bytes, link_map: Callable[[str], str | None] | None = None) -> str:
    """The document as a string, ready for Chromium: nothing in it runs, loads or navigates.

    Bytes that are not UTF-8 are decoded by lxml, which follows the page's ``<meta charset>``.
    ``link_map(href)`` may rewrite each ``<a href>`` (None leaves it). Raises ValueError for
    markup lxml cannot parse.
    """
    import lxml.html
    from lxml import etree

    if isinstance(markup, bytes):
        try:
            markup = markup.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if isinstance(markup, str):
        markup = markup.lstrip("\ufeff")
        if markup.lstrip().startswith("<?xml"):  # lxml refuses str input that declares an encoding
            markup = markup.split("?>", 1)[-1]
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError) as e:
        raise ValueError(f"not parsable as HTML ({e})") from e
    for el in list(root.iter(*_ACTIVE_TAGS)):
        el.drop_tree()
    for el in list(root.iter("meta")):
        if (el.get("http-equiv") or "").lower() == "refresh":
            el.drop_tree()
    for el in root.iter(etree.Element):
        for name in [n for n in el.attrib if n.lower().startswith("on")]:
            del el.attrib[name]
        for name in ("href", "src", "action", "formaction"):
            if (el.get(name) or "").strip().lower().startswith("javascript:"):
                del el.attrib[name]
    if link_map is not None:
        for a in root.iter("a"):
            new = link_map(a.get("href") or "")
            if new is not None:
                a.set("href", new)
    # The doctype decides standards or quirks layout, and so what the visibility pass measures.
    doctype = root.getroottree().docinfo.doctype or None
    return lxml.html.tostring(root, encoding="unicode", doctype=doctype)


def visible_docs(items: Iterable[Doc | PendingPage], visibility: OfflineVisibility | None = None, *,
                 strict: bool, report: CorpusReport, batch: int = BATCH) -> Iterator[Doc]:
    """``items`` as documents, in order, every ``PendingPage`` made visible by ``visibility``.

    Without one, an ``OfflineVisibility`` is started at the first pending page (a corpus of plain
    text never starts Chromium) and closed when the documents end.
    """
    from ..web.visibility import OfflineVisibility

    owned: OfflineVisibility | None = None
    held: list[Doc | PendingPage] = []

    def flush() -> Iterator[Doc]:
        nonlocal owned
        pages = [i for i in held if isinstance(i, PendingPage)]
        vis = visibility
        if pages and vis is None:
            owned = owned or OfflineVisibility()
            vis = owned
        results = iter(vis.visible([p.markup for p in pages]) if pages else [])
        out = list(held)
        held.clear()
        for item in out:
            if isinstance(item, PendingPage):
                doc = _finish(item, next(results), strict, report)
                if doc is not None:
                    yield doc
            else:
                yield item

    try:
        pending = 0
        for item in items:
            held.append(item)
            if isinstance(item, PendingPage):
                pending += 1
                if pending >= batch:
                    pending = 0
                    yield from flush()
        yield from flush()
    finally:
        if owned is not None:
            owned.close()


def _finish(page: PendingPage, visible: str | FetchError, strict: bool, report: CorpusReport) -> Doc | None:
    if isinstance(visible, FetchError):
        return _bad(report, strict, page.file, page.line, str(visible))
    body, text, title = clean_html(visible, visible=True)
    doc = page.doc
    if not text and not doc.text:
        return _bad(report, strict, page.file, page.line, "no visible text on the page")
    doc.html = body
    doc.text = doc.text or text
    if page.title_from_page and title:
        doc.title = title
    return doc
