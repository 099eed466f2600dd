"""The local search index and page store behind the offline mini-web.

An index directory holds three things, written by ``build_index``:
- ``tantivy/``: a BM25 full-text index (title boosted over body, English stemming, accents folded);
- ``pages.sqlite``: the page store (id, title, url, html, text, license, source);
- ``meta.json``: name, doc count, build time and source.

``open_index(dir)`` returns an ``Index`` that is safe to query from many threads. Queries are
reduced to their words before parsing, so no user text can produce a query-syntax error.

    stats = build_index(iter_corpus("wiki-vital"), default_index_dir(), name="wiki-vital")
    hits = open_index(default_index_dir()).search("speed of light", k=5)
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .corpus import Doc, html_to_text, title_key
from ..paths import webqa_home
from ..types import WorldError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TITLE_BOOST = 2.5
SNIPPET_CHARS = 200
_MAX_QUERY_TERMS = 64
_WORD = re.compile(r"\w+")
BUILD_HINT = "build one with `webqa index build wiki-vital --out DIR` (or any corpus: see `webqa index build --help`)"


class IndexNotFoundError(WorldError):
    """The index directory is missing, incomplete or unreadable."""


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    snippet: str
    score: float
    url: str | None = None  # the document's original source URL, not its mini-web address


@dataclass
class IndexStats:
    name: str
    out: Path
    docs: int
    duplicates: int
    seconds: float

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        dup = f", {self.duplicates} duplicate ids skipped" if self.duplicates else ""
        return (
            f"indexed {self.docs} documents into {self.out} in {self.seconds:.1f} s "
            f"({self.docs_per_s:.0f} docs/s){dup}"
        )


def default_index_dir() -> Path:
    return webqa_home() / "indexes" / "wiki-vital"


ANALYZER = "webqa_en"


def _register_analyzer(tv_index) -> None:
    """English stemming plus accent folding, so "zurich" finds "Zürich"; registered at build and open."""
    import tantivy

    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )
    tv_index.register_tokenizer(ANALYZER, analyzer)


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title", stored=True, tokenizer_name=ANALYZER)
    sb.add_text_field("body", stored=True, tokenizer_name=ANALYZER)
    sb.add_text_field("url", stored=True, tokenizer_name="raw", index_option="basic")
    return sb.build()


_PAGES_DDL = """
CREATE TABLE pages (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, title_key TEXT NOT NULL, url TEXT,
    html TEXT, text TEXT NOT NULL, license TEXT NOT NULL, source TEXT NOT NULL
);
"""


def build_index(
    docs: Iterable[Doc], out: Path, *, name: str, source: str = "", revision: str = "", progress: bool = True
) -> IndexStats:
    """Index ``docs`` into ``out`` (replacing an index already there); duplicate ids keep the first.

    ``revision`` names the version of the code that made the documents' text (meta.json keeps it),
    so that a caller can tell an index built from older text and rebuild it.

    A document's ``html`` is taken as visible already (``iter_corpus`` makes it so): untrusted HTML
    goes through ``browser_env.miniweb.corpus_html.visible_docs`` first, never straight in here.
    """
    import tantivy
    from tqdm import tqdm

    out = Path(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "tantivy").mkdir(parents=True)
    started = time.perf_counter()
    db = sqlite3.connect(tmp / "pages.sqlite")
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _PAGES_DDL)
        index = tantivy.Index(_schema(), path=str(tmp / "tantivy"))
        _register_analyzer(index)
        writer = index.writer(heap_size=256_000_000, num_threads=0)
        seen: set[str] = set()
        count = duplicates = 0
        batch: list[tuple] = []
        for doc in tqdm(docs, desc=f"indexing {name}", unit="doc", disable=not progress, mininterval=0.5):
            if doc.id in seen:
                duplicates += 1
                log.warning("duplicate document id %r (%s): keeping the first", doc.id, doc.title)
                continue
            seen.add(doc.id)
            text = doc.text if doc.text is not None else html_to_text(doc.html or "")
            writer.add_document(
                tantivy.Document(id=doc.id, title=doc.title, body=text, url=doc.url or "")
            )
            batch.append((doc.id, doc.title, title_key(doc.title), doc.url, doc.html, text, doc.license, doc.source))
            count += 1
            if len(batch) >= 500:
                db.executemany("INSERT INTO pages VALUES (?,?,?,?,?,?,?,?)", batch)
                batch.clear()
        if count == 0:
            raise ValueError(f"no documents to index for {name!r}; nothing was written to {out}")
        db.executemany("INSERT INTO pages VALUES (?,?,?,?,?,?,?,?)", batch)
        db.execute("CREATE INDEX pages_title_key ON pages(title_key)")
        db.commit()
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        db.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    db.close()
    seconds = time.perf_counter() - started
    meta = {
        "name": name, "docs": count, "duplicates": duplicates, "source": source or name,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3), "schema_version": SCHEMA_VERSION, "revision": revision,
    }  # fmt: skip
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    _swap_into_place(tmp, out)
    stats = IndexStats(name=name, out=out, docs=count, duplicates=duplicates, seconds=seconds)
    log.info("%s", stats.summary())
    return stats


def _check_replaceable(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "meta.json").exists())):
        raise FileExistsError(f"{out} exists and is not a webqa index; refusing to replace it")


def _swap_into_place(tmp: Path, out: Path) -> None:
    # Readers of the old index keep working until the rename; a crash never leaves half an index.
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def open_index(path: str | Path | None = None) -> Index:
    return Index(Path(path) if path is not None else default_index_dir())


class Index:
    """An opened index: BM25 search with snippets, and page lookup by id or title."""

    def __init__(self, path: Path):
        import tantivy

        self.path = Path(path)
        meta_file = self.path / "meta.json"
        if not meta_file.is_file():
            raise IndexNotFoundError(f"no webqa index at {self.path} (no meta.json); {BUILD_HINT}")
        try:
            self.meta = json.loads(meta_file.read_text(encoding="utf-8"))
            self.name: str = self.meta["name"]
            self._tv = tantivy.Index.open(str(self.path / "tantivy"))
            _register_analyzer(self._tv)
            self._searcher = self._tv.searcher()
            self._schema = self._tv.schema
            self._db_uri = f"{(self.path / 'pages.sqlite').resolve().as_uri()}?mode=ro"
            self._local = threading.local()
            self._db().execute("SELECT 1 FROM pages LIMIT 1").fetchall()
        except (OSError, ValueError, KeyError, sqlite3.Error) as e:
            raise IndexNotFoundError(f"the webqa index at {self.path} is unreadable ({e}); rebuild it: {BUILD_HINT}") from e

    def __len__(self) -> int:
        return self._searcher.num_docs

    def __repr__(self) -> str:
        return f"Index(name={self.name!r}, docs={len(self)}, path={str(self.path)!r})"

    def _db(self) -> sqlite3.Connection:
        # One read-only connection per thread: sqlite3 connections must not be shared across threads.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._db_uri, uri=True, check_same_thread=False)
            self._local.conn = conn
        return conn

    def parse(self, query: str):
        """The tantivy query for ``query``'s words, or None when it has none."""
        words = [w.lower() for w in _WORD.findall(query)][:_MAX_QUERY_TERMS]
        if not words:
            return None
        # Lower-cased words only: no operators (AND/OR/NOT), fields, quotes or ranges can survive.
        return self._tv.parse_query(" ".join(words), ["title", "body"], field_boosts={"title": TITLE_BOOST})

    def search(self, query: str, k: int = 10) -> list[Hit]:
        import tantivy

        q = self.parse(query)
        if q is None or k <= 0:
            return []
        result = self._searcher.search(q, limit=k, count=False)
        snippets = tantivy.SnippetGenerator.create(self._searcher, q, self._schema, "body")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        hits = []
        for score, address in result.hits:
            doc = self._searcher.doc(address)
            body = (doc.get_first("body") or "")
            snippet = " ".join(snippets.snippet_from_doc(doc).fragment().split()) or _lead(body)
            hits.append(
                Hit(id=doc.get_first("id"), title=doc.get_first("title") or "", snippet=snippet,
                    score=float(score), url=doc.get_first("url") or None)  # fmt: skip
            )
        return hits

    def get(self, doc_id: str) -> Doc | None:
        row = self._db().execute(
            "SELECT id, title, text, html, url, source, license FROM pages WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            return None
        return Doc(id=row[0], title=row[1], text=row[2], html=row[3], url=row[4], source=row[5], license=row[6])

    def id_for_title(self, title: str) -> str | None:
        row = self._db().execute(
            "SELECT id FROM pages WHERE title_key = ? ORDER BY rowid LIMIT 1", (title_key(title),)
        ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _lead(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit] + " …"
