"""The tree walk behind ``browser_env.text.render``: an lxml document in, collapsed text and numbered links out.

``TreeRenderer.walk`` visits the tree once with an explicit stack (pages nest thousands of levels
deep), dropping invisible and non-text elements, laying out paragraphs, lines, table cells and
list markers, and numbering followable links as ``【id†text†domain】``. ``TextWriter`` collapses
whitespace and merges pending line breaks. ``clean_text`` and ``domain_of`` are the text
primitives both this walk and ``browser_env.text.render`` need; they stay importable from there.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html

from .link_marks import FORGERY_SAFE, format_link

# Page text must not be able to forge link markup, and invisible characters can hide or reorder
# text (prompt injection, homoglyph tricks), so both go before anything else sees the text.
# Control characters go too: ESC, BEL, BS and the C1 CSI would act on the terminal `webqa
# browse` prints to. Tab and newline stay; the ones that separate lines or pages become newlines.
_LINE_CONTROLS = (0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85)
_CLEAN = str.maketrans(
    FORGERY_SAFE
    | {c: None for c in range(0x200B, 0x2010)}
    | {c: None for c in range(0x202A, 0x202F)}
    | {c: None for c in range(0x2066, 0x206A)}
    | {0x2060: None, 0xFEFF: None, 0x00AD: None}
    | {c: None for c in (*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F, *range(0x80, 0xA0))}
    | {c: "\n" for c in _LINE_CONTROLS}
)
WS = re.compile(r"\s+")
BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+")

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


def clean_text(text: str) -> str:
    """Remove invisible and control characters and the link brackets from untrusted page text."""
    return text.translate(_CLEAN)


def domain_of(url: str) -> str:
    """The host of an http(s) URL, lower-case, without credentials or port ('' when there is none)."""
    try:
        parts = urlsplit(url.strip())
        return (parts.hostname or "").lower()
    except ValueError:
        return ""


class TextWriter:
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
        core = WS.sub(" ", s)
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
        return BLANK_LINES.sub("\n\n", text).strip()


class TreeRenderer:
    """One page's walk: its text goes to ``self.w``, its links to ``links`` and ``link_texts``."""

    def __init__(self, page_url: str, base_url: str) -> None:
        self.page_url = page_url
        self.base = base_url
        self.page_domain = domain_of(page_url)
        self.page_no_frag = page_url.split("#", 1)[0]
        self.page_scheme = urlsplit(page_url).scheme.lower() if page_url else ""
        self.w = TextWriter()
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
        alt = WS.sub(" ", clean_text(alt or "")).strip()
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
        text = WS.sub(" ", clean_text(raw)).strip()
        if not text:
            for img in el.iter("img"):
                alt = WS.sub(" ", clean_text(img.get("alt") or "")).strip()
                if alt:
                    text = f"[Image: {alt}]"
                    break
        if not text:
            return False
        i = len(self.links)
        self.links[i] = target
        self.link_texts[i] = text
        domain = domain_of(target)
        self.w.token(format_link(i, text, None if domain == self.page_domain else domain))
        return True
