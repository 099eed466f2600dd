"""The search-backend spec language of ``--search``: its help text and its check, and nothing heavy.

``BACKEND_SPECS_HELP`` describes the specs once, for every command that takes ``--search``;
``check_spec`` vets one spec without building anything, so a command can refuse a typo before a
slow start. Building backends from specs is ``registry``'s job; this module imports no HTTP
client, so ``webqa <command> --help`` stays instant.
"""

from __future__ import annotations

import os

from ..types import InputError

SPEC_NAMES = ("local", "searxng:<base_url>", "brave", "duckduckgo", "ddg", "direct")
_NAMES = frozenset(("local", "searxng", "brave", "duckduckgo", "ddg", "direct"))

BACKEND_SPECS_HELP = (
    "search backends tried in order, each failing over to the next: "
    "local (the offline mini-web index; the default); "
    "direct (a query that is a URL goes straight to that page; put it first); "
    "searxng:<base_url> (a SearXNG instance with JSON output enabled; plain searxng reads SEARXNG_URL); "
    "brave (the Brave Search API; needs BRAVE_API_KEY); "
    "duckduckgo or ddg (DuckDuckGo's HTML results page, loaded through the browser)"
)


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
