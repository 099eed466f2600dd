"""The HTTP search backends (SearXNG, Brave) and ``get_json`` against a ``ReplayServer``
replaying each API's real response shapes (the ``server`` fixture is in conftest.py).
"""

from __future__ import annotations

import json

import httpx
import pytest

from browser_env.backends.brave import BraveSearch, clean_text
from browser_env.backends.failover import RetryPolicy, get_json
from browser_env.backends.searxng import SearxngSearch
from browser_env.types import BackendError, SearchResult
from tests.browser_env.replay import FAST, Reply, fixture, run


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
