"""``webqa setup``'s index step: an index built from older wiki-vital text is rebuilt, a current one kept."""

from __future__ import annotations

import json

from browser_env.miniweb import index as index_mod
from browser_env.miniweb.corpus import Doc
from browser_env.miniweb.index import build_index
from browser_env.miniweb.wiki_vital import REVISION
from webqa import setup_cmd

DOCS = [Doc(id="Glacier", title="Glacier", text="A glacier is a form of rock, that is constantly moving.")]


def test_index_revision_reads_meta(tmp_path):
    assert setup_cmd.index_revision(tmp_path / "none") is None
    build_index(DOCS, tmp_path / "old", name="wiki-vital", progress=False)
    assert setup_cmd.index_revision(tmp_path / "old") == ""
    build_index(DOCS, tmp_path / "new", name="wiki-vital", revision=REVISION, progress=False)
    assert setup_cmd.index_revision(tmp_path / "new") == REVISION


def test_setup_rebuilds_an_index_of_older_text_and_keeps_a_current_one(tmp_path, monkeypatch, capsys):
    out = tmp_path / "wiki-vital"
    build_index(DOCS, out, name="wiki-vital", progress=False)  # as code before the revision built it
    monkeypatch.setattr(index_mod, "default_index_dir", lambda: out)
    monkeypatch.setattr("browser_env.miniweb.corpus.iter_corpus", lambda name: iter(DOCS))
    setup_cmd._index(force=False)
    assert f"built from older text (no revision, now {REVISION}); rebuilding" in capsys.readouterr().out
    meta = json.loads((out / "meta.json").read_text())
    assert meta["revision"] == REVISION and meta["docs"] == 1
    setup_cmd._index(force=False)
    assert "index ready" in capsys.readouterr().out
    assert json.loads((out / "meta.json").read_text())["built_at"] == meta["built_at"]  # not rebuilt
