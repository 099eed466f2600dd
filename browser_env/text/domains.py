"""Domain block and allow lists: which URLs the agent may see, by host.

WebGPT removed results and links to reddit.com and quora.com when evaluating on ELI5, since
the questions (and often their answers) come from there; ``DomainFilter.eli5()`` is that rule.

A listed domain covers its subdomains (blocking ``reddit.com`` blocks ``old.reddit.com``).
Hosts are compared after lower-casing, dropping a trailing dot, the port and any userinfo,
and converting international names to punycode, so ``Bücher.example`` and
``xn--bcher-kva.example`` are the same host. Only http(s) URLs are ever admitted: the filter
answers "may the browser go here?", and ``mailto:`` or ``javascript:`` links never qualify.

    f = DomainFilter.eli5()
    f.allows("https://old.reddit.com/r/explainlikeimfive")  # False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..types import SearchResult

ELI5_BLOCKLIST = ("reddit.com", "quora.com")

_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# `mailto:x`, `javascript:x`: a scheme without `//`. A host with a port (`example.com:8080`)
# looks the same to urlsplit, so a digit after the colon means "port", not "scheme".
_OPAQUE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


def normalize_host(host: str) -> str:
    """Lower-case ASCII (punycode) form of a host name, without trailing dots; ValueError if invalid."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise ValueError("empty host name")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise ValueError(f"invalid international host name {host!r}: {e}") from e


def host_of(url: str) -> str | None:
    """The normalised host of an http(s) URL (a bare ``host/path`` counts as http), else None."""
    url = url.strip()
    if url.startswith("//"):
        url = "http:" + url
    elif not _HAS_SCHEME.match(url):
        if _OPAQUE_SCHEME.match(url):
            return None
        url = "http://" + url
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return normalize_host(parts.hostname)
    except ValueError:
        return None  # an unparsable URL is admitted nowhere


def _domain_entry(entry: str) -> str:
    """Accept list entries as people write them: ``reddit.com``, ``*.reddit.com``, ``https://reddit.com/``."""
    text = entry.strip()
    if text.startswith("*."):
        text = text[2:]
    text = text.lstrip(".")
    host = host_of(text)
    if host is None:
        raise ValueError(f"not a domain: {entry!r}")
    return host


def _covered(host: str, domains: frozenset[str]) -> bool:
    # Walk up the labels: a.b.reddit.com -> b.reddit.com -> reddit.com -> com.
    while True:
        if host in domains:
            return True
        _, dot, host = host.partition(".")
        if not dot:
            return False


class DomainFilter:
    def __init__(self, block: Iterable[str] = (), allow: Iterable[str] | None = None):
        if isinstance(block, str) or isinstance(allow, str):
            raise TypeError("block and allow take an iterable of domains, not a single string")
        self.block = frozenset(_domain_entry(d) for d in block)
        self.allow = None if allow is None else frozenset(_domain_entry(d) for d in allow)

    @classmethod
    def eli5(cls, extra_block: Iterable[str] = (), allow: Iterable[str] | None = None) -> DomainFilter:
        """WebGPT's evaluation rule: no reddit.com, no quora.com (plus any ``extra_block``)."""
        return cls((*ELI5_BLOCKLIST, *extra_block), allow)

    def allows(self, url: str) -> bool:
        return self.reason(url) is None

    def reason(self, url: str) -> str | None:
        """Why ``url`` is refused, in words fit for an error page; None if it is allowed."""
        host = host_of(url)
        if host is None:
            return f"{url!r} is not an http(s) URL"
        if _covered(host, self.block):
            return f"the domain {host} is blocked"
        if self.allow is not None and not _covered(host, self.allow):
            return f"the domain {host} is not on the allow list"
        return None

    def filter_results(self, results: Iterable[SearchResult]) -> list[SearchResult]:
        return [r for r in results if self.allows(r.url)]

    def __repr__(self) -> str:
        allow = "None" if self.allow is None else sorted(self.allow)
        return f"DomainFilter(block={sorted(self.block)}, allow={allow})"
