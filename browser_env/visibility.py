"""webqa's hidden-text pass, run in Chromium before extraction.

``VISIBILITY_JS`` (the source of ``visibility.js``) is a function for ``page.evaluate``: it
decides from computed styles and layout what a reader cannot see (``display:none``, hidden
visibility, zero opacity, ``aria-hidden``, zero-size or off-screen boxes, clip tricks, text the
colour of its background, ``<noscript>``, ``<template>``, comments, zero-width characters) and
returns the page's HTML without it. ``visible_html(page)`` runs it on a Playwright page.
"""

from __future__ import annotations

from importlib.resources import files

from .types import FetchError

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
