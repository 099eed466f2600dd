"""Fixtures shared by the browser_env tests: the local HTTP servers they talk to.

- ``server`` / ``closed_port_url``: a ``ReplayServer`` scripting search-API replies, and an
  address where nothing listens (the HTTP backends and failover tests);
- ``loop`` / ``sites``: one event loop and the ``good``/``bad`` sites per module (the fetcher
  and pool tests, which drive Chromium from synchronous tests).
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.browser_env.replay import ReplayServer
from tests.browser_env.sites import Site, build_sites


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


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def sites():
    good, bad = Site(), Site()
    build_sites(good, bad)
    yield good, bad
    good.stop()
    bad.stop()
