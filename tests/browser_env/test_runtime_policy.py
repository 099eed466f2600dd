"""The egress policy ``WebRuntime`` gives its browser: a self-hosted SearXNG's address is for the
search API's own requests only, never for the pages the agent opens (issue #14, item 2)."""

import asyncio
import json

import pytest

from browser_env.text.env import EnvConfig
from browser_env.runtime import WebRuntime
from tests.browser_env.replay import Reply

pytestmark = pytest.mark.browser


def test_a_named_searxng_host_is_not_open_to_page_navigation(server):
    admin = f"{server.url}/admin"
    server.route("/search", Reply(body=json.dumps({"results": [
        {"url": admin, "title": "Admin panel", "content": "the instance's own admin page"}]})))
    server.route("/admin", Reply(body="<html><body><p>ADMIN-SECRET</p></body></html>",
                                 headers={"Content-Type": "text/html"}))

    async def go():
        async with WebRuntime(search=[f"searxng:{server.url}"], prewarm=0, timeout_s=5) as rt:
            with pytest.raises(Exception, match="refused"):
                rt.pool.policy.check_url(admin)
            env = rt.make_env(EnvConfig(max_actions=5))
            await env.reset("q")
            r = await env.step("Search admin")
            assert r.valid and "Admin panel" in r.text  # the search API itself was reached
            r = await env.step("Clicked on link 0")
            await env.close()
            return r

    r = asyncio.run(go())
    assert r.page_kind == "error" and "ADMIN-SECRET" not in r.text
    assert [s.path for s in server.seen] == ["/search"]  # the page was never requested
