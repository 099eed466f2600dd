"""``webqa comparisons export | load``: move comparison pairs and ratings in and out of the database.

    webqa comparisons load --db URL FILE      # pairs to label (WebGPT/trl rows, or `webqa ask --json` output)
    webqa comparisons export --db URL --out comparisons.jsonl   # WebGPT comparisons JSONL, for `webqa train rm`
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = subparsers.add_parser("comparisons", help="load pairs to label, export ratings (WebGPT JSONL)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = c.add_subparsers(dest="comparisons_command", metavar="<command>", required=True)
    e = sub.add_parser("export", help="write every rating as WebGPT comparisons JSONL")
    e.add_argument("--db", metavar="URL", help="database URL (default: the recorder's SQLite file)")
    e.add_argument("--out", required=True, metavar="FILE")
    ld = sub.add_parser("load", help="add pairs to label from a file")
    ld.add_argument("file", help="WebGPT comparisons / trl rows, or `webqa ask --json` outputs (their candidates "
                                "are paired); JSON Lines or JSON documents, pretty-printed or not")
    ld.add_argument("--db", metavar="URL", help="database URL (default: the recorder's SQLite file)")
    return c


def main(args: argparse.Namespace) -> int:
    from training.store import Store, load_pairs_file

    try:
        store = Store(args.db)
        if args.comparisons_command == "export":
            out = {"out": args.out, "comparisons": store.export_comparisons(args.out)}
        else:
            out = {"file": args.file, "pairs": load_pairs_file(store, args.file)}
    except (OSError, ValueError) as e:
        print(f"webqa comparisons: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0
