"""``webqa rm eval``: a reward model's pairwise accuracy on held-out comparisons, beside two baselines.

    webqa rm eval [--reward-model runs/rm] --comparisons comparisons.jsonl [--json] [--limit N]

``--comparisons`` takes WebGPT comparisons JSONL or trl ``prompt``/``chosen``/``rejected`` JSONL.
Ties are excluded; malformed rows are reported (file:line) and skipped, or fatal with ``--strict``.
The data are read and checked before the model is loaded. ``--json`` prints one object:
``{"reward_model", "comparisons", "n", "accuracy", "ci95": [lo, hi], "baselines": {"longer": {...},
"more_citations": {...}}, "ties_excluded", "malformed_rows", "too_long"}``; each baseline is
``{"accuracy", "ci95", "n", "undecided"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    rm = subparsers.add_parser("rm", help="reward-model tools (eval)",
                               description="Reward-model tools. Run `webqa rm <command> --help`.")
    sub = rm.add_subparsers(dest="rm_command", metavar="<rm command>", required=True)
    p = sub.add_parser("eval", help="pairwise accuracy of a reward model on comparisons, with baselines",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reward-model", metavar="DIR",
                   help="a trained RM folder or any spec omni_model.reward.load_reward_model accepts "
                        "(default: the shipped reward-model adapter, omni_model/adapters/reward)")
    p.add_argument("--comparisons", required=True, metavar="FILE", help="WebGPT comparisons or trl JSONL")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="score only the first N non-tie comparisons")
    p.add_argument("--batch-size", type=int, default=8, help="answers per forward pass (default 8)")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed row")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return rm


def load_scorer(spec: str) -> Any:
    """The reward model behind ``--reward-model`` (tests replace this with a stub)."""
    from omni_model.reward import load_reward_model

    return load_reward_model(spec)


def main(args: argparse.Namespace) -> int:
    from training.comparisons import MalformedRowError, load_comparisons, require_decided
    from training.rm_eval import drop_too_long, evaluate

    if args.limit is not None and args.limit < 1:
        print("error: --limit must be >= 1", file=sys.stderr)
        return 2
    try:
        loaded = load_comparisons(args.comparisons, strict=args.strict)
        decided = require_decided(loaded.comparisons, args.comparisons)
    except (OSError, MalformedRowError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for err in loaded.errors:
        print(f"skipped malformed row: {err}", file=sys.stderr)
    ties = len(loaded.comparisons) - len(decided)
    if args.limit is not None:
        decided = decided[:args.limit]

    if args.reward_model is None:
        from omni_model.shipped import default_reward_model_spec

        args.reward_model = default_reward_model_spec()
    scorer = load_scorer(args.reward_model)
    decided, too_long = drop_too_long(scorer, decided)
    if not decided:
        print(f"error: every comparison is longer than the reward model's max_length ({too_long} pairs)",
              file=sys.stderr)
        return 2
    report = evaluate(scorer, decided, batch_size=args.batch_size)
    lo, hi = report.model.ci95
    out = {
        "reward_model": args.reward_model,
        "comparisons": str(args.comparisons),
        "n": report.model.n,
        "accuracy": report.model.accuracy,
        "ci95": [lo, hi],
        "baselines": {"longer": report.longer.to_dict(), "more_citations": report.more_citations.to_dict()},
        "ties_excluded": ties,
        "malformed_rows": len(loaded.errors),
        "too_long": too_long,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"reward model {args.reward_model} on {args.comparisons}: {out['n']} comparisons "
          f"({ties} ties excluded, {len(loaded.errors)} malformed rows skipped"
          + (f", {too_long} too long for the model" if too_long else "") + ")")
    rows = [("reward model", report.model), ("longer answer", report.longer),
            ("more citations", report.more_citations)]
    for name, acc in rows:
        a, b = acc.ci95
        print(f"  {name:<15} accuracy {acc.accuracy:.3f}  95% CI [{a:.3f}, {b:.3f}]"
              + (f"  ({acc.undecided} equal, counted half)" if acc.undecided else ""))
    return 0
