"""The pure renderer: HTML, PDF, plain text and search results in, a text ``PageContents`` out.

No I/O and no Playwright here: a fetcher hands over a ``FetchedPage`` (HTML already passed through
the visibility pass in Chromium) and ``render_fetched`` turns it into the page the model reads.
Links become ``【id†text†domain】`` (the domain left out when it is the page's own), ids count from
0 in page order and ``PageContents.links`` maps them to absolute URLs. ``strip_links`` gives back
the plain text that Find and Quote match against.

This runs on every click, so the hot path is one recursive walk over an lxml tree
(``browser_env.text.render_walk``).
"""

from __future__ import annotations

import io
import re
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from .extract import extract_main
from .link_marks import format_link, strip_links  # noqa: F401 - strip_links stays importable from here
# The tree walk lives in render_walk; clean_text and domain_of stay importable from here.
from .render_walk import BLANK_LINES, WS, TreeRenderer, clean_text, domain_of
from ..types import FetchedPage, PageContents, SearchResult

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)

_parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)


def parse_html(html: str | bytes) -> lxml.html.HtmlElement | None:
    """Parse a document into an lxml tree rooted at ``<html>``; None when there is nothing to parse."""
    if isinstance(html, str):
        # lxml refuses str input that carries an encoding declaration.
        html = _XML_DECL.sub("", html, count=1)
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html, parser=_parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _first_text(root, path: str) -> str:
    for el in root.iterfind(path):
        text = WS.sub(" ", clean_text(el.text_content())).strip()
        if text:
            return text
    return ""


def render_tree(root: lxml.html.HtmlElement, url: str, *, title: str | None = None,
                main_content: bool = True) -> PageContents:
    """Render an already-parsed document (the tree may be modified)."""
    base = url
    for b in root.iterfind(".//base[@href]"):
        try:
            base = urljoin(url, b.get("href", "").strip())
        except ValueError:
            pass
        break
    page_title = _first_text(root, ".//title") or WS.sub(" ", clean_text(title or "")).strip()
    body = root.find("body")
    if body is None:
        body = root
    if not page_title:
        page_title = _first_text(body, ".//h1")
    node = extract_main(root, url) if main_content else body
    r = TreeRenderer(url, base)
    r.walk(node)
    text = r.w.result()
    if not text and node is not body:
        r = TreeRenderer(url, base)
        r.walk(body)
        text = r.w.result()
    return PageContents(url=url, title=page_title or url, text=text, links=r.links,
                        link_texts=r.link_texts, domain=domain_of(url), kind="page")


def render_html(html: str | bytes, url: str, *, title: str | None = None,
                main_content: bool = True) -> PageContents:
    """Render an HTML document (main content only when ``main_content``) as a text page with numbered links."""
    root = parse_html(html)
    if root is None:
        return PageContents(url=url, title=WS.sub(" ", clean_text(title or "")).strip() or url, text="",
                            domain=domain_of(url))
    page = render_tree(root, url, title=title, main_content=main_content)
    if main_content and not page.text:
        # extraction changed the tree and still found nothing: show the page as it came
        page = render_tree(parse_html(html), url, title=title, main_content=False)
    return page


def render_search_results(query: str, results: list[SearchResult]) -> PageContents:
    """A search results page: one ``【i†title†domain】`` line and its snippet per result."""
    query = WS.sub(" ", clean_text(query)).strip()
    blocks: list[str] = []
    links: dict[int, str] = {}
    link_texts: dict[int, str] = {}
    for i, res in enumerate(results):
        title = WS.sub(" ", clean_text(res.title)).strip() or res.url
        snippet = WS.sub(" ", clean_text(res.snippet)).strip()
        links[i] = res.url
        link_texts[i] = title
        head = format_link(i, title, domain_of(res.url))
        blocks.append(f"{head}\n{snippet}" if snippet else head)
    text = "\n\n".join(blocks) if blocks else f"No results found for: {query}"
    return PageContents(url="", title=f"Search results for: {query}", text=text, links=links,
                        link_texts=link_texts, domain="", kind="search")


def render_text(text: str, url: str, title: str = "") -> PageContents:
    """A plain-text document, shown as is (minus invisible and control characters); it has no links."""
    # Line ends and page breaks first: clean_text would make a CR LF two lines and a form feed one.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n\n")
    text = BLANK_LINES.sub("\n\n", clean_text(text)).strip()
    name = WS.sub(" ", clean_text(title)).strip() or urlsplit(url).path.rsplit("/", 1)[-1] or url
    return PageContents(url=url, title=name, text=text, domain=domain_of(url), kind="page")


def render_pdf(data: bytes, url: str) -> PageContents:
    """The text layer of a PDF (pdfminer.six); a PDF that cannot be read becomes an error page."""
    from pdfminer.high_level import extract_text  # imported here: only PDFs pay for it

    try:
        text = extract_text(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - untrusted bytes make pdfminer raise many unrelated types
        return error_page(url, f"Could not read the PDF at {url}: {type(e).__name__}: {e}")
    if not text.strip():
        return error_page(url, f"The PDF at {url} has no text layer (it may be scanned images).")
    return render_text(text, url)


def error_page(url: str, message: str) -> PageContents:
    return PageContents(url=url, title=f"Error loading {url}", text=clean_text(message),
                        domain=domain_of(url), kind="error", error=message)


def _charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def render_fetched(page: FetchedPage) -> PageContents:
    """Dispatch a fetched page on its status and content type."""
    if page.status >= 400:
        return error_page(page.url, f"HTTP {page.status}: the server refused or failed to serve {page.url}")
    ctype = (page.content_type or "").lower()
    mime = ctype.split(";", 1)[0].strip()
    if "html" in mime or (not mime and page.html is not None):
        if page.html is not None:
            return render_html(page.html, page.url, title=page.title or None)
        body = page.body or b""
        charset = _charset(ctype)
        if charset:
            try:
                return render_html(body.decode(charset, errors="replace"), page.url, title=page.title or None)
            except LookupError:
                pass
        return render_html(body, page.url, title=page.title or None)  # lxml sniffs <meta charset>
    if mime == "application/pdf":
        return render_pdf(page.body or b"", page.url)
    if mime.startswith("text/"):
        if page.body is None:
            return render_text(page.html or "", page.url, page.title)
        try:
            decoded = page.body.decode(_charset(ctype) or "utf-8", errors="replace")
        except LookupError:
            decoded = page.body.decode("utf-8", errors="replace")
        return render_text(decoded, page.url, page.title)
    return error_page(page.url, f"Content type {mime or 'unknown'!r} at {page.url} is not supported "
                                "(only HTML, PDF and plain text pages can be shown).")
