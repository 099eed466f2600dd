"""Direct navigation: a "search" whose query is a URL answers with that URL as its only result.

Put it first in a failover list so that ``Search https://en.wikipedia.org/wiki/Rainbow`` (or
``Search en.wikipedia.org/wiki/Rainbow``) goes straight to the page, while ordinary queries
(``[]`` here) fall through to the real engines.

A bare host counts as a URL when it has a path, starts with ``www.``, or ends in a common
top-level domain. That keeps ``example.com/a`` and ``nasa.gov`` as URLs but leaves queries like
``node.js`` or ``config.py`` to the search engines, where they belong.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..types import SearchResult

_SCHEME_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_BARE_URL = re.compile(
    rf"^(?P<host>(?:{_LABEL}\.)+(?P<tld>[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}}))(?P<port>:\d{{1,5}})?(?P<rest>[/?#]\S*)?$",
    re.IGNORECASE,
)
# Enough to recognise what people type; anything else still works with a path or a scheme.
COMMON_TLDS = frozenset(
    "com org net edu gov mil int io ai dev app info biz co me tv us uk ca au de fr es it nl se no fi dk "
    "ch at be pl ru jp cn in br mx nz ie za kr tw hk sg eu news blog wiki".split()
)


def as_url(query: str) -> str | None:
    """The URL ``query`` names, with ``https://`` added to a bare host, or None if it is not a URL."""
    text = query.strip().strip("<>")
    if _SCHEME_URL.match(text):
        try:
            return text if urlsplit(text).hostname else None
        except ValueError:  # e.g. an unbalanced IPv6 bracket
            return None
    m = _BARE_URL.match(text)
    if m is None:
        return None
    if m["rest"] or m["port"] or text.lower().startswith("www.") or m["tld"].lower() in COMMON_TLDS:
        return f"https://{text}"
    return None


class DirectNavigation:
    name = "direct"

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        url = as_url(query)
        if url is None or k < 1:
            return []
        return [SearchResult(title=url, url=url, snippet="", backend=self.name)]
