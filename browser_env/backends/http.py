"""The httpx client an HTTP search backend (SearXNG, Brave) uses: given to it, or its own.

A backend handed a client leaves it alone (the caller shares it and closes it); without one it
makes its own on first use and closes it in ``aclose``. The request itself and its retries are
``failover.get_json``'s.
"""

from __future__ import annotations

import httpx


class ClientOwner:
    """Holds ``_client``; makes one lazily when none was given and closes only that one."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(headers={"User-Agent": "webqa"})
        return self._client

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
