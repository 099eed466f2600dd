"""Building search backends from command-line specs (``--search direct --search searxng:URL``).

``make_backend`` turns one spec into a backend; ``make_search`` turns a list of specs into one
backend, a ``FailoverSearch`` when there are several. The spec language itself (``check_spec``,
``BACKEND_SPECS_HELP``) is ``specs``, which commands read without importing any backend.

    search = make_search(["direct", "searxng:http://127.0.0.1:8888", "ddg"], fetcher=fetcher)
"""

from __future__ import annotations

from typing import Any

import httpx

from ..types import PageFetcher, SearchBackend
from .brave import BraveSearch
from .direct import DirectNavigation
from .duckduckgo import DuckDuckGoSearch
from .failover import FailoverSearch
from .searxng import SearxngSearch
from .specs import SPEC_NAMES, check_spec


def make_backend(
    spec: str,
    *,
    fetcher: PageFetcher | None = None,
    client: httpx.AsyncClient | None = None,
    index: Any = None,
    host: str | None = None,
) -> SearchBackend:
    """One backend from one spec; ``InputError`` (listing the valid specs) if the spec is wrong."""
    name, arg = check_spec(spec)
    if name == "searxng":
        return SearxngSearch(arg, client)
    if name == "local":
        if index is None or host is None:
            raise ValueError("`local` search needs the mini-web index and host (pass index= and host=)")
        from .local import LocalSearch  # lazy: it pulls in the index library only when used

        return LocalSearch(index, host)
    if name == "brave":
        return BraveSearch(client=client)
    if name in ("duckduckgo", "ddg"):
        if fetcher is None:
            raise ValueError("`duckduckgo` search loads result pages in the browser and needs a fetcher=")
        return DuckDuckGoSearch(fetcher)
    return DirectNavigation()


def make_search(
    specs: list[str],
    *,
    fetcher: PageFetcher | None = None,
    client: httpx.AsyncClient | None = None,
    index: Any = None,
    host: str | None = None,
) -> SearchBackend:
    """One backend for a list of specs: the backend itself for one, a ``FailoverSearch`` for several."""
    if isinstance(specs, str):
        raise TypeError("make_search takes a list of specs; wrap a single spec in a list")
    if not specs:
        raise ValueError(f"no search backend given; valid specs: {', '.join(SPEC_NAMES)}")
    backends = [make_backend(s, fetcher=fetcher, client=client, index=index, host=host) for s in specs]
    return backends[0] if len(backends) == 1 else FailoverSearch(backends)
