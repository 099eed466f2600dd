"""Benchmark the local index against SQLite FTS5 (stdlib) on the same documents and queries.

Measures, on a WikiExtractor corpus (default: the 6,002-article ../shared/data/wikipedia_featured_good):
- build: documents per second for ``build_index`` (tantivy + page store) and for an FTS5 table;
- query latency: median and p95 over ELI5 questions, both returning the top 10 with snippets;
- mini-web page latency over HTTP (keep-alive client), and peak RSS of the process.

    .venv/bin/python bench/index_bench.py ../shared/data/wikipedia_featured_good [ELI5_JSON] [--queries 200]

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from browser_env.miniweb.corpus import CorpusReport, Doc, iter_corpus, page_path
from browser_env.miniweb.index import build_index, open_index
from browser_env.miniweb.server import MiniWeb

_WORD = re.compile(r"\w+")


def load_questions(path: Path, n: int) -> list[str]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [row["question"] for row in rows[:n]]


def fts5_build(docs: list[Doc], path: Path) -> tuple[sqlite3.Connection, float]:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIRTUAL TABLE pages USING fts5(id UNINDEXED, title, body, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.executemany("INSERT INTO pages VALUES (?,?,?)", ((d.id, d.title, d.text or "") for d in docs))
    db.commit()
    return db, time.perf_counter() - started


def fts5_search(db: sqlite3.Connection, query: str, k: int = 10) -> list[tuple]:
    words = _WORD.findall(query.lower())
    if not words:
        return []
    match = " OR ".join(f'"{w}"' for w in words)  # OR like tantivy's default; quoting disarms the syntax
    return db.execute(
        "SELECT id, title, snippet(pages, 2, '', '', ' … ', 32) FROM pages WHERE pages MATCH ? "
        "ORDER BY bm25(pages, 0.0, 2.5, 1.0) LIMIT ?",
        (match, k),
    ).fetchall()


def latencies_ms(fn, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main(argv: list[str] | None = None) -> int:
    default_eli5 = Path(__file__).resolve().parents[2] / "shared" / "data" / "eli5_alce" / "eli5.json"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wiki_dir", type=Path, help="a WikiExtractor dump folder")
    parser.add_argument("eli5", type=Path, nargs="?", default=default_eli5, help="ELI5 questions (JSON list)")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    import httpx

    questions = load_questions(args.eli5, args.queries)
    started = time.perf_counter()
    report = CorpusReport()
    unique: dict[str, Doc] = {}
    for doc in iter_corpus(args.wiki_dir, report=report):
        unique.setdefault(doc.id, doc)  # both engines index the same set: the first of each id
    docs = list(unique.values())
    read_s = time.perf_counter() - started
    print(f"read {len(docs)} docs in {read_s:.1f} s ({len(report.bad)} bad rows)", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="webqa-bench-") as tmp:
        stats = build_index(docs, Path(tmp) / "ix", name="bench", progress=False)
        db, fts_build_s = fts5_build(docs, Path(tmp) / "fts.sqlite")
        ix = open_index(Path(tmp) / "ix")
        ix.search("warm up the caches")
        fts5_search(db, "warm up the caches")
        ours = latencies_ms(lambda q: ix.search(q, k=10), questions)
        base = latencies_ms(lambda q: fts5_search(db, q, k=10), questions)
        empty = sum(1 for q in questions if not ix.search(q, k=1))
        ids = [d.id for d in docs[:: max(1, len(docs) // 200)]][:200]
        with MiniWeb(ix) as web, httpx.Client(base_url=web.base_url) as client:
            client.get("/")
            page_ms = latencies_ms(lambda i: client.get(page_path(i)).raise_for_status(), ids)
        db.close()
        ix.close()

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q_med, b_med = statistics.median(ours), statistics.median(base)
    print(stats.summary(), file=sys.stderr)
    print(f"fts5 built {len(docs)} docs in {fts_build_s:.1f} s; queries with no hit: {empty}", file=sys.stderr)
    figures = {
        "docs": stats.docs,
        "read_s": f"{read_s:.2f}",
        "build_s": f"{stats.seconds:.2f}",
        "docs_per_s": f"{stats.docs_per_s:.0f}",
        "queries": len(questions),
        "query_ms_median": f"{q_med:.2f}",
        "query_ms_p95": f"{p95(ours):.2f}",
        "baseline": "sqlite_fts5",
        "baseline_build_s": f"{fts_build_s:.2f}",
        "baseline_query_ms_median": f"{b_med:.2f}",
        "baseline_query_ms_p95": f"{p95(base):.2f}",
        "speedup": f"{b_med / q_med:.2f}",
        "page_ms_median": f"{statistics.median(page_ms):.2f}",
        "page_ms_p95": f"{p95(page_ms):.2f}",
        "peak_rss_mb": f"{peak_rss_mb:.0f}",
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
