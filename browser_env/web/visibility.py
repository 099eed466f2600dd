"""webqa's hidden-text pass, run in Chromium before extraction.

``VISIBILITY_JS`` (the source of ``visibility.js``) is a function for ``page.evaluate``: it
decides from computed styles and layout what a reader cannot see (``display:none``, hidden
visibility, zero opacity, ``aria-hidden``, zero-size or off-screen boxes, clip tricks, text the
colour of its background, ``<noscript>``, ``<template>``, comments, zero-width characters) and
returns the page's HTML without it. ``visible_html(page)`` runs it on a Playwright page;
``OfflineVisibility`` runs it on HTML that is not fetched from the web (a corpus's pages, at index
build), so the same rules decide what text exists wherever page text is made.
"""

from __future__ import annotations

from importlib.resources import files

from ..types import FetchError, WorldError

VISIBILITY_JS: str = files(__package__).joinpath("visibility.js").read_text(encoding="utf-8")
# The title is read before the pass changes the DOM, in the same round trip (a separate
# ``page.title()`` call cost about 6 ms per page).
_WITH_TITLE_JS = f"() => {{ const title = document.title; return [({VISIBILITY_JS})(), title]; }}"


async def visible_html(page) -> str:
    """The HTML of a loaded Playwright ``page`` with hidden content removed (the page's DOM is changed).

    A page that closes or navigates away mid-pass is the world's fault: ``FetchError``.
    """
    return (await visible_page(page))[0]


async def visible_page(page) -> tuple[str, str]:
    """``(visible HTML, document title)`` of a loaded page, in one round trip; see ``visible_html``."""
    from playwright.async_api import Error as PlaywrightError

    try:
        out = await page.evaluate(_WITH_TITLE_JS)
    except PlaywrightError as e:
        raise FetchError(f"the visibility pass failed on {page.url}: {e}") from e
    if not (isinstance(out, list) and len(out) == 2 and isinstance(out[0], str)):
        raise FetchError(f"the visibility pass returned {type(out).__name__} on {page.url}, not HTML")
    return out[0], out[1] if isinstance(out[1], str) else ""


class OfflineVisibility:
    """The same pass for HTML that does not come from the web: a corpus's pages at index build.

    Each document is loaded with ``page.set_content`` in a sealed Chromium whose every request is
    aborted (a corpus page gets no stylesheet, font or image from anywhere), with the web fetcher's
    viewport, and ``VISIBILITY_JS`` runs on it: an indexed page loses exactly what a fetched page
    would. Page scripts must be taken out of the markup first (``corpus_html.prepare_markup``), as
    they never run on the mini-web either. Chromium starts on the first call, on an event loop in a
    thread of its own, so synchronous corpus readers can call ``visible``; it is relaunched if it
    dies. ``concurrency`` pages are loaded at once.

        with OfflineVisibility() as vis:
            html, = vis.visible(["<html><head><style>.x{display:none}</style>..."])
    """

    def __init__(self, *, concurrency: int = 4, timeout_s: float = 15.0):
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self._loop = None  # env.LoopThread, made on first use
        self._pw = self._browser = self._context = None
        self._pages = None  # asyncio.Queue of idle pages

    def visible(self, markups: list[str]) -> list[str | FetchError]:
        """The visible HTML of each document, in order; a document the pass failed on is its FetchError."""
        if not markups:
            return []
        if self._loop is None:
            from ..text.env import LoopThread

            self._loop = LoopThread()
        return self._loop.run(self._visible_all(markups))

    async def _visible_all(self, markups: list[str]) -> list[str | FetchError]:
        import asyncio

        if self._browser is None or not self._browser.is_connected():
            await self._start()
        results = list(await asyncio.gather(*(self._visible_one(m) for m in markups)))
        if not self._browser.is_connected():  # Chromium died during the batch: once more, on a new one
            await self._start()
            redo = [i for i, r in enumerate(results) if isinstance(r, FetchError)]
            for i, r in zip(redo, await asyncio.gather(*(self._visible_one(markups[i]) for i in redo))):
                results[i] = r
        return results

    async def _start(self) -> None:
        import asyncio

        from playwright.async_api import async_playwright

        from .chromium import SEALED_ARGS, launch
        from .fetch import CONTEXT_OPTIONS

        from playwright.async_api import Error as PlaywrightError

        await self._stop()
        try:
            self._pw = await async_playwright().start()
            self._browser = await launch(self._pw, extra_args=SEALED_ARGS)
            self._context = await self._browser.new_context(**CONTEXT_OPTIONS)
            await self._context.route("**/*", lambda route: route.abort())
            self._pages = asyncio.Queue()
            for _ in range(self.concurrency):
                self._pages.put_nowait(await self._context.new_page())
        except PlaywrightError as e:
            await self._stop()
            raise WorldError(f"could not start Chromium for the visibility pass: {str(e).splitlines()[0]}") from e

    async def _visible_one(self, markup: str) -> str | FetchError:
        from playwright.async_api import Error as PlaywrightError

        page = await self._pages.get()
        try:
            await page.set_content(markup, wait_until="load", timeout=self.timeout_s * 1000)
            out = await page.evaluate(f"({VISIBILITY_JS})()")
        except PlaywrightError as e:
            if self._browser.is_connected():  # the page may be wedged: the next document gets a new one
                try:
                    await page.close()
                    page = await self._context.new_page()
                except PlaywrightError:
                    pass
            return FetchError(f"the visibility pass failed: {str(e).splitlines()[0]}")
        finally:
            self._pages.put_nowait(page)
        if not isinstance(out, str):
            return FetchError(f"the visibility pass returned {type(out).__name__}, not HTML")
        return out

    async def _stop(self) -> None:
        from playwright.async_api import Error as PlaywrightError

        if self._browser is not None:
            try:
                await self._browser.close()
            except PlaywrightError:
                pass  # already dead: that is why we are here
        if self._pw is not None:
            await self._pw.stop()
        self._pw = self._browser = self._context = self._pages = None

    def close(self) -> None:
        if self._loop is not None:
            try:
                self._loop.run(self._stop(), timeout=30)
            finally:
                self._loop.stop()
                self._loop = None

    def __enter__(self) -> OfflineVisibility:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
