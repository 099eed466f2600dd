"""Fixtures for driving the Gradio apps as a person would: a real headless Chromium (Debian's,
through Playwright) against apps served on 127.0.0.1."""

import os

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="module")
def chromium_page():
    from playwright.sync_api import sync_playwright

    from browser_env.web.chromium import CHROMIUM_ARGS, find_chromium

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True, args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context
        browser.close()


@pytest.fixture(scope="module")
def web_runtime():
    from browser_env.miniweb.index import default_index_dir
    from browser_env.runtime import SyncWebRuntime

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the wiki-vital index is not built (run ./setup.sh)")
    with SyncWebRuntime() as rt:
        yield rt


def serve(app):
    """Launch a Blocks app on 127.0.0.1 without blocking; returns its URL."""
    _, url, _ = app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    return url
