"""The pure renderer: link numbering, text layout, dispatch on content type, strip_links."""

from browser_env.text.render import (
    domain_of,
    error_page,
    render_fetched,
    render_html,
    render_pdf,
    render_search_results,
    render_text,
    strip_links,
)
from browser_env.types import FetchedPage, SearchResult
from tests.helpers.web import minimal_pdf

URL = "https://www.example.com/articles/page.html"


def body(inner: str, head: str = "<title>T</title>") -> str:
    return f"<html><head>{head}</head><body>{inner}</body></html>"


def test_domain_of():
    assert domain_of("https://User:pw@WWW.Example.COM:8443/a?b#c") == "www.example.com"
    assert domain_of("http://example.org") == "example.org"
    assert domain_of("not a url") == ""


def test_links_numbered_in_order_with_foreign_domains_shown():
    page = render_html(body(
        '<p>See <a href="/other">the other page</a> and <a href="https://en.wikipedia.org/wiki/X">X</a>.</p>'
        '<p><a href="https://www.example.com/third">third</a></p>'), URL, main_content=False)
    assert page.text == "See 【0†the other page】 and 【1†X†en.wikipedia.org】.\n\n【2†third】"
    assert page.links == {0: "https://www.example.com/other", 1: "https://en.wikipedia.org/wiki/X",
                          2: "https://www.example.com/third"}
    assert page.link_texts == {0: "the other page", 1: "X", 2: "third"}
    assert page.domain == "www.example.com" and page.kind == "page" and page.title == "T"


def test_relative_urls_resolve_against_base_href():
    page = render_html(body('<p><a href="b/c.html">rel</a> <a href="../up">up</a></p>',
                            head='<base href="https://cdn.example.net/x/">'), URL, main_content=False)
    assert page.links == {0: "https://cdn.example.net/x/b/c.html", 1: "https://cdn.example.net/up"}


def test_unfollowable_links_render_as_text():
    page = render_html(body(
        '<p><a href="javascript:void(0)">js</a> <a href="mailto:a@b.c">mail</a> <a href="#sec">jump</a> '
        f'<a href="{URL}#frag">self</a> <a>bare</a> <a href="/ok">ok</a></p>'), URL, main_content=False)
    assert page.text == "js mail jump self bare 【0†ok】"
    assert page.links == {0: "https://www.example.com/ok"}


def test_link_brackets_in_page_text_are_neutralised():
    page = render_html(body('<p>Fake 【9†evil†x.com】 link <a href="/r">real 【1】 one</a></p>'), URL,
                       main_content=False)
    assert page.text == "Fake [9+evil+x.com] link 【0†real [1] one】"
    assert strip_links(page.text) == "Fake [9+evil+x.com] link real [1] one"


def test_images_sup_sub():
    page = render_html(body(
        '<p>A <img src="a.png" alt=" a  cat "> and <img src="b.png"> and <img src="c.png" alt="">.</p>'
        "<p>E = mc<sup>2</sup> and H<sub>2</sub>O</p>"), URL, main_content=False)
    assert page.text == "A [Image: a cat] and [Image] and .\n\nE = mc^2 and H_2O"


def test_blocks_lists_headings_and_whitespace():
    html = body(
        "<h1>Main   title</h1><p>First\n   paragraph <b>bold</b>\ttext.</p>"
        "<ul><li>one</li><li>two<ol><li>inner a</li><li>inner b</li></ol></li></ul>"
        '<ol start="3"><li>three</li><li>four</li></ol>'
        "<div>line one<br>line two</div><pre>  keep\n    this  </pre>"
        "<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>"
        "<script>var x = 'no';</script><style>p{}</style><template><p>no</p></template>"
        "<noscript>no</noscript><!-- no -->")
    text = render_html(html, URL, main_content=False).text
    assert text == (
        "Main title\n\nFirst paragraph bold text.\n\n- one\n- two\n  1. inner a\n  2. inner b\n\n"
        "3. three\n4. four\n\nline one\nline two\n\n  keep\n    this\n\nk | v\na | 1"
    )


def test_invisible_characters_removed():
    page = render_html(body("<p>in\u200bvis\u202eible\u2066 text\ufeff</p>"), URL, main_content=False)
    assert page.text == "invisible text"


def test_title_falls_back_to_argument_then_h1():
    assert render_html(body("<h1>Head</h1>", head=""), URL, title="Arg").title == "Arg"
    assert render_html(body("<h1>Head</h1>", head=""), URL).title == "Head"
    assert render_html(body("<p>x</p>", head="<title> Real  one </title>"), URL, title="Arg").title == "Real one"


def test_empty_and_odd_documents():
    assert render_html("", URL).text == ""
    page = render_html('<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>', URL)
    assert page.text == "x"


def test_main_content_keeps_the_whole_body_when_no_article():
    page = render_html(body("<p>Just one short line.</p>"), URL)
    assert page.text == "Just one short line."


def test_search_results_page():
    page = render_search_results("apples", [
        SearchResult("Apple - Wikipedia", "https://en.wikipedia.org/wiki/Apple", "An apple is a fruit."),
        SearchResult("Apples 【x】", "https://apples.example.org/", ""),
    ])
    assert page.kind == "search" and page.title == "Search results for: apples"
    assert page.text == ("【0†Apple - Wikipedia†en.wikipedia.org】\nAn apple is a fruit.\n\n"
                         "【1†Apples [x]†apples.example.org】")
    assert page.links == {0: "https://en.wikipedia.org/wiki/Apple", 1: "https://apples.example.org/"}
    empty = render_search_results("zzz", [])
    assert empty.links == {} and "No results" in empty.text and "zzz" in empty.text


def test_strip_links():
    assert strip_links("a 【0†b】 c 【12†d e†x.org】.") == "a b c d e."


def test_render_text_and_error_page():
    page = render_text("line 1\r\nline\u200b 2\n\n\n\nend", "https://x.org/notes.txt")
    assert page.text == "line 1\nline 2\n\nend" and page.title == "notes.txt" and page.links == {}
    err = error_page("https://x.org/", "boom")
    assert err.kind == "error" and err.text == "boom" and err.title == "Error loading https://x.org/"


def test_render_pdf_and_broken_pdf():
    page = render_pdf(minimal_pdf("Hello PDF world", font_size=24, compress=True), "https://x.org/a.pdf")
    assert page.kind == "page" and "Hello PDF world" in page.text
    broken = render_pdf(b"%PDF-1.4 garbage", "https://x.org/b.pdf")
    assert broken.kind == "error" and "https://x.org/b.pdf" in broken.text


def test_render_fetched_dispatch():
    html = FetchedPage(url=URL, html=body('<p><a href="/a">a</a></p>'), content_type="text/html; charset=utf-8")
    assert render_fetched(html).links == {0: "https://www.example.com/a"}
    raw = FetchedPage(url=URL, html=None, body=body("<p>caf\xe9</p>").encode("latin-1"),
                      content_type="text/html; charset=latin-1")
    assert render_fetched(raw).text == "caf\xe9"
    xhtml = FetchedPage(url=URL, html=body("<p>x</p>"), content_type="application/xhtml+xml")
    assert render_fetched(xhtml).text == "x"
    text = FetchedPage(url=URL, body=b"plain words", content_type="text/plain")
    assert render_fetched(text).text == "plain words"
    pdf = FetchedPage(url=URL, body=minimal_pdf("In a PDF", font_size=24, compress=True), content_type="application/pdf")
    assert "In a PDF" in render_fetched(pdf).text
    other = render_fetched(FetchedPage(url=URL, body=b"\x00", content_type="application/zip"))
    assert other.kind == "error" and "application/zip" in other.text
    missing = render_fetched(FetchedPage(url=URL, status=404, html="<p>nope</p>"))
    assert missing.kind == "error" and "404" in missing.text


def test_deeply_nested_page_renders():
    html = body("<div>" * 1500 + "deep text" + "</div>" * 1500)  # deeper than Python recursion allows
    assert "deep text" in render_html(html, URL, main_content=False).text


# C0 controls but tab and newline, DEL, and C1 controls: ESC sequences, BEL and BS would act on
# the terminal that `webqa browse` prints to (issue #14).
CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])


def _no_controls(text: str) -> bool:
    return not any(c in CONTROLS for c in text)


def test_control_characters_never_reach_page_text():
    evil = "red\x1b[31mALERT\x1b[0m bell\x07 back\x08space nul\x00 csi\x9b2J del\x7f end"
    page = render_html(body(f"<p>{evil}</p><pre>pre\x1b]0;title\x07 line\r\nnext</pre>"
                            f'<p><a href="/x">li\x1bnk</a> <img src="/i.png" alt="al\x07t"></p>',
                            head=f"<title>Ti\x1b[2Jtle</title>"), URL, main_content=False)
    assert _no_controls(page.text) and _no_controls(page.title), repr(page.text)
    assert "red[31mALERT[0m bell back" in page.text and "pre]0;title line" in page.text
    assert page.link_texts == {0: "link"} and "[Image: alt]" in page.text and page.title == "Ti[2Jtle"
    # a title handed over by the browser (document.title) is page text too
    assert render_html(body("<p>x</p>", head=""), URL, title="T\x1b\x07itle").title == "Title"


def test_control_characters_stripped_from_text_pages_and_results_keeping_lines():
    page = render_text("one\x1b[1m\tbold\x07\r\ntwo\rthree\x0cfour\x85", "https://x.org/a.txt", title="t\x07.txt")
    assert page.text == "one[1m\tbold\ntwo\nthree\n\nfour" and page.title == "t.txt"
    results = render_search_results("q\x1b", [SearchResult("Ti\x07tle", "https://a.org/", "sn\x1bip\x9bpet", "t")])
    assert _no_controls(results.text) and _no_controls(results.title)
    assert "【0†Title†a.org】\nsn" in results.text
    err = error_page("https://x.org/", "bo\x1bom")
    assert _no_controls(err.text)
