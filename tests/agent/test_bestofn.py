"""Best-of-n: picking by reward, batched scoring, and WebGPT's App. I estimator vs brute force."""

import random
from itertools import combinations

import pytest

from agent.bestofn import best_of_n_estimate, pick_best, score_candidates
from agent.types import Candidate


class StubRM:
    """Scores an answer by its length; records how it was called."""

    def __init__(self):
        self.calls = []

    def score_batch(self, items, batch_size=8):
        self.calls.append(len(items))
        return [float(len(answer)) for _, _, answer in items]


def test_best_of_n_picks_highest_reward_and_keeps_all():
    cands = [Candidate(answer=a, references=[], quotes=[{"title": "t", "url": "u", "extract": "e"}])
             for a in ["short", "the longest answer", "medium one"]]
    rm = StubRM()
    rewards = score_candidates(rm, [("Q?", c) for c in cands])
    assert rm.calls == [3]  # one batched call
    assert rewards == [5.0, 18.0, 10.0] and [c.reward for c in cands] == rewards
    assert pick_best(cands).answer == "the longest answer"


def test_pick_best_ties_and_unscored():
    cands = [Candidate("a", [], reward=1.0), Candidate("b", [], reward=1.0)]
    assert pick_best(cands).answer == "a"
    assert pick_best([Candidate("x", []), Candidate("y", [])]).answer == "x"
    with pytest.raises(ValueError):
        pick_best([])


def brute_force(scores, qualities, n):
    total, count = 0.0, 0
    for subset in combinations(range(len(scores)), n):
        # Same tie rule as the estimator: of equal scores the earlier sample wins.
        best = max(subset, key=lambda i: (scores[i], -i))
        total += qualities[best]
        count += 1
    return total / count


@pytest.mark.parametrize("seed", range(12))
def test_estimator_matches_brute_force(seed):
    rng = random.Random(seed)
    N = rng.randint(1, 8)
    scores = [float(rng.randint(0, 3)) for _ in range(N)]  # small range: many ties
    qualities = [rng.random() for _ in range(N)]
    for n in range(1, N + 1):
        assert best_of_n_estimate(scores, qualities, n) == pytest.approx(brute_force(scores, qualities, n))


def test_estimator_edges():
    assert best_of_n_estimate([3.0, 1.0, 2.0], [0.3, 0.1, 0.2], 1) == pytest.approx(0.2)  # the mean
    assert best_of_n_estimate([3.0, 1.0, 2.0], [0.3, 0.1, 0.2], 3) == pytest.approx(0.3)  # the RM's best
    assert 0.0 <= best_of_n_estimate(list(range(64)), [1.0] * 64, 32) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        best_of_n_estimate([1.0], [1.0], 2)
    with pytest.raises(ValueError):
        best_of_n_estimate([1.0, 2.0], [1.0], 1)
