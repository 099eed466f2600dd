"""``webqa demos synth | export | import-webgpt | speech``: make demonstration files and spoken questions.

    webqa demos synth --questions eli5.json --index DIR --out demos.jsonl [--limit N] [--concurrency 4]
    webqa demos export --db sqlite:///labels.db --out recorded.jsonl      # from `webqa ui record`
    webqa demos import-webgpt ../shared/data/eli5_webgpt_samples --out answers.jsonl
    webqa demos speech --questions eli5.json --out runs/speech --skip 50 --limit 500   # espeak-ng

``synth`` runs the scripted demonstrator (``training.synth``) on the real environment: one
shared Chromium, ``--concurrency`` episodes at a time, a progress bar. Questions are read as
``webqa eval`` reads them (JSON or JSONL; a bad row is reported with its file and line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    demos = subparsers.add_parser("demos", help="make demonstrations (scripted, or imported from WebGPT)",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = demos.add_subparsers(dest="demos_command", metavar="<demos command>", required=True)
    s = sub.add_parser("synth", help="scripted browsing demonstrations on the real text browser",
                       description="Search the question's content words, open the most promising results, "
                       "quote the sentences that share most words with the question, answer extractively "
                       "with [n] citations. Every step is a command the browser accepted.")
    s.add_argument("--questions", required=True, metavar="FILE", help="questions JSON/JSONL (ELI5 format)")
    s.add_argument("--index", metavar="DIR", help="mini-web index (default: the wiki-vital index)")
    s.add_argument("--out", required=True, metavar="FILE", help="demonstration JSONL to write")
    s.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    s.add_argument("--skip", type=int, default=0, metavar="N", help="leave out the first N questions")
    s.add_argument("--pages", type=int, default=2, help="results opened per question (default 2)")
    s.add_argument("--concurrency", type=int, default=4, help="episodes at once (default 4)")
    s.add_argument("--append", action="store_true", help="add to --out instead of replacing it")
    s.add_argument("--screenshots", action="store_true",
                   help="also save each step's page screenshot (JPEG, in OUT's folder under <out>.screens/), "
                        "for `webqa train bc --screenshots`")
    x = sub.add_parser("export", help="write the recorder's finished demonstrations as JSONL",
                       description="Demonstrations recorded with `webqa ui record`, as the JSONL that "
                       "`webqa train bc` reads.")
    x.add_argument("--db", metavar="URL", help="database URL (default: the recorder's SQLite file)")
    x.add_argument("--out", required=True, metavar="FILE", help="demonstration JSONL to write")
    x.add_argument("--include-unfinished", action="store_true", help="also demonstrations not yet saved as done")
    i = sub.add_parser("import-webgpt", help="answer demonstrations from eli5_webgpt_samples",
                       description="The human demonstrators' and WebGPT's quotes and answers, two "
                       "answer-only demonstrations per question.")
    i.add_argument("folder", help="the eli5_webgpt_samples folder (answers.json, docs/)")
    i.add_argument("--out", required=True, metavar="FILE", help="demonstration JSONL to write")
    sp = sub.add_parser("speech", help="spoken questions for the omni model, synthesised with espeak-ng",
                        description="Reads each question aloud with espeak-ng (voices and rates vary in a fixed "
                        "pattern) into DIR/clips/*.wav and writes DIR/manifest.jsonl ({question, audio}), "
                        "for `webqa train omni --speech DIR`. Needs `apt install espeak-ng`.")
    sp.add_argument("--questions", required=True, metavar="FILE", help="questions JSON/JSONL (ELI5 format)")
    sp.add_argument("--out", required=True, metavar="DIR", help="folder for the clips and the manifest")
    sp.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    sp.add_argument("--skip", type=int, default=0, metavar="N", help="leave out the first N questions")
    return demos


def _questions(args: argparse.Namespace) -> list[str]:
    from data.eli5.loaders import DataError, load_questions

    errors: list[DataError] = []
    rows = load_questions(args.questions, errors=errors)
    for e in errors:
        print(f"skipped bad row: {e}", file=sys.stderr)
    questions = [r.question for r in rows][args.skip:]
    if args.limit is not None:
        questions = questions[:args.limit]
    if not questions:
        raise ValueError(f"no questions in {args.questions}")
    return questions


def _speech(args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    from .speech import synthesize_questions

    questions = _questions(args)
    with tqdm(total=len(questions), desc="speaking questions", unit="q", file=sys.stderr) as bar:
        manifest = synthesize_questions(questions, args.out, progress=bar.update)
    return {"manifest": str(manifest), "questions": len(questions)}


def _synth(args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    from browser_env.text.env import EnvConfig
    from browser_env.runtime import WebRuntime

    from .demos import write_demos
    from .synth import SynthConfig, screenshots_dir_for, synth_demos

    questions = _questions(args)
    shots = screenshots_dir_for(args.out) if args.screenshots else None

    async def run() -> tuple[list, Any]:
        async with WebRuntime(args.index) as rt:
            config = SynthConfig(pages=args.pages, concurrency=args.concurrency, corpus=rt.index.name,
                                 screenshots_dir=shots)
            env_config = EnvConfig(screenshots=args.screenshots)
            with tqdm(total=len(questions), desc="scripted demos", unit="q", file=sys.stderr) as bar:
                return await synth_demos(lambda: rt.make_env(env_config), questions, config,
                                         progress=lambda _: bar.update())

    demos, stats = asyncio.run(run())
    write_demos(args.out, demos, append=args.append)
    for f in stats.failed:
        print(f"failed: {f}", file=sys.stderr)
    return {"out": args.out, "questions": stats.questions, "demos": stats.demos, "no_quotes": stats.no_quotes,
            "failed": len(stats.failed), "steps": stats.steps, "quotes": stats.quotes}


def _export(args: argparse.Namespace) -> dict:
    from sqlalchemy.exc import SQLAlchemyError

    from .store import Store

    try:
        store = Store(args.db)
        n = store.export_demos(args.out, include_unfinished=args.include_unfinished)
    except SQLAlchemyError as e:
        # A wrong --db URL (unknown dialect, unparsable, unreachable) is the user's input, not a bug;
        # SQLAlchemy's message runs over several lines, the first says what is wrong.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"cannot read the database {args.db or 'of the recorder'}: {first}") from e
    return {"out": args.out, "demos": n}


def main(args: argparse.Namespace) -> int:
    from data.eli5.loaders import DataError

    try:
        if args.demos_command == "synth":
            out = _synth(args)
        elif args.demos_command == "speech":
            out = _speech(args)
        elif args.demos_command == "export":
            out = _export(args)
        else:
            from .demos import write_demos
            from .imports import import_webgpt_samples_with_stats

            demos, stats = import_webgpt_samples_with_stats(args.folder)
            out = {"out": args.out, "demos": write_demos(args.out, demos), "stats": stats.__dict__}
    except (OSError, ValueError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0
