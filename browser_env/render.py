"""The pure renderer: HTML, PDF, plain text and search results in, a text ``PageContents`` out.

No I/O and no Playwright here: a fetcher hands over a ``FetchedPage`` (HTML already passed through
the visibility pass in Chromium) and ``render_fetched`` turns it into the page the model reads.
Links become ``【id†text†domain】`` (the domain left out when it is the page's own), ids count from
0 in page order and ``PageContents.links`` maps them to absolute URLs. ``strip_links`` gives back
the plain text that Find and Quote match against.

This runs on every click, so the hot path is one recursive walk over an lxml tree.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from .extract import extract_main
from .types import FetchedPage, PageContents, SearchResult

# Page text must not be able to forge link markup, and invisible characters can hide or reorder
# text (prompt injection, homoglyph tricks), so both go before anything else sees the text.
_CLEAN = str.maketrans(
    {"【": "[", "】": "]", "†": "+"}
    | {c: None for c in range(0x200B, 0x2010)}
    | {c: None for c in range(0x202A, 0x202F)}
    | {c: None for c in range(0x2066, 0x206A)}
    | {0x2060: None, 0xFEFF: None, 0x00AD: None}
)
_WS = re.compile(r"\s+")
_LINK = re.compile(r"【\d+†([^†【】]*)(?:†[^†【】]*)?】")
_BLANKS = re.compile(r"[ \t]*\n(?:[ \t]*\n)+")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)

_DROP = frozenset(
    "script style template noscript head title meta link iframe object embed svg canvas "
    "select textarea datalist audio video source track map area".split()
)
# Blocks that read as their own paragraph (a blank line around them) ...
_PARA = frozenset(
    "p h1 h2 h3 h4 h5 h6 pre blockquote table ul ol dl figure hr address details "
    "fieldset form section article aside header footer nav main".split()
)
# ... and blocks that only start a new line.
_LINE = frozenset("div li tr dt dd caption figcaption summary center legend body html".split())
_CELL = frozenset(("td", "th"))
_BLOCK_TAGS = tuple(_PARA | _LINE | _CELL)
_NUMBERED_SCHEMES = frozenset(("http", "https"))

_parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)


def clean_text(text: str) -> str:
    """Remove invisible characters and the link brackets from untrusted page text."""
    return text.translate(_CLEAN)


def domain_of(url: str) -> str:
    """The host of an http(s) URL, lower-case, without credentials or port ('' when there is none)."""
    try:
        parts = urlsplit(url.strip())
        return (parts.hostname or "").lower()
    except ValueError:
        return ""


def strip_links(text: str) -> str:
    """The page text with every ``【id†text†domain】`` reduced to its ``text``."""
    return _LINK.sub(r"\1", text)


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


class _Writer:
    """Accumulates text with collapsed whitespace and pending line breaks (1 = newline, 2 = blank line)."""

    __slots__ = ("parts", "brk", "space", "started", "glue")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.brk = 0
        self.space = False
        self.started = False
        self.glue = False  # the next text attaches without a space (after '^', '_', a list marker)

    def block(self, level: int) -> None:
        if level > self.brk:
            self.brk = level

    def _lead(self) -> None:
        if self.started:
            if self.brk:
                self.parts.append("\n\n" if self.brk == 2 else "\n")
            elif self.space and not self.glue:
                self.parts.append(" ")
        self.brk = 0
        self.space = False
        self.glue = False
        self.started = True

    def text(self, s: str) -> None:
        if not s:
            return
        s = s.translate(_CLEAN)
        if not s:
            return
        core = _WS.sub(" ", s)
        if core[0] == " ":
            self.space = True
        core = core.strip()
        if not core:
            return
        self._lead()
        self.parts.append(core)
        if s[-1].isspace():
            self.space = True

    def raw(self, s: str) -> None:
        """Text that keeps its whitespace (``<pre>``)."""
        s = s.translate(_CLEAN)
        if not s:
            return
        if not self.started and not s.strip():
            return
        self._lead()
        self.parts.append(s)

    def token(self, s: str, *, glue_after: bool = False) -> None:
        self._lead()
        self.parts.append(s)
        self.glue = glue_after

    def result(self) -> str:
        text = "".join(self.parts)
        return _BLANKS.sub("\n\n", text).strip()


class _Renderer:
    def __init__(self, page_url: str, base_url: str) -> None:
        self.page_url = page_url
        self.base = base_url
        self.page_domain = domain_of(page_url)
        self.page_no_frag = page_url.split("#", 1)[0]
        self.page_scheme = urlsplit(page_url).scheme.lower() if page_url else ""
        self.w = _Writer()
        self.links: dict[int, str] = {}
        self.link_texts: dict[int, str] = {}
        self.pre = 0
        self.list_stack: list[list[int] | None] = []  # counter for <ol>, None for <ul>

    def walk(self, root: lxml.html.HtmlElement) -> None:
        # An explicit stack, not recursion: pages nest thousands of levels deep.
        stack: list[tuple[lxml.html.HtmlElement, bool]] = [(root, False)]
        while stack:
            el, closing = stack.pop()
            if closing:
                self._close(el)
            elif self._open(el):
                stack.append((el, True))
                stack.extend((child, False) for child in reversed(el))

    def _open(self, el) -> bool:
        """Handle an element's start; False when it is fully handled (children and tail included)."""
        tag = el.tag
        if not isinstance(tag, str):  # comments / processing instructions that survived parsing
            self._tail(el)
            return False
        tag = tag.lower()
        w = self.w
        if tag in _DROP:
            self._tail(el)
            return False
        if tag == "a":
            if self._link(el):
                self._tail(el)
                return False
        elif tag == "img":
            self._image(el)
            self._tail(el)
            return False
        elif tag == "br":
            w.block(1)
            self._tail(el)
            return False
        elif tag == "sup" or tag == "sub":
            if el.text or len(el):
                w.token("^" if tag == "sup" else "_", glue_after=True)
        level = self._level(tag)
        if level:
            w.block(level)
        if tag in _CELL:
            if w.started and not w.brk:
                w.token(" |")
                w.space = True
        elif tag == "li":
            self._bullet()
        elif tag == "ul" or tag == "ol":
            start = el.get("start", "1")
            self.list_stack.append([int(start) if start.lstrip("-").isdigit() else 1] if tag == "ol" else None)
        elif tag == "pre":
            self.pre += 1
        if el.text:
            w.raw(el.text) if self.pre else w.text(el.text)
        return True

    def _close(self, el) -> None:
        tag = el.tag.lower()
        if tag == "ul" or tag == "ol":
            self.list_stack.pop()
        elif tag == "pre":
            self.pre -= 1
        level = self._level(tag)
        if level:
            self.w.block(level)
        self._tail(el)

    def _level(self, tag: str) -> int:
        if tag in _PARA:
            # A nested list continues its item rather than starting a paragraph. (Called before
            # the push on open and after the pop on close, so a non-empty stack means nested.)
            return 1 if (tag == "ul" or tag == "ol") and self.list_stack else 2
        return 1 if tag in _LINE else 0

    def _tail(self, el) -> None:
        if el.tail:
            self.w.raw(el.tail) if self.pre else self.w.text(el.tail)

    def _bullet(self) -> None:
        w = self.w
        w.block(1)
        counter = self.list_stack[-1] if self.list_stack else None
        indent = "  " * max(0, len(self.list_stack) - 1)
        if counter is None:
            w.token(f"{indent}- ", glue_after=True)
        else:
            w.token(f"{indent}{counter[0]}. ", glue_after=True)
            counter[0] += 1

    def _image(self, el) -> None:
        alt = el.get("alt")
        if alt is not None and not alt.strip():
            return  # alt="" marks a decorative image
        if el.get("width") in ("0", "1") or el.get("height") in ("0", "1"):
            return  # tracking pixels
        alt = _WS.sub(" ", clean_text(alt or "")).strip()
        self.w.text(f"[Image: {alt}]" if alt else "[Image]")

    def _link(self, el) -> bool:
        """Render a numbered link; False when it is not followable (its children render as plain text)."""
        href = (el.get("href") or "").strip()
        if not href or href.startswith("#"):
            return False
        try:
            target = urljoin(self.base, href)
            scheme = urlsplit(target).scheme.lower()
        except ValueError:
            return False
        if scheme not in _NUMBERED_SCHEMES and scheme != self.page_scheme:
            return False  # javascript:, mailto:, tel:, data: ...
        if "#" in target and target.split("#", 1)[0] == self.page_no_frag:
            return False  # a jump inside this page
        if next(el.iterdescendants(*_BLOCK_TAGS), None) is None:
            raw = el.text_content()
        else:  # a card-like link: its blocks must not run into each other
            raw = " ".join(el.itertext())
        text = _WS.sub(" ", clean_text(raw)).strip()
        if not text:
            for img in el.iter("img"):
                alt = _WS.sub(" ", clean_text(img.get("alt") or "")).strip()
                if alt:
                    text = f"[Image: {alt}]"
                    break
        if not text:
            return False
        i = len(self.links)
        self.links[i] = target
        self.link_texts[i] = text
        domain = domain_of(target)
        self.w.token(f"【{i}†{text}】" if domain == self.page_domain else f"【{i}†{text}†{domain}】")
        return True


def _first_text(root, path: str) -> str:
    for el in root.iterfind(path):
        text = _WS.sub(" ", clean_text(el.text_content())).strip()
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
    page_title = _first_text(root, ".//title") or (title or "").strip()
    body = root.find("body")
    if body is None:
        body = root
    if not page_title:
        page_title = _first_text(body, ".//h1")
    node = extract_main(root, url) if main_content else body
    r = _Renderer(url, base)
    r.walk(node)
    text = r.w.result()
    if not text and node is not body:
        r = _Renderer(url, base)
        r.walk(body)
        text = r.w.result()
    return PageContents(url=url, title=page_title or url, text=text, links=r.links,
                        link_texts=r.link_texts, domain=domain_of(url), kind="page")


def render_html(html: str | bytes, url: str, *, title: str | None = None,
                main_content: bool = True) -> PageContents:
    """Render an HTML document (main content only when ``main_content``) as a text page with numbered links."""
    root = parse_html(html)
    if root is None:
        return PageContents(url=url, title=(title or "").strip() or url, text="", domain=domain_of(url))
    page = render_tree(root, url, title=title, main_content=main_content)
    if main_content and not page.text:
        # extraction changed the tree and still found nothing: show the page as it came
        page = render_tree(parse_html(html), url, title=title, main_content=False)
    return page


def render_search_results(query: str, results: list[SearchResult]) -> PageContents:
    """A search results page: one ``【i†title†domain】`` line and its snippet per result."""
    query = _WS.sub(" ", clean_text(query)).strip()
    blocks: list[str] = []
    links: dict[int, str] = {}
    link_texts: dict[int, str] = {}
    for i, res in enumerate(results):
        title = _WS.sub(" ", clean_text(res.title)).strip() or res.url
        snippet = _WS.sub(" ", clean_text(res.snippet)).strip()
        links[i] = res.url
        link_texts[i] = title
        head = f"【{i}†{title}†{domain_of(res.url)}】"
        blocks.append(f"{head}\n{snippet}" if snippet else head)
    text = "\n\n".join(blocks) if blocks else f"No results found for: {query}"
    return PageContents(url="", title=f"Search results for: {query}", text=text, links=links,
                        link_texts=link_texts, domain="", kind="search")


def render_text(text: str, url: str, title: str = "") -> PageContents:
    """A plain-text document, shown as is (minus invisible characters); it has no links."""
    text = clean_text(text).replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n\n")
    text = _BLANKS.sub("\n\n", text).strip()
    name = title.strip() or urlsplit(url).path.rsplit("/", 1)[-1] or url
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
