"""``LocalSearch``: the ``SearchBackend`` over a local index, pointing results at the mini-web.

Results link to ``http://<host>/page/<id>``, where ``host`` is the mini-web's virtual host
(``MiniWeb.host``), so the browser fetches them from the offline mini-web.

    backend = LocalSearch(open_index(), host=MiniWeb(index).host)
    results = await backend.search("why is the sky blue", k=5)
"""

from __future__ import annotations

import asyncio
import sqlite3

from ..miniweb.corpus import page_path
from ..miniweb.index import Index
from ..types import BackendError, SearchResult, WorldError


class LocalSearch:
    name = "local"

    def __init__(self, index: Index, host: str):
        self.index = index
        self.host = host

    def url_for(self, doc_id: str) -> str:
        return f"http://{self.host}{page_path(doc_id)}"

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        try:
            # tantivy and SQLite calls block; a thread keeps the event loop (and Playwright) responsive.
            hits = await asyncio.to_thread(self.index.search, query, k)
        except (OSError, ValueError, sqlite3.Error, WorldError) as e:  # tantivy reports as ValueError/OSError
            raise BackendError(f"local index {self.index.name!r} failed on query {query!r}: {e}") from e
        return [SearchResult(h.title, self.url_for(h.id), h.snippet, self.name) for h in hits]
