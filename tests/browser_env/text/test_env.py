"""The environment and the stateful browser, driven through in-memory backends (no Chromium).

Covers every command, the observation's sections, the action and quote budgets, invalid
actions, and world faults (a dead page, a search backend that is down) becoming observations.
"""

import asyncio

import pytest

from browser_env.backends.memory import MemoryFetcher, MemorySearch
from browser_env.text.browser import BrowserConfig, wrap_text
from browser_env.text.env import BrowserEnv, EnvConfig, LoopThread, StaticFetcherProvider, SyncBrowserEnv
from browser_env.text.observation import Observation, Quote
from browser_env.types import SearchResult

SKY = "http://sky.example/why-blue"
SUN = "http://sun.example/sunset"
REDDIT = "http://www.reddit.com/r/askscience"

SKY_HTML = """<html><head><title>Why the sky is blue</title></head><body><article>
<h1>Why the sky is blue</h1>
<p>Sunlight reaches Earth's atmosphere and is scattered in all directions by all the gases and particles
in the air. Blue light is scattered more than the other colors because it travels as shorter, smaller waves.
This is why we see a blue sky most of the time.</p>
<p>The effect is called <a href="/rayleigh">Rayleigh scattering</a>, after Lord Rayleigh. See also
<a href="http://sun.example/sunset">why sunsets are red</a> and <a href="http://www.reddit.com/r/askscience">a forum</a>.</p>
""" + "".join(f"<p>Filler paragraph number {i} about the atmosphere and its many layers of air.</p>" for i in range(80)) + """
<p>Closing remark: the ocean is blue for a different reason, mostly absorption of red light by water.</p>
</article></body></html>"""

SUN_HTML = """<html><head><title>Red sunsets</title></head><body><article><p>At sunset light travels through
more air, so more blue is scattered away and the remaining light looks red and orange.</p></article></body></html>"""


def make_env(config=None, *, search_down=False, fetch_down=False):
    search = MemorySearch(
        [SearchResult("Why the sky is blue", SKY, "Blue light is scattered more"),
         SearchResult("Red sunsets", SUN, "At sunset light travels through more air"),
         SearchResult("Ask a forum", REDDIT, "people discuss the sky")],
        down=search_down,
    )
    fetcher = MemoryFetcher({SKY: SKY_HTML, SUN: SUN_HTML}, down=fetch_down)
    return BrowserEnv(search, StaticFetcherProvider(fetcher), config or EnvConfig()), search, fetcher


def run(coro):
    return asyncio.run(coro)


def test_observation_has_webgpt_sections_in_order():
    env, *_ = make_env()

    async def go():
        first = await env.reset("Why is the sky blue?")
        return first, await env.step("Search why is the sky blue")

    first, r = run(go())
    assert "♦Question\nWhy is the sky blue?" in first and "♦Actions left: 100" in first
    sections = ["♦Question", "♦Quotes", "♦Past actions", "♦Title", "♦Scrollbar: 0 - ", "♦Text",
                "♦Actions left: 99", "♦Next action"]
    positions = [r.text.index(s) for s in sections]
    assert positions == sorted(positions)
    assert "Search results for: why is the sky blue" in r.text
    assert "【0†Why the sky is blue†sky.example】" in r.text
    assert not r.done and r.valid and r.links == (0, 1, 2) and r.end is None
    assert r.text.endswith("♦Next action\n")


def test_click_find_scroll_quote_back_top():
    env, _, fetcher = make_env(EnvConfig(browser=BrowserConfig(window_lines=10)))

    async def go():
        await env.reset("Why is the sky blue?")
        await env.step("Search sky blue")
        r = await env.step("Clicked on link 0")
        assert r.valid, r.error
        assert "♦Title\nWhy the sky is blue (sky.example)" in r.text
        assert "【1†why sunsets are red†sun.example】" in r.text
        assert "【0†Rayleigh scattering】" in r.text  # same domain: no domain shown

        r = await env.step("Find in page: closing REMARK")
        assert r.valid and "Closing remark" in r.text
        assert not r.text.split("♦Scrollbar: ")[1].startswith("0 -")

        await env.step("Top")
        assert env.observation.scrollbar[0] == 0
        await env.step("Scrolled down 2")
        assert env.observation.scrollbar[0] == 20
        await env.step("Scrolled up 1")
        assert env.observation.scrollbar[0] == 10

        # Quote ignores case and whitespace, and the short form start━end works.
        r = await env.step("Quote: BLUE light is scattered   more than the other colors")
        assert r.valid, r.error
        r = await env.step("Quote: This is why━most of the time.")
        assert r.valid, r.error
        assert r.quotes == (Quote("Why the sky is blue", "sky.example", SKY,
                                  "Blue light is scattered more than the other colors"),
                            Quote("Why the sky is blue", "sky.example", SKY,
                                  "This is why we see a blue sky most of the time."))

        r = await env.step("Back")
        assert r.valid and "Search results for: sky blue" in r.text
        r = await env.step("Back")
        assert not r.valid and "no previous page" in r.error
        # Pages are cached within an episode: clicking again does not fetch again.
        await env.step("Clicked on link 0")
        assert fetcher.fetched.count(SKY) == 1
        r = await env.step("End: Answer")
        assert "From Why the sky is blue (sky.example)\n> Blue light is scattered" in r.text
        assert r.done and r.end == "Answer" and r.action == "end_answer"

    run(go())
    assert env.done and env.end == "Answer"
    assert env.past_actions[:3] == ["Search sky blue", "Click Why the sky is blue sky.example",
                                    "Find in page: closing REMARK"]


def test_back_restores_scroll_position():
    env, *_ = make_env(EnvConfig(browser=BrowserConfig(window_lines=5)))

    async def go():
        await env.reset("q")
        await env.step("Search sky")
        await env.step("Clicked on link 0")
        await env.step("Scrolled down 3")
        top = env.observation.scrollbar[0]
        await env.step("Clicked on link 1")
        assert "Red sunsets" in env.observation.title
        await env.step("Back")
        assert env.observation.scrollbar[0] == top and top == 15

    run(go())


@pytest.mark.parametrize("bad", ["", "garbage", "Clicked on link 99", "Quote: not on the page at all",
                                 "Find in page: zebra", "\u202eSearch reversed", "x" * 50_000, "Top\nBack"])
def test_invalid_actions_count_show_their_error_and_do_nothing_else(bad):
    env, *_ = make_env()

    async def go():
        await env.reset("q")
        await env.step("Search sky")
        before = (env.observation.title, env.observation.scrollbar, len(env.browser.quotes))
        r = await env.step(bad)
        after = (env.observation.title, env.observation.scrollbar, len(env.browser.quotes))
        return before, after, r

    before, after, r = run(go())
    assert not r.valid and r.error
    assert "♦Last action error\n" in r.text and r.error[:40] in r.text
    assert before == after and not r.done
    assert r.actions_left == 98 and env.invalid_actions == 1


def test_action_budget_ends_the_episode():
    env, *_ = make_env(EnvConfig(max_actions=3))

    async def go():
        await env.reset("q")
        for cmd in ["Search sky", "nonsense", "Top"]:
            r = await env.step(cmd)
        return r

    r = run(go())
    assert r.done and r.end == "actions_exhausted" and r.actions_left == 0
    with pytest.raises(RuntimeError):
        run(env.step("Top"))


def test_quote_budget_is_capped_and_ends_browsing_when_full():
    env, *_ = make_env(EnvConfig(browser=BrowserConfig(max_quote_chars=100)))

    async def go():
        await env.reset("q")
        await env.step("Search sky")
        await env.step("Clicked on link 0")
        r = await env.step("Quote: Sunlight reaches━in all directions")
        assert r.valid and not r.done
        r = await env.step("Quote: Blue light is scattered more than the other colors because it "
                           "travels as shorter, smaller waves.")
        assert not r.valid and "quotes are full" in r.error
        return await env.step("Quote: This is why we see a blue sky")

    r = run(go())
    assert r.done and r.end == "quotes_full"


def test_world_faults_become_observations():
    env, *_ = make_env(search_down=True)

    async def go():
        await env.reset("q")
        return await env.step("Search sky")

    r = run(go())
    assert r.valid and not r.done and "Search failed" in r.text and r.world_errors == 1

    env, *_ = make_env(fetch_down=True)

    async def go2():
        await env.reset("q")
        await env.step("Search sky")
        return await env.step("Clicked on link 0"), await env.step("Back")

    r, r2 = run(go2())
    assert r.valid and "Could not load" in r.text and r.page_kind == "error"
    assert r2.valid and "Search results for: sky" in r2.text


def test_eli5_mode_removes_blocked_domains_from_results_and_links():
    env, *_ = make_env(EnvConfig.eli5())

    async def go():
        await env.reset("Why is the sky blue?")
        r = await env.step("Search sky")
        assert "reddit" not in r.text
        r = await env.step("Clicked on link 0")
        assert "a forum" in r.text and "reddit" not in r.text
        return env.browser.view.page.links

    links = run(go())
    assert REDDIT not in links.values()


def test_leak_censoring_replaces_a_page_that_contains_the_reference_answer():
    env, *_ = make_env(EnvConfig(censor_leaks=True))
    reference = ("Blue light is scattered more than the other colors because it travels as shorter, "
                 "smaller waves.")

    async def go():
        await env.reset("Why is the sky blue?", reference=reference)
        await env.step("Search sky")
        r = await env.step("Clicked on link 0")
        await env.step("Clicked on link 1")  # not reachable: page is an error now
        return r

    r = run(go())
    assert r.page_kind == "error" and "Blue light is scattered" not in r.text


def test_sync_wrapper_drives_the_same_env():
    env, *_ = make_env()
    loop = LoopThread()
    try:
        sync = SyncBrowserEnv(env, loop)
        assert "♦Question" in sync.reset("Why is the sky blue?")
        r = sync.step("Search sky")
        assert r.valid and "Search results for: sky" in r.text
        sync.close()
    finally:
        loop.stop()


def test_gym_view_of_a_step():
    """RL code gets gym's (observation, reward, done, info) from the result: the same facts, quotes as dicts."""
    env, *_ = make_env()

    async def go():
        await env.reset("Why is the sky blue?")
        await env.step("Search sky")
        await env.step("Clicked on link 0")
        return await env.step("Quote: This is why━most of the time.")

    r = run(go())
    text, reward, done, info = r.as_gym()
    assert (text, reward, done) == (r.text, 0.0, False)
    assert isinstance(info["observation"], Observation) and info["observation"] is r.observation
    assert info["quotes"] == [{"title": "Why the sky is blue", "domain": "sky.example", "url": SKY,
                               "extract": "This is why we see a blue sky most of the time."}]
    assert set(info) == {"valid", "error", "error_kind", "action", "end", "quotes", "actions_left", "observation",
                         "links", "commands", "page_text", "url", "page_kind", "invalid_actions", "world_errors"}
    assert info["valid"] and info["action"] == "quote" and info["url"] == SKY and info["page_kind"] == "page"
    assert info["links"] == list(r.links) and info["commands"] == list(r.commands)
    with pytest.raises(AttributeError):
        r.done = True  # frozen: a step's result is a record


def test_empty_question_is_a_clear_error():
    env, *_ = make_env()
    with pytest.raises(ValueError, match="empty"):
        run(env.reset("   "))


def test_wrap_keeps_links_whole():
    text = "word " * 30 + "【3†a link with many words in it†example.com】 tail"
    lines = wrap_text(text, 40)
    assert any("【3†a link with many words in it†example.com】" in line for line in lines)
    assert all("\u00a0" not in line for line in lines)


def test_available_commands_follow_the_browser_state():
    env, *_ = make_env()

    async def go():
        await env.reset("q")
        assert env.browser.available_commands() == {"search", "end_answer", "end_nonsense", "end_controversial"}
        r = await env.step("Search sky")
        # Results are no source: no quoting there (issue 13), only on the pages they lead to.
        assert "click" in r.commands and "back" not in r.commands and "quote" not in r.commands
        r = await env.step("Quote: sky")
        assert not r.valid and "search results page" in r.error and r.quotes == ()
        r = await env.step("Clicked on link 1")  # the forum page is an error page
        assert "back" in r.commands and "click" not in r.commands and "quote" not in r.commands
        await env.step("Back")
        r = await env.step("Clicked on link 2")  # the sunset page: a source
        assert r.page_kind == "page" and "quote" in r.commands

    run(go())
