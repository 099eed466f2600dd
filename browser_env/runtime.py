"""``WebRuntime``: the shared parts behind many environments — one Chromium, the mini-web, the search.

    async with WebRuntime(index_dir) as rt:          # local mini-web (the default)
        env = rt.make_env()
        obs = await env.reset("Why is the sky blue?")

    with SyncWebRuntime(index_dir) as rt:            # the same, for synchronous code
        env = rt.make_env()

It opens the index, serves it over HTTP on 127.0.0.1 (``MiniWeb``), starts one Chromium pool
whose contexts see the mini-web under its virtual host, and builds the search backend list.
Web backends (``searxng:URL``, ``brave``, ``duckduckgo``, ``direct``) can replace or follow
``local``. The browser's egress policy grants no loopback exception: the mini-web is reached
through its virtual host alias, and a self-hosted SearXNG the user named is asked by its backend's
own HTTP client, so neither address is open to the pages the agent opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .text.env import BrowserEnv, EnvConfig, LoopThread, SyncBrowserEnv


class WebRuntime:
    def __init__(
        self,
        index_dir: str | Path | None = None,
        *,
        search: list[str] | tuple[str, ...] = ("local",),
        config: EnvConfig | None = None,
        prewarm: int = 2,
        max_concurrency: int | None = None,
        timeout_s: float = 15.0,
    ):
        self.index_dir = Path(index_dir) if index_dir else None
        self.search_specs = list(search)
        self.config = config or EnvConfig()
        self.prewarm = prewarm
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.index = self.miniweb = self.pool = self.search = None
        self._backend_names: set[str] = set()
        self._ddg_fetcher = None

    async def start(self) -> "WebRuntime":
        from .backends.specs import check_spec
        from .web.netpolicy import EgressPolicy
        from .web.pool import BrowserPool

        # A wrong spec is refused here, before the index opens or Chromium starts.
        self._backend_names = {check_spec(s)[0] for s in self.search_specs}
        needs_index = "local" in self._backend_names
        aliases: dict[str, str] = {}
        if needs_index:
            from .miniweb.index import default_index_dir, open_index
            from .miniweb.server import MiniWeb

            self.index = open_index(self.index_dir or default_index_dir())
            self.miniweb = MiniWeb(self.index)
            self.miniweb.start()
            aliases[self.miniweb.host] = self.miniweb.base_url
        # A self-hosted SearXNG the user named is asked through its JSON API by the backend's own
        # httpx client, outside the browser; the browser's policy does not admit its address, so a
        # result or page linking to http://127.0.0.1:PORT/admin is refused like any loopback URL.
        warm_url = f"http://{self.miniweb.host}/" if self.miniweb else None
        self.pool = BrowserPool(policy=EgressPolicy(), host_aliases=aliases,
                                prewarm=self.prewarm, max_concurrency=self.max_concurrency,
                                timeout_s=self.timeout_s, warm_url=warm_url)
        await self.pool.__aenter__()
        self.search = await self._make_search()
        return self

    async def _make_search(self):
        from .backends.registry import make_search

        fetcher = None
        if self._backend_names & {"duckduckgo", "ddg"}:
            # DuckDuckGo is loaded as a web page, through a context of its own.
            self._ddg_fetcher = fetcher = await self.pool.acquire()
        return make_search(self.search_specs, fetcher=fetcher, index=self.index,
                           host=self.miniweb.host if self.miniweb else None)

    def make_env(self, config: EnvConfig | None = None) -> BrowserEnv:
        if self.pool is None:
            raise RuntimeError("WebRuntime.make_env() before start()")
        return BrowserEnv(self.search, self.pool, config or self.config)

    async def close(self) -> None:
        if self.pool is not None:
            if self._ddg_fetcher is not None:
                await self.pool.release(self._ddg_fetcher)
            await self.pool.__aexit__(None, None, None)
            self.pool = None
        if self.miniweb is not None:
            self.miniweb.stop()
            self.miniweb = None

    async def __aenter__(self) -> "WebRuntime":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class SyncWebRuntime:
    """``WebRuntime`` for synchronous callers: its loop runs in a background thread."""

    def __init__(self, index_dir: str | Path | None = None, **kw: Any):
        self._loop = LoopThread()
        self.runtime = WebRuntime(index_dir, **kw)

    def start(self) -> "SyncWebRuntime":
        try:
            self._loop.run(self.runtime.start())
        except BaseException:
            self.close()
            raise
        return self

    def make_env(self, config: EnvConfig | None = None) -> SyncBrowserEnv:
        return SyncBrowserEnv(self.runtime.make_env(config), self._loop)

    def close(self) -> None:
        try:
            self._loop.run(self.runtime.close(), timeout=60)
        finally:
            self._loop.stop()

    def __enter__(self) -> "SyncWebRuntime":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
