"""The shipped omni checkpoint end to end: a question spoken by espeak-ng and a question with a picture,
through `webqa ask` on the embedded mini-web and real Chromium."""

import json
import shutil

import pytest

from agent import ask_cmd
from omni_model.shipped import OMNI_CHECKPOINT, default_omni_spec
from tests.agent.test_ask_cmd import parse
from tests.omni_model.test_omni import write_png

pytestmark = [
    pytest.mark.skipif(not (OMNI_CHECKPOINT / "omni_config.json").is_file(),
                       reason="no shipped omni checkpoint in this checkout (run `webqa train omni`)"),
]


def test_checkpoint_is_small_and_names_its_base_by_spec():
    total = sum(p.stat().st_size for p in OMNI_CHECKPOINT.rglob("*") if p.is_file())
    assert total < 12 * 2**20
    assert json.loads((OMNI_CHECKPOINT / "lm" / "adapter_config.json").read_text())["base_model_name_or_path"] \
        == "smollm2-135m"
    assert default_omni_spec() == str(OMNI_CHECKPOINT)
    assert not (OMNI_CHECKPOINT / "heldout_demos.jsonl").exists()  # held-out data stays out of the repo


def _index_ready():
    from browser_env.index import default_index_dir

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the default wiki-vital index is not built")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_a_question_spoken_by_espeak_is_heard_and_answered(tmp_path, capsys):
    from omni_model.media import synthesize_speech

    _index_ready()
    wav = synthesize_speech("Why is the sky blue?", tmp_path / "question.wav")
    spoken = tmp_path / "answer.wav"
    code = ask_cmd.main(parse(["--audio", str(wav), "--json", "--max-actions", "4", "--max-answer-tokens", "48",
                               "--speak", str(spoken)]))
    out = json.loads(capsys.readouterr().out)
    assert out["status"] != "failed", out["reason"]
    assert code == 0 and out["stats"]["heard"] and out["question"] == out["stats"]["heard"]
    assert 1 <= out["stats"]["actions"] <= 4
    assert spoken.stat().st_size > 1000  # the answer, read aloud by espeak-ng


@pytest.mark.slow
@pytest.mark.browser
def test_a_question_with_a_picture_is_answered(tmp_path, capsys):
    _index_ready()
    picture = write_png(tmp_path / "sky.png", colour=(120, 170, 255), size=(320, 200))
    code = ask_cmd.main(parse(["Why is the sky blue?", "--image", str(picture), "--json", "--max-actions", "3",
                               "--max-answer-tokens", "32"]))
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] != "failed", out["reason"]
    assert out["stats"]["actions"] >= 1
