"""``OfflineVisibility``: the web's visibility pass on HTML that was never fetched (a corpus's pages),
in real Chromium: the same rules as ``visible_html``, nothing fetched, order kept, and a Chromium
that dies between batches started again."""

import os
import signal

import psutil
import pytest

from browser_env.miniweb.corpus_html import prepare_markup
from browser_env.text.render import render_html
from browser_env.web.visibility import OfflineVisibility
from tests.browser_env.web.test_visibility import HIDDEN, fixture_html

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def vis():
    with OfflineVisibility(concurrency=2) as v:
        yield v


def test_every_technique_of_the_web_pass_is_applied(vis):
    (out,) = vis.visible([prepare_markup(fixture_html())])
    text = render_html(out, "http://example.test/", main_content=False).text
    assert "SECRET" not in text and "SECRET" not in out
    for name, _ in HIDDEN:  # the visible section headings all survive
        assert name in text


def test_order_is_kept_and_nothing_is_fetched(vis, server):
    docs = [f'<p>Doc {i}.</p><img src="{server.url}/img{i}.png"><link rel="stylesheet" href="{server.url}/s.css">'
            for i in range(7)]
    outs = vis.visible([prepare_markup(d) for d in docs])
    assert [render_html(o, "http://x.test/", main_content=False).text.split("\n")[0] for o in outs] == [
        f"Doc {i}." for i in range(7)]
    assert server.seen == []  # a corpus page loads nothing from anywhere


def test_scripts_are_gone_before_the_page_loads():
    markup = prepare_markup('<body onload="x()"><p>Text</p><script>document.write("INJECTED")</script>'
                            '<a href="javascript:alert(1)">a link</a><iframe src="http://x/"></iframe></body>')
    assert "script" not in markup and "onload" not in markup and "javascript:" not in markup
    assert "iframe" not in markup and "<p>Text</p>" in markup


def test_a_dead_chromium_is_started_again(vis):
    vis.visible([prepare_markup("<p>first</p>")])
    browsers = [p for p in psutil.Process().children(recursive=True)
                if "chrom" in p.name().lower() and "--type=" not in " ".join(p.cmdline())]
    assert browsers
    for p in browsers:
        os.kill(p.pid, signal.SIGKILL)
    (out,) = vis.visible([prepare_markup("<p>after the kill</p>")])
    assert "after the kill" in out
