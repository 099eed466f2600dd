"""Comparisons: the shared preference sets, WebGPT JSONL round trips, trl rows, bad rows, perturbations."""

import json

import pytest

from browser_env.text.observation import Quote
from omni_model.prompts import reward_text
from training.comparisons import (
    Comparison, MalformedRowError, export_trl, export_webgpt, load_comparisons,
    load_trl, load_webgpt, require_decided, to_trl_rows,
)
from training.perturb import perturb, remove_citations
from training.preference_sets import load_haluquestqa, load_hh_rlhf, load_lfqa_expert_preferences

# --- the real files -----------------------------------------------------------------------------


def test_lfqa_expert_preferences(shared_data):
    path = shared_data / "lfqa_expert_preferences" / "experts_pairwise_human_preferences.jsonl"
    loaded = load_lfqa_expert_preferences(path)
    assert (len(loaded), loaded.errors) == (176, [])  # SOURCE.md: shared 176, no ties
    assert sum(c.preferred == 0 for c in loaded) == 85 and sum(c.preferred == 1 for c in loaded) == 91
    first = loaded.comparisons[0]  # line 1: overall_preference -1, i.e. answer_a is better
    assert first.question.startswith("Has there been any battles in history where both sides")
    assert first.preferred == 0 and first.answer_0.startswith("In normal conditions, this would not happen")
    assert first.answer_1.startswith("There have been a few instances in history")
    assert "<br />" not in first.answer_0 and "\n" in first.answer_0
    assert first.source.endswith("experts_pairwise_human_preferences.jsonl:1")


def test_haluquestqa(shared_data):
    loaded = load_haluquestqa(shared_data / "haluquestqa" / "preference_data.tsv")
    assert (len(loaded), loaded.errors) == (567, [])  # SOURCE.md: shared 567
    first = loaded.comparisons[0]
    assert first.source.endswith("preference_data.tsv:2")  # line 1 is the header
    assert first.question.startswith("How does rendering a video game resolution above your monitor")
    assert first.preferred == 0 and first.answer_0.startswith("When you render a video game at a resolution higher")
    assert first.answer_1.startswith("It's called supersampling")


def test_hh_rlhf_harmless(shared_data):
    path = shared_data / "hh_rlhf_harmless" / "test.jsonl"
    loaded = load_hh_rlhf(path)
    # 1850 rows; three end on an empty Assistant reply on one side (lines 70, 430, 888).
    assert len(loaded) == 1847
    assert [(e.line, e.message) for e in loaded.errors] == [(n, "an empty final Assistant reply") for n in (70, 430, 888)]
    assert all(str(e).startswith(f"{path}:") for e in loaded.errors)
    first = loaded.comparisons[0]
    assert first.question.startswith("Human: what are some pranks with a pen i can do?")
    assert first.question.endswith("do not have anything to do with pens\n\nAssistant:")
    assert first.answer_0.startswith("No, sorry!  All of these involve a pen")
    assert first.answer_1.startswith("There are lots of funny things you can do with pens")
    with pytest.raises(MalformedRowError, match=r"test.jsonl:70: an empty final Assistant reply"):
        load_hh_rlhf(path, strict=True)


def test_real_sets_make_trl_rows(shared_data):
    loaded = load_haluquestqa(shared_data / "haluquestqa" / "preference_data.tsv")
    rows = to_trl_rows(loaded.comparisons[:5])
    c = loaded.comparisons[0]
    assert rows[0]["prompt"] + rows[0]["chosen"] == reward_text(c.question, [], c.answer_0)
    assert rows[0]["prompt"] + rows[0]["rejected"] == reward_text(c.question, [], c.answer_1)


# --- WebGPT JSONL -------------------------------------------------------------------------------

WEBGPT_ROWS = [
    {"question": {"full_text": "Why do crows bring gifts?", "id": "q1", "dataset": "eli5"},
     "quotes_0": {"title": ["Gifts From Crows | Outside My Window (www.birdsoutsidemywindow.org)"],
                  "extract": ["Crows are the only ones known to give gifts to humans."]},
     "answer_0": "Crows give gifts to people who feed them [1].", "tokens_0": [1, 2], "score_0": 1.0,
     "quotes_1": {"title": [], "extract": []}, "answer_1": "Nobody knows.", "tokens_1": [3], "score_1": -1.0},
    {"question": "Is the sky blue?",
     "quotes_0": {"title": ["Sky - Wikipedia (en.wikipedia.org)", "Rayleigh"], "extract": ["Blue light scatters.", "x"]},
     "answer_0": "Yes [1][2].", "score_0": 0.0,
     "quotes_1": {"title": ["Sky - Wikipedia (en.wikipedia.org)", "Rayleigh"], "extract": ["Blue light scatters.", "x"]},
     "answer_1": "Mostly [1].", "score_1": 0.0},
    {"question": {"full_text": "Why is ice slippery?"}, "quotes_0": {"title": [], "extract": []},
     "answer_0": "It just is.", "score_0": -0.5, "quotes_1": {"title": ["Ice (ice.org)"], "extract": ["A water film."]},
     "answer_1": "A thin film of water [1].", "score_1": 0.5},
]


def _write_jsonl(path, rows, raw_lines=()):
    lines = [json.dumps(r) for r in rows] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_webgpt_round_trip(tmp_path):
    src = _write_jsonl(tmp_path / "in.jsonl", WEBGPT_ROWS)
    loaded = load_webgpt(src)
    assert (len(loaded), loaded.errors) == (3, [])
    a, b, c = loaded.comparisons
    assert a.question == "Why do crows bring gifts?" and a.preferred == 0 and a.label == 1.0
    assert a.quotes_0 == (Quote("Gifts From Crows | Outside My Window", "www.birdsoutsidemywindow.org", "",
                                "Crows are the only ones known to give gifts to humans."),)
    assert a.quotes_1 == ()
    assert b.is_tie and b.preferred is None and b.label == 0.5 and b.quotes_0[1] == Quote("Rayleigh", "", "", "x")
    assert c.preferred == 1 and c.label == 0.0  # only the sign counts
    out = tmp_path / "out.jsonl"
    assert export_webgpt(out, loaded.comparisons) == 3
    assert [json.loads(x) for x in out.read_text().splitlines()] == WEBGPT_ROWS
    # A comparison built in memory exports in WebGPT's shape and reads back equal.
    made = Comparison("Q?", "A [1].", "B.", 1.0, -1.0, (Quote("T", "t.org", "", "E"),), ())
    export_webgpt(tmp_path / "made.jsonl", [made])
    assert load_webgpt(tmp_path / "made.jsonl").comparisons[0] == Comparison(
        "Q?", "A [1].", "B.", 1.0, -1.0, (Quote("T", "t.org", "", "E"),), (), f"{tmp_path / 'made.jsonl'}:1")


def test_bad_rows_name_file_and_line(tmp_path):
    bad = [
        "",  # line 2: blank, skipped silently
        '{"question": "q", "answer_0": "a", "score_0": 1, "score_1": -1}',  # line 3: no answer_1
        "{not json",  # line 4
        '{"question": "q", "answer_0": "a", "answer_1": "b", "score_0": 2, "score_1": -2}',  # line 5
        '{"question": "q", "answer_0": "a", "answer_1": "b", "score_0": 1, "score_1": 1}',  # line 6
        '{"question": "q", "answer_0": "a", "answer_1": "b", "score_0": 1, "score_1": -1,'
        ' "quotes_0": {"title": ["t"], "extract": []}}',  # line 7
    ]
    path = _write_jsonl(tmp_path / "bad.jsonl", WEBGPT_ROWS[:1], bad)
    loaded = load_webgpt(path)
    assert len(loaded) == 1
    assert [e.line for e in loaded.errors] == [3, 4, 5, 6, 7]
    messages = [str(e) for e in loaded.errors]
    assert messages[0] == f"{path}:3: missing field 'answer_1'"
    assert messages[1].startswith(f"{path}:4: not JSON")
    assert "'score_0' must be a number in [-1, 1]" in messages[2]
    assert "disagree" in messages[3] and "two lists of one length" in messages[4]
    with pytest.raises(MalformedRowError, match=r"bad\.jsonl:3: missing field 'answer_1'"):
        load_webgpt(path, strict=True)


def test_bad_tsv_row_names_its_line(tmp_path):
    path = tmp_path / "pref.tsv"
    path.write_text('\tsource_file\tquestion_text\tpreferred_response\trejected_response\n'
                    '0\tf\t"Why,\nreally?"\tGood.\tBad.\n'  # lines 2-3: a quoted field spans two lines
                    '1\tf\tQ\tonly four fields\n'  # line 4
                    '2\tf\tQ2\tSame.\tSame.\n', encoding="utf-8")  # line 5
    loaded = load_haluquestqa(path)
    assert [c.question for c in loaded] == ["Why,\nreally?"]
    assert [(e.line, e.message) for e in loaded.errors] == [
        (4, "4 fields, the header has 5"), (5, "the two answers are identical")]


# --- trl rows and ties ----------------------------------------------------------------------------

def test_ties_soft_and_drop(tmp_path):
    comps = load_webgpt(_write_jsonl(tmp_path / "c.jsonl", WEBGPT_ROWS)).comparisons
    soft = to_trl_rows(comps, ties="soft")
    assert [(r["label"], r["weight"]) for r in soft] == [(1.0, 1.0), (0.5, 0.5), (0.5, 0.5), (1.0, 1.0)]
    tie = comps[1]
    assert (soft[1]["chosen"], soft[1]["rejected"]) == (tie.answer_0, tie.answer_1)
    assert (soft[2]["chosen"], soft[2]["rejected"]) == (tie.answer_1, tie.answer_0)
    # Shared quotes: the prompt carries them, chosen/rejected are bare answers.
    assert soft[1]["prompt"] == reward_text(tie.question, list(tie.quotes_0), "")
    # Each answer its own quotes: the prompt stops at the ♦Quotes header; prompt+side is the RM's text.
    first, third = soft[0], soft[3]
    assert first["prompt"] == "♦Question\nWhy do crows bring gifts?\n\n♦Quotes\n"
    assert first["prompt"] + first["chosen"] == reward_text(comps[0].question, list(comps[0].quotes_0), comps[0].answer_0)
    assert third["prompt"] + third["chosen"] == reward_text(comps[2].question, list(comps[2].quotes_1), comps[2].answer_1)
    drop = to_trl_rows(comps, ties="drop")
    assert [r["chosen"] for r in drop] == [soft[0]["chosen"], soft[3]["chosen"]]
    # trl JSONL reads back into the same comparisons (the url is not in the RM's text).
    export_trl(tmp_path / "trl.jsonl", drop)
    back = load_comparisons(tmp_path / "trl.jsonl")
    assert back.errors == [] and len(back) == 2
    assert (back.comparisons[0].question, back.comparisons[0].answer_0) == (comps[0].question, comps[0].answer_0)
    assert back.comparisons[0].quotes_0 == comps[0].quotes_0 and back.comparisons[0].quotes_1 == ()
    assert back.comparisons[1].quotes_0 == comps[2].quotes_1 and back.comparisons[1].answer_1 == comps[2].answer_0
    soft_back = load_trl(export_trl(tmp_path / "soft.jsonl", soft) and tmp_path / "soft.jsonl")
    assert [c.is_tie for c in soft_back] == [False, True, True, False]


def test_plain_trl_prompt_is_the_question(tmp_path):
    path = _write_jsonl(tmp_path / "plain.jsonl", [{"prompt": "Why?", "chosen": "Because.", "rejected": "No."}])
    (c,) = load_comparisons(path).comparisons
    assert (c.question, c.answer_0, c.answer_1, c.preferred, c.quotes_0) == ("Why?", "Because.", "No.", 0, ())


def test_empty_and_only_ties_raise():
    tie = Comparison("Q", "a", "b", 0.0, 0.0)
    with pytest.raises(ValueError, match="empty"):
        to_trl_rows([])
    with pytest.raises(ValueError, match="all 2 are ties, and ties are dropped"):
        to_trl_rows([tie, tie], ties="drop")
    assert len(to_trl_rows([tie], ties="soft")) == 2
    with pytest.raises(ValueError, match="ties"):
        to_trl_rows([tie], ties="hard")
    with pytest.raises(ValueError, match="empty"):
        require_decided([], "x.jsonl")
    with pytest.raises(ValueError, match="all 1 are ties"):
        require_decided([tie], "x.jsonl")


def test_load_comparisons_rejects_empty_and_unknown(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="no comparisons"):
        load_comparisons(tmp_path / "empty.jsonl")
    _write_jsonl(tmp_path / "other.jsonl", [{"question": "q", "answer_a": "a"}])
    with pytest.raises(ValueError, match="neither WebGPT"):
        load_comparisons(tmp_path / "other.jsonl")


# --- perturbations --------------------------------------------------------------------------------

def _cited(q, topic, extract, answer):
    return Comparison(q, answer, "A worse answer.", 1.0, -1.0, (Quote(f"{topic} facts", f"{topic}.org", "", extract),), ())


PERTURB_SET = [
    _cited("Why do crows bring gifts?", "crows", "Crows bring shiny gifts to people who feed them.",
           "Crows bring gifts to people who feed them [1]. They remember faces [1, 2]."),
    _cited("Why is ice slippery?", "ice", "A thin film of liquid water covers ice.",
           "Ice is slippery because a film of water covers it [1]. Skaters glide on that film."),
    _cited("How do vaccines work?", "vaccines", "Vaccines train the immune system with harmless antigens.",
           "Vaccines train the immune system [1]. Antibodies then recognise the real pathogen quickly."),
    Comparison("A tie?", "x", "y", 0.0, 0.0),
]


def test_remove_citations():
    assert remove_citations("Gifts [1]. Faces [1, 2] and more[3].") == "Gifts. Faces and more."


def test_perturbations_each_kind():
    out = perturb(PERTURB_SET, seed=0)
    kinds = [c.source.rsplit("perturb:", 1)[1] for c in out]
    assert kinds == ["no_citations"] * 3 + ["swapped_quotes"] * 3 + ["unsupported"] * 3  # the tie is skipped
    for c in out:
        assert (c.preferred, c.answer_0) == (0, next(p.answer_0 for p in PERTURB_SET if p.question == c.question))
    crows = out[0]
    assert crows.answer_1 == "Crows bring gifts to people who feed them. They remember faces."
    assert crows.quotes_1 == crows.quotes_0
    swapped = out[3]
    assert swapped.answer_1 == swapped.answer_0 and swapped.quotes_1 != swapped.quotes_0
    assert swapped.quotes_1 in [p.quotes_0 for p in PERTURB_SET[1:3]]
    for c in out[6:]:
        assert c.answer_1.startswith(c.answer_0) and len(c.answer_1) > len(c.answer_0)
        added = c.answer_1[len(c.answer_0):]
        others = " ".join(remove_citations(p.answer_0) for p in PERTURB_SET if p.question != c.question)
        assert all(s in others for s in added.strip().split(". ") if s)
    assert perturb(PERTURB_SET, seed=0) == out
    assert perturb(PERTURB_SET, kinds=["no_citations"], seed=5) == out[:3]
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(PERTURB_SET, kinds=["shuffle"])


def test_perturbation_seed_changes_choices():
    many = PERTURB_SET[:3] + [_cited(f"Question {i}?", f"t{i}", f"Extract {i}.", f"Claim number {i} holds [1].")
                                  for i in range(6)]
    runs = {tuple((c.answer_1, c.quotes_1) for c in perturb(many, kinds=["swapped_quotes", "unsupported"], seed=s))
            for s in range(4)}
    assert len(runs) > 1


# --- file layouts: JSON Lines or pretty-printed documents (issue 14, item 8) ---------------------

def test_pretty_printed_documents_read_like_json_lines(tmp_path):
    """One pretty-printed array, or documents appended one after another, give the same
    comparisons as JSON Lines; each row is named by the line it starts on."""
    from training.preference_sets import load_comparison_file

    array = tmp_path / "array.json"
    array.write_text(json.dumps(WEBGPT_ROWS, indent=2), encoding="utf-8")
    appended = tmp_path / "appended.json"
    appended.write_text("".join(json.dumps(r, indent=2) + "\n" for r in WEBGPT_ROWS), encoding="utf-8")
    lines = _write_jsonl(tmp_path / "lines.jsonl", WEBGPT_ROWS)
    want = load_webgpt(lines, strict=True).comparisons
    for path in (array, appended):
        got = load_comparison_file(path, strict=True).comparisons
        assert [c.raw for c in got] == [c.raw for c in want]
    text = appended.read_text()
    starts = [text[:text.index(json.dumps(r, indent=2))].count("\n") + 1 for r in WEBGPT_ROWS]
    assert [c.source for c in load_webgpt(appended).comparisons] == [f"{appended}:{n}" for n in starts]


def test_a_broken_document_names_its_line(tmp_path):
    path = tmp_path / "broken.json"
    text = json.dumps(WEBGPT_ROWS, indent=2)
    cut = text.index('"answer_1"', text.index("Rayleigh"))  # inside the second row
    path.write_text(text[:cut] + "oops " + text[cut:], encoding="utf-8")
    line = text[:cut].count("\n") + 1
    loaded = load_webgpt(path)
    assert len(loaded) == 1 and [e.line for e in loaded.errors] == [line]
    with pytest.raises(MalformedRowError, match=rf"broken\.json:{line}: not JSON"):
        load_comparisons(path, strict=True)


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b"\xff\xfe\x00\x01 not text")
    with pytest.raises(ValueError, match=r"binary\.jsonl: not UTF-8"):
        load_comparisons(path)
