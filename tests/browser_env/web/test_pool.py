"""BrowserPool: fresh contexts per session, prewarming, aliases, the concurrency bound, crash
recovery (a killed Chromium, a crashed page) and a clean shutdown with no leftover processes.

The servers are ``tests/browser_env/sites.py``'s (``loop`` and ``sites`` fixtures in conftest.py);
one pool is shared by the module to keep it fast.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from browser_env.web.netpolicy import EgressPolicy
from browser_env.web.pool import BrowserPool, available_memory_gib, default_concurrency
from tests.browser_env.sites import Site


def test_default_concurrency_formula():
    assert default_concurrency(cpu_count=2, mem_gib=23.0) == 8  # cores bind: 4 x 2
    assert default_concurrency(cpu_count=16, mem_gib=3.0) == 10  # memory binds: 3 / 0.3
    assert default_concurrency(cpu_count=1, mem_gib=0.2) == 2  # never below two
    assert default_concurrency() >= 2


def test_available_memory_reads_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    3145728 kB\n")
    assert available_memory_gib(str(meminfo)) == pytest.approx(3.0)
    assert available_memory_gib(str(tmp_path / "missing")) is None


def test_importing_the_fetch_stack_does_not_load_torch():
    code = ("import sys, browser_env.web.pool, browser_env.web.fetch, browser_env.web.netpolicy; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def make_pool(good: Site, **kw) -> BrowserPool:
    kw.setdefault("policy", EgressPolicy(allowed_hosts=[f"127.0.0.1:{good.port}"]))
    kw.setdefault("timeout_s", 5.0)
    kw.setdefault("settle_s", 0.2)
    return BrowserPool(**kw)


@pytest.fixture(scope="module")
def pool(loop, sites):
    pool = make_pool(sites[0], prewarm=2, max_concurrency=2)
    loop.run_until_complete(pool.start())
    yield pool
    loop.run_until_complete(pool.close())


def chromium_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name() and proc.status() != psutil.STATUS_ZOMBIE:
                proc.cmdline()  # a process that just died raises here rather than later
                found.append(proc)
        except psutil.Error:
            pass  # exited (or became a zombie) while we looked
    return found


def browser_main_process() -> psutil.Process:
    """The Chromium browser process: the one whose parent is not Chromium (Playwright's driver is)."""
    procs = chromium_processes()
    pids = {p.pid for p in procs}
    mains = [p for p in procs if p.ppid() not in pids and p.cmdline() and "--type=" not in " ".join(p.cmdline())]
    assert len(mains) == 1, [(p.pid, p.ppid(), p.cmdline()[:3]) for p in mains]
    return mains[0]


async def wait_prewarmed(pool: BrowserPool, n: int) -> None:
    for _ in range(100):
        if len(pool._ready) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pool never prewarmed {n} contexts")


async def _second_session_sees_nothing_of_the_first(pool, good):
    async with pool.session() as first:
        await first.fetch(f"{good.base}/final")
        await first.page.evaluate("document.cookie = 'seen=1; path=/'; localStorage.setItem('k', 'v');"
                                  "sessionStorage.setItem('s', 'v')")
        page, context = first.page, first.context
    contexts = []
    for _ in range(3):
        async with pool.session() as second:
            await second.fetch(f"{good.base}/final")
            assert second.page is not page
            assert await second.page.evaluate("document.cookie") == ""
            assert await second.page.evaluate("[localStorage.getItem('k'), sessionStorage.getItem('s')]") \
                == [None, None]
            contexts.append(second.context)
    return context, contexts


@pytest.mark.browser
def test_sessions_get_fresh_contexts_and_prewarmed_acquire_is_cheap(loop, sites, pool):
    good, _ = sites

    async def go():
        await wait_prewarmed(pool, 2)
        ready = set(pool._ready)
        t0 = time.perf_counter()
        async with pool.session() as first:
            warm_ms = (time.perf_counter() - t0) * 1000
            assert first in ready
        context, later = await _second_session_sees_nothing_of_the_first(pool, good)
        assert context not in later and len(set(map(id, later))) == 3  # a brand-new context every time
        assert len(pool._ready) == pool.prewarm  # refilled at release: the next acquire is a pop
        return warm_ms

    warm_ms = loop.run_until_complete(go())
    print(f"warm acquire: {warm_ms:.1f} ms")


@pytest.mark.browser
def test_recycled_contexts_are_scrubbed(loop, sites):
    good, _ = sites
    recycling = make_pool(good, prewarm=1, recycle=True)
    try:
        context, later = loop.run_until_complete(_second_session_sees_nothing_of_the_first(recycling, good))
        assert recycling.recycled >= 3 and context in later  # the same context, scrubbed between sessions
    finally:
        loop.run_until_complete(recycling.close())


@pytest.mark.browser
def test_cold_acquire_without_prewarm_still_works(loop, sites):
    good, _ = sites
    cold = make_pool(good, prewarm=0, max_concurrency=2)

    async def go():
        t0 = time.perf_counter()
        async with cold.session() as fetcher:
            cold_ms = (time.perf_counter() - t0) * 1000
            page = await fetcher.fetch(f"{good.base}/page")
        assert not cold._ready  # prewarm=0: nothing is prepared behind the caller's back
        return cold_ms, page

    try:
        cold_ms, page = loop.run_until_complete(go())
    finally:
        loop.run_until_complete(cold.close())
    assert page.title == "Hello page"
    print(f"cold acquire (launch + context + page): {cold_ms:.1f} ms")


@pytest.mark.browser
def test_host_alias_added_after_prewarm_reaches_prewarmed_fetchers(loop, sites, pool):
    good, _ = sites
    pool.add_host_alias("Wiki-Vital.miniweb", good.base)

    async def go():
        await wait_prewarmed(pool, 1)
        async with pool.session() as fetcher:
            return await fetcher.fetch("http://wiki-vital.miniweb/page")

    page = loop.run_until_complete(go())
    assert page.url == "http://wiki-vital.miniweb/page" and "inserted by javascript" in page.html
    with pytest.raises(ValueError):
        pool.add_host_alias("x.miniweb", "file:///tmp")


@pytest.mark.browser
def test_concurrency_is_bounded_by_the_semaphore(loop, pool):
    async def go():
        a = await pool.acquire()
        b = await pool.acquire()
        third = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.3)
        assert not third.done()  # two sessions are live and the bound is two
        await pool.release(a)
        c = await asyncio.wait_for(third, 10)
        await pool.release(b)
        await pool.release(c)
        with pytest.raises(ValueError):
            await pool.release(c)

    loop.run_until_complete(go())


@pytest.mark.browser
def test_page_crash_is_recovered_in_a_new_context(loop, sites, pool):
    good, _ = sites

    async def go():
        async with pool.session() as fetcher:
            await fetcher.fetch(f"{good.base}/final")
            before = pool.crashes_recovered
            cdp = await fetcher.context.new_cdp_session(fetcher.page)
            crash = asyncio.ensure_future(cdp.send("Page.crash"))  # never answers
            for _ in range(50):
                if fetcher._crashed:
                    break
                await asyncio.sleep(0.05)
            crash.cancel()
            page = await fetcher.fetch(f"{good.base}/page")
            return page, fetcher.crashes_recovered, pool.crashes_recovered - before

    page, fetcher_count, pool_count = loop.run_until_complete(go())
    assert page.title == "Hello page" and fetcher_count == 1 and pool_count == 1


@pytest.mark.browser
def test_killed_chromium_is_relaunched_and_the_fetch_retried(loop, sites, pool):
    good, _ = sites

    async def go():
        held = await pool.acquire()  # a session in use while Chromium dies
        await held.fetch(f"{good.base}/final")
        launches = pool.launches
        victim = browser_main_process()
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        page = await held.fetch(f"{good.base}/page")  # recovers inside fetch: relaunch + new context
        assert held.crashes_recovered == 1 and pool.launches == launches + 1
        await pool.release(held)
        async with pool.session() as fresh:  # stale prewarmed contexts were discarded, not handed out
            again = await fresh.fetch(f"{good.base}/final")
        return page, again, victim.pid

    page, again, old_pid = loop.run_until_complete(go())
    assert page.title == "Hello page" and again.title == "Final"
    assert browser_main_process().pid != old_pid


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.browser
def test_close_leaves_no_processes_behind(loop, sites):
    good, _ = sites
    own = make_pool(good, prewarm=1, max_concurrency=2)

    before = {p.pid for p in psutil.Process().children(recursive=True)}  # the module pool's

    async def go():
        async with own:
            async with own.session() as fetcher:
                await fetcher.fetch(f"{good.base}/final")
            # Only this pool's processes: new ones not descended from a process that ran before
            # (the module pool's Chromium may start renderers meanwhile).
            pids = set()
            for p in psutil.Process().children(recursive=True):
                try:
                    if p.pid not in before and not any(a.pid in before for a in p.parents()):
                        pids.add(p.pid)
                except psutil.Error:
                    pass
        return pids

    pids = loop.run_until_complete(go())
    assert pids  # Chromium and Playwright's driver were running
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_running, pids)):
        time.sleep(0.1)
    assert [p for p in pids if _running(p)] == []
    with pytest.raises(RuntimeError):
        loop.run_until_complete(own.acquire())
