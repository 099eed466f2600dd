"""Best-of-n: score every candidate with the reward model, return the best, keep them all.

    rewards = score_candidates(reward_model, question, candidates)   # one batched score_batch
    best = pick_best(candidates)                                      # highest reward, first on ties

``best_of_n_estimate`` is WebGPT's unbiased estimator (Nakano et al. 2021, App. I) of the
quality of best-of-n from N >= n samples, so one run of N answers gives the whole curve
n = 1..N. Ties in the reward are broken by sample order, the same rule ``pick_best`` uses: of
equal scores the earlier sample wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from typing import Any

from browser_env.text.observation import Quote
from omni_model.types import RewardModel

from .types import Candidate


def _quote(q: dict[str, Any]) -> Quote:
    return Quote(title=q.get("title", ""), domain=q.get("domain", ""), url=q.get("url", ""), extract=q.get("extract", ""))


def score_candidates(reward_model: RewardModel, items: Sequence[tuple[str, Candidate]],
                     *, batch_size: int = 8) -> list[float]:
    """Score ``(question, candidate)`` pairs in ONE ``score_batch`` call; sets ``candidate.reward``.

    The reward model reads the answer as shown to the user (removed citations gone) with every
    quote the episode collected, numbered as in the answer prompt. Candidates of one episode share
    their question and quotes, so ``omni_model.reward.TransformersRewardModel`` reads that prompt once for all
    of them (its shared-prefix path) and only each candidate's answer on top.
    """
    if not items:
        return []
    batch = [(question, [_quote(q) for q in c.quotes], c.answer) for question, c in items]
    rewards = [float(r) for r in reward_model.score_batch(batch, batch_size=batch_size)]
    if len(rewards) != len(items):
        raise ValueError(f"reward model returned {len(rewards)} scores for {len(items)} answers")  # a bug there
    for (_, c), r in zip(items, rewards, strict=True):
        c.reward = r
    return rewards


def pick_best(candidates: Sequence[Candidate]) -> Candidate:
    """The candidate with the highest reward; the first one on ties or when nothing was scored."""
    if not candidates:
        raise ValueError("pick_best needs at least one candidate")
    best = candidates[0]
    for c in candidates[1:]:
        if c.reward is not None and (best.reward is None or c.reward > best.reward):
            best = c
    return best


def rank_order(scores: Sequence[float]) -> list[int]:
    """Sample indices from lowest to highest score; of equal scores the earlier sample ranks higher."""
    return sorted(range(len(scores)), key=lambda i: (scores[i], -i))


def best_of_n_estimate(scores_for_ranking: Sequence[float], qualities: Sequence[float], n: int) -> float:
    """Expected quality of best-of-n, estimated without bias from N >= n samples (WebGPT App. I).

    Ranked by ``scores_for_ranking`` (lowest first), sample i (1-based) is the best of a random
    n-subset with probability C(i-1, n-1) / C(N, n); the estimate is the weighted sum of
    ``qualities`` (a separate judge's scores of the same samples).
    """
    N = len(scores_for_ranking)
    if len(qualities) != N:
        raise ValueError(f"{N} scores but {len(qualities)} qualities")
    if not 1 <= n <= N:
        raise ValueError(f"need 1 <= n <= N, got n={n}, N={N}")
    total = comb(N, n)
    order = rank_order(scores_for_ranking)
    # Integer weights, one division at the end: exact until the final rounding, even for N=64.
    return sum(comb(i - 1, n - 1) * float(qualities[idx]) for i, idx in enumerate(order, 1) if i >= n) / total
