"""The one definition of a link on a rendered page: ``【id†text†domain】``.

The renderer writes links with ``format_link`` (the domain left out when it is the page's own);
the browser wraps lines around them, unlinks blocked ones and matches Find and Quote against
``strip_links``; the scripted demonstrator reads them back with ``LINK``. Page text can never
forge one: ``FORGERY_SAFE`` is the translation the renderer applies to all text first, so the
three marker characters only ever appear in links. Pure text: no torch, no playwright.

    >>> format_link(3, "Rayleigh scattering", "en.wikipedia.org")
    '【3†Rayleigh scattering†en.wikipedia.org】'
    >>> strip_links("See 【3†Rayleigh scattering】 for more.")
    'See Rayleigh scattering for more.'
"""

from __future__ import annotations

import re

# Groups: the id, the link text, the domain (None when left out).
LINK = re.compile(r"【(\d+)†([^†【】]*)(?:†([^†【】]*))?】")
FORGERY_SAFE = {"【": "[", "】": "]", "†": "+"}


def format_link(link_id: int, text: str, domain: str | None = None) -> str:
    """A link as the model reads it; ``domain`` None for a link within the page's own domain."""
    return f"【{link_id}†{text}】" if domain is None else f"【{link_id}†{text}†{domain}】"


def strip_links(text: str) -> str:
    """The page text with every ``【id†text†domain】`` reduced to its ``text``."""
    return LINK.sub(r"\2", text)
