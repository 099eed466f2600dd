"""The DuckDuckGo backend on recorded result pages, fetched through in-memory fetchers."""

from __future__ import annotations

import pytest

from browser_env.backends.duckduckgo import DuckDuckGoSearch, decode_href, parse_results_page
from browser_env.backends.memory import MemoryFetcher
from browser_env.types import BackendError, FetchedPage, SearchResult
from tests.browser_env.replay import fixture, run


# --- DuckDuckGo ----------------------------------------------------------------------------


def _ddg(pages: dict[str, str], query: str = "why is the sky blue") -> tuple[list[SearchResult], MemoryFetcher]:
    backend = DuckDuckGoSearch(fetcher := MemoryFetcher(pages))
    return run(backend.search(query)), fetcher


def test_ddg_parses_results_decodes_redirects_and_skips_ads():
    url = DuckDuckGoSearch(MemoryFetcher({})).search_url("why is the sky blue")
    assert url == "https://html.duckduckgo.com/html/?q=why+is+the+sky+blue"
    results, fetcher = _ddg({url: fixture("ddg_results.html")})
    assert fetcher.fetched == [url]
    assert [r.url for r in results] == [
        "https://spaceplace.nasa.gov/blue-sky/en/",
        "https://en.wikipedia.org/wiki/Diffuse_sky_radiation?section=1&lang=en",
        "https://www.rmg.co.uk/stories/topics/why-sky-blue",
        "https://www.scientificamerican.com/article/why-is-the-sky-blue/",
    ]  # the ad is gone, the duplicate listing is dropped
    nasa = results[0]
    assert nasa.title == "Why Is the Sky Blue? | NASA Space Place - NASA Science for Kids"
    assert nasa.snippet.startswith("Blue light is scattered in all directions by the tiny molecules of air in Earth's")
    assert results[2].snippet == (
        "As white light travels through the atmosphere, shorter wavelengths are scattered much more than longer ones."
    )
    assert results[3].snippet == ""
    assert {r.backend for r in results} == {"duckduckgo"}


def test_ddg_truncates_and_passes_region():
    backend = DuckDuckGoSearch(MemoryFetcher({}), region="uk-en")
    url = backend.search_url("sky")
    assert url.endswith("?q=sky&kl=uk-en")
    backend.fetcher.pages[url] = fixture("ddg_results.html")
    assert len(run(backend.search("sky", k=2))) == 2


def test_ddg_no_results_page_is_empty():
    url = DuckDuckGoSearch(MemoryFetcher({})).search_url("qzxv")
    assert _ddg({url: fixture("ddg_no_results.html")}, "qzxv")[0] == []


def test_ddg_anomaly_page_is_a_backend_error():
    url = DuckDuckGoSearch(MemoryFetcher({})).search_url("sky")
    with pytest.raises(BackendError, match="bot-check"):
        _ddg({url: fixture("ddg_anomaly.html")}, "sky")


def test_ddg_unrecognised_page_is_a_backend_error():
    url = DuckDuckGoSearch(MemoryFetcher({})).search_url("sky")
    with pytest.raises(BackendError, match="not a DuckDuckGo results page"):
        _ddg({url: "<html><head><title>Welcome to nginx</title></head><body>hi</body></html>"}, "sky")
    with pytest.raises(BackendError, match="could not be parsed"):
        parse_results_page("")


def test_ddg_fetch_failure_is_wrapped():
    with pytest.raises(BackendError, match="duckduckgo: could not load .*fetcher is down") as info:
        run(DuckDuckGoSearch(MemoryFetcher({}, down=True)).search("sky"))
    assert type(info.value.__cause__).__name__ == "FetchError"


class StaticFetcher:
    """Answers every URL with one fixed page, to script statuses MemoryFetcher does not produce."""

    def __init__(self, page: FetchedPage):
        self.page = page

    async def fetch(self, url: str) -> FetchedPage:
        return self.page


@pytest.mark.parametrize(
    ("page", "pattern"),
    [
        (FetchedPage("https://html.duckduckgo.com/html/", status=403, html=fixture("ddg_anomaly.html")), "bot-check"),
        (FetchedPage("https://html.duckduckgo.com/html/", status=500, html="<html>oops</html>"), "HTTP 500"),
        (FetchedPage("https://html.duckduckgo.com/html/", content_type="application/pdf", body=b"%PDF"), "not an HTML"),
    ],
)
def test_ddg_error_statuses_and_content(page, pattern):
    with pytest.raises(BackendError, match=pattern):
        run(DuckDuckGoSearch(StaticFetcher(page)).search("sky"))


def test_ddg_snippet_quoting_the_bot_check_text_is_still_a_result():
    html = fixture("ddg_results.html").replace("As white light travels", "Unfortunately, bots use DuckDuckGo too. As light")
    assert len(parse_results_page(html)) == 4


def test_ddg_decode_href():
    redirect = "//duckduckgo.com/l/?uddg=https%3A%2F%2Fa.example%2Fx%3Fy%3D1%26z%3D2&rut=abc"
    assert decode_href(redirect) == "https://a.example/x?y=1&z=2"
    assert decode_href("https://duckduckgo.com/y.js?ad_domain=x.example") is None
    assert decode_href("https://plain.example/page") == "https://plain.example/page"
    assert decode_href("javascript:void(0)") is None
