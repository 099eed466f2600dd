"""Fetching pages through Chromium with webqa answering every request: ``PlaywrightFetcher``.

The fetcher owns one ``BrowserContext`` (given to it; ``browser_env.web.pool`` makes them) and one
reused page. Chromium runs the page's JavaScript, but never touches the network itself: a
``context.route`` handler answers every request (documents, frames, scripts, XHR, CSS) by fetching
it with httpx after ``EgressPolicy`` vetted the URL, connecting to the vetted address, and
following redirects one hop at a time, vetting each ``Location`` before it is requested. This is
needed because Chromium follows redirects (even a fulfilled 3xx) without showing the hops to the
route handler (measured; see ../shared/notes/platform.md), and ``chromium.SEALED_ARGS`` make sure
anything that escapes routing (WebSockets, such redirects) reaches nothing.

For the page itself a redirect chain is resolved in the handler, the navigation is aborted and
restarted at the final URL, and the restarted request is answered from the response already in
hand, so the page knows its real URL and nothing is fetched twice. Non-HTML documents (PDF,
text, attachments) are never handed to Chromium: the navigation is aborted and the bytes returned
as ``FetchedPage.body``. Images, media and fonts are never downloaded.

``host_aliases`` map a virtual host (``wiki-vital.miniweb``) to a real base URL on this machine:
the page keeps its virtual URL and the policy is not consulted for alias hosts (they are trusted
by configuration). Chromium crashes and a dead browser raise ``BrowserCrashed``; given a
``renew`` callback the fetcher moves to a fresh context and retries once.

The httpx side (vetting, aliases, redirect hops, size limits, ``FetchLimits``) is in
``browser_env.web.fetch_http``; this module owns the context, the page and the route handler.
"""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import astuple, dataclass, replace
from typing import Literal

import httpx
from playwright.async_api import Browser, BrowserContext, Page, Request, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .fetch_http import HOP_BY_HOP, FetchLimits, HttpResolving, HttpResponse
from .netpolicy import EgressPolicy
from ..types import FetchedPage, FetchError, PolicyError, WorldError
from .visibility import visible_page

log = logging.getLogger(__name__)

USER_AGENT = "webqa/0.1 (+text browser)"
CONTEXT_OPTIONS: dict = {  # service workers would fetch outside the route handler
    "user_agent": USER_AGENT, "viewport": {"width": 1280, "height": 800}, "java_script_enabled": True,
    "service_workers": "block", "accept_downloads": False, "permissions": [], "locale": "en-US", "timezone_id": "UTC",
}
SKIPPED_RESOURCE_TYPES = frozenset({"image", "media", "font"})
# Playwright's service_workers="block" only bypasses workers for routing; registration still
# succeeds (measured), so the API is removed before any page script runs.
_NO_SERVICE_WORKERS_JS = "delete Navigator.prototype.serviceWorker;"
_CRASH_MARKERS = ("crashed", "target closed", "has been closed", "browser closed", "connection closed", "disconnected")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)  # a URL in an error message must not look like a crash


class BrowserCrashed(WorldError):
    """The page's renderer crashed or the browser died; retry in a fresh context."""


async def new_context(browser: Browser) -> BrowserContext:
    """A context with webqa's fixed settings: no service workers, downloads or permissions."""
    context = await browser.new_context(**CONTEXT_OPTIONS)
    await context.add_init_script(_NO_SERVICE_WORKERS_JS)
    return context


@dataclass
class _Navigation:
    """What the route handler learned about the document a ``fetch`` call is loading."""

    phase: Literal["goto", "settle"] = "goto"
    response: HttpResponse | None = None
    error: WorldError | None = None
    restart_to: str | None = None
    pending: HttpResponse | None = None  # answers the restarted request without fetching again


class PlaywrightFetcher(HttpResolving):
    """A ``PageFetcher`` on one context and one reused page. Not for concurrent use."""

    def __init__(
        self,
        context: BrowserContext,
        *,
        client: httpx.AsyncClient,
        policy: EgressPolicy | None = None,
        host_aliases: dict[str, str] | None = None,
        limits: FetchLimits | None = None,
        renew: Callable[[], Awaitable[BrowserContext]] | None = None,
        **overrides: float,
    ):
        """``overrides`` (``timeout_s=``, ``max_bytes=``, ``max_redirects=``, ``settle_s=``) replace
        single fields of ``limits``; an unknown name raises ``TypeError``."""
        limits = replace(limits or FetchLimits(), **overrides)
        self.context = context
        self.client = client
        self.policy = policy or EgressPolicy()
        # Shared by reference with the pool, so aliases added later reach prewarmed fetchers.
        self.host_aliases = host_aliases if host_aliases is not None else {}
        self.limits = limits
        self.timeout_s, self.max_bytes, self.max_redirects, self.settle_s = astuple(limits)
        self.renew = renew
        self.crashes_recovered = 0
        self.screenshots = False  # set by the env: attach a viewport JPEG to every HTML page
        self.refusals: deque[tuple[str, str]] = deque(maxlen=200)  # (url, why) of requests not served
        self._page: Page | None = None
        self._nav: _Navigation | None = None
        self._crashed = False
        self._bug: BaseException | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self._origins: set[str] = set()  # every origin served in this context, for scrub()
        self.episodes = 0  # sessions this context has served (the pool recycles it a bounded number of times)

    @classmethod
    async def open(cls, context: BrowserContext, **kwargs) -> PlaywrightFetcher:
        fetcher = cls(context, **kwargs)
        await fetcher._attach(context)
        return fetcher

    async def _attach(self, context: BrowserContext) -> None:
        self.context, self._crashed = context, False
        await context.route("**/*", self._on_route)  # before the page exists, so nothing slips by
        page = await context.new_page()
        page.on("crash", self._on_crash)
        page.on("popup", self._on_popup)
        self._page = page

    def _on_crash(self, _page: Page) -> None:
        self._crashed = True

    def _on_popup(self, popup: Page) -> None:
        # A text browser has one tab; popups only burn memory (their requests are routed anyway).
        task = asyncio.get_running_loop().create_task(popup.close())
        self._tasks.add(task)
        task.add_done_callback(self._popup_closed)

    def _popup_closed(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("closing a popup failed: %s", task.exception())  # it died with its context

    @property
    def page(self) -> Page:
        if self._page is None:
            raise RuntimeError("PlaywrightFetcher used before open()")
        return self._page

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.context.close()
        except PlaywrightError as e:
            # A context whose browser died is gone already; anything else is worth a line in the log.
            if not self._is_crash(e):
                log.warning("closing a browser context failed: %s", e)

    async def scrub(self) -> bool:
        """Make the context forget the episode, so the pool can hand it to the next one.

        Cookies, permissions and every visited origin's storage (local and session storage,
        IndexedDB, caches) are cleared, and the tab is replaced by a new one, which drops its
        history, scripts and timers. False when the context cannot be reused (crashed, closed,
        or a step failed); the pool then closes it and prepares a fresh one."""
        if self._closed or self._crashed or self._bug is not None or not self._browser_alive():
            return False
        try:
            old = self.page
            await self.context.clear_cookies()
            await self.context.clear_permissions()
            if self._origins:
                cdp = await self.context.new_cdp_session(old)
                for origin in sorted(self._origins):
                    await cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
                await cdp.detach()
            page = await self.context.new_page()
            page.on("crash", self._on_crash)
            page.on("popup", self._on_popup)
            self._page = page
            await old.close()
        except PlaywrightError as e:
            log.debug("could not scrub a browser context for reuse: %s", _first_line(e))
            return False
        self._origins.clear()
        self.refusals.clear()
        self.screenshots = False
        return True

    # -- fetch -----------------------------------------------------------------------------

    async def fetch(self, url: str) -> FetchedPage:
        if self._closed:
            raise RuntimeError("fetch() on a closed PlaywrightFetcher")
        async with self._lock:
            try:
                return await self._fetch_once(url)
            except BrowserCrashed:
                if self.renew is None:
                    raise
                old = self.context
                await self._attach(await self.renew())
                self.crashes_recovered += 1
                with suppress(PlaywrightError):  # the crashed context's browser may already be gone
                    await old.close()
                return await self._fetch_once(url)

    async def _fetch_once(self, url: str) -> FetchedPage:
        if self._bug is not None:
            bug, self._bug = self._bug, None
            raise RuntimeError("the route handler failed on an earlier request") from bug
        await self._target(url)  # vet it here: data:, file: and the like never reach the route handler
        if self._crashed or not self._browser_alive():
            raise BrowserCrashed("the browser context is no longer usable")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        nav = self._nav = _Navigation()
        try:
            target = url
            for _ in range(2):  # one restart at most: the handler resolves a whole chain at once
                try:
                    await self.page.goto(target, wait_until="domcontentloaded", timeout=self._ms_left(deadline))
                    break
                except PlaywrightTimeout as e:
                    raise FetchError(f"timed out after {self.timeout_s:g} s loading {url}") from e
                except PlaywrightError as e:
                    if self._crashed or self._is_crash(e):
                        raise BrowserCrashed(f"Chromium crashed loading {url}: {_first_line(e)}") from e
                    if nav.error is not None:
                        raise nav.error from e
                    if nav.restart_to is not None:
                        target, nav.restart_to = nav.restart_to, None
                        continue
                    if (resp := nav.response) is not None and not resp.is_html:
                        return FetchedPage(url=resp.url, status=resp.status, body=resp.body, requested_url=url,
                                           content_type=resp.content_type or "application/octet-stream",
                                           redirects=list(resp.hops))
                    raise FetchError(f"could not load {url}: {_first_line(e)}") from e
            nav.phase = "settle"
            if self.settle_s > 0:  # Playwright reads a timeout of 0 as "wait forever"
                try:
                    await self.page.wait_for_load_state("load", timeout=min(self.settle_s * 1000, self._ms_left(deadline)))
                except PlaywrightTimeout:
                    pass  # slow subresources only delay the snapshot; the DOM is already there
            html, title = await self._html()
            shot = await self._screenshot(deadline) if self.screenshots else None
        except PlaywrightError as e:
            if self._crashed or self._is_crash(e):
                raise BrowserCrashed(f"Chromium crashed reading {url}: {_first_line(e)}") from e
            raise FetchError(f"could not read {url}: {_first_line(e)}") from e
        finally:
            self._nav = None
        # No response: a same-document (fragment-only) navigation, which sends no request.
        resp = nav.response
        return FetchedPage(
            url=self.page.url, status=resp.status if resp else 200, html=html, title=title, requested_url=url,
            content_type=resp.content_type if resp and resp.content_type else "text/html",
            redirects=list(resp.hops) if resp else [],
            screenshot=shot,
        )

    async def _screenshot(self, deadline: float) -> bytes | None:
        """The viewport as JPEG; a page that cannot be drawn in time simply has none."""
        try:
            return await self.page.screenshot(type="jpeg", quality=70, timeout=min(5000, self._ms_left(deadline)),
                                              animations="disabled", caret="hide")
        except PlaywrightTimeout:
            return None

    async def _html(self) -> tuple[str, str]:
        for attempt in range(2):
            try:
                return await visible_page(self.page)
            except (PlaywrightError, FetchError) as e:
                # visible_page wraps Playwright's errors in FetchError; judge by the underlying one.
                cause = e if isinstance(e, PlaywrightError) else e.__cause__
                if not isinstance(cause, PlaywrightError):
                    raise
                if self._crashed or self._is_crash(cause):
                    raise BrowserCrashed(f"Chromium crashed reading {self.page.url}: {_first_line(cause)}") from e
                # A script or meta refresh navigated during the snapshot: read the new document once.
                if attempt or not any(m in str(cause).lower() for m in ("context was destroyed", "is navigating")):
                    raise
                await self.page.wait_for_load_state("domcontentloaded")
        raise AssertionError("unreachable")

    def _ms_left(self, deadline: float) -> float:
        return max(1.0, (deadline - asyncio.get_running_loop().time()) * 1000)

    def _browser_alive(self) -> bool:
        browser = self.context.browser
        return browser is None or browser.is_connected()

    def _is_crash(self, e: BaseException) -> bool:
        text = _URL.sub("", str(e)).lower()
        return not self._browser_alive() or any(m in text for m in _CRASH_MARKERS)

    # -- the route handler -----------------------------------------------------------------

    async def _on_route(self, route: Route) -> None:
        try:
            await self._serve(route, route.request)
        except PlaywrightError as e:
            # The route died with its page (navigated away, closed, crashed) while we fetched.
            log.debug("route for %s went away: %s", route.request.url, _first_line(e))
        except Exception as e:  # noqa: BLE001 - a webqa bug: surface it from the next fetch()
            self._bug = e
            log.exception("route handler failed for %s", route.request.url)
            with suppress(PlaywrightError):  # the route may be gone too; the bug is recorded either way
                await route.abort("failed")

    async def _serve(self, route: Route, req: Request) -> None:
        parts = urlsplit(req.url)
        if parts.scheme in ("http", "https"):
            self._origins.add(f"{parts.scheme}://{parts.netloc}")
        if req.resource_type in SKIPPED_RESOURCE_TYPES:
            self.refusals.append((req.url, f"{req.resource_type} not downloaded"))
            await route.abort("blockedbyclient")
            return
        nav = self._nav
        is_document = (nav is not None and nav.phase == "goto" and req.is_navigation_request()
                       and req.frame == self._page.main_frame)
        if (req.is_navigation_request() and req.frame == self._page.main_frame and not is_document):
            # The page itself tried to navigate (a script, a meta refresh, a form) outside our own
            # goto: answer 204, which leaves the current document in place. The browser's state is
            # webqa's to change, never the page's.
            self.refusals.append((req.url, "navigation started by the page ignored"))
            await route.fulfill(status=204, body=b"")
            return
        if is_document and nav.pending is not None:
            resp, nav.pending = nav.pending, None
            await route.fulfill(**_fulfil_args(resp))
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await self._resolve(req)
        except (WorldError, TimeoutError) as e:
            err = e if isinstance(e, WorldError) else FetchError(f"timed out after {self.timeout_s:g} s fetching {req.url}")
            self.refusals.append((req.url, str(err)))
            if is_document:
                nav.error = err
            await route.abort("blockedbyclient" if isinstance(err, PolicyError) else "failed")
            return
        if is_document:
            nav.response = resp
            if not resp.is_html:
                await route.abort("aborted")  # returned as bytes; Chromium must not open or save it
            elif resp.hops:
                nav.restart_to, nav.pending = resp.url, resp
                await route.abort("aborted")
            else:
                await route.fulfill(**_fulfil_args(resp))
            return
        if "attachment" in resp.headers.get("content-disposition", "").lower():
            self.refusals.append((req.url, "download refused"))
            await route.abort("blockedbyclient")
            return
        await route.fulfill(**_fulfil_args(resp))



def _fulfil_args(resp: HttpResponse) -> dict:
    headers = {k: v for k, v in resp.headers.items() if k not in HOP_BY_HOP}
    return {"status": resp.status, "headers": headers, "body": resp.body}


def _first_line(e: BaseException) -> str:
    text = getattr(e, "message", None) or str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__
