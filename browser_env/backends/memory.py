"""In-memory search and fetch: real, reusable fakes for tests and for scripting the browser offline.

``MemorySearch`` ranks a fixed list of results by query-word overlap; ``MemoryFetcher`` serves HTML
from a dict. Both can be told to fail, to exercise the world-fault paths.
"""

from __future__ import annotations

import re

from ..types import BackendError, FetchedPage, FetchError, SearchResult


class MemorySearch:
    name = "memory"

    def __init__(self, results: list[SearchResult], *, down: bool = False):
        self.results = list(results)
        self.down = down
        self.queries: list[str] = []

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        self.queries.append(query)
        if self.down:
            raise BackendError("memory search backend is down (as configured)")
        words = set(re.findall(r"\w+", query.lower()))

        def score(r: SearchResult) -> int:
            return len(words & set(re.findall(r"\w+", f"{r.title} {r.snippet}".lower())))

        ranked = sorted(self.results, key=score, reverse=True)
        return [SearchResult(r.title, r.url, r.snippet, r.backend or self.name) for r in ranked[:k]]


class MemoryFetcher:
    def __init__(self, pages: dict[str, str], *, down: bool = False):
        self.pages = dict(pages)
        self.down = down
        self.fetched: list[str] = []

    async def fetch(self, url: str) -> FetchedPage:
        self.fetched.append(url)
        if self.down:
            raise FetchError(f"could not fetch {url}: fetcher is down (as configured)")
        if url not in self.pages:
            raise FetchError(f"HTTP 404 for {url}")
        html = self.pages[url]
        m = re.search(r"<title>(.*?)</title>", html, re.S | re.I)
        return FetchedPage(url=url, html=html, title=m.group(1).strip() if m else "", requested_url=url)
