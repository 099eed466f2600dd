"""`webqa rm eval` on a hand-checked toy set, with a stub reward model (no model is loaded)."""

import argparse
import json

import pytest

from training import rm_eval_cmd
from training.comparisons import Comparison, export_trl, export_webgpt, to_trl_rows
from training.rm_eval import citation_count, evaluate, wilson

# (answer_0, answer_1, score_0, RM score of answer_0, RM score of answer_1)
TOY = [
    ("Alpha is A [1][2].", "Alpha might be something else entirely.", 1.0, 2.0, 1.0),  # RM right, longer wrong, cites right
    ("Beta [1].", "Beta is B, as the source says [1].", -1.0, 0.5, 0.2),  # RM wrong, longer right, cites equal
    ("Gamma is G, explained at length here.", "Gamma?", 1.0, 3.0, -1.0),  # RM right, longer right, cites equal (0-0)
    ("Delta [1, 2, 3].", "Delta is D [1].", 0.5, 1.0, 1.0),  # RM equal, longer right (16 > 15 chars), cites right (3 > 1)
    ("Eps.", "Epsilon.", 0.0, 9.0, 0.0),  # a tie in the data: excluded
    ("Zeta is Z for sure, long answer.", "Zeta [1].", -1.0, -2.0, 0.0),  # RM right, longer wrong, cites right
]
# Hand count over the 5 non-ties (an equal pair counts half):
#   RM:        1 + 0 + 1 + 0.5 + 1 = 3.5  -> 0.7
#   longer:    0 + 1 + 1 + 1   + 0 = 3    -> 0.6
#   citations: 1 + .5 + .5 + 1 + 1 = 4    -> 0.8 (2 undecided)
# Wilson, z = 1.96, n = 5 (z^2 = 3.8415, z^2/n = 0.7683, denominator 1 + z^2/n = 1.7683):
#   p = 0.7: centre (0.7 + 0.3841)/1.7683 = 0.6131; half 1.96/1.7683*sqrt(0.21/5 + 3.8415/100) = 1.1084*0.2836 = 0.3143
#            -> [0.2988, 0.9274]
#   p = 0.6: centre 0.5566; half 1.1084*sqrt(0.24/5 + 0.0384) = 1.1084*0.2940 = 0.3258 -> [0.2307, 0.8824]
#   p = 0.8: centre 0.6697; half 1.1084*sqrt(0.16/5 + 0.0384) = 1.1084*0.2654 = 0.2941 -> [0.3755, 0.9638]
RM_CI, LONGER_CI, CITES_CI = (0.2988, 0.9274), (0.2307, 0.8824), (0.3755, 0.9638)


class StubRM:
    """Scores an answer by a table; records the calls."""

    def __init__(self):
        self.scores = {a: s for a0, a1, _, s0, s1 in TOY for a, s in ((a0, s0), (a1, s1))}
        self.calls = []

    def score_batch(self, items, batch_size=8):
        self.calls.append((len(items), batch_size))
        return [self.scores[answer.strip()] for _question, _quotes, answer in items]


def _toy():
    return [Comparison(f"Question {i}?", a0, a1, s0, -s0, source=f"toy:{i + 1}") for i, (a0, a1, s0, _, _) in enumerate(TOY)]


def test_wilson_by_hand():
    for (s, n), (lo, hi) in [((3.5, 5), RM_CI), ((3, 5), LONGER_CI), ((4, 5), CITES_CI)]:
        assert wilson(s, n) == pytest.approx((lo, hi), abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wilson(0, 0)


def test_citation_count():
    assert [citation_count(a) for a in ("x [1][2].", "y [1, 2, 3].", "none", "[12] ref")] == [2, 3, 0, 1]


def test_evaluate_toy_set():
    decided = [c for c in _toy() if not c.is_tie]
    report = evaluate(StubRM(), decided)
    assert (report.model.n, report.model.correct, report.model.undecided) == (5, 3.5, 1)
    assert report.model.accuracy == pytest.approx(0.7)
    assert (report.longer.accuracy, report.longer.undecided) == (pytest.approx(0.6), 0)
    assert (report.more_citations.accuracy, report.more_citations.undecided) == (pytest.approx(0.8), 2)
    with pytest.raises(ValueError, match="tie"):
        evaluate(StubRM(), _toy())


def _args(path, **kw):
    base = {"reward_model": "stub-rm", "comparisons": str(path), "json": True, "limit": None, "batch_size": 4,
            "strict": False, "by_source": False, "audit": False, "audit_pairs": 24}
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture
def stub(monkeypatch):
    rm = StubRM()
    monkeypatch.setattr(rm_eval_cmd, "load_scorer", lambda spec: rm)
    return rm


@pytest.mark.parametrize("fmt", ["webgpt", "trl"])
def test_rm_eval_json(tmp_path, stub, capsys, fmt):
    path = tmp_path / f"{fmt}.jsonl"
    if fmt == "webgpt":
        export_webgpt(path, _toy())
    else:
        export_trl(path, to_trl_rows(_toy(), ties="drop"))
    assert rm_eval_cmd.main(_args(path)) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["reward_model", "comparisons", "n", "accuracy", "ci95", "baselines", "ties_excluded",
                         "malformed_rows", "too_long"]
    assert out["too_long"] == 0
    assert (out["reward_model"], out["comparisons"], out["n"]) == ("stub-rm", str(path), 5)
    assert out["accuracy"] == pytest.approx(0.7) and out["ci95"] == pytest.approx(list(RM_CI), abs=1e-4)
    assert out["ties_excluded"] == (1 if fmt == "webgpt" else 0) and out["malformed_rows"] == 0
    assert set(out["baselines"]) == {"longer", "more_citations"}
    longer, cites = out["baselines"]["longer"], out["baselines"]["more_citations"]
    assert longer == {"accuracy": pytest.approx(0.6), "ci95": pytest.approx(list(LONGER_CI), abs=1e-4), "n": 5,
                      "undecided": 0}
    assert cites == {"accuracy": pytest.approx(0.8), "ci95": pytest.approx(list(CITES_CI), abs=1e-4), "n": 5,
                     "undecided": 2}
    assert stub.calls == [(10, 4)]  # one batched call, both answers of each pair


def test_rm_eval_text_and_limit(tmp_path, stub, capsys):
    path = tmp_path / "toy.jsonl"
    export_webgpt(path, _toy())
    with path.open("a") as f:
        f.write('{"question": "q", "answer_0": "a"}\n')  # line 7: malformed
    assert rm_eval_cmd.main(_args(path, json=False, limit=2)) == 0
    captured = capsys.readouterr()
    assert "2 comparisons (1 ties excluded, 1 malformed rows skipped)" in captured.out
    assert "reward model" in captured.out and "longer answer" in captured.out and "more citations" in captured.out
    assert f"{path}:7: missing field" in captured.err
    assert rm_eval_cmd.main(_args(path, strict=True)) == 2
    assert f"{path}:7" in capsys.readouterr().err


def test_rm_eval_refuses_empty_or_only_ties_before_loading(tmp_path, monkeypatch, capsys):
    def boom(spec):
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr(rm_eval_cmd, "load_scorer", boom)
    ties = tmp_path / "ties.jsonl"
    export_webgpt(ties, [c for c in _toy() if c.is_tie])
    assert rm_eval_cmd.main(_args(ties)) == 2
    assert "all 1 are ties" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert rm_eval_cmd.main(_args(empty)) == 2
    assert "no comparisons" in capsys.readouterr().err
    assert rm_eval_cmd.main(_args(tmp_path / "missing.jsonl")) == 2
    assert rm_eval_cmd.main(_args(ties, limit=0)) == 2


def test_parser_registers_rm_eval():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    rm_eval_cmd.add_parser(sub)
    args = parser.parse_args(["rm", "eval", "--reward-model", "d", "--comparisons", "c.jsonl", "--json", "--limit", "3"])
    assert (args.rm_command, args.reward_model, args.comparisons, args.json, args.limit) == ("eval", "d", ["c.jsonl"], True, 3)
    args = parser.parse_args(["rm", "eval", "--comparisons", "a.jsonl", "b.tsv", "--by-source", "--audit"])
    assert (args.comparisons, args.by_source, args.audit, args.audit_pairs) == (["a.jsonl", "b.tsv"], True, True, 24)
    args = parser.parse_args(["rm", "pairs", "--webgpt", "d", "--out", "p.jsonl"])
    assert (args.rm_command, args.webgpt, args.out, args.heldout_fraction, args.seed) == ("pairs", "d", "p.jsonl", 0.1, 0)


def test_pairs_too_long_for_the_model_are_dropped_and_counted():
    from omni_model.errors import PromptTooLongError
    from training.comparisons import Comparison
    from training.rm_eval import drop_too_long

    class Short:
        def text(self, question, quotes, answer):
            if len(answer) > 20:
                raise PromptTooLongError(99, 0, 10)
            return answer

    pairs = [Comparison("q", "short", "also short", 1.0, -1.0), Comparison("q", "x" * 30, "short", 1.0, -1.0)]
    kept, dropped = drop_too_long(Short(), pairs)
    assert kept == pairs[:1] and dropped == 1
    assert drop_too_long(object(), pairs) == (pairs, 0)


class LengthAndCitesRM:
    """Scores citations high and length a little: a known answer for the audit."""

    def score_batch(self, items, batch_size=8):
        return [2.0 * citation_count(a) + 0.01 * len(a.split()) for _q, _qs, a in items]


def _kinded():
    from browser_env.text.observation import Quote

    quotes = (Quote("T", "t.org", "", "Alpha is the first letter."),)
    pairs = []
    for i in range(6):
        good = f"Alpha {i} is the first letter [1]. It starts the alphabet [1]."
        pairs.append(Comparison(f"What is alpha {i}?", good, good.replace(" [1]", ""), 1.0, -1.0, quotes, quotes,
                                source=f"k:{i}", kind="missing_citations"))
        pairs.append(Comparison(f"What is alpha {i}?", good, good + " " + good.split(". ")[1] * 3, 1.0, -1.0,
                                quotes, quotes, source=f"k:{i}", kind="repeated"))
    return pairs


def test_accuracy_by_kind_and_by_source(tmp_path, monkeypatch, capsys):
    kinded, toy = tmp_path / "kinded.jsonl", tmp_path / "toy.jsonl"
    export_trl(kinded, to_trl_rows(_kinded(), ties="drop"))
    export_webgpt(toy, _toy())
    stub = StubRM()
    length_rm = LengthAndCitesRM()

    class Both:
        def score_batch(self, items, batch_size=8):
            return [stub.scores.get(a.strip()) if a.strip() in stub.scores else length_rm.score_batch([(q, qs, a)])[0]
                    for q, qs, a in items]

    monkeypatch.setattr(rm_eval_cmd, "load_scorer", lambda spec: Both())
    assert rm_eval_cmd.main(_args(kinded, comparisons=[str(kinded), str(toy)], by_source=True)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 12 + 5 and out["comparisons"] == [str(kinded), str(toy)]
    # missing citations: the cited answer always wins; repeated: the padded one has more citations and words
    kinds = out["by_kind"]
    assert set(kinds) == {"missing_citations", "repeated", "(none)"}
    assert kinds["missing_citations"]["accuracy"] == 1.0 and kinds["repeated"]["accuracy"] == 0.0
    assert kinds["missing_citations"]["ci95"] == pytest.approx(list(wilson(6, 6)), abs=1e-9)
    assert kinds["repeated"]["baselines"]["longer"]["accuracy"] == 0.0
    assert kinds["missing_citations"]["baselines"]["more_citations"]["accuracy"] == 1.0
    by_source = out["by_source"]
    assert by_source[str(toy)]["accuracy"] == pytest.approx(0.7) and "by_kind" not in by_source[str(toy)]
    assert by_source[str(kinded)]["n"] == 12 and set(by_source[str(kinded)]["by_kind"]) == {"missing_citations",
                                                                                          "repeated"}
    assert rm_eval_cmd.main(_args(kinded, json=False)) == 0
    text = capsys.readouterr().out
    assert "by kind of pair" in text and "missing_citations" in text and "repeated" in text


def test_audit_finds_what_the_stub_rewards(tmp_path, monkeypatch, capsys):
    from training.rm_audit import features, regression

    path = tmp_path / "kinded.jsonl"
    export_trl(path, to_trl_rows(_kinded(), ties="drop"))
    monkeypatch.setattr(rm_eval_cmd, "load_scorer", lambda spec: LengthAndCitesRM())
    assert rm_eval_cmd.main(_args(path, audit=True, audit_pairs=6)) == 0
    audit = json.loads(capsys.readouterr().out)["audit"]
    reg = audit["regression"]
    assert reg["n"] == 24 and reg["r2"] == pytest.approx(1.0, abs=1e-6)  # the score is linear in two features
    assert reg["r2_alone"]["citations"] > reg["r2_alone"]["length_words"]
    assert reg["left_out"] == ["question_words"]  # every answer holds the question's one content word
    p = audit["perturbations"]
    # two citations fewer, and two "words" fewer
    assert p["no_citations"]["n"] == 6 and p["no_citations"]["mean_delta"] == pytest.approx(-4.02, abs=1e-6)
    assert p["no_citations"]["share_higher"] == 0.0 and p["padded"]["share_higher"] == 1.0
    assert p["citations_at_end"]["mean_delta"] == pytest.approx(-0.01, abs=1e-6)  # "[1][1]": one word
    f = features("What is alpha?", "Alpha [1] is first. Beta [2].")
    assert (f["length_words"], f["citations"], f["question_words"]) == (6.0, 2.0, 1.0)
    assert 0 < f["citation_position"] < 1 and features("q", "no cites")["citation_position"] is None
    with pytest.raises(ValueError):
        regression([f], [1.0])
    rows = [{"length_words": float(w), "citations": float(c), "citation_position": p, "question_words": q}
            for w, c, p, q in [(10, 0, None, 0.5), (20, 1, 0.9, 0.0), (15, 2, 0.5, 1.0), (40, 1, 0.2, 0.5),
                               (5, 3, 0.7, 0.0), (30, 0, None, 1.0), (25, 2, 0.1, 0.5)]]
    ys = [0.01 * r["length_words"] + 2.0 * r["citations"] - 1.0 * (r["citation_position"] or 0.5)
          + 0.3 * r["question_words"] for r in rows]
    reg = regression(rows, ys)  # an answer without citations is placed at the mean of the others (0.4)
    assert reg["coefficients"]["citations"]["per_unit"] == pytest.approx(2.0, abs=0.2)
    assert reg["coefficients"]["length_words"]["per_unit"] == pytest.approx(0.01, abs=0.01)
    assert rm_eval_cmd.main(_args(path, json=False, audit=True, audit_pairs=2)) == 0
    assert "R² =" in capsys.readouterr().out


def test_audit_perturbs_distinct_answers_spread_over_the_set():
    from training.rm_audit import spread

    pairs = _kinded()  # each question's good answer appears in two pairs
    assert spread(pairs, 3) == [0, 4, 8] and spread(pairs, 100) == [0, 2, 4, 6, 8, 10]
