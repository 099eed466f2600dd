"""SearXNG search backend: a self-hosted metasearch instance queried through its JSON API.

``GET {base_url}/search?q=...&format=json`` answers ``{"results": [{"title", "url", "content",
...}], "unresponsive_engines": [[engine, reason], ...], ...}``. The instance must have ``json``
in ``search.formats`` of its settings.yml; otherwise it answers 403, which is reported as such.

SearXNG usually runs on localhost. That is allowed here because the user names the URL
explicitly; pages the agent fetches still go through the fetcher's egress policy.

    async with httpx.AsyncClient() as client:
        results = await SearxngSearch("http://127.0.0.1:8888", client).search("rainbow", k=5)
"""

from __future__ import annotations

from typing import Any

import httpx

from ..types import BackendError, SearchResult
from .failover import RetryPolicy, get_json
from .http import ClientOwner


class SearxngSearch(ClientOwner):
    name = "searxng"

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float = 10.0,
        engines: str | None = None,
        language: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"SearXNG base URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.engines = engines
        self.language = language
        self.retry = retry
        super().__init__(client)

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        params: dict[str, str | int] = {"q": query, "format": "json", "pageno": 1}
        if self.engines:
            params["engines"] = self.engines
        if self.language:
            params["language"] = self.language
        url = f"{self.base_url}/search"
        data = await get_json(
            self.client, self.name, url, params=params, headers={"Accept": "application/json"},
            timeout=self.timeout, retry=self.retry, explain=_explain,
        )
        return parse_results(data, url)[:k]


def _explain(response: httpx.Response) -> str | None:
    if response.status_code == 403:
        return "the instance refused format=json; add `json` to `search.formats` in its settings.yml"
    return None


def parse_results(data: Any, url: str = "SearXNG") -> list[SearchResult]:
    """Turn a SearXNG JSON answer into results; raise ``BackendError`` if it is not that shape."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise BackendError(f"searxng: answer from {url} has no `results` list (got {type(data).__name__})")
    results = []
    for item in data["results"]:
        if not isinstance(item, dict):
            raise BackendError(f"searxng: a result from {url} is not an object: {item!r:.100}")
        link = item.get("url")
        if not isinstance(link, str) or not link.startswith(("http://", "https://")):
            continue  # SearXNG answers and infobox-like entries sometimes carry no web URL
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        snippet = item.get("content") if isinstance(item.get("content"), str) else ""
        results.append(SearchResult(" ".join(title.split()) or link, link, " ".join(snippet.split()), "searxng"))
    if not results:
        # An empty page because every engine timed out is a failure of the world, not "no results".
        dead = [e for e in data.get("unresponsive_engines") or [] if isinstance(e, list) and e]
        if dead:
            names = ", ".join(f"{e[0]} ({e[1]})" if len(e) > 1 else str(e[0]) for e in dead)
            raise BackendError(f"searxng: no results from {url}; unresponsive engines: {names}")
    return results
