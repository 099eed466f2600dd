"""DuckDuckGo search backend: loads DuckDuckGo's no-JavaScript HTML results page and parses it.

No key is needed. The page is loaded through a ``PageFetcher`` (in production the Playwright
fetcher, so DuckDuckGo sees a real browser) and parsed with lxml:

- each result is a ``div.result``; ads are ``div.result--ad`` (and link to ``duckduckgo.com/y.js``)
  and are skipped;
- the title link is ``a.result__a``; its href is usually a redirect
  ``//duckduckgo.com/l/?uddg=<url-encoded target>&rut=...``, decoded here to the real URL;
- the snippet is ``.result__snippet``.

What an unusual page means:
- DuckDuckGo's "no results" page yields ``[]`` (the engine worked; the query found nothing);
- its anomaly / bot-check page (a captcha) raises ``BackendError``: the engine refused us, and a
  failover should try the next backend;
- any other page that has neither results nor the no-results marker raises ``BackendError``,
  because the layout has probably changed and silently returning nothing would hide that.

    results = await DuckDuckGoSearch(fetcher).search("why is the sky blue", k=5)
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import lxml.etree
import lxml.html

from ..types import BackendError, FetchError, PageFetcher, SearchResult

DEFAULT_URL = "https://html.duckduckgo.com/html/"
# Markers of the bot-check page DuckDuckGo serves instead of results when it suspects automation.
_ANOMALY_MARKERS = ("anomaly-modal", "/anomaly.js", "bots use duckduckgo too", "challenge-form")


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_RESULTS = f"//div[{_has_class('result')}]"
_TITLE = f".//a[{_has_class('result__a')}]"
_SNIPPET = f".//*[{_has_class('result__snippet')}]"
_NO_RESULTS = f"//*[{_has_class('no-results')} or {_has_class('result--no-result')}]"
_RESULTS_CONTAINER = "//*[@id='links']"


def _text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def decode_href(href: str, base_url: str = DEFAULT_URL) -> str | None:
    """The real target of a result link, or None for ads and links that lead nowhere useful."""
    url = urljoin(base_url, href.strip())
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "duckduckgo.com" or host.endswith(".duckduckgo.com"):
        if parts.path == "/l/":
            target = parse_qs(parts.query).get("uddg")
            url = target[0] if target else ""
        else:
            return None  # /y.js ad clicks and DuckDuckGo's own pages are not results
    return url if url.startswith(("http://", "https://")) else None


def _is_anomaly(html: str) -> bool:
    lowered = html.lower()
    return any(marker in lowered for marker in _ANOMALY_MARKERS)


_ANOMALY_ERROR = "duckduckgo: DuckDuckGo answered with its bot-check (anomaly/captcha) page"


def parse_results_page(html: str, base_url: str = DEFAULT_URL) -> list[SearchResult]:
    """Parse a DuckDuckGo HTML results page; see the module docstring for the unusual pages."""
    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as e:
        raise BackendError(f"duckduckgo: results page could not be parsed ({e})") from e
    results: list[SearchResult] = []
    seen: set[str] = set()
    for block in tree.xpath(_RESULTS):
        if "result--ad" in (block.get("class") or "").split():
            continue
        links = block.xpath(_TITLE)
        if not links:
            continue  # the no-results notice is itself a div.result without a title link
        url = decode_href(links[0].get("href") or "", base_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        snippets = block.xpath(_SNIPPET)
        results.append(SearchResult(_text(links[0]) or url, url, _text(snippets[0]) if snippets else "", "duckduckgo"))
    if results:
        return results
    # Checked only when nothing parsed, so a snippet that happens to quote a marker is harmless.
    if _is_anomaly(html):
        raise BackendError(_ANOMALY_ERROR)
    if not tree.xpath(_NO_RESULTS) and not tree.xpath(_RESULTS_CONTAINER):
        title = " ".join((tree.findtext(".//title") or "").split()) or "untitled"
        raise BackendError(f"duckduckgo: page {title!r} is not a DuckDuckGo results page (layout changed?)")
    return results


class DuckDuckGoSearch:
    name = "duckduckgo"

    def __init__(self, fetcher: PageFetcher, *, base_url: str = DEFAULT_URL, region: str | None = None):
        self.fetcher = fetcher
        self.base_url = base_url
        self.region = region  # DuckDuckGo's `kl` parameter, e.g. "us-en"; None lets it choose

    def search_url(self, query: str) -> str:
        params = {"q": query} | ({"kl": self.region} if self.region else {})
        return f"{self.base_url}?{urlencode(params)}"

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        url = self.search_url(query)
        try:
            page = await self.fetcher.fetch(url)
        except FetchError as e:
            raise BackendError(f"duckduckgo: could not load {url}: {e}") from e
        if page.html is None:
            raise BackendError(f"duckduckgo: {url} answered {page.content_type!r}, not an HTML results page")
        if page.status >= 400:
            raise BackendError(_ANOMALY_ERROR if _is_anomaly(page.html) else f"duckduckgo: HTTP {page.status} from {url}")
        return parse_results_page(page.html, self.base_url)[:k]
