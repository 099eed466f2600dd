"""The omni model on the real default stack, end to end: the embedded SmolLM2 with the shipped BC
adapter and Whisper tiny.en's pretrained encoder, a question spoken by espeak-ng and a question with a
picture, through `webqa ask` on the embedded mini-web and real Chromium.

The checkpoint is built here from those parts with untrained projectors (a trained one is too big
for the repository; `webqa train omni` makes it), so these tests check that every piece runs and
connects, not how well it hears."""

import json
import shutil

import pytest

from agent import ask_cmd
from tests.agent.test_ask_cmd import parse
from tests.omni_model.test_omni import write_png

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def omni_dir(tmp_path_factory):
    from browser_env.index import default_index_dir
    from omni_model.omni import OmniConfig
    from omni_model.omni_policy import OmniPolicy
    from omni_model.shipped import default_policy_spec

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the default wiki-vital index is not built")
    import torch

    spec = default_policy_spec()
    torch.manual_seed(0)  # the projectors' initialisation: the same model on every machine
    policy = OmniPolicy.fresh(spec, OmniConfig(lm_spec=spec, train_audio_encoder=False))
    folder = policy.omni.save_pretrained(tmp_path_factory.mktemp("omni"), save_lm=False)
    assert json.loads((folder / "omni_config.json").read_text())["lm_spec"] == spec
    return folder


def test_default_omni_spec_falls_back_to_the_text_policy(monkeypatch, tmp_path):
    from omni_model.shipped import default_omni_spec, default_policy_spec

    monkeypatch.setenv("WEBQA_HOME", str(tmp_path))
    assert default_omni_spec() == default_policy_spec()  # nothing built: the text policy, which refuses audio


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_a_question_spoken_by_espeak_is_heard_and_answered(omni_dir, tmp_path, capsys):
    from omni_model.media import synthesize_speech

    wav = synthesize_speech("Why is the sky blue?", tmp_path / "question.wav")
    spoken = tmp_path / "answer.wav"
    code = ask_cmd.main(parse(["--audio", str(wav), "--policy", str(omni_dir), "--json", "--max-actions", "4",
                               "--max-answer-tokens", "48", "--speak", str(spoken)]))
    out = json.loads(capsys.readouterr().out)
    # The world and the wiring must work; an untrained projector may hear a question the policy
    # then cannot answer, which the agent reports as the model's failure, never anything else.
    assert out["status"] != "failed" or out["reason"] == "the model returned only empty answers", out["reason"]
    assert code == (1 if out["status"] == "failed" else 0)
    assert out["stats"]["heard"] and out["question"] == out["stats"]["heard"]
    assert 1 <= out["stats"]["actions"] <= 4
    assert spoken.stat().st_size > 1000  # the answer, read aloud by espeak-ng


def test_a_question_with_a_picture_is_answered(omni_dir, tmp_path, capsys):
    picture = write_png(tmp_path / "sky.png", colour=(120, 170, 255), size=(320, 200))
    code = ask_cmd.main(parse(["Why is the sky blue?", "--image", str(picture), "--policy", str(omni_dir), "--json",
                               "--max-actions", "3", "--max-answer-tokens", "32"]))
    out = json.loads(capsys.readouterr().out)
    assert out["status"] != "failed" or out["reason"] == "the model returned only empty answers", out["reason"]
    assert code == (1 if out["status"] == "failed" else 0)
    assert out["stats"]["actions"] >= 1
