"""Pairwise accuracy of a reward model on comparisons, with a Wilson 95% interval and baselines.

A comparison counts as correct when the better answer gets the higher score; equal scores
count half. Ties in the data are excluded (they have no right answer). Two baselines run on the
same comparisons: the longer answer wins, and the answer with more citation markers wins.

When comparisons carry a ``kind`` (grounding pairs, synthetic perturbations), ``by_kind`` reports
each kind apart, with the same two baselines, so a user sees which failure the model still falls
for. The scorer is anything with ``score_batch(items, batch_size=8)``, as
``omni_model.reward.TransformersRewardModel``:

    report = evaluate(load_reward_model("runs/rm"), comparisons)
    report.to_dict()          # {"n", "accuracy", "ci95", "undecided", "baselines", "by_kind"?}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from browser_env.text.citation_marks import count_citations

from .comparisons import Comparison

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


class Scorer(Protocol):
    def score_batch(self, items: Sequence[Any], batch_size: int = 8) -> list[float]: ...


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (successes may be fractional: half-credit ties)."""
    if n <= 0:
        raise ValueError("the Wilson interval needs n >= 1")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Accuracy:
    n: int
    correct: float  # wins + 0.5 * undecided
    undecided: int  # pairs the rule scored equal

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson(self.correct, self.n)

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.ci95
        return {"accuracy": self.accuracy, "ci95": [lo, hi], "n": self.n, "undecided": self.undecided}


def pairwise(comparisons: Sequence[Comparison], value: Callable[[Comparison, int], float]) -> Accuracy:
    """Accuracy of the rule "the answer with the larger ``value(c, i)`` is better"."""
    correct, undecided = 0.0, 0
    for c in comparisons:
        p = c.preferred
        if p is None:
            raise ValueError(f"{c.source}: a tie has no right answer; drop ties before scoring")
        good, bad = value(c, p), value(c, 1 - p)
        if good == bad:
            undecided += 1
            correct += 0.5
        elif good > bad:
            correct += 1
    if not comparisons:
        raise ValueError("no comparisons to score")
    return Accuracy(len(comparisons), correct, undecided)


def citation_count(answer: str) -> int:
    """Numbers cited in the answer's marks (``[1, 2]`` counts two, ``[1-3]`` three)."""
    return count_citations(answer)


def answer_length(answer: str) -> int:
    return len(answer.strip())


@dataclass(frozen=True)
class RMReport:
    model: Accuracy
    longer: Accuracy
    more_citations: Accuracy
    by_kind: dict[str, RMReport] = field(default_factory=dict)  # empty when no comparison has a kind

    def to_dict(self) -> dict[str, Any]:
        out = {**self.model.to_dict(), "baselines": {"longer": self.longer.to_dict(),
                                                     "more_citations": self.more_citations.to_dict()}}
        if self.by_kind:
            out["by_kind"] = {k: r.to_dict() for k, r in self.by_kind.items()}
        return out


def report(comparisons: Sequence[Comparison], scores: Sequence[tuple[float, float]], *,
           by_kind: bool = True) -> RMReport:
    """The accuracy of already computed ``scores`` (one (s0, s1) per comparison) and both baselines;
    with ``by_kind``, each kind of pair apart (comparisons without a kind are pooled as "(none)"
    when some others have one)."""
    if len(scores) != len(comparisons):
        raise ValueError(f"{len(scores)} score pairs for {len(comparisons)} comparisons")
    table = dict(zip(map(id, comparisons), scores, strict=True))
    kinds: dict[str, list[Comparison]] = {}
    if by_kind and any(c.kind for c in comparisons):
        for c in comparisons:
            kinds.setdefault(c.kind or "(none)", []).append(c)
    return RMReport(
        model=pairwise(comparisons, lambda c, i: table[id(c)][i]),
        longer=pairwise(comparisons, lambda c, i: answer_length(c.side(i)[2])),
        more_citations=pairwise(comparisons, lambda c, i: citation_count(c.side(i)[2])),
        by_kind={k: report(cs, [table[id(c)] for c in cs], by_kind=False) for k, cs in sorted(kinds.items())},
    )


def score_comparisons(scorer: Scorer, comparisons: Sequence[Comparison], *,
                      batch_size: int = 8) -> list[tuple[float, float]]:
    """(score of answer_0, score of answer_1) per comparison, from one batched call."""
    items = [c.side(i) for c in comparisons for i in (0, 1)]
    scores = scorer.score_batch(items, batch_size=batch_size)
    if len(scores) != len(items):
        raise ValueError(f"the scorer returned {len(scores)} scores for {len(items)} answers")
    return [(float(scores[2 * k]), float(scores[2 * k + 1])) for k in range(len(comparisons))]


def drop_too_long(scorer: Any, comparisons: Sequence[Comparison]) -> tuple[list[Comparison], int]:
    """The comparisons whose two texts the scorer can read (after cutting quote extracts), and how
    many it cannot (a question and answer longer than its ``max_length``). A scorer without a
    ``text`` method reads everything."""
    from omni_model.errors import PromptTooLongError

    text = getattr(scorer, "text", None)
    if text is None:
        return list(comparisons), 0
    kept = []
    for c in comparisons:
        try:
            text(*c.side(0))
            text(*c.side(1))
        except PromptTooLongError:
            continue
        kept.append(c)
    return kept, len(comparisons) - len(kept)


def evaluate(scorer: Scorer, comparisons: Sequence[Comparison], *, batch_size: int = 8) -> RMReport:
    """The reward model's pairwise accuracy and both baselines on the non-tie ``comparisons``
    (and by kind, when they have kinds)."""
    return report(comparisons, score_comparisons(scorer, comparisons, batch_size=batch_size))
