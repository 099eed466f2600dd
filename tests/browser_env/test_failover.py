"""Direct navigation, ``FailoverSearch`` across backends, and the backend registry."""

from __future__ import annotations

import pytest

from browser_env.backends.brave import BraveSearch
from browser_env.backends.direct import DirectNavigation, as_url
from browser_env.backends.duckduckgo import DuckDuckGoSearch
from browser_env.backends.failover import FailoverSearch, RetryPolicy
from browser_env.backends.memory import MemoryFetcher, MemorySearch
from browser_env.backends.registry import make_backend, make_search
from browser_env.backends.specs import BACKEND_SPECS_HELP
from browser_env.backends.searxng import SearxngSearch
from browser_env.types import BackendError, SearchBackend, SearchResult
from tests.browser_env.replay import run


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
