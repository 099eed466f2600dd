"""Search backends against a local HTTP server replaying each API's real response shapes.

The server (``ReplayServer``) runs on 127.0.0.1 in a thread and answers each path with a scripted
sequence of replies (status, body, headers, delay), recording every request it saw.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from browser_env.backends.brave import BraveSearch, clean_text
from browser_env.backends.direct import DirectNavigation, as_url
from browser_env.backends.duckduckgo import DuckDuckGoSearch, decode_href, parse_results_page
from browser_env.backends.failover import FailoverSearch, RetryPolicy, get_json
from browser_env.backends.memory import MemoryFetcher, MemorySearch
from browser_env.backends.registry import BACKEND_SPECS_HELP, make_backend, make_search
from browser_env.backends.searxng import SearxngSearch
from browser_env.types import BackendError, FetchedPage, SearchBackend, SearchResult

FIXTURES = Path(__file__).parent / "fixtures"
FAST = RetryPolicy(attempts=2, backoff=0.01)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def run(coro):
    return asyncio.run(coro)


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                replay.seen.append(Seen(parts.path, parse_qs(parts.query), headers))
                script = replay.routes.get(parts.path)
                reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply(404, "not found")
                time.sleep(reply.delay)
                body = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout tests), which is what they test

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ReplayServer()
    yield s
    s.close()


@pytest.fixture
def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused
    return f"http://127.0.0.1:{port}"


# --- SearXNG -------------------------------------------------------------------------------


async def _searx(base_url: str, query: str = "why is the sky blue", k: int = 10, **kw) -> list[SearchResult]:
    async with httpx.AsyncClient() as client:
        return await SearxngSearch(base_url, client, retry=FAST, **kw).search(query, k)


def test_searxng_parses_results_and_sends_params(server):
    server.route("/sx/search", Reply(body=fixture("searxng_results.json")))
    results = run(_searx(server.url + "/sx/", engines="duckduckgo,brave", language="en"))
    assert [r.url for r in results] == [
        "https://en.wikipedia.org/wiki/Rayleigh_scattering",
        "https://spaceplace.nasa.gov/blue-sky/en/",
        "https://www.reddit.com/r/explainlikeimfive/comments/abc123/eli5_why_is_the_sky_blue/",
    ]
    assert results[0].title == "Rayleigh scattering - Wikipedia"
    assert results[0].snippet.startswith("Rayleigh scattering is the elastic scattering")  # whitespace squeezed
    assert all(r.backend == "searxng" for r in results)
    (req,) = server.seen
    assert req.query["q"] == ["why is the sky blue"] and req.query["format"] == ["json"]
    assert req.query["engines"] == ["duckduckgo,brave"] and req.query["language"] == ["en"]


def test_searxng_truncates_to_k(server):
    server.route("/search", Reply(body=fixture("searxng_results.json")))
    assert len(run(_searx(server.url, k=2))) == 2


def test_searxng_all_engines_unresponsive_is_a_backend_error(server):
    server.route("/search", Reply(body=fixture("searxng_unresponsive.json")))
    with pytest.raises(BackendError, match=r"searxng.*unresponsive engines: duckduckgo \(timeout\)"):
        run(_searx(server.url))


def test_searxng_json_format_disabled_403_explains_the_fix(server):
    server.route("/search", Reply(403, "<html>Forbidden</html>", {"Content-Type": "text/html"}))
    with pytest.raises(BackendError, match=r"searxng: HTTP 403.*search.formats"):
        run(_searx(server.url))
    assert len(server.seen) == 1  # a 4xx is not retried


def test_searxng_garbage_body_is_not_retried(server):
    server.route("/search", Reply(body="<html>this is not json</html>"))
    with pytest.raises(BackendError, match="searxng: answer from .* is not JSON") as info:
        run(_searx(server.url))
    assert isinstance(info.value.__cause__, json.JSONDecodeError)
    assert len(server.seen) == 1


def test_searxng_wrong_json_shape(server):
    server.route("/search", Reply(body='{"error": "nope"}'))
    with pytest.raises(BackendError, match="no `results` list"):
        run(_searx(server.url))


def test_searxng_5xx_is_retried_once_then_succeeds(server):
    server.route("/search", Reply(502, "bad gateway"), Reply(body=fixture("searxng_results.json")))
    assert len(run(_searx(server.url))) == 3
    assert len(server.seen) == 2


def test_searxng_persistent_5xx_gives_up(server):
    server.route("/search", Reply(503, "maintenance"))
    with pytest.raises(BackendError, match="searxng: HTTP 503 .*maintenance") as info:
        run(_searx(server.url))
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)
    assert len(server.seen) == FAST.attempts


def test_searxng_timeout(server):
    server.route("/search", Reply(body=fixture("searxng_results.json"), delay=1.5))
    with pytest.raises(BackendError, match=r"searxng: timed out after 0.2s") as info:
        run(_searx(server.url, timeout=0.2))
    assert isinstance(info.value.__cause__, httpx.TimeoutException)
    assert len(server.seen) == 1  # a slow server is not asked twice


def test_searxng_connection_refused(closed_port_url):
    with pytest.raises(BackendError, match=r"searxng: could not reach .*gave up after 2 attempt") as info:
        run(_searx(closed_port_url))
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_searxng_rejects_non_http_base_url():
    with pytest.raises(ValueError, match="http"):
        SearxngSearch("127.0.0.1:8888")


def test_searxng_default_client_is_owned_and_closed(server):
    server.route("/search", Reply(body=fixture("searxng_results.json")))

    async def go():
        backend = SearxngSearch(server.url, retry=FAST)
        results = await backend.search("sky")
        await backend.aclose()
        return results, backend._client

    results, client = run(go())
    assert results and client is None


# --- Brave ---------------------------------------------------------------------------------


async def _brave(base_url: str, key: str | None = "test-key", k: int = 10) -> list[SearchResult]:
    async with httpx.AsyncClient() as client:
        return await BraveSearch(key, client, base_url=base_url, retry=FAST).search("why is the sky blue", k)


def test_brave_parses_and_strips_html(server):
    server.route("/res/v1/web/search", Reply(body=fixture("brave_web_search.json")))
    results = run(_brave(server.url + "/res/v1/web/search", k=5))
    assert [r.url for r in results] == [
        "https://spaceplace.nasa.gov/blue-sky/en/",
        "https://en.wikipedia.org/wiki/Rayleigh_scattering",
    ]
    assert results[0].title == "Why Is the Sky Blue? | NASA Space Place – NASA Science for Kids"
    assert results[0].snippet.startswith("Blue light is scattered in all directions by the tiny molecules of air in Earth's")
    assert "<strong>" not in results[1].snippet and "particles < the wavelength & it" in results[1].snippet
    assert {r.backend for r in results} == {"brave"}
    (req,) = server.seen
    assert req.headers["x-subscription-token"] == "test-key"
    assert req.headers["accept"] == "application/json"
    assert req.query["q"] == ["why is the sky blue"] and req.query["count"] == ["5"]


def test_brave_count_is_capped_at_the_api_maximum(server):
    server.route("/s", Reply(body=fixture("brave_web_search.json")))
    run(_brave(server.url + "/s", k=50))
    assert server.seen[0].query["count"] == ["20"]


def test_brave_without_web_section_is_empty(server):
    server.route("/s", Reply(body='{"type": "search", "query": {"original": "x"}, "mixed": {"main": []}}'))
    assert run(_brave(server.url + "/s")) == []


def test_brave_missing_key_says_how_to_set_it(monkeypatch, server):
    monkeypatch.delenv("BRAVE_API_KEY", raising=False)
    with pytest.raises(BackendError, match="BRAVE_API_KEY"):
        run(_brave(server.url + "/s", key=None))
    assert server.seen == []  # nothing is sent without a key


def test_brave_key_from_environment(monkeypatch, server):
    monkeypatch.setenv("BRAVE_API_KEY", "env-key")
    server.route("/s", Reply(body=fixture("brave_web_search.json")))
    run(_brave(server.url + "/s", key=None))
    assert server.seen[0].headers["x-subscription-token"] == "env-key"


def test_brave_rate_limited_retries_then_reports_api_detail(server):
    body = fixture("brave_error_429.json")
    server.route("/s", Reply(429, body, {"Content-Type": "application/json", "Retry-After": "0"}))
    expected = r"brave: rate limited \(HTTP 429\).*RATE_LIMITED: Request rate limit exceeded"
    with pytest.raises(BackendError, match=expected):
        run(_brave(server.url + "/s"))
    assert len(server.seen) == 2


def test_brave_429_with_long_retry_after_is_not_waited_for(server):
    headers = {"Content-Type": "application/json", "Retry-After": "3600"}
    server.route("/s", Reply(429, fixture("brave_error_429.json"), headers))
    with pytest.raises(BackendError, match="429"):
        run(_brave(server.url + "/s"))
    assert len(server.seen) == 1


def test_brave_429_then_success(server):
    server.route("/s", Reply(429, fixture("brave_error_429.json")), Reply(body=fixture("brave_web_search.json")))
    assert len(run(_brave(server.url + "/s"))) == 2


def test_brave_bad_key_is_not_retried(server):
    server.route("/s", Reply(401, fixture("brave_error_401.json")))
    with pytest.raises(BackendError, match="brave: HTTP 401.*subscription token is invalid"):
        run(_brave(server.url + "/s"))
    assert len(server.seen) == 1


def test_brave_garbage_shapes(server):
    server.route("/a", Reply(body="[1, 2, 3]"))
    server.route("/b", Reply(body='{"type": "search", "web": {"results": "nope"}}'))
    server.route("/c", Reply(body='{"type": "search", "web": {"results": [{"title": "no url"}]}}'))
    for path, pattern in [("/a", "not a Brave search response"), ("/b", "web.results"), ("/c", "has no `url`")]:
        with pytest.raises(BackendError, match=pattern):
            run(_brave(server.url + path))


def test_brave_clean_text():
    assert clean_text("<strong>Sky</strong> &amp; sea &#x27;blue&#x27;  \n now") == "Sky & sea 'blue' now"


def test_get_json_through_mock_transport():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("boom", request=request)
        return httpx.Response(200, json={"ok": True})

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await get_json(client, "x", "http://test/api", retry=FAST)

    assert run(go()) == {"ok": True} and len(calls) == 2


def test_retry_policy_validates():
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


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


# --- Direct navigation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "url"),
    [
        ("https://en.wikipedia.org/wiki/Rainbow", "https://en.wikipedia.org/wiki/Rainbow"),
        ("  HTTP://Example.com  ", "HTTP://Example.com"),
        ("example.com/path?q=1", "https://example.com/path?q=1"),
        ("nasa.gov", "https://nasa.gov"),
        ("www.bbc.co.uk", "https://www.bbc.co.uk"),
        ("localhost.example:8080", "https://localhost.example:8080"),
        ("<https://a.example/b>", "https://a.example/b"),
        ("why is the sky blue", None),
        ("node.js", None),
        ("config.py", None),
        ("https://", None),
        ("ftp://files.example.com/x", None),
        ("e.g. rainbows", None),
    ],
)
def test_direct_url_detection(query, url):
    assert as_url(query) == url


def test_direct_navigation_results():
    direct = DirectNavigation()
    assert run(direct.search("en.wikipedia.org/wiki/Rainbow")) == [
        SearchResult("https://en.wikipedia.org/wiki/Rainbow", "https://en.wikipedia.org/wiki/Rainbow", "", "direct")
    ]
    assert run(direct.search("rainbow colours")) == []
    assert isinstance(direct, SearchBackend)


# --- Failover ------------------------------------------------------------------------------


def _mem(name: str, urls: list[str], down: bool = False) -> MemorySearch:
    backend = MemorySearch([SearchResult(f"page {u}", u, "sky blue") for u in urls], down=down)
    backend.name = name
    return backend


def test_failover_first_success_wins_and_records_backend():
    a, b, c = _mem("a", [], down=True), _mem("b", ["https://b.example/"]), _mem("c", ["https://c.example/"])
    search = FailoverSearch([a, b, c])
    results = run(search.search("sky"))
    assert [(r.url, r.backend) for r in results] == [("https://b.example/", "b")]
    assert search.last_backend == "b" and c.queries == []  # c was never asked
    assert search.failures["a"] == 1 and search.report()["b"] == {"served": 1, "failures": 0}
    assert "memory search backend is down" in search.last_errors["a"]


def test_failover_skips_empty_answers_and_uses_direct_first():
    search = FailoverSearch([DirectNavigation(), _mem("engine", ["https://e.example/"])])
    assert run(search.search("https://x.example/page"))[0].backend == "direct"
    assert search.last_backend == "direct"
    assert run(search.search("sky"))[0].backend == "engine"
    assert search.last_backend == "engine"


def test_failover_all_empty_is_empty_not_an_error():
    search = FailoverSearch([_mem("a", [], down=True), _mem("b", [])])
    assert run(search.search("sky")) == [] and search.last_backend is None


def test_failover_all_failed_lists_every_error(closed_port_url):
    searx = SearxngSearch(closed_port_url, retry=RetryPolicy(attempts=1))
    search = FailoverSearch([_mem("a", [], down=True), searx, _mem("a", [], down=True)])
    with pytest.raises(BackendError) as info:
        run(search.search("sky"))
    message = str(info.value)
    assert message.startswith("all 3 search backends failed")
    assert "[a] memory search backend is down" in message and "[a#2]" in message
    assert "[searxng] searxng: could not reach" in message
    assert dict(search.failures) == {"a": 1, "searxng": 1, "a#2": 1}
    run(searx.aclose())


def test_failover_lets_bugs_raise():
    class Buggy:
        name = "buggy"

        async def search(self, query: str, k: int = 10) -> list[SearchResult]:
            raise KeyError("a bug, not the world")

    with pytest.raises(KeyError):
        run(FailoverSearch([Buggy(), _mem("b", ["https://b.example/"])]).search("sky"))


def test_failover_needs_backends():
    with pytest.raises(ValueError):
        FailoverSearch([])


# --- Registry ------------------------------------------------------------------------------


def test_registry_builds_each_spec():
    fetcher = MemoryFetcher({})
    assert isinstance(make_backend("direct"), DirectNavigation)
    assert isinstance(make_backend("brave"), BraveSearch)
    assert isinstance(make_backend("DDG", fetcher=fetcher), DuckDuckGoSearch)
    assert isinstance(make_backend("duckduckgo", fetcher=fetcher), DuckDuckGoSearch)
    sx = make_backend("searxng:http://127.0.0.1:8888/")
    assert isinstance(sx, SearxngSearch) and sx.base_url == "http://127.0.0.1:8888"


def test_registry_searxng_url_from_environment(monkeypatch):
    monkeypatch.setenv("SEARXNG_URL", "http://127.0.0.1:9999")
    assert make_backend("searxng").base_url == "http://127.0.0.1:9999"
    monkeypatch.delenv("SEARXNG_URL")
    with pytest.raises(ValueError, match="needs a base URL"):
        make_backend("searxng")


def test_registry_errors():
    with pytest.raises(ValueError, match="valid specs: local, searxng:<base_url>, brave"):
        make_backend("google")
    with pytest.raises(ValueError, match="fetcher"):
        make_backend("ddg")
    with pytest.raises(ValueError, match="index"):
        make_backend("local")
    with pytest.raises(ValueError, match="takes no"):
        make_backend("brave:secret")
    with pytest.raises(ValueError):
        make_search([])


def test_make_search_single_and_failover():
    assert isinstance(make_search(["direct"]), DirectNavigation)
    search = make_search(["direct", "searxng:http://127.0.0.1:1", "ddg"], fetcher=MemoryFetcher({}))
    assert isinstance(search, FailoverSearch)
    assert search.labels == ["direct", "searxng", "duckduckgo"]
    assert "searxng:<base_url>" in BACKEND_SPECS_HELP and "BRAVE_API_KEY" in BACKEND_SPECS_HELP


def test_registry_local_builds_local_search():
    local = pytest.importorskip("browser_env.backends.local")
    backend = make_backend("local", index=object(), host="miniweb.test")
    assert isinstance(backend, local.LocalSearch) and backend.host == "miniweb.test"
