"""One Chromium shared by many environments: ``BrowserPool`` hands out fetchers, one context each.

Each episode gets a ``PlaywrightFetcher`` on a brand-new ``BrowserContext`` (closing the context is
what frees its memory and forgets its cookies); a few are prepared ahead (``prewarm``), so
acquiring one costs a queue pop rather than a context and page start. Preparing one (a context, a
tab and a first page load, a few hundred ms of Chromium's CPU) is done where it does not slow a
live episode: at release, before the next episode starts, when no other session is live, and in
the background otherwise. (``recycle=True`` instead scrubs a released context, cookies,
permissions, every visited origin's storage and the tab, and reuses it: cheaper still under
concurrency, but contexts then live across episodes, so it is off by default.)
Chromium is launched lazily, sealed off from the network (``chromium.SEALED_ARGS``; the fetcher
answers every request itself), and relaunched on next use if it died. A fetcher whose browser or
page crashed asks the pool for a new context and retries once.

    async with BrowserPool(policy=EgressPolicy()) as pool:
        pool.add_host_alias("wiki-vital.miniweb", "http://127.0.0.1:43210")
        async with pool.session() as fetcher:
            page = await fetcher.fetch("http://wiki-vital.miniweb/page/1")
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from .chromium import SEALED_ARGS, launch
from .fetch import PlaywrightFetcher, new_context
from .fetch_http import FetchLimits
from .netpolicy import EgressPolicy
from ..types import WorldError

log = logging.getLogger(__name__)

# Measured cost of one live context with a simple page: roughly 0.2-0.3 GiB of Chromium memory.
GIB_PER_SESSION = 0.3
# A scrubbed context serves this many sessions before it is closed, so whatever it accumulates
# (Chromium's in-memory caches) stays bounded.
MAX_EPISODES_PER_CONTEXT = 50


def available_memory_gib(meminfo: str = "/proc/meminfo") -> float | None:
    """MemAvailable in GiB, or None where /proc/meminfo is missing (not Linux)."""
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        return None
    return None


def default_concurrency(cpu_count: int | None = None, mem_gib: float | None = None) -> int:
    """How many sessions may be live at once: ``max(2, min(4 × cores, available GiB / 0.3))``.

    Sessions are mostly idle (the policy is thinking between clicks), so four per core keeps the
    CPU busy; memory caps it at about 0.3 GiB per live context; two is the floor so one stalled
    episode never blocks everything.
    """
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    mem = mem_gib if mem_gib is not None else available_memory_gib()
    by_memory = int(mem / GIB_PER_SESSION) if mem is not None else 4 * cores
    return max(2, min(4 * cores, by_memory))


class BrowserPool:
    """Owns Playwright, one Chromium, prewarmed fetchers, and the semaphore bounding live sessions."""

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        prewarm: int = 2,
        policy: EgressPolicy | None = None,
        host_aliases: dict[str, str] | None = None,
        timeout_s: float = FetchLimits.timeout_s,
        max_bytes: int = FetchLimits.max_bytes,
        max_redirects: int = FetchLimits.max_redirects,
        settle_s: float = FetchLimits.settle_s,
        client: httpx.AsyncClient | None = None,
        headless: bool = True,
        warm_url: str | None = None,
        recycle: bool = False,
    ):
        self.max_concurrency = max_concurrency or default_concurrency()
        self.prewarm = prewarm
        self.policy = policy or EgressPolicy()
        self.host_aliases: dict[str, str] = {}
        for host, base in (host_aliases or {}).items():
            self.add_host_alias(host, base)
        # Handed as one value to every fetcher; the defaults above are FetchLimits' own.
        self.limits = FetchLimits(timeout_s, max_bytes, max_redirects, settle_s)
        self.timeout_s, self.max_bytes, self.max_redirects, self.settle_s = timeout_s, max_bytes, max_redirects, settle_s
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(timeout_s))
        self.headless = headless
        # A prewarmed context loads this page once, so its renderer is up before an episode's
        # first click (the first navigation in a fresh context costs several times a later one).
        self.warm_url = warm_url
        self.recycle = recycle
        self.recycled = 0  # sessions served by a scrubbed context
        self.launches = 0  # Chromium starts, the first included
        self.crashes_recovered = 0  # fresh contexts handed to fetchers after a crash
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._launch_lock = asyncio.Lock()
        self._sem = asyncio.Semaphore(self.max_concurrency)
        self._ready: deque[PlaywrightFetcher] = deque()
        self._leased: set[PlaywrightFetcher] = set()
        self._refill_task: asyncio.Task | None = None
        self._closed = False

    def add_host_alias(self, host: str, base_url: str) -> None:
        """Serve ``http(s)://host/...`` from ``base_url`` (e.g. the mini-web on 127.0.0.1)."""
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"alias target must be an http(s) URL, got {base_url!r}")
        # Fetchers hold this dict by reference, so prewarmed and leased ones see the alias too.
        self.host_aliases[host.strip().lower().rstrip(".")] = base_url

    async def __aenter__(self) -> BrowserPool:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def start(self) -> None:
        """Launch Chromium and begin prewarming (also done lazily by ``acquire``)."""
        await self._ensure_browser()
        self._schedule_refill()

    # -- sessions --------------------------------------------------------------------------

    async def acquire(self) -> PlaywrightFetcher:
        """A fetcher on a fresh context; waits while ``max_concurrency`` sessions are live."""
        if self._closed:
            raise RuntimeError("acquire() on a closed BrowserPool")
        await self._sem.acquire()
        try:
            fetcher = None
            while self._ready and fetcher is None:
                candidate = self._ready.popleft()
                if candidate._browser_alive() and not candidate._crashed:
                    fetcher = candidate
                else:
                    await candidate.close()
            if fetcher is None:
                fetcher = await self._new_fetcher()
        except BaseException:
            self._sem.release()
            raise
        self._leased.add(fetcher)
        if not self._ready and not self.recycle:  # (recycling: this session's context comes back)
            self._schedule_refill()  # the next acquire would wait: prepare one now
        return fetcher

    async def release(self, fetcher: PlaywrightFetcher) -> None:
        """Close the fetcher's context (freeing its memory) and free its slot."""
        if fetcher not in self._leased:
            raise ValueError("release() of a fetcher this pool did not hand out (or released twice)")
        self._leased.discard(fetcher)
        try:
            fetcher.episodes += 1
            if (self.recycle and not self._closed and len(self._ready) < self.prewarm
                    and fetcher.episodes < MAX_EPISODES_PER_CONTEXT and await fetcher.scrub()):
                self._ready.append(fetcher)
                self.recycled += 1
                return
            await fetcher.close()
        finally:
            self._sem.release()
        # Refill here rather than on acquire while a spare is left. With no other session live,
        # the refill is awaited: done in the background it ran exactly when the next episode's
        # first click did, and on two cores that click's median went from about 60 to 180 ms.
        idle = self._refill_task is None or self._refill_task.done()
        if not self._leased and not self._closed and self.prewarm > 0 and idle:
            self._refill_task = asyncio.get_running_loop().create_task(self._refill())
            try:  # bounded: a Chromium that stalls must not stall the caller's close()
                await asyncio.wait_for(asyncio.shield(self._refill_task), timeout=self.timeout_s)
            except TimeoutError:
                log.warning("preparing the next browser context is taking over %.0f s; it goes on in the "
                            "background", self.timeout_s)
        else:
            self._schedule_refill()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[PlaywrightFetcher]:
        fetcher = await self.acquire()
        try:
            yield fetcher
        finally:
            await self.release(fetcher)

    # -- Chromium and contexts -------------------------------------------------------------

    async def _ensure_browser(self) -> Browser:
        async with self._launch_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning("Chromium died; relaunching it")
                # Prewarmed contexts died with it; acquire() would discard them one by one anyway.
                stale, self._ready = list(self._ready), deque()
                for fetcher in stale:
                    await fetcher.close()
            try:
                if self._pw is None:
                    self._pw = await async_playwright().start()
                self._browser = await launch(self._pw, headless=self.headless, extra_args=SEALED_ARGS)
            except PlaywrightError as e:
                raise WorldError(f"could not launch Chromium: {e}") from e
            self.launches += 1
            return self._browser

    async def _new_fetcher(self, *, warm: bool = False) -> PlaywrightFetcher:
        context = await new_context(await self._ensure_browser())
        fetcher = await PlaywrightFetcher.open(
            context,
            client=self.client,
            policy=self.policy,
            host_aliases=self.host_aliases,
            limits=self.limits,
            renew=self._renew_context,
        )
        if warm and self.warm_url:
            with suppress(WorldError):  # only a head start: an episode works without it
                await fetcher.fetch(self.warm_url)
        return fetcher

    async def _renew_context(self) -> BrowserContext:
        """Called by a fetcher after a crash: a fresh context, on a relaunched browser if needed."""
        context = await new_context(await self._ensure_browser())
        self.crashes_recovered += 1
        return context

    def _schedule_refill(self) -> None:
        if self._closed or self.prewarm <= 0:
            return
        if self._refill_task is None or self._refill_task.done():
            self._refill_task = asyncio.get_running_loop().create_task(self._refill())

    async def _refill(self) -> None:
        while not self._closed and len(self._ready) < self.prewarm:
            try:
                fetcher = await self._new_fetcher(warm=True)
            except (WorldError, PlaywrightError) as e:
                # Background work has no caller to raise to; acquire() will meet the same fault.
                log.warning("prewarming a browser context failed: %s", e)
                return
            if self._closed:
                await fetcher.close()
                return
            self._ready.append(fetcher)

    # -- shutdown --------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every context, Chromium and Playwright's driver; the pool cannot be reused."""
        if self._closed:
            return
        self._closed = True
        if self._refill_task is not None:
            self._refill_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._refill_task
        for fetcher in [*self._ready, *self._leased]:
            await fetcher.close()
        self._ready.clear()
        self._leased.clear()
        if self._browser is not None:
            try:
                await self._browser.close()
            except PlaywrightError as e:
                log.debug("Chromium was already gone at close: %s", e)
            self._browser = None
        if self._pw is not None:
            await self._pw.stop()
            self._pw = None
        if self._own_client:
            await self.client.aclose()
