"""Demos -> trl prompt/completion rows through omni_model.prompts."""

import pytest

from browser_env.text.observation import Quote
from omni_model.errors import PromptTooLongError
from omni_model.prompts import (ANSWER_END, answer_completion, answer_prompt, browsing_completion,
                                build_browsing_prompt)
from tests.training.test_demos import make_demo
from training.demos import Demo, Metadata
from training.rows import demo_to_rows, demos_to_rows, write_rows_jsonl


class CharTokenizer:
    """One token per character; enough to exercise max_tokens without a model."""

    chat_template = None

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(range(len(text)))}


def test_one_row_per_step_and_one_answer_row():
    demo = make_demo()
    rows = demo_to_rows(demo)
    assert len(rows) == len(demo.steps) + 1
    for row in rows:
        assert set(row) == {"prompt", "completion"}
        assert row["prompt"].strip() and row["completion"].strip()
    for row, step in zip(rows, demo.steps):
        assert row["completion"] == browsing_completion(step.command)
    # With parts: exactly the inference prompt. Without: the stored text in the same wrapper.
    assert rows[0]["prompt"] == build_browsing_prompt(demo.steps[0].observation_parts).text
    assert rows[1]["prompt"].endswith(demo.steps[1].observation)
    assert rows[2]["prompt"].endswith(demo.steps[2].observation)
    assert rows[2]["prompt"].removesuffix(demo.steps[2].observation) == \
        rows[0]["prompt"].removesuffix(demo.steps[0].observation)
    answer = rows[-1]
    assert answer["prompt"] == answer_prompt(demo.question, demo.quotes)
    assert answer["completion"] == answer_completion(demo.answer)
    assert answer["completion"].endswith(ANSWER_END)


def test_answer_prompt_numbers_the_quotes():
    quotes = [Quote("First", "a.org", "", "Alpha."), Quote("Second", "b.org", "", "Beta.")]
    demo = Demo("x", "Q?", quotes, "An answer [1][2].", [], Metadata(who="scripted"))
    (row,) = demo_to_rows(demo)
    assert "[1] First (a.org)\n\nAlpha." in row["prompt"]
    assert "[2] Second (b.org)\n\nBeta." in row["prompt"]


def test_no_answer_row_without_answer_or_quotes():
    demo = make_demo()
    demo.answer = ""
    assert len(demo_to_rows(demo)) == len(demo.steps)
    demo = make_demo()
    demo.quotes = []
    assert len(demo_to_rows(demo)) == len(demo.steps)


def test_max_tokens_truncates_page_text_like_inference():
    demo = make_demo()
    demo.steps = demo.steps[1:2]
    parts = demo.steps[0].observation_parts
    demo.steps[0].observation_parts = parts.with_text("\n".join(f"line {i} of the page" for i in range(50)), None)
    tok = CharTokenizer()
    full = demo_to_rows(demo, tokenizer=tok)[0]["prompt"]
    limit = len(full) - 200
    cut = demo_to_rows(demo, tokenizer=tok, max_tokens=limit)[0]["prompt"]
    assert len(cut) <= limit and "[page text truncated" in cut
    assert cut == build_browsing_prompt(demo.steps[0].observation_parts, tokenizer=tok, max_tokens=limit).text


def test_text_only_step_too_long_skips_the_whole_demo():
    demo = make_demo()
    demo.steps = demo.steps[2:]  # stored text only: cannot be truncated
    tok = CharTokenizer()
    with pytest.raises(PromptTooLongError):
        demo_to_rows(demo, tokenizer=tok, max_tokens=50)
    skipped = []
    rows = demos_to_rows([demo, make_demo("ok")], tokenizer=tok, max_tokens=100_000, skipped=skipped)
    assert len(rows) == 2 + 4 and skipped == []
    assert demos_to_rows([demo], tokenizer=tok, max_tokens=50, skipped=skipped) == []
    assert skipped and skipped[0][0] == "d1"


def test_a_dagger_demo_loses_only_the_states_that_cannot_fit():
    from training.dagger import DAGGER_SOURCE

    demo = make_demo()
    demo.answer, demo.metadata.source = "", DAGGER_SOURCE
    short = demo_to_rows(demo, tokenizer=CharTokenizer())
    longest = max(len(r["prompt"]) for r in short)
    # One state longer than the others (stored text only, so it cannot be cut).
    demo.steps[2].observation += "\n" + "x" * 500
    skipped = []
    rows = demos_to_rows([demo], tokenizer=CharTokenizer(), max_tokens=longest, skipped=skipped)
    assert [r["completion"] for r in rows] == [r["completion"] for k, r in enumerate(short) if k != 2]
    assert [name for name, _ in skipped] == [f"{demo.id}#2"]
    # A demonstration with an answer is still all or nothing.
    whole = make_demo()
    whole.steps[2].observation += "\n" + "x" * 500
    skipped = []
    assert demos_to_rows([whole], tokenizer=CharTokenizer(), max_tokens=longest, skipped=skipped) == []
    assert [name for name, _ in skipped] == [whole.id]


def test_overflow_keeps_a_state_as_the_agent_would_show_it():
    from omni_model.prompts import fit_browsing_prompt

    demo = make_demo()
    demo.steps, demo.answer = demo.steps[1:2], ""  # with parts: quotes, past actions and a page
    parts = demo.steps[0].observation_parts
    tok = CharTokenizer()
    bare = len(build_browsing_prompt(parts.with_text("", None), tokenizer=tok).text)
    with pytest.raises(PromptTooLongError):
        demo_to_rows(demo, tokenizer=tok, max_tokens=bare - 5)
    (row,) = demo_to_rows(demo, tokenizer=tok, max_tokens=bare - 5, overflow=bare + 200)
    assert row["prompt"] == fit_browsing_prompt(parts, tokenizer=tok, cap=bare - 5, budget=bare + 200).text


def test_write_rows_jsonl(tmp_path):
    import json

    rows = demos_to_rows([make_demo(), make_demo("d2")])
    path = tmp_path / "rows.jsonl"
    assert write_rows_jsonl(path, rows) == len(rows) == 8
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == rows


def test_imported_demos_give_answer_rows(shared_data):
    from training.imports import import_webgpt_samples

    folder = shared_data / "eli5_webgpt_samples"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    demos = import_webgpt_samples(folder)
    rows = demos_to_rows(demos)
    assert len(rows) == len(demos)
    assert all("[1] " in r["prompt"] and r["completion"].endswith(ANSWER_END) for r in rows)
