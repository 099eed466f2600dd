"""`webqa train defaults`: its inputs are checked up front and its stages are named."""

import pytest

from training.bc import TrainingDataError
from training.defaults import EVAL_QUESTIONS, Recipe, check_data, demo_comparisons, run
from training.perturb import perturb
from training.synth import extractive_answer
from tests.training.test_train import QUOTE, _demo


def test_missing_data_is_named_before_anything_runs(tmp_path):
    with pytest.raises(TrainingDataError, match="eli5_alce/eli5.json.*--data DIR"):
        check_data(Recipe(data=str(tmp_path), work=str(tmp_path / "w")))


def test_unknown_stage_is_refused(shared_data, tmp_path):
    with pytest.raises(TrainingDataError, match="unknown stages"):
        run(Recipe(data=str(shared_data), work=str(tmp_path / "w"), out=str(tmp_path / "a")), stages=("nap",))


def test_public_data_is_all_there(shared_data):
    paths = check_data(Recipe(data=str(shared_data)))
    assert paths["eli5"].is_file() and paths["haluquestqa"].is_file()
    assert EVAL_QUESTIONS == 50  # the demos never use the evaluation's questions


def test_demo_answers_become_citation_pairs():
    demos = [_demo(i) for i in range(3)]
    for d in demos:
        d.answer = extractive_answer([QUOTE])
    pairs = perturb(demo_comparisons(demos), kinds=("no_citations",), seed=0)
    assert len(pairs) == 3
    assert all("[1]" in p.answer_0 and "[1]" not in p.answer_1 for p in pairs)
