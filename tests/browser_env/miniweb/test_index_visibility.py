"""Hidden text never reaches the model in index mode (issue #14, item 1): a corpus's HTML pages go
through the web's own visibility pass when the index is built, so the stored text, the search
snippets and the page the mini-web serves hold only what a reader of the page could see."""

import asyncio
import json

import pytest

from browser_env.miniweb.corpus import iter_corpus
from browser_env.miniweb.index import build_index, open_index
from browser_env.runtime import WebRuntime

pytestmark = pytest.mark.browser

# Each hidden sentence carries one made-up word that appears nowhere else.
HIDDEN = {
    "qxclassrule": '<p class="sneaky">Hidden qxclassrule sentence about lighthouses.</p>',
    "qxdisplaynone": '<p style="display:none">Hidden qxdisplaynone sentence about lighthouses.</p>',
    "qxvisibility": '<p style="visibility:hidden">Hidden qxvisibility sentence about lighthouses.</p>',
    "qxariahidden": '<p aria-hidden="true">Hidden qxariahidden sentence about lighthouses.</p>',
    "qxfontzero": '<p style="font-size:0">Hidden qxfontzero sentence about lighthouses.</p>',
    "qxwhiteonwhite": '<div style="background:#fff"><p style="color:#fff">Hidden qxwhiteonwhite sentence '
                      "about lighthouses.</p></div>",
    "qxoffscreen": '<p style="position:absolute;left:-9999px">Hidden qxoffscreen sentence about lighthouses.</p>',
    "qxattribute": "<p hidden>Hidden qxattribute sentence about lighthouses.</p>",
    "qxheadclass": '<span class="gone">Hidden qxheadclass words about lighthouses.</span>',
}
VISIBLE = ("<h1>Lighthouses</h1><p>A lighthouse is a tower with a bright lamp that guides ships at night. "
           "Keepers once trimmed the wicks every few hours.</p>"
           '<p>Light on dark is fine: <span style="background:#000;color:#fff">beacon keepers</span>.</p>')
PAGE = ("<!doctype html><html><head><title>Lighthouses</title><style>.sneaky{display:none}"
        " .gone{visibility:hidden}</style></head><body>" + VISIBLE + "".join(HIDDEN.values()) + "</body></html>")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hidden")
    (root / "pages").mkdir()
    (root / "pages" / "lighthouse.html").write_text(PAGE, encoding="utf-8")
    build_index(iter_corpus(root / "pages"), root / "folder-ix", name="hidden", progress=False)
    corpus = root / "rows.jsonl"
    corpus.write_text(json.dumps({"id": "lh", "title": "Lighthouses", "html": PAGE}) + "\n", encoding="utf-8")
    build_index(iter_corpus(corpus), root / "jsonl-ix", name="hidden", progress=False)
    return root


@pytest.mark.parametrize("kind, doc_id", [("folder", "lighthouse.html"), ("jsonl", "lh")])
def test_hidden_text_is_neither_stored_nor_searchable(index_dir, kind, doc_id):
    ix = open_index(index_dir / f"{kind}-ix")
    doc = ix.get(doc_id)
    assert doc.title == "Lighthouses"
    assert "guides ships at night" in doc.text and "beacon keepers" in doc.text
    for word in HIDDEN:
        assert word not in doc.text and word not in doc.html, word
        assert ix.search(word) == [], f"{word} is searchable"
    for hit in ix.search("hidden sentence lighthouses keepers"):
        assert not any(word in hit.snippet for word in HIDDEN), hit.snippet
    assert "style=" not in doc.html  # what is left is all visible, on any background


def test_snippets_and_the_page_view_show_no_hidden_text(index_dir):
    async def go():
        async with WebRuntime(index_dir / "folder-ix", prewarm=1) as rt:
            env = rt.make_env()
            await env.reset("What do lighthouse keepers do?")
            results = await env.step("Search hidden lighthouses sentence")
            assert results.valid and "【0†Lighthouses†hidden.miniweb】" in results.text
            page = await env.step("Clicked on link 0")
            assert page.valid, page.error
            await env.close()
            return results.text, page.text

    results, page = asyncio.run(go())
    assert "guides ships at night" in page and "beacon keepers" in page
    for word in HIDDEN:
        assert word not in results and word not in page, word
