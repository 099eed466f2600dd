"""Importing the real eli5_webgpt_samples files (../shared/data) as answer-phase demos."""

import pytest

from training.demos import Demo, read_demos, write_demos
from training.imports import import_webgpt_samples, import_webgpt_samples_with_stats, split_title


@pytest.fixture(scope="module")
def imported(shared_data):
    folder = shared_data / "eli5_webgpt_samples"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return import_webgpt_samples_with_stats(folder, when="2025-01-01T00:00:00+00:00")


def test_counts(imported):
    demos, stats = imported
    assert stats.questions == 215
    assert stats.demos == {"webgpt-human": 214, "webgpt-model": 215}
    assert stats.skipped_empty_answer == {"webgpt-human": 1}  # SOURCE.md: one empty human_answer
    assert stats.skipped_no_quotes == {}
    assert len(demos) == 429 and len({d.id for d in demos}) == 429
    assert all(d.steps == [] and d.quotes and d.answer for d in demos)
    # The released answers carry no `[n]` markers (stripped upstream).
    assert stats.answers_with_markers == 0


def test_spot_checked_rows(imported):
    demos, _ = imported
    by_id = {d.id: d for d in demos}
    human = by_id["eli5_webgpt_samples:1:human"]
    assert human.question == "Why is it sometimes hard to eat after not eating for a while?"
    q = human.quotes[0]
    assert (q.title, q.domain, q.url) == ("Where did my Appetite Go? | Paleo Leap", "paleoleap.com", "")
    assert q.extract.startswith("A loss of appetite isn’t necessarily bad.")
    assert human.answer.startswith("It is possible for the body to run on stored fat reserves for energy")
    assert human.metadata.who == "webgpt-human" and human.metadata.extra["question_id"] == 1
    model = by_id["eli5_webgpt_samples:1:model"]
    assert model.metadata.who == "webgpt-model"
    assert model.quotes[0].domain == "getneuro.com"
    assert model.answer.startswith("There are several reasons why not eating for long periods")
    assert len(model.quotes) == 4 and len(human.quotes) == 3


def test_imported_demos_survive_the_jsonl_file(imported, tmp_path):
    demos, _ = imported
    path = tmp_path / "webgpt.jsonl"
    write_demos(path, demos)
    assert read_demos(path, strict=True) == demos


def test_plain_import_returns_the_same_demos(imported, shared_data):
    demos = import_webgpt_samples(shared_data / "eli5_webgpt_samples", when="2025-01-01T00:00:00+00:00")
    assert demos == imported[0] and isinstance(demos[0], Demo)


@pytest.mark.parametrize("raw,expected", [
    ("Where did my Appetite Go? | Paleo Leap (paleoleap.com)", ("Where did my Appetite Go? | Paleo Leap", "paleoleap.com")),
    ("The Federal Tort Claims Act (FTCA) (www.fas.org)", ("The Federal Tort Claims Act (FTCA)", "www.fas.org")),
    ("(www.vanderbilt.edu)", ("", "www.vanderbilt.edu")),
    ("No domain here", ("No domain here", "")),
    ("\\x00A\\x00B", ("AB", "")),
])
def test_split_title(raw, expected):
    assert split_title(raw) == expected
