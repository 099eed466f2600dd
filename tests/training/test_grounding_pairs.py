"""Grounding pairs: each kind spoils the chosen answer the way its name says; the split is by question."""

import argparse
import json
import random
from collections import Counter

import pytest

from browser_env.text.observation import Quote
from training import rm_eval_cmd
from training.common import held_out
from training.comparisons import load_trl
from training.grounding_pairs import (KINDS, Sample, build_pairs, cite, derangement, load_samples, renumber)
from training.perturb import CITATION, remove_citations
from training.rm_eval import citation_count


def _sample(i: int, topic: str) -> Sample:
    quotes = (Quote(f"{topic} basics", "a.org", "", f"The {topic} works by moving charged particles around. "
                    f"Engineers designed the {topic} carefully over many decades of research."),
              Quote(f"{topic} history", "b.org", "", f"The first {topic} appeared in nineteenth century laboratories. "
                    f"Early {topic} prototypes were large and extremely expensive machines."))
    answer = (f"The {topic} works by moving charged particles around. The first {topic} appeared in "
              f"nineteenth century laboratories. Nobody really knows why people like it so much.")
    return Sample(i, f"How does the {topic} {i} work?", quotes, answer, closed_book=f"A {topic} is a device.")


SAMPLES = [_sample(i, t) for i, t in enumerate(["motor", "battery", "radio", "laser", "magnet", "turbine",
                                                  "camera", "engine", "printer", "rocket", "cooler", "heater"])]


def test_cite_marks_supported_sentences_only():
    s = SAMPLES[0]
    cited = cite(s.answer, s.quotes)
    assert cited.startswith("The motor works by moving charged particles around [1].")
    assert "laboratories [2]." in cited and "so much." in cited and "much [" not in cited
    assert remove_citations(cited) == s.answer
    assert cite("A.\n\nB is here.", s.quotes).count("\n\n") == 1  # paragraphs kept


def test_renumber_and_derangement():
    assert renumber("A [1]. B [2, 1]. C [3].", {1: 2, 2: 1}) == "A [2]. B [1, 2]. C [3]."
    rng = random.Random(0)
    for k in (2, 3, 5):
        d = derangement(k, rng)
        assert sorted(d.values()) == list(range(1, k + 1)) and all(a != b for a, b in d.items())


def test_every_kind_spoils_the_chosen_answer_as_named():
    built = build_pairs(SAMPLES, fraction=0.25, seed=0)
    assert built.skipped_uncited == 0
    kinds = Counter(p.kind for p in built.pairs)
    assert set(kinds) == set(KINDS) and all(n == len(SAMPLES) for n in kinds.values())
    for p in built.pairs:
        assert p.preferred == 0 and CITATION.search(p.answer_0) and p.quotes_0
        good, bad = p.answer_0, p.answer_1
        if p.kind == "closed_book":
            assert p.quotes_1 == () and not CITATION.search(bad)
        elif p.kind == "other_quotes":
            assert bad == good and p.quotes_1 != p.quotes_0
        elif p.kind == "unsupported":
            assert p.quotes_1 == p.quotes_0 and bad != good
        elif p.kind == "wrong_citations":
            assert remove_citations(bad) == remove_citations(good) and bad != good
            assert citation_count(bad) == citation_count(good)
        elif p.kind == "missing_citations":
            assert bad == remove_citations(good)
        elif p.kind == "repeated":
            assert bad.startswith(good) and len(bad) > len(good)
        elif p.kind == "search_page":
            assert p.quotes_1[0].title.startswith("Search results for:")
        else:  # other_extractive: sentences of its own quotes vs another question's
            assert p.kind == "other_extractive"
            assert all(remove_citations(s).rstrip(".") in " ".join(q.extract for q in p.quotes_0)
                       for s in good.split(". ") if s)
            assert citation_count(bad) == citation_count(good)
        assert p.source.endswith(f"#{p.kind}")


def test_split_is_by_question_and_other_material_stays_on_its_side():
    built = build_pairs(SAMPLES, fraction=0.25, seed=0)
    assert set(built.split.values()) == {"train", "heldout"}
    for q, side in built.split.items():
        assert side == ("heldout" if held_out(q, 0.25, 0) else "train")
    topic = {s.question: s.question.split()[3] for s in SAMPLES}
    side_of_topic = {topic[q]: side for q, side in built.split.items()}
    for p in built.pairs:
        for text in (p.answer_1, *(q.extract for q in p.quotes_1)):
            for t, side in side_of_topic.items():
                if f" {t}" in text:
                    assert side == built.split[p.question]  # no material crosses the split
    again = build_pairs(SAMPLES, fraction=0.25, seed=0)
    assert [(p.answer_1, p.quotes_1) for p in again.pairs] == [(p.answer_1, p.quotes_1) for p in built.pairs]
    other = build_pairs(SAMPLES, fraction=0.25, seed=1)
    assert [p.answer_1 for p in other.pairs] != [p.answer_1 for p in built.pairs]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown grounding-pair kinds"):
        build_pairs(SAMPLES, kinds=("nap",))


def test_rm_pairs_command_writes_kinds_and_splits(shared_data, tmp_path, capsys):
    out, held = tmp_path / "pairs.jsonl", tmp_path / "held.jsonl"
    args = argparse.Namespace(rm_command="pairs", webgpt=str(shared_data / "eli5_webgpt_samples"), out=str(out),
                              heldout_out=str(held), heldout_fraction=0.1, seed=0, kinds=None)
    assert rm_eval_cmd.main(args) == 0
    assert "grounding pairs from 215 questions" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["kind"] for r in rows} == set(KINDS) and {r["split"] for r in rows} == {"train", "heldout"}
    loaded = load_trl(held).comparisons
    assert len(loaded) == sum(r["split"] == "heldout" for r in rows) > 100
    assert {c.kind for c in loaded} == set(KINDS)
    samples = {s.question for s in load_samples(shared_data / "eli5_webgpt_samples")}
    assert all(c.question in samples and held_out(c.question, 0.1, 0) for c in loaded)


def test_trl_round_trip_keeps_a_quote_without_a_domain(tmp_path):
    from training.comparisons import export_trl, to_trl_rows

    built = build_pairs(SAMPLES, kinds=("search_page",), fraction=0.25, seed=0)
    path = tmp_path / "p.jsonl"
    export_trl(path, to_trl_rows(built.pairs, ties="drop"))
    again = tmp_path / "again.jsonl"
    export_trl(again, to_trl_rows(load_trl(path).comparisons, ties="drop"))
    back = load_trl(again).comparisons
    assert [(c.quotes_1, c.answer_1) for c in back] == [(c.quotes_1, c.answer_1) for c in built.pairs]
