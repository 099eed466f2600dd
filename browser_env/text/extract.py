"""Main-content extraction: an lxml tree in, the element holding the page's main text out.

webqa's own extractor, written for speed because it runs on every click. It keeps the ``<a href>``,
``<img>``, ``<sup>`` and ``<sub>`` elements inside the main text so the renderer can number links.

The passes over the tree:

1. measure text and link text bottom-up, and find teaser cards: sibling blocks that each open
   with a headline link and hold a short blurb ("recommended", "more stories", archive lists);
2. drop boilerplate: non-content tags, hidden elements, ARIA landmarks and class/id names that
   mean navigation, sharing, comments, cookie banners, ads, galleries...;
3. count the prose under every element (paragraph-like blocks with few links, loose text between
   ``<br>``s, not teaser blurbs), take the element with the most prose net of the other text it
   holds, and prefer an element inside it named like an article body;
4. inside the winner, drop link lists and short link-heavy blocks.

When no block reads like prose, ``extract_main`` returns ``<body>`` (never an empty page).
``bench/page_text_fidelity.py`` measures this against trafilatura on real pages.
"""

from __future__ import annotations

import re
from functools import lru_cache

import lxml.html

# Tags that never carry readable main text.
_JUNK_TAGS = frozenset(
    "script style template noscript iframe object embed svg canvas button select textarea "
    "input label nav aside footer header menu dialog".split()
)
_SILENT = frozenset(("script", "style", "template", "noscript", "textarea"))
_JUNK_ROLES = frozenset(
    "navigation banner contentinfo complementary search dialog alertdialog menu menubar toolbar".split()
)
# Class/id names that mean boilerplate; matched as substrings, except the short stems that need
# to stand alone ("ad" in "header", "nav" in "canvas").
_NEG = re.compile(
    r"comment|disqus|footer|sidebar|side-bar|share|sharing|social|cookie|consent|gdpr|banner|"
    r"breadcrumb|related|recommend|promo|advert|sponsor|newsletter|subscri|signup|sign-up|popup|"
    r"modal|overlay|widget|toolbar|masthead|skip-link|pagination|pager|outbrain|taboola|"
    r"trending|most-popular|mostpopular|popular-|read-more|readmore|more-stories|navbar|navigation|"
    r"rightrail|right-rail|siderail|side-rail|recirc|teaser|upnext|up-next|zergnet|you-may|you-might|"
    r"more-from|morefrom|also-on|partner|donate|gallery|slideshow|carousel|"
    r"menu|byline|author-bio|dateline|caption-credit|print-only|screen-reader|sr-only|visually-hidden|"
    r"(?:^|[\s_-])(?:ad|ads|nav|tags?|meta|header|hidden|hide|login|search|rss|follow)(?:$|[\s_-])",
    re.I,
)
_POS = re.compile(r"article|content|entry|main|post|story|body|text|blog|column|page", re.I)
# Class/id/itemprop names sites give the element that holds the article text itself.
_BODY_NAME = re.compile(
    r"articlebody|article[-_]?(?:body|content|text|main)|(?:story|post|entry|blog|news|body|main|page)"
    r"[-_]?(?:body|content|text|entry)|\brich-?text\b|\bcontent\b",
    re.I,
)
_STRONG_NEG = re.compile(r"comment|disqus|footer|cookie|consent|related|share|social|newsletter", re.I)

_BLOCK_TAGS = frozenset(
    "p div section article main pre blockquote table tbody thead tr td th ul ol li dl dt dd "
    "h1 h2 h3 h4 h5 h6 figure figcaption hr address details center".split()
)
# Blocks whose own text is scored as a paragraph.
_UNIT_TAGS = frozenset("p pre blockquote td dd li div section article span font center".split())
_CARD_TAGS = frozenset("li div article section dd tr td".split())
_PROTECTED = frozenset(("html", "body", "article", "main"))
# Inline styles that hide an element: copies of the article kept for search engines, MathML
# behind its image fallback, closed menus. (In the browser the visibility pass already removed
# these; offline HTML still carries them.)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

MIN_UNIT_CHARS = 25
# A teaser card's title link is at least this long (a headline, not a "^" or a tag) ...
MIN_HEADLINE_CHARS = 20
# ... and the card holds at most this much text (a blurb, not a whole post).
MAX_CARD_CHARS = 1000
# Below this much prose the page is not an article; render the whole body instead.
MIN_ARTICLE_CHARS = 140
JUNK_COST = 1.0
NAMED_SHARE = 0.5
NESTED_SHARE = 0.85


def _class_id(el) -> str:
    c = el.get("class")
    i = el.get("id")
    if c and i:
        return f"{c} {i}"
    return c or i or ""


# Class names repeat across a page and across pages, and the name regexes are the extractor's
# hottest code, so their verdicts are memoised per name.
@lru_cache(maxsize=8192)
def _name_weight(name: str) -> int:
    return (-25 if _NEG.search(name) else 0) + (25 if _POS.search(name) else 0)


@lru_cache(maxsize=8192)
def _name_is_boilerplate(name: str) -> bool:
    return bool(_NEG.search(name)) and (bool(_STRONG_NEG.search(name)) or not _POS.search(name))


@lru_cache(maxsize=8192)
def _name_is_body(name: str) -> bool:
    # "comment-text", "sidebar-content": named like a body, but the body of something else
    return bool(_BODY_NAME.search(name)) and not _STRONG_NEG.search(name)


def _weight(el) -> int:
    name = _class_id(el)
    return _name_weight(name) if name else 0


def _is_hidden(el) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    return bool(style) and _HIDDEN_STYLE.search(style) is not None


def _drop_boilerplate(body, text_len) -> None:
    # A wrapper that holds most of the page is never boilerplate, whatever its class says
    # ("page-wrapper has-sidebar", "off-canvas-pusher").
    cap = max(text_len.get(body, 0) * 0.3, 500)
    doomed = []
    for el in body.iter():
        tag = el.tag
        if not isinstance(tag, str):
            doomed.append(el)
            continue
        if tag in _JUNK_TAGS:
            doomed.append(el)
            continue
        if tag in _PROTECTED:
            continue
        role = el.get("role")
        if role and role.lower() in _JUNK_ROLES:
            doomed.append(el)
            continue
        if _is_hidden(el):
            doomed.append(el)
            continue
        name = _class_id(el)
        if name and _name_is_boilerplate(name):
            if text_len.get(el, 0) < cap:
                doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def _measure(body, lead: dict | None = None) -> tuple[dict, dict]:
    """Text length and link-text length of every element, in one bottom-up pass.

    With ``lead``, also fills it with the text length of the link each element's text starts
    with (absent when its first text is not inside a link): the shape of a teaser card.
    """
    text_len: dict = {}
    link_len: dict = {}
    for el in reversed(list(body.iter())):
        if el.tag in _SILENT:
            text_len[el] = link_len[el] = 0
            continue
        n = len(el.text.strip()) if el.text else 0
        links = 0
        first = None  # the child holding the element's first text; False when that is loose text
        if n:
            first = False
        for child in el:
            c = text_len.get(child, 0)
            if first is None and c:
                first = child
            n += c
            links += link_len.get(child, 0)
            if child.tail:
                t = len(child.tail.strip())
                if t and (first is None or first is child):
                    # loose text first, or running on after the link: a sentence, not a title
                    first = False
                n += t
        text_len[el] = n
        link_len[el] = n if el.tag == "a" else links
        if lead is not None:
            if el.tag == "a":
                if n:
                    lead[el] = n
            elif first is not None and first is not False and first in lead:
                lead[el] = lead[first]
    return text_len, link_len


def _density(el, text_len, link_len) -> float:
    n = text_len.get(el, 0)
    return link_len.get(el, 0) / n if n else 0.0


def _has_block_child(el) -> bool:
    for child in el:
        if child.tag in _BLOCK_TAGS:
            return True
    return False


def _teasers(body, text_len, link_len, lead) -> set:
    """Elements inside teaser cards: repeated siblings that open with a headline link.

    "Recommended" rails, archive listings and "more stories" blocks are cards of a linked
    title followed by a short blurb; the blurbs read like prose but belong to other pages.
    A card needs a sibling card, so a lone linked headline over a short article is kept.
    """
    cards: dict = {}
    for el, n in lead.items():
        if n < MIN_HEADLINE_CHARS or el.tag not in _CARD_TAGS:
            continue
        t = text_len.get(el, 0)
        if t > MAX_CARD_CHARS or link_len.get(el, 0) >= t:
            continue
        parent = el.getparent()
        if parent is not None:
            cards.setdefault(parent, []).append(el)
    out: set = set()
    for group in cards.values():
        if len(group) >= 2:
            for card in group:
                out.update(card.iter())
    return out


def _loose_text(el, text_len, link_len) -> tuple[int, int]:
    """Text and link text an element holds outside its block and unit children.

    Pages that separate paragraphs with ``<br>`` (or with empty ``<div>``s) keep their prose as
    loose text in a container that also has block children.
    """
    n = len(el.text.strip()) if el.text else 0
    links = 0
    for child in el:
        tag = child.tag
        if tag not in _BLOCK_TAGS and tag not in _UNIT_TAGS:
            n += text_len.get(child, 0)
            links += link_len.get(child, 0)
        if child.tail:
            n += len(child.tail.strip())
    return n, links


def _prose(body, text_len, link_len, teasers: set) -> dict:
    """Characters of prose (paragraph-like blocks with few links) under each element."""
    prose: dict = {}
    # A paragraph inside a link or a teaser card is a pointer to another page, not prose.
    skip = {d for a in body.iter("a") for d in a.iter()}
    skip |= teasers
    for el in body.iter(*_UNIT_TAGS):
        if el in skip:
            continue
        n = text_len.get(el, 0)
        if n < MIN_UNIT_CHARS:
            continue
        if el.tag != "p" and _has_block_child(el):
            n, links = _loose_text(el, text_len, link_len)
            if n < MIN_UNIT_CHARS or links > 0.5 * n:
                continue
        elif _density(el, text_len, link_len) > 0.5:
            continue
        else:
            # counted whole: a <span> or <font> inside it must not count its text again
            skip.update(el.iterdescendants(*_UNIT_TAGS))
        node = el
        while node is not None:
            prose[node] = prose.get(node, 0) + n
            if node is body:
                break
            node = node.getparent()
    return prose


def _best(prose, text_len, link_len, junk_cost: float):
    """The element with the most prose net of the other text it drags in."""
    best, best_score = None, 0.0
    for el, p in prose.items():
        junk = text_len.get(el, 0) - p
        score = p - junk_cost * junk
        w = _weight(el)
        if w:
            score *= 1.0 + w / 100.0
        if score > best_score:
            best, best_score = el, score
    return best


def _named_body(top, prose):
    """The element inside ``top`` named like an article body that holds most of its prose, if any.

    Named elements nest ("story-body" around "read-more-content"), so a deeper one wins only when
    it keeps nearly all the prose of the one around it. An article split by figures or embeds into
    several blocks of one class ("component-content" ... "component-content") gives the blocks'
    common ancestor.
    """
    floor = prose[top] * NAMED_SHARE
    found = found_name = None
    by_name: dict = {}
    for el in top.iter():
        p = prose.get(el, 0)
        if not p:
            continue
        name = _class_id(el)
        if el.get("itemprop") == "articleBody":
            name = "itemprop=articleBody"
        elif not name or not _name_is_body(name):
            continue
        by_name.setdefault(name, []).append(el)
        if p < floor:
            continue
        if found is None or (p >= NESTED_SHARE * prose[found] if _inside(el, found) else p > prose[found]):
            found, found_name = el, name
    if found is None:
        return None
    lca = found
    for el in by_name[found_name]:
        if prose[el] >= MIN_UNIT_CHARS and not _inside(el, lca) and not _inside(lca, el):
            while not _inside(el, lca):
                lca = lca.getparent()
    return lca


def _inside(el, ancestor) -> bool:
    while el is not None:
        if el is ancestor:
            return True
        el = el.getparent()
    return False


def _clean_inside(node, text_len, link_len) -> None:
    doomed = []
    for el in node.iter("div", "section", "ul", "ol", "table", "dl", "p"):
        if el is node:
            continue
        n = text_len.get(el, 0)
        if n == 0:
            if el.find(".//img") is None and el.find(".//pre") is None:
                doomed.append(el)
            continue
        ld = _density(el, text_len, link_len)
        if ld > 0.5 and (el.tag in ("ul", "ol", "dl") or n < 300):
            doomed.append(el)
        elif ld > 0.25 and n < 80 and el.tag != "p" and _weight(el) < 0:
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def extract_main(root: lxml.html.HtmlElement, url: str | None = None, *, junk_cost: float = JUNK_COST) -> lxml.html.HtmlElement:
    """The element holding the page's main content (``<body>`` when no article is found).

    ``root`` is modified: boilerplate is removed and the winning blocks may be moved into a
    new ``<div>``. ``url`` is accepted for extractors that use it; this one does not.
    """
    body = root.find("body")
    if body is None:
        body = root
    # Teaser cards are found before boilerplate goes: their title often sits in a <header>.
    lead: dict = {}
    text_len, link_len = _measure(body, lead)
    teasers = _teasers(body, text_len, link_len, lead)
    _drop_boilerplate(body, text_len)
    text_len, link_len = _measure(body)
    prose = _prose(body, text_len, link_len, teasers)
    top = _best(prose, text_len, link_len, junk_cost)
    if top is not None:
        named = _named_body(top, prose)
        if named is not None:
            top = named
    if top is None or prose.get(top, 0) < MIN_ARTICLE_CHARS:
        return body
    _clean_inside(top, text_len, link_len)
    return top
