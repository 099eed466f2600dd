"""``webqa rm``: reward-model tools. ``eval`` measures a reward model on held-out comparisons beside
two baselines; ``pairs`` builds grounding pairs from WebGPT's samples to train and measure it on.

    webqa rm eval [--reward-model runs/rm] --comparisons FILE [FILE ...] [--by-source] [--audit] [--json]
    webqa rm pairs --webgpt ../shared/data/eli5_webgpt_samples --out runs/grounding_pairs.jsonl

``eval --comparisons`` takes any comparisons file webqa reads (WebGPT comparisons, trl
``prompt``/``chosen``/``rejected`` JSONL, lfqa expert preferences, HH-RLHF, HaluQuestQA's TSV).
Ties are excluded; malformed rows are reported (file:line) and skipped, or fatal with ``--strict``.
The data are read and checked before the model is loaded, and every answer is scored in one batched
call. ``--limit N`` keeps the first N pairs of each file. ``--json`` prints one object:
``{"reward_model", "comparisons", "n", "accuracy", "ci95": [lo, hi], "baselines": {"longer": {...},
"more_citations": {...}}, "ties_excluded", "malformed_rows", "too_long"}``, each baseline
``{"accuracy", "ci95", "n", "undecided"}``; plus ``"by_kind": {kind: {"n", "accuracy", "ci95",
"undecided", "baselines"}}`` when rows have a ``kind``, ``"by_source": {file: {..., "by_kind"?}}``
with ``--by-source``, and ``"audit"`` with ``--audit`` (``training.rm_audit``: how much of the score
length, citations, their position and the question's words explain).

``pairs`` writes trl rows with ``kind`` and ``split`` ("train" / "heldout", by question; see
``training.grounding_pairs``); ``--heldout-out FILE`` also writes the held-out rows alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    rm = subparsers.add_parser("rm", help="reward-model tools (eval, pairs)",
                               description="Reward-model tools. Run `webqa rm <command> --help`.")
    sub = rm.add_subparsers(dest="rm_command", metavar="<rm command>", required=True)
    p = sub.add_parser("eval", help="pairwise accuracy of a reward model on comparisons, with baselines",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reward-model", metavar="DIR",
                   help="a trained RM folder or any spec omni_model.reward.load_reward_model accepts "
                        "(default: the shipped reward-model adapter, omni_model/adapters/reward)")
    p.add_argument("--comparisons", required=True, nargs="+", metavar="FILE", help="comparison files")
    p.add_argument("--by-source", action="store_true", help="also report each file apart")
    p.add_argument("--audit", action="store_true",
                   help="what the scores follow: a regression on length, citations, citation position and "
                        "question words, and paired perturbations of the better answers")
    p.add_argument("--audit-pairs", type=int, default=24, metavar="N",
                   help="better answers perturbed for the audit (default 24)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="score only the first N non-tie "
                   "comparisons of each file")
    p.add_argument("--batch-size", type=int, default=8, help="answers per forward pass (default 8)")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed row")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    g = sub.add_parser("pairs", help="grounding pairs from WebGPT's samples (WebGPT's answer vs perturbed ones)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--webgpt", required=True, metavar="DIR", help="the eli5_webgpt_samples folder")
    g.add_argument("--out", required=True, metavar="FILE", help="trl JSONL, every pair (kind and split on each row)")
    g.add_argument("--heldout-out", metavar="FILE", help="also write the held-out pairs alone here")
    g.add_argument("--heldout-fraction", type=float, default=0.1,
                   help="share of questions held out (default 0.1, as `webqa train rm --eval-fraction`)")
    g.add_argument("--seed", type=int, default=0, help="split and perturbation seed (default 0)")
    g.add_argument("--kinds", default=None, metavar="LIST", help="comma-separated kinds (default: all)")
    return rm


def load_scorer(spec: str) -> Any:
    """The reward model behind ``--reward-model`` (tests replace this with a stub)."""
    from omni_model.reward import load_reward_model

    return load_reward_model(spec)


def main(args: argparse.Namespace) -> int:
    if getattr(args, "rm_command", "eval") == "pairs":
        return main_pairs(args)
    return main_eval(args)


def main_pairs(args: argparse.Namespace) -> int:
    from collections import Counter
    from pathlib import Path

    from training.comparisons import export_trl, to_trl_rows
    from training.grounding_pairs import KINDS, build_pairs, load_samples

    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip()) if args.kinds else KINDS
    if not 0 < args.heldout_fraction < 1:
        print("error: --heldout-fraction must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        built = build_pairs(load_samples(args.webgpt), kinds=kinds, fraction=args.heldout_fraction, seed=args.seed)
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if not built.pairs:
        print(f"error: no grounding pairs could be made from {args.webgpt}", file=sys.stderr)
        return 2
    rows = [{**row, "split": built.split[c.question]}
            for c, row in zip(built.pairs, to_trl_rows(built.pairs, ties="drop"), strict=True)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    export_trl(args.out, rows)
    if args.heldout_out:
        Path(args.heldout_out).parent.mkdir(parents=True, exist_ok=True)
        export_trl(args.heldout_out, [r for r in rows if r["split"] == "heldout"])
    counts = Counter((r["split"], r["kind"]) for r in rows)
    questions = Counter(built.split.values())
    print(f"{len(rows)} grounding pairs from {len(built.split)} questions ({questions['train']} train, "
          f"{questions['heldout']} held out; {built.skipped_uncited} skipped: no sentence citable) -> {args.out}")
    for kind in kinds:
        print(f"  {kind:<18} train {counts[('train', kind)]:>4}  held out {counts[('heldout', kind)]:>3}")
    return 0


def _load(args: argparse.Namespace) -> tuple[dict[str, list], int, int]:
    """Decided comparisons per file, ties excluded, malformed rows (reported on stderr)."""
    from training.comparisons import require_decided
    from training.preference_sets import load_comparison_file

    per_file, ties, malformed = {}, 0, 0
    for path in args.comparisons:
        loaded = load_comparison_file(path, strict=args.strict)
        decided = require_decided(loaded.comparisons, path)
        for err in loaded.errors:
            print(f"skipped malformed row: {err}", file=sys.stderr)
        ties += len(loaded.comparisons) - len(decided)
        malformed += len(loaded.errors)
        per_file[str(path)] = decided[:args.limit] if args.limit is not None else decided
    return per_file, ties, malformed


def main_eval(args: argparse.Namespace) -> int:
    from training.comparisons import MalformedRowError
    from training.rm_eval import drop_too_long, report, score_comparisons

    if args.limit is not None and args.limit < 1:
        print("error: --limit must be >= 1", file=sys.stderr)
        return 2
    if isinstance(args.comparisons, str):
        args.comparisons = [args.comparisons]
    try:
        per_file, ties, malformed = _load(args)
    except (OSError, MalformedRowError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.reward_model is None:
        from omni_model.shipped import default_reward_model_spec

        args.reward_model = default_reward_model_spec()
    scorer = load_scorer(args.reward_model)
    too_long = 0
    for path, pairs in per_file.items():
        per_file[path], dropped = drop_too_long(scorer, pairs)
        too_long += dropped
    decided = [c for pairs in per_file.values() for c in pairs]
    if not decided:
        print(f"error: every comparison is longer than the reward model's max_length ({too_long} pairs)",
              file=sys.stderr)
        return 2
    scores = score_comparisons(scorer, decided, batch_size=args.batch_size)
    overall = report(decided, scores)
    one = overall.to_dict()
    out: dict[str, Any] = {
        "reward_model": args.reward_model,
        "comparisons": args.comparisons[0] if len(args.comparisons) == 1 else list(args.comparisons),
        "n": one["n"], "accuracy": one["accuracy"], "ci95": one["ci95"], "baselines": one["baselines"],
        "ties_excluded": ties, "malformed_rows": malformed, "too_long": too_long,
    }
    if "by_kind" in one:
        out["by_kind"] = one["by_kind"]
    if getattr(args, "by_source", False):
        out["by_source"], start = {}, 0
        for path, pairs in per_file.items():
            if pairs:
                out["by_source"][path] = report(pairs, scores[start:start + len(pairs)]).to_dict()
            start += len(pairs)
    if getattr(args, "audit", False):
        from training.rm_audit import audit

        out["audit"] = audit(scorer, decided, scores, n=getattr(args, "audit_pairs", 24), batch_size=args.batch_size)
    if args.json:
        print(json.dumps(out))
        return 0
    _print(out, ties, malformed, too_long)
    return 0


def _print_block(d: dict[str, Any], indent: str = "  ") -> None:
    rows = [("reward model", d), ("longer answer", d["baselines"]["longer"]),
            ("more citations", d["baselines"]["more_citations"])]
    for name, acc in rows:
        a, b = acc["ci95"]
        print(f"{indent}{name:<15} accuracy {acc['accuracy']:.3f}  95% CI [{a:.3f}, {b:.3f}]"
              + (f"  ({acc['undecided']} equal, counted half)" if acc.get("undecided") else ""))


def _print_kinds(by_kind: dict[str, Any], indent: str = "  ") -> None:
    print(f"{indent}by kind of pair{'':<11}n   reward model [95% CI]    longer  more citations")
    for kind, d in by_kind.items():
        a, b = d["ci95"]
        print(f"{indent}  {kind:<22} {d['n']:>4}  {d['accuracy']:.3f} [{a:.3f}, {b:.3f}]  "
              f"{d['baselines']['longer']['accuracy']:.3f}   {d['baselines']['more_citations']['accuracy']:.3f}")


def _print(out: dict[str, Any], ties: int, malformed: int, too_long: int) -> None:
    files = out["comparisons"] if isinstance(out["comparisons"], str) else ", ".join(out["comparisons"])
    print(f"reward model {out['reward_model']} on {files}: {out['n']} comparisons "
          f"({ties} ties excluded, {malformed} malformed rows skipped"
          + (f", {too_long} too long for the model" if too_long else "") + ")")
    _print_block(out)
    if "by_kind" in out:
        _print_kinds(out["by_kind"])
    for path, d in out.get("by_source", {}).items():
        print(f"  {path}: {d['n']} comparisons")
        _print_block(d, "    ")
        if "by_kind" in d:
            _print_kinds(d["by_kind"], "    ")
    if "audit" in out:
        from training.rm_audit import print_audit

        print_audit(out["audit"])
