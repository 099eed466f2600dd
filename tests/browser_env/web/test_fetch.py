"""PlaywrightFetcher against real Chromium and real HTTP servers on 127.0.0.1.

``good`` is the site the policy admits; ``bad`` is a second server on another port that the policy
does not admit: every test that tries to leak to it asserts it saw zero requests. Both are built in
``tests/browser_env/sites.py``; the ``loop`` and ``sites`` fixtures are in conftest.py.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from browser_env.web.chromium import SEALED_ARGS, launch
from browser_env.web.fetch import BrowserCrashed, PlaywrightFetcher, new_context
from browser_env.web.netpolicy import EgressPolicy
from browser_env.types import FetchError, PolicyError
from tests.helpers.web import FakeDNS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(loop):
    from playwright.async_api import async_playwright

    pw = loop.run_until_complete(async_playwright().start())
    browser = loop.run_until_complete(launch(pw, extra_args=SEALED_ARGS))
    yield browser
    loop.run_until_complete(browser.close())
    loop.run_until_complete(pw.stop())


@pytest.fixture(scope="module")
def client(loop):
    client = httpx.AsyncClient(trust_env=False)
    yield client
    loop.run_until_complete(client.aclose())


@pytest.fixture
def make_fetcher(loop, browser, client, sites):
    good, bad = sites
    made: list[PlaywrightFetcher] = []

    def make(**kw) -> PlaywrightFetcher:
        kw.setdefault("policy", EgressPolicy(allowed_hosts=[f"127.0.0.1:{good.port}", f"pinned.test:{good.port}"],
                                             resolver=FakeDNS({"pinned.test": ["127.0.0.1"]})))
        kw.setdefault("timeout_s", 5.0)
        kw.setdefault("settle_s", 0.2)
        context = loop.run_until_complete(new_context(browser))
        fetcher = loop.run_until_complete(PlaywrightFetcher.open(context, client=client, **kw))
        made.append(fetcher)
        return fetcher

    good.hits.clear()
    bad.hits.clear()
    yield make
    for f in made:
        loop.run_until_complete(f.close())


def test_normal_page_runs_javascript_and_skips_images_media_fonts(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher()
    page = loop.run_until_complete(fetcher.fetch(f"{good.base}/page"))
    assert page.status == 200 and page.content_type == "text/html"
    assert page.title == "Hello page" and page.url == f"{good.base}/page" and page.requested_url == page.url
    assert "inserted by javascript" in page.html and "static text" in page.html
    assert page.redirects == [] and page.body is None
    assert good.hits == ["/page"]  # no image, font or video request ever left the browser
    refused = {url.rsplit("/", 1)[-1] for url, _ in fetcher.refusals}
    assert {"img.png", "clip.mp4"} <= refused


def test_reusing_the_page_for_many_fetches(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher()
    titles = [loop.run_until_complete(fetcher.fetch(f"{good.base}/{p}")).title for p in ["page", "final", "page"]]
    assert titles == ["Hello page", "Final", "Hello page"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:text/html,<title>x</title>hi", "javascript:alert(1)",
                                 "http://localhost:{good}/page", "http://10.0.0.1/", "http://169.254.169.254/latest",
                                 "http://0x7f.1:{bad}/", "http://127.0.0.1:{bad}/secret", "chrome://version"])
def test_forbidden_documents_raise_policy_error_and_send_nothing(loop, sites, make_fetcher, url):
    good, bad = sites
    fetcher = make_fetcher()
    with pytest.raises(PolicyError, match="refused"):
        loop.run_until_complete(fetcher.fetch(url.format(good=good.port, bad=bad.port)))
    assert bad.hits == [] and good.hits == []


def test_subresources_to_a_forbidden_host_never_leave(loop, sites, make_fetcher):
    good, bad = sites
    fetcher = make_fetcher()
    page = loop.run_until_complete(fetcher.fetch(f"{good.base}/leaky"))
    loop.run_until_complete(asyncio.sleep(0.3))  # let the script's fetches and the iframe finish
    assert "leaky body" in page.html
    assert bad.hits == []
    assert "/bounce" in good.hits  # the allowed first hop was fetched, its forbidden Location was not
    refused = " ".join(why for _, why in fetcher.refusals)
    assert f"127.0.0.1:{bad.port}/bounced-api" in refused and "/frame" in refused and "/script.js" in refused


def test_redirect_to_forbidden_host_is_refused(loop, sites, make_fetcher):
    good, bad = sites
    fetcher = make_fetcher()
    with pytest.raises(PolicyError, match=f"127.0.0.1:{bad.port}/secret"):
        loop.run_until_complete(fetcher.fetch(f"{good.base}/r-bad"))
    assert bad.hits == []
    assert "TOP-SECRET" not in _settled_dom(loop, fetcher)


def _settled_dom(loop, fetcher: PlaywrightFetcher) -> str:
    """The current DOM; Chromium may still be committing its error page for the refused load."""

    async def read() -> str:
        for _ in range(20):
            try:
                return await fetcher.page.evaluate("document.documentElement.outerHTML")
            except Exception:  # noqa: BLE001 - mid-navigation; try again shortly
                await asyncio.sleep(0.1)
        raise AssertionError("the page never settled")

    return loop.run_until_complete(read())


def test_two_hop_chain_ending_at_forbidden_host_is_refused(loop, sites, make_fetcher):
    good, bad = sites
    fetcher = make_fetcher()
    with pytest.raises(PolicyError):
        loop.run_until_complete(fetcher.fetch(f"{good.base}/r-two"))
    assert good.hits == ["/r-two", "/r-two-b"] and bad.hits == []
    assert "TOP-SECRET" not in _settled_dom(loop, fetcher)


def test_allowed_redirect_chain_records_hops_and_final_url(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher()
    page = loop.run_until_complete(fetcher.fetch(f"{good.base}/r-ok"))
    assert page.url == f"{good.base}/final" and page.title == "Final"
    assert page.redirects == [f"{good.base}/r-ok", f"{good.base}/r-ok-b"]
    assert good.hits == ["/r-ok", "/r-ok-b", "/final"]  # the restarted navigation did not refetch
    assert loop.run_until_complete(fetcher.page.evaluate("document.querySelector('a').href")) == f"{good.base}/next"


def test_redirect_loop_hits_the_hop_cap(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher(max_redirects=3)
    with pytest.raises(FetchError, match="too many redirects"):
        loop.run_until_complete(fetcher.fetch(f"{good.base}/r-loop"))
    assert good.hits == ["/r-loop"] * 4


def test_service_worker_registration_fails(loop, sites, make_fetcher):
    good, _ = sites
    page = loop.run_until_complete(make_fetcher(settle_s=0.5).fetch(f"{good.base}/sw"))
    assert "sw-unavailable" in page.html
    assert "/sw.js" not in good.hits


def test_download_link_downloads_nothing_and_direct_fetch_returns_bytes(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher()
    downloads = []
    fetcher.page.on("download", lambda d: downloads.append(d))
    page = loop.run_until_complete(fetcher.fetch(f"{good.base}/download-page"))
    loop.run_until_complete(asyncio.sleep(0.3))
    assert page.title == "Download" and "/file.bin" not in good.hits
    # Chromium announces the download attempt, but with accept_downloads=False it never completes.
    for download in downloads:
        assert loop.run_until_complete(download.failure()) is not None
    direct = loop.run_until_complete(fetcher.fetch(f"{good.base}/file.bin"))
    assert direct.body == b"\x00\x01secret-bytes" and direct.html is None
    assert direct.content_type == "application/octet-stream" and len(downloads) <= 1


@pytest.mark.parametrize("path, ctype, body",
                         [("/doc.pdf", "application/pdf", b"%PDF-1.4"), ("/notes.txt", "text/plain", b"plain notes")])
def test_non_html_is_returned_as_body(loop, sites, make_fetcher, path, ctype, body):
    good, _ = sites
    page = loop.run_until_complete(make_fetcher().fetch(good.base + path))
    assert page.content_type == ctype and page.body.startswith(body) and page.html is None and page.status == 200


def test_redirect_to_pdf_returns_body_with_hops(loop, sites, make_fetcher):
    good, _ = sites
    page = loop.run_until_complete(make_fetcher().fetch(f"{good.base}/r-pdf"))
    assert page.url == f"{good.base}/doc.pdf" and page.redirects == [f"{good.base}/r-pdf"] and page.body.startswith(b"%PDF")


def test_http_error_status_is_returned_not_raised(loop, sites, make_fetcher):
    good, _ = sites
    page = loop.run_until_complete(make_fetcher().fetch(f"{good.base}/missing"))
    assert page.status == 404 and page.title == "Gone" and "not here" in page.html


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_size_cap(loop, sites, make_fetcher, path):
    good, _ = sites
    with pytest.raises(FetchError, match="page too large"):
        loop.run_until_complete(make_fetcher(max_bytes=100_000).fetch(good.base + path))


def test_slow_page_times_out(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher(timeout_s=1.0)
    with pytest.raises(FetchError, match="timed out"):
        loop.run_until_complete(fetcher.fetch(f"{good.base}/slow"))
    assert loop.run_until_complete(fetcher.fetch(f"{good.base}/final")).title == "Final"  # still usable


def test_host_alias_serves_the_local_server_under_a_virtual_url(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher(policy=EgressPolicy(), host_aliases={"wiki.miniweb": good.base})
    page = loop.run_until_complete(fetcher.fetch("http://wiki.miniweb/page"))
    assert page.url == "http://wiki.miniweb/page" and "inserted by javascript" in page.html
    hop = loop.run_until_complete(fetcher.fetch("http://wiki.miniweb/alias-hop"))
    assert hop.url == "http://wiki.miniweb/final" and hop.redirects == ["http://wiki.miniweb/alias-hop"]
    with pytest.raises(PolicyError):  # the alias target itself stays forbidden by its real address
        loop.run_until_complete(fetcher.fetch(f"{good.base}/page"))


def test_dns_names_are_fetched_at_the_vetted_address(loop, sites, make_fetcher):
    good, _ = sites
    # Neither Chromium (sealed) nor the system resolver knows pinned.test; only the policy's resolver does.
    page = loop.run_until_complete(make_fetcher().fetch(f"http://pinned.test:{good.port}/final"))
    assert page.title == "Final" and page.url == f"http://pinned.test:{good.port}/final"
    with pytest.raises(FetchError, match="resolve"):
        loop.run_until_complete(make_fetcher().fetch(f"http://unknown.test:{good.port}/final"))


def _crash_page(loop, fetcher: PlaywrightFetcher) -> None:
    async def crash():
        cdp = await fetcher.context.new_cdp_session(fetcher.page)
        task = asyncio.ensure_future(cdp.send("Page.crash"))  # never answers: the renderer is gone
        for _ in range(50):
            if fetcher._crashed:
                break
            await asyncio.sleep(0.05)
        task.cancel()

    loop.run_until_complete(crash())


def test_page_crash_raises_browser_crashed_without_renew(loop, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher()
    loop.run_until_complete(fetcher.fetch(f"{good.base}/final"))
    _crash_page(loop, fetcher)
    with pytest.raises(BrowserCrashed):
        loop.run_until_complete(fetcher.fetch(f"{good.base}/page"))


def test_page_crash_is_recovered_with_a_fresh_context(loop, browser, sites, make_fetcher):
    good, _ = sites
    fetcher = make_fetcher(renew=lambda: new_context(browser))
    loop.run_until_complete(fetcher.fetch(f"{good.base}/final"))
    old_context = fetcher.context
    _crash_page(loop, fetcher)
    page = loop.run_until_complete(fetcher.fetch(f"{good.base}/page"))
    assert page.title == "Hello page" and fetcher.crashes_recovered == 1 and fetcher.context is not old_context


def test_a_url_that_mentions_crashes_is_not_mistaken_for_one(loop, make_fetcher):
    fetcher = make_fetcher(host_aliases={"dead.miniweb": "http://127.0.0.1:9"})  # nothing listens there
    with pytest.raises(FetchError, match="could not fetch") as info:
        loop.run_until_complete(fetcher.fetch("http://dead.miniweb/page-crashed/target-closed-disconnected"))
    assert not isinstance(info.value, BrowserCrashed)
