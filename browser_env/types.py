"""Plain data types and the two I/O seams (search, fetch) shared by every layer of browser_env.

The layers: backends (``browser_env.backends``, ``browser_env.web.fetch``) produce
``SearchResult`` lists and ``FetchedPage`` objects; the pure renderer
(``browser_env.text.render``) turns those into ``PageContents``; the stateful browser
(``browser_env.text.browser``) only ever sees ``PageContents``.

Whose fault is it:
- ``WorldError`` and its subclasses: the outside world failed (timeout, backend down,
  policy refusal). The browser turns these into an error page the model can read.
- ``grammar.ParseError``: the model's fault; it becomes observation text.
- ``InputError``: the person's or script's fault (a bad ``--search`` spec, an empty question, a
  picture a text policy cannot take). Raised where input is checked, caught by name by the
  commands and the demo: one line, exit code 2.
- anything else is a bug and raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable


class WorldError(Exception):
    """Something outside webqa failed: the network, a backend, a page, Chromium."""


class InputError(ValueError):
    """Bad input from whoever drives webqa; ``str(err)`` says what is wrong, for a person to read.

    A ``ValueError`` so that code catching those still does, but callers catch it by name: a plain
    ``ValueError`` is a bug and should end in a traceback."""


class BackendError(WorldError):
    """A search backend failed (down, timed out, answered garbage)."""


class FetchError(WorldError):
    """A page could not be fetched (timeout, HTTP error, too large, refused by policy)."""


class PolicyError(FetchError):
    """A URL was refused by the egress or domain policy (private address, blocked domain, scheme)."""


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str = ""
    backend: str = ""  # which backend served it (failover records this)


@dataclass
class FetchedPage:
    """What a fetcher hands to the renderer: the final URL and the body, after the visibility pass."""

    url: str  # final URL, after redirects
    status: int = 200
    content_type: str = "text/html"
    html: str | None = None  # for HTML: the DOM serialised after hidden elements were removed
    body: bytes | None = None  # for PDFs and other non-HTML types
    title: str = ""
    requested_url: str = ""
    redirects: list[str] = field(default_factory=list)
    screenshot: bytes | None = field(default=None, repr=False)  # JPEG of the viewport, when asked for


PageKind = Literal["page", "search", "error"]


@dataclass
class PageContents:
    """A rendered text page: what the browser scrolls through and quotes from.

    ``text`` holds the page with links rendered as ``【id†text†domain】``; ``links`` maps each
    id to its absolute URL. ``domain`` is the page's own domain (shown in the title).
    """

    url: str
    title: str
    text: str
    links: dict[int, str] = field(default_factory=dict)
    link_texts: dict[int, str] = field(default_factory=dict)
    domain: str = ""
    kind: PageKind = "page"
    error: str | None = None
    screenshot: bytes | None = field(default=None, repr=False)  # the fetcher's, for the omni model


@runtime_checkable
class SearchBackend(Protocol):
    """Anything that answers a query with ranked results."""

    name: str

    async def search(self, query: str, k: int = 10) -> list[SearchResult]: ...


@runtime_checkable
class PageFetcher(Protocol):
    """Anything that turns a URL into a ``FetchedPage`` (raising ``FetchError`` on failure)."""

    async def fetch(self, url: str) -> FetchedPage: ...
