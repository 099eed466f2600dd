"""Main-content extraction: boilerplate out, article text and its links kept, body as the fallback."""

import gzip
import json

import pytest

from browser_env.text.extract import extract_main
from browser_env.text.render import parse_html, render_html, strip_links

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


def _main_text(html: str) -> str:
    return strip_links(render_html(html, "https://news.example.com/story").text)


def test_hidden_elements_dropped():
    html = f"""<html><body><article><p>{PARA}</p><p>{PARA}</p>
    <div style="display: none">Search-engine copy of the headline.</div>
    <div hidden>A closed menu with words.</div><span aria-hidden="true">Decorative duplicate.</span>
    <p style="visibility:hidden">Invisible note.</p></article></body></html>"""
    text = _main_text(html)
    assert text.count("The committee met") == 2
    for junk in ("Search-engine", "closed menu", "Decorative", "Invisible"):
        assert junk not in text, junk


def test_loose_text_between_breaks_is_the_article():
    # Paragraphs as loose text separated by <br>, in a container that also holds block elements.
    body = "<br><br>".join([PARA] * 3)
    html = f"""<html><body>
    <div class="wrap"><ul><li><a href="/1">Archive 2019</a></li><li><a href="/2">Archive 2018</a></li></ul></div>
    <div class="col"><p class="title">Library funding</p><img src="/a.jpg" alt="">{body}
      <div class="row"><a href="/share">Facebook</a></div></div>
    </body></html>"""
    text = _main_text(html)
    assert text.count("The committee met") == 3
    assert "Archive 2019" not in text and "Facebook" not in text


TEASERS = "".join(
    f"""<li class="item"><div class="info"><h5><a href="/story-{i}">Another headline about story number {i}</a></h5>
    <div class="desc">A teaser that reads like prose, with commas, clauses and a full stop, about story {i}.</div>
    </div></li>"""
    for i in range(6)
)


def test_teaser_cards_next_to_the_article_are_left_out():
    html = f"""<html><body><main>
    <div class="article-text"><p>{PARA}</p><p>{PARA}</p></div>
    <div class="below"><ul class="list">{TEASERS}</ul></div>
    </main></body></html>"""
    text = _main_text(html)
    assert text.count("The committee met") == 2
    assert "teaser that reads like prose" not in text


def test_list_of_linked_sentences_is_content_not_teasers():
    # A headline link that runs on into the sentence ("10 things in tech") is the article itself.
    items = "".join(
        f"<li><strong><a href='/n{i}'>Company number {i} announced its results for the quarter</a>.</strong>"
        f" Analysts said the figures, which beat expectations, reflect strong demand in item {i}.</li>"
        for i in range(6)
    )
    html = f"""<html><body><div class="post-content"><p>Good morning! Here is the news you need today.</p>
    <ol>{items}</ol></div><div class="rail"><p>{PARA}</p></div></body></html>"""
    text = _main_text(html)
    assert text.count("Analysts said") == 6


def test_article_split_into_blocks_of_one_class_is_kept_whole():
    html = f"""<html><body><div class="page"><article>
    <div class="component-content"><p>{PARA}</p><p>{PARA}</p></div>
    <div class="embed"><iframe src="https://player.example/x"></iframe></div>
    <div class="component-content"><p>Second half. {PARA}</p></div>
    </article></div><div class="component-content"><p>Elsewhere on the site, a promotion for something.</p></div>
    </body></html>"""
    text = _main_text(html)
    assert text.count("The committee met") == 3 and "Second half." in text
    assert "Elsewhere on the site" not in text


def test_nested_body_names_keep_the_outer_when_the_inner_is_a_part():
    html = f"""<html><body><div class="story-body"><p>{PARA}</p><p>{PARA}</p>
    <div class="read-more-content"><p>More: {PARA}</p><p>{PARA}</p><p>{PARA}</p></div></div></body></html>"""
    assert _main_text(html).count("The committee met") == 5


def test_photo_gallery_dropped():
    slides = "".join(f"<li><img src='/{i}.jpg' alt='Photo {i}'><p>Slide {i} shows the library reading room.</p></li>"
                     for i in range(4))
    html = f"""<html><body><article><p>{PARA}</p><div class="photo-gallery"><ul>{slides}</ul></div>
    <p>{PARA}</p></article></body></html>"""
    text = _main_text(html)
    assert text.count("The committee met") == 2 and "Slide 1" not in text
