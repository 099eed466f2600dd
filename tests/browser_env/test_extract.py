"""Main-content extraction: boilerplate out, article text and its links kept, body as the fallback."""

import gzip
import json

import pytest

from browser_env.extract import extract_main
from browser_env.render import parse_html, render_html, strip_links

PARA = ("The committee met on Tuesday to discuss the proposal, which would change how the city "
        "funds its public libraries, parks and swimming pools over the next decade. ")

ARTICLE_PAGE = f"""<html><head><title>Libraries</title></head><body>
<header class="site-header"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></header>
<nav><ul><li><a href="/a">Section A</a></li><li><a href="/b">Section B</a></li></ul></nav>
<div id="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<div class="layout">
  <div class="sidebar"><h3>Most read</h3><p>{PARA}</p></div>
  <article class="story">
    <h1>Library funding</h1>
    <p>{PARA}Read the <a href="https://council.example.gov/report.pdf">full report</a> online.</p>
    <p>{PARA}<img src="/chart.png" alt="Funding chart"> E = mc<sup>2</sup>.</p>
    <p>{PARA}</p>
    <div class="share-buttons"><a href="https://social.example/share">Share this</a></div>
  </article>
  <section class="comments"><p>{PARA} — a commenter, who disagrees strongly with everything.</p></section>
</div>
<footer><p>Copyright 2026 Example News. All rights reserved. Terms. Privacy.</p></footer>
</body></html>"""


def test_article_kept_with_links_images_and_sup():
    page = render_html(ARTICLE_PAGE, "https://news.example.com/story")
    assert page.text.count("The committee met") == 3
    assert "【0†full report†council.example.gov】" in page.text
    assert page.links == {0: "https://council.example.gov/report.pdf"}
    assert "[Image: Funding chart]" in page.text and "mc^2" in page.text


def test_boilerplate_dropped():
    text = render_html(ARTICLE_PAGE, "https://news.example.com/story").text
    for junk in ("Section A", "cookies", "Most read", "Share this", "commenter", "Copyright", "Sport"):
        assert junk not in text, junk


def test_without_main_content_everything_renders():
    text = render_html(ARTICLE_PAGE, "https://news.example.com/story", main_content=False).text
    for word in ("Section A", "cookies", "Most read", "Share this", "commenter", "Copyright"):
        assert word in text


def test_extract_returns_body_when_no_prose():
    root = parse_html("<html><body><div><a href='/x'>x</a></div><div>Short note.</div></body></html>")
    assert extract_main(root).tag == "body"


def test_page_of_boilerplate_only_still_renders():
    # Everything here looks like boilerplate to the extractor; the page must not come out empty.
    html = '<html><body><div class="sidebar">Only a sidebar with some text.</div></body></html>'
    assert render_html(html, "https://x.example/").text == "Only a sidebar with some text."


def _shared_pages(shared_data, n):
    base = shared_data / "html_pages" / "scrapinghub_article_extraction"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth)[:n]:
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
        yield key, html, truth[key]["articleBody"], truth[key].get("url") or "http://example.com/"


def test_real_pages_keep_main_text_and_shed_boilerplate(shared_data):
    import re

    checked = 0
    for key, html, ref, url in _shared_pages(shared_data, 12):
        main = strip_links(render_html(html, url).text)
        whole = strip_links(render_html(html, url, main_content=False).text)
        ref_words = set(re.findall(r"\w+", ref.lower()))
        main_words = re.findall(r"\w+", main.lower())
        whole_words = re.findall(r"\w+", whole.lower())
        recall = len(ref_words & set(main_words)) / max(1, len(ref_words))
        assert recall > 0.8, (key, recall)
        assert len(main_words) < len(whole_words), key
        # a run of the article's words is there, word for word (one of three, as inline widgets vary)
        ref_seq = re.findall(r"\w+", ref.lower())
        runs = [" ".join(ref_seq[i:i + 8]) for i in (0, len(ref_seq) // 2, max(0, len(ref_seq) - 8))]
        assert any(run in " ".join(main_words) for run in runs), key
        checked += 1
    assert checked == 12


def test_mozilla_page(shared_data):
    base = shared_data / "html_pages" / "mozilla_readability" / "wikipedia"
    if not base.is_dir():
        pytest.skip("wikipedia test page not in this copy")
    page = render_html((base / "source.html").read_text(encoding="utf-8"), "https://en.wikipedia.org/wiki/Mozilla")
    assert "Mozilla" in page.text and len(page.links) > 20
    assert all(u.startswith("http") for u in page.links.values())
