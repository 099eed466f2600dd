"""What a reward model rewards: ``webqa rm eval --audit``.

Two views of the same scorer, on the answers of an evaluation run:

- **regression**: the RM's score on every evaluated answer, regressed (least squares, with an
  intercept) on four surface features of the answer: its length in words, its number of citations,
  where its citations sit (the mean offset of its ``[n]`` markers, 0 = start, 1 = end; an answer
  with none gets the mean of those with some, so this coefficient speaks only of placement), and
  the share of the question's content words it contains. R² says how much of the score those
  features explain together, ``r2_alone`` each on its own; coefficients are per standard deviation
  of the feature (comparable with each other) and per unit. A feature that does not vary in the
  set is left out.
- **paired perturbations**: for the better answer of up to ``n`` pairs (distinct answers, spread
  evenly over the evaluated set), the same answer changed
  one way at a time, scored over the same quotes: citations removed, citations moved to the end,
  padded with a repeated sentence, the question restated in front, only the first half kept.
  Reported: the mean score change and the share of answers the change raised (Wilson 95%).
  A perturbation that leaves an answer unchanged (no citations to remove) skips it.

    out = audit(scorer, comparisons, scores, n=24)      # scores: (s0, s1) per comparison
    print_audit(out)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from browser_env.text.sentences import stems

from .comparisons import Comparison
from .grounding_pairs import split_sentences
from .perturb import CITATION, remove_citations
from .rm_eval import Scorer, citation_count, wilson

FEATURES = ("length_words", "citations", "citation_position", "question_words")


def _citation_offsets(answer: str) -> list[float]:
    text = answer.strip()
    return [m.start() / max(1, len(text)) for m in CITATION.finditer(text)]


def features(question: str, answer: str) -> dict[str, float | None]:
    """The four features of one answer; ``citation_position`` is None when it cites nothing."""
    offsets = _citation_offsets(answer)
    q = stems(question)
    return {"length_words": float(len(answer.split())), "citations": float(citation_count(answer)),
            "citation_position": sum(offsets) / len(offsets) if offsets else None,
            "question_words": len(q & stems(answer)) / len(q) if q else 0.0}


def regression(rows: Sequence[dict[str, float | None]], scores: Sequence[float]) -> dict[str, Any]:
    """Least squares of ``scores`` on the features in ``rows`` (see the module docstring)."""
    import numpy as np

    if len(rows) != len(scores) or len(rows) < 3:
        raise ValueError(f"a regression needs 3+ rows with one score each (got {len(rows)}, {len(scores)})")
    y = np.asarray(scores, dtype=float)
    cols: dict[str, np.ndarray] = {}
    for f in FEATURES:
        vals = [r[f] for r in rows]
        known = [v for v in vals if v is not None]
        if not known:
            continue
        fill = sum(known) / len(known)
        col = np.asarray([fill if v is None else v for v in vals], dtype=float)
        if col.std() > 1e-12:
            cols[f] = col
    names = list(cols)
    sd = {f: float(cols[f].std()) for f in names}

    def fit(which: list[str]) -> tuple[float, np.ndarray]:
        x = np.column_stack([np.ones(len(y))] + [(cols[f] - cols[f].mean()) / sd[f] for f in which])
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ beta
        total = float(((y - y.mean()) ** 2).sum())
        return (1.0 - float((resid ** 2).sum()) / total) if total > 0 else 0.0, beta

    r2, beta = fit(names)
    return {
        "n": len(y), "r2": r2, "score_mean": float(y.mean()), "score_sd": float(y.std()),
        "coefficients": {f: {"per_sd": float(beta[k + 1]), "per_unit": float(beta[k + 1]) / sd[f], "sd": sd[f]}
                         for k, f in enumerate(names)},
        "r2_alone": {f: fit([f])[0] for f in names},
        "left_out": [f for f in FEATURES if f not in names],
    }


def _citations_at_end(answer: str) -> str:
    marks = [m.group(0).strip() for m in CITATION.finditer(answer)]
    return remove_citations(answer) + (" " + "".join(marks) if marks else "")


def _padded(answer: str) -> str:
    parts = split_sentences(answer)
    return answer.rstrip() + (" " + parts[-1]) * 2 if parts else answer


def _first_half(answer: str) -> str:
    parts = split_sentences(answer)
    return " ".join(parts[:max(1, len(parts) // 2)])


PERTURBATIONS: dict[str, Callable[[str, str], str]] = {
    "no_citations": lambda q, a: remove_citations(a),
    "citations_at_end": lambda q, a: _citations_at_end(a),
    "padded": lambda q, a: _padded(a),
    "question_restated": lambda q, a: f"{q.strip()} {a.strip()}",
    "first_half": lambda q, a: _first_half(a),
}


def spread(comparisons: Sequence[Comparison], n: int) -> list[int]:
    """Indices of up to ``n`` comparisons with distinct better answers, evenly spaced over the set
    (so every file and kind of a run is represented, and one answer is not perturbed twice)."""
    first: dict[tuple[str, str], int] = {}
    for k, c in enumerate(comparisons):
        first.setdefault((c.question, c.side(c.preferred or 0)[2].strip()), k)
    unique = sorted(first.values())
    if len(unique) <= n:
        return unique
    return [unique[int(j * len(unique) / n)] for j in range(n)]


def paired(scorer: Scorer, comparisons: Sequence[Comparison], base: Sequence[float], *, n: int = 24,
           batch_size: int = 8) -> dict[str, Any]:
    """Score changes when the better answers of ``n`` comparisons (``spread``) are perturbed;
    ``base`` holds the better answers' scores already computed, one per comparison."""
    items, where = [], []
    for k in spread(comparisons, n):
        c = comparisons[k]
        question, quotes, answer = c.side(c.preferred or 0)
        for name, change in PERTURBATIONS.items():
            changed = change(question, answer)
            if changed.strip() and changed.strip() != answer.strip():
                items.append((question, quotes, changed))
                where.append((name, k))
    scores = scorer.score_batch(items, batch_size=batch_size) if items else []
    deltas: dict[str, list[float]] = {name: [] for name in PERTURBATIONS}
    for (name, k), s in zip(where, scores, strict=True):
        deltas[name].append(float(s) - float(base[k]))
    out = {}
    for name, ds in deltas.items():
        if not ds:
            out[name] = {"n": 0}
            continue
        mean = sum(ds) / len(ds)
        se = math.sqrt(sum((d - mean) ** 2 for d in ds) / (len(ds) - 1) / len(ds)) if len(ds) > 1 else None
        higher = sum(d > 0 for d in ds) + 0.5 * sum(d == 0 for d in ds)
        out[name] = {"n": len(ds), "mean_delta": mean, "se": se, "share_higher": higher / len(ds),
                     "share_higher_ci95": list(wilson(higher, len(ds)))}
    return out


def audit(scorer: Scorer, comparisons: Sequence[Comparison], scores: Sequence[tuple[float, float]], *,
          n: int = 24, batch_size: int = 8) -> dict[str, Any]:
    """The regression over every evaluated answer and the paired perturbations of ``n`` of them."""
    rows, ys = [], []
    for c, pair in zip(comparisons, scores, strict=True):
        for i in (0, 1):
            rows.append(features(c.question, c.side(i)[2]))
            ys.append(pair[i])
    base = [pair[c.preferred or 0] for c, pair in zip(comparisons, scores, strict=True)]
    return {"regression": regression(rows, ys),
            "perturbations": paired(scorer, comparisons, base, n=n, batch_size=batch_size)}


def print_audit(out: dict[str, Any]) -> None:
    reg = out["regression"]
    print(f"audit: score ~ answer features over {reg['n']} answers: R² = {reg['r2']:.3f} "
          f"(score mean {reg['score_mean']:.3f}, sd {reg['score_sd']:.3f})")
    for f, c in reg["coefficients"].items():
        print(f"  {f:<18} {c['per_sd']:+.3f} per sd ({c['sd']:.3g}), {c['per_unit']:+.4f} per unit; "
              f"R² alone {reg['r2_alone'][f]:.3f}")
    if reg["left_out"]:
        print(f"  left out (constant here): {', '.join(reg['left_out'])}")
    print("audit: the better answer changed one way at a time (score change; share raised, 95% CI)")
    for name, p in out["perturbations"].items():
        if not p["n"]:
            print(f"  {name:<18} n=0 (changes none of these answers)")
            continue
        lo, hi = p["share_higher_ci95"]
        se = f" ± {p['se']:.3f}" if p["se"] is not None else ""
        print(f"  {name:<18} n={p['n']:<3} mean change {p['mean_delta']:+.3f}{se}; raised "
              f"{p['share_higher']:.2f} [{lo:.2f}, {hi:.2f}]")
