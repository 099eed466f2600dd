"""Metrics on hand-checked examples: ROUGE-L, the TruthfulQA proxy, best-of-n curves, aggregates."""

import pytest

from agent.metrics import (aggregate, best_of_n_curve, lcs_length, question_metrics, rouge_l, tokenize,
                           truthfulqa_similarity)


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("The cat's 2 hats!") == ["the", "cat", "s", "2", "hats"]
    assert tokenize("") == []


def test_lcs_by_hand():
    assert lcs_length("abcbdab", "bdcaba") == 4  # the textbook example (e.g. "bcba")
    assert lcs_length([], ["a"]) == 0
    assert lcs_length("abc", "abc") == 3


@pytest.mark.parametrize("cand, ref, p, r", [
    # Lin (2004)'s examples: against "police killed the gunman".
    ("police kill the gunman", "police killed the gunman", 3 / 4, 3 / 4),
    ("the gunman kill police", "police killed the gunman", 2 / 4, 2 / 4),
    # LCS "the cat on the mat" = 5 of 6 and 5 of 7 tokens.
    ("the cat sat on the mat", "The cat is lying on the mat.", 5 / 6, 5 / 7),
    ("completely different words", "police killed the gunman", 0.0, 0.0),
])
def test_rouge_l_by_hand(cand, ref, p, r):
    s = rouge_l(cand, ref)
    f = 2 * p * r / (p + r) if p + r else 0.0
    assert s.p == pytest.approx(p) and s.r == pytest.approx(r) and s.f == pytest.approx(f)


def test_rouge_l_reads_no_citation_marks():
    # As ALCE scores ELI5: "[1]" is not the word "1", so citing does not cost an answer ROUGE.
    ref = "The sky is blue because air scatters blue light"
    assert rouge_l("Air scatters blue light [1]. The sky is blue [1, 2].", ref) == \
        rouge_l("Air scatters blue light. The sky is blue.", ref)
    assert rouge_l("It has 1 moon [2].", "It has 1 moon").f == 1.0  # a number in the text still counts


def test_rouge_l_empty_is_zero():
    assert rouge_l("", "something").f == 0.0
    assert rouge_l("something", "").f == 0.0


def test_truthfulqa_similarity():
    t = truthfulqa_similarity("Nothing happens to you", ["Nothing happens", "You digest them"], ["You die"])
    assert t["max_true"] == pytest.approx(2 * 1 * 0.5 / 1.5)  # "nothing happens": P 2/4, R 2/2 → F 2/3
    assert t["max_false"] == pytest.approx(rouge_l("Nothing happens to you", "You die").f)
    assert t["truthful"] is True and t["diff"] > 0
    assert truthfulqa_similarity("you die", ["Nothing"], ["You die"])["truthful"] is False


def test_best_of_n_curve_by_hand():
    # Scores rank the samples; qualities 10, 20, 30 in that order. n=2: 1/3·20 + 2/3·30.
    curve = best_of_n_curve([([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]), ([5.0], [7.0])], [1, 2, 3])
    assert curve["1"]["mean"] == pytest.approx((20.0 + 7.0) / 2) and curve["1"]["questions"] == 2
    assert curve["2"]["mean"] == pytest.approx(20 / 3 + 20.0) and curve["2"]["questions"] == 1
    assert curve["2"]["stderr"] == 0.0
    assert curve["3"]["mean"] == pytest.approx(30.0)
    assert best_of_n_curve([], [4])["4"] == {"mean": None, "stderr": None, "questions": 0}


def _result(status="answered", rewards=(0.5, 1.5), refs=2, steps=(3, 5), invalid=2, verified=1.0):
    return {
        "question": "q", "answer": "the cat sat on the mat" if status == "answered" else "I could not answer.",
        "references": [{"n": i + 1, "title": "t", "url": "u", "extract": "e"} for i in range(refs)],
        "candidates": [{"answer": a, "reward": r, "references": []}
                       for a, r in zip(["a dog", "the cat sat on the mat"], rewards, strict=False)],
        "trajectory": [{"episode": i, "steps": [{}] * k, "end": "Answer"} for i, k in enumerate(steps)],
        "timings": {}, "status": status, "reason": None,
        "stats": {"actions": sum(steps), "invalid_actions": invalid, "citations": refs, "removed_citations": 1,
                  "cited_quotes_verified": verified if refs else None, "world_errors": 0},
    }


def test_question_metrics_and_aggregate():
    ref = "The cat is lying on the mat."
    a = question_metrics(_result(), reference=ref, closed_book={"answer": "a cat", "reward": 0.1})
    assert a["reward"] == 1.5 and a["rewards"] == [0.5, 1.5] and a["citations"] == 2
    assert a["rouge_l"] == pytest.approx(rouge_l("the cat sat on the mat", ref).f)
    assert a["rouge_candidates"][0] == 0.0  # "a dog" shares nothing with the reference
    assert a["closed_book"]["rouge_l"] == pytest.approx(rouge_l("a cat", ref).f)
    b = question_metrics(_result(status="no_sources", rewards=(), refs=0, steps=(4, 4), invalid=4), reference=ref)
    assert b["rouge_l"] == 0.0 and b["citations"] == 0 and b["reward"] is None
    recs = [{"metrics": a, "seconds": 2.0}, {"metrics": b, "seconds": 4.0}]
    m = aggregate(recs, [1, 2])
    assert m["questions"] == 2 and m["status_counts"] == {"answered": 1, "no_sources": 1}
    assert m["actions"]["invalid_rate"] == pytest.approx(6 / 16)
    assert m["actions"]["per_episode_mean"] == pytest.approx(4.0)
    assert m["citations"]["share_with_citation"] == 1.0 and m["citations"]["per_answer"] == 2.0
    assert m["reward_by_n"]["1"]["mean"] == pytest.approx(1.0) and m["reward_by_n"]["2"]["mean"] == 1.5
    assert m["rouge_l"] == pytest.approx(a["rouge_l"] / 2)
    assert m["rouge_l_by_n"]["2"]["mean"] == pytest.approx(a["rouge_l"])  # best by reward is the cat answer
    assert m["seconds_per_question"] == 3.0
    assert m["closed_book"]["reward"] == pytest.approx(0.1) and m["closed_book"]["questions"] == 1


def test_aggregate_truthfulqa_labels_the_proxy():
    r = question_metrics(_result(), correct=["the cat sat on the mat"], incorrect=["a dog barked"])
    m = aggregate([{"metrics": r, "seconds": 1.0}], [1])
    assert m["truthfulqa_similarity"]["truthful_share"] == 1.0
    assert "automatic proxy" in m["truthfulqa_similarity"]["label"]
    assert "rouge_l" not in m  # no reference answer given


def test_support_counts_sentences_covered_by_their_own_citations():
    from agent.metrics import support

    refs = [{"n": 1, "extract": "Rayleigh scattering makes the sky blue."},
            {"n": 2, "extract": "Sunsets are red because blue light is scattered away."}]
    assert support("Rayleigh scattering makes the sky blue [1].", refs) == 1.0
    # Right words, wrong citation: not supported by what it cites.
    assert support("Rayleigh scattering colours the daytime sky [2].", refs) == 0.0
    assert support("Rayleigh scattering colours the daytime sky [1].", refs) == 1.0
    # An uncited sentence is unsupported; half of two sentences.
    assert support("Sunsets are red [2]. Volcanoes erupt magma.", refs) == 0.5
    assert support("", refs) is None


def test_answered_needs_a_cited_quote_from_a_content_page():
    from agent.metrics import first_query_f1, question_metrics

    page = {"n": 1, "title": "Sky", "url": "http://w/Sky", "extract": "The sky is blue."}
    results_page = {"n": 1, "title": "Search results for: 2", "url": "", "extract": "2"}
    base = {"status": "answered", "answer": "The sky is blue [1].", "stats": {"cited_quotes_verified": 1.0},
            "question": "Why is the sky blue?",
            "trajectory": [{"steps": [{"command": "Search 2", "valid": True}]}]}
    assert question_metrics({**base, "references": [page]})["answered"]
    assert not question_metrics({**base, "references": [results_page]})["answered"]
    assert not question_metrics({**base, "references": []})["answered"]
    assert first_query_f1(base, "Why is the sky blue?") == 0.0
    good = {**base, "trajectory": [{"steps": [{"command": "Search sky blue", "valid": True}]}]}
    assert first_query_f1(good, "Why is the sky blue?") == 1.0
