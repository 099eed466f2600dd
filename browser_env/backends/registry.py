"""Building search backends from command-line specs (``--search direct --search searxng:URL``).

``check_spec`` vets one spec without building anything (for commands to call before a slow start);
``make_backend`` turns one spec into a backend; ``make_search`` turns a list of specs into one
backend, a ``FailoverSearch`` when there are several. The spec language is described once, in
``BACKEND_SPECS_HELP``, for the CLI's help text.

    search = make_search(["direct", "searxng:http://127.0.0.1:8888", "ddg"], fetcher=fetcher)
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ..types import InputError, PageFetcher, SearchBackend
from .brave import BraveSearch
from .direct import DirectNavigation
from .duckduckgo import DuckDuckGoSearch
from .failover import FailoverSearch
from .searxng import SearxngSearch

SPEC_NAMES = ("local", "searxng:<base_url>", "brave", "duckduckgo", "ddg", "direct")

BACKEND_SPECS_HELP = (
    "Search backend spec; repeat to fail over in order. "
    "`local`: the offline mini-web index; "
    "`searxng:<base_url>`: a SearXNG instance with JSON output enabled "
    "(plain `searxng` reads SEARXNG_URL); "
    "`brave`: the Brave Search API (needs BRAVE_API_KEY); "
    "`duckduckgo` or `ddg`: DuckDuckGo's HTML results page, loaded through the browser; "
    "`direct`: a query that is a URL goes straight to that page (put it first)."
)


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


_NAMES = frozenset(("local", "searxng", "brave", "duckduckgo", "ddg", "direct"))


def check_spec(spec: str) -> tuple[str, str]:
    """``(name, argument)`` of a backend spec, or ``InputError`` saying what is wrong; builds nothing.

    Commands call it on every ``--search`` before they start a browser or load a model, so a typo
    is one line and exit code 2, not a traceback after a slow start.
    """
    name, _, arg = spec.strip().partition(":")
    name = name.lower()
    if name not in _NAMES:
        raise InputError(f"unknown search backend {spec!r}; valid specs: {', '.join(SPEC_NAMES)}")
    if name == "searxng":
        base_url = arg or os.environ.get("SEARXNG_URL", "")
        if not base_url:
            raise InputError("`searxng` needs a base URL: `searxng:http://127.0.0.1:8888` or set SEARXNG_URL")
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"the SearXNG base URL must start with http:// or https://, got {base_url!r}")
        return name, base_url
    if arg:
        raise InputError(f"search backend spec {spec!r} takes no `:` argument; valid specs: {', '.join(SPEC_NAMES)}")
    return name, ""


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
