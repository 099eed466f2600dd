"""Brave Search API backend (web search endpoint, JSON).

``GET https://api.search.brave.com/res/v1/web/search?q=...&count=N`` with the key in the
``X-Subscription-Token`` header answers ``{"type": "search", "web": {"results": [{"title",
"url", "description", ...}]}, ...}``. Descriptions mark matched words with ``<strong>`` and
carry HTML entities; both are stripped here. Errors come back as ``{"type": "ErrorResponse",
"error": {"code", "detail", ...}}``, whose detail is put in the ``BackendError`` message.

The key comes from the ``api_key`` argument or the ``BRAVE_API_KEY`` environment variable.

    results = await BraveSearch(client=httpx.AsyncClient()).search("rainbow", k=5)
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

import httpx

from ..types import BackendError, SearchResult
from .failover import RetryPolicy, get_json
from .http import ClientOwner

DEFAULT_URL = "https://api.search.brave.com/res/v1/web/search"
MAX_COUNT = 20  # the API rejects count > 20 with 422
_TAG = re.compile(r"<[^>]*>")


def clean_text(text: str) -> str:
    """Drop inline tags (``<strong>``) and decode entities; Brave puts both in its snippets."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


class BraveSearch(ClientOwner):
    name = "brave"

    def __init__(
        self,
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        base_url: str = DEFAULT_URL,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
    ):
        self.api_key = api_key or os.environ.get("BRAVE_API_KEY") or None
        self.base_url = base_url
        self.timeout = timeout
        self.retry = retry
        super().__init__(client)

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        if not self.api_key:
            raise BackendError(
                "brave: no API key; set the BRAVE_API_KEY environment variable "
                "(get a key at https://api-dashboard.search.brave.com) or pass api_key="
            )
        headers = {"Accept": "application/json", "X-Subscription-Token": self.api_key}
        params: dict[str, str | int] = {"q": query, "count": max(1, min(k, MAX_COUNT))}
        data = await get_json(
            self.client, self.name, self.base_url, params=params, headers=headers,
            timeout=self.timeout, retry=self.retry, explain=_explain,
        )
        return parse_results(data, self.base_url)[:k]


def _explain(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error") or {}
        detail, code = error.get("detail"), error.get("code")
    except (ValueError, AttributeError):
        return None
    if response.status_code in (401, 403) and not detail:
        detail = "the API key was refused; check BRAVE_API_KEY"
    return f"{code}: {detail}" if code and detail else detail or None


def parse_results(data: Any, url: str = "Brave") -> list[SearchResult]:
    """Turn a Brave web-search answer into results; raise ``BackendError`` if it is not that shape."""
    if not isinstance(data, dict) or "type" not in data:
        raise BackendError(f"brave: answer from {url} is not a Brave search response: {str(data)[:100]!r}")
    web = data.get("web")
    if web is None:
        return []  # Brave leaves out the `web` section when nothing matched
    if not isinstance(web, dict) or not isinstance(web.get("results"), list):
        raise BackendError(f"brave: answer from {url} has no `web.results` list")
    results = []
    for item in web["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise BackendError(f"brave: a result from {url} has no `url`: {str(item)[:100]!r}")
        title, description = (v if isinstance(v, str) else "" for v in (item.get("title"), item.get("description")))
        results.append(SearchResult(clean_text(title) or item["url"], item["url"], clean_text(description), "brave"))
    return results
