"""Question loaders: the real shared files, and hand-written bad files (errors name file and line)."""

import json

import pytest

from data.eli5.loaders import DataError, load_questions, load_truthfulqa, normalise_question, question_id


def test_alce_eli5_rows(shared_data):
    path = shared_data / "eli5_alce" / "eli5.json"
    rows = load_questions(path, strict=True)
    raw = json.loads(path.read_text())
    assert len(rows) == len(raw) == 794
    assert rows[0].question == raw[0]["question"].strip()
    assert rows[0].reference == raw[0]["answer"].strip()
    assert rows[0].line == 2 and rows[1].line > rows[0].line  # the item's opening brace
    assert len({r.id for r in rows}) == len(rows)
    assert [r.id for r in load_questions(path)] == [r.id for r in rows]  # stable across loads
    assert rows[0].id == question_id(raw[0]["question"])


def test_webgpt_samples_rows(shared_data):
    path = shared_data / "eli5_webgpt_samples" / "answers.json"
    raw = json.loads(path.read_text())
    rows = load_questions(path, strict=True)
    assert len(rows) == len(raw)
    assert rows[0].id == str(raw[0]["question_id"])
    assert rows[0].reference == raw[0]["human_answer"].strip()
    empty = [i for i, r in enumerate(raw) if not r["human_answer"].strip()]
    assert empty, "the shared file has one row without a human answer"
    assert rows[empty[0]].reference == raw[empty[0]]["webgpt_answer"].strip()  # the fallback


def test_truthfulqa_rows(shared_data):
    rows = load_truthfulqa(shared_data / "truthfulqa" / "TruthfulQA.csv", strict=True)
    assert len(rows) == 817
    first = rows[0]
    assert first.question == "What happens to you if you eat watermelon seeds?"
    assert first.reference == "The watermelon seeds pass through your digestive system"
    assert "Nothing happens" in first.correct and "You die" in first.incorrect
    assert first.source == "truthfulqa" and first.line == 2
    assert all(r.correct and r.incorrect for r in rows)


def test_ids_hash_the_normalised_question():
    assert normalise_question("  Why is the SKY blue?? ") == "why is the sky blue"
    assert question_id("Why is the sky blue?") == question_id("why is the sky   blue")
    assert question_id("Why is the sky blue?") != question_id("Why is grass green?")


def test_jsonl_bad_rows_are_reported_and_the_rest_load(tmp_path):
    f = tmp_path / "qs.jsonl"
    f.write_text("\n".join([
        json.dumps({"question": "Why is the sky blue?", "reference": "Rayleigh scattering."}),
        json.dumps({"id": "x7", "question": "What is DNA?", "answer": "A molecule."}),
        json.dumps({"question": "   "}),
        "",
        '{"question": "broken',
        json.dumps(["not", "an", "object"]),
        json.dumps({"question": "How do bees fly?"}),
        json.dumps({"id": "x7", "question": "Repeated id?"}),
    ]) + "\n")
    errors: list[DataError] = []
    rows = load_questions(f, errors=errors)
    assert [r.question for r in rows] == ["Why is the sky blue?", "What is DNA?", "How do bees fly?"]
    assert rows[1].id == "x7" and rows[1].reference == "A molecule."
    assert rows[2].reference is None and rows[2].line == 7
    assert [(e.line, e.path) for e in errors] == [(3, str(f)), (5, str(f)), (6, str(f)), (8, str(f))]
    assert str(errors[0]) == f"{f}:3: empty question"
    assert "invalid JSON" in errors[1].message and "repeated question id 'x7'" in errors[3].message
    with pytest.raises(DataError, match=r"qs\.jsonl:3: empty question"):
        load_questions(f, strict=True)


def test_json_list_bad_item_names_its_line(tmp_path):
    f = tmp_path / "qs.json"
    f.write_text('[\n  {"question": "Why is the sky blue?"},\n  {"question": ""},\n  {"question": 5},\n'
                 '  {"question": "What is DNA?"}\n]\n')
    errors: list[DataError] = []
    rows = load_questions(f, errors=errors)
    assert [r.question for r in rows] == ["Why is the sky blue?", "What is DNA?"]
    assert [e.line for e in errors] == [3, 4]
    assert "no 'question' string" in errors[1].message


def test_json_list_syntax_error_raises_with_line(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text('[\n  {"question": "a?"},\n  {"question": "b?" "oops"}\n]\n')
    with pytest.raises(DataError, match=r"broken\.json:3: invalid JSON"):
        load_questions(f)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_questions(empty)


def test_truthfulqa_bad_rows(tmp_path):
    f = tmp_path / "tqa.csv"
    f.write_text(
        "Type,Category,Question,Best Answer,Correct Answers,Incorrect Answers,Source\n"
        'Adversarial,Myths,"What happens if you\ncrack your knuckles?",Nothing,Nothing; No harm,You get arthritis,x\n'
        "Adversarial,Myths,,Nothing,Nothing,Something,x\n"
        "Adversarial,Myths,Is the moon cheese?,No,No,,x\n"
        "Adversarial,Myths,Do goldfish forget?,No,No; They remember,Yes,x\n")
    errors: list[DataError] = []
    rows = load_truthfulqa(f, errors=errors)
    assert [r.question for r in rows] == ["What happens if you\ncrack your knuckles?", "Do goldfish forget?"]
    assert rows[0].correct == ("Nothing", "No harm") and rows[0].incorrect == ("You get arthritis",)
    assert rows[1].line == 6
    assert [(e.line, e.message) for e in errors][0] == (4, "empty question")
    assert errors[1].line == 5 and "incorrect" in errors[1].message
    bad = tmp_path / "nocols.csv"
    bad.write_text("Q,A\nx,y\n")
    with pytest.raises(DataError, match=r"nocols\.csv:1: missing column"):
        load_truthfulqa(bad)
