"""The model seams (``omni_model.types``): every policy class declares what it can do, so the agent
reads attributes instead of sniffing; a text policy refuses pictures and speech by name."""

from __future__ import annotations

import httpx
import pytest

from omni_model.errors import UnsupportedError
from omni_model.types import Policy, RewardModel, TextOnly
from tests.helpers.agents import ScriptedPolicy as FakePolicy
from tests.helpers.models import make_tiny_tokenizer, tiny_policy

CAPABILITIES = ("spec", "context_length", "tokenizer", "accepts_media", "image_tokens", "hearings", "streams",
                "batch_by_length")


def _caps(policy) -> dict:
    return {name: getattr(policy, name) for name in CAPABILITIES[3:]}


def test_text_policies_meet_the_protocol_and_say_what_they_cannot_do():
    from omni_model.openai_policy import OpenAIPolicy
    from omni_model.scripted import ScriptedPolicy

    remote = OpenAIPolicy("http://example.invalid/v1", "m", client=httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(500))))
    for policy in (ScriptedPolicy(), remote, FakePolicy(4)):
        assert isinstance(policy, Policy) and isinstance(policy, TextOnly)
        assert policy.tokenizer is None
        assert _caps(policy) == {"accepts_media": False, "image_tokens": 0, "hearings": (), "streams": False,
                                 "batch_by_length": False}
        with pytest.raises(UnsupportedError, match="reads text only"):
            policy.generate(["♦Question\nq\n"], media=[["picture.png"]])
        with pytest.raises(UnsupportedError, match="reads text only"):
            policy.prepare_image("picture.png")
        with pytest.raises(UnsupportedError, match="cannot hear"):
            policy.transcribe("question.wav")


def test_a_local_policy_streams_and_has_tokens():
    policy = tiny_policy(make_tiny_tokenizer())
    assert isinstance(policy, Policy) and policy.tokenizer is not None and policy.streams
    assert policy.batch_by_length == (policy.device.type == "cpu")
    assert (policy.accepts_media, policy.image_tokens, policy.hearings) == (False, 0, ())
    with pytest.raises(UnsupportedError):
        policy.generate(["x"], media=[["picture.png"]], max_new_tokens=1)


def test_policies_that_see_and_hear_declare_it():
    from omni_model.hf_multimodal import HFMultimodalPolicy
    from omni_model.hf_omni import HFOmniPolicy
    from omni_model.omni_policy import OmniPolicy

    assert HFMultimodalPolicy.accepts_media and HFMultimodalPolicy.streams and HFMultimodalPolicy.hearings == ()
    assert HFOmniPolicy.accepts_media and HFOmniPolicy.hearings == ("lm",)
    assert OmniPolicy.accepts_media and OmniPolicy.streams
    # image_tokens and hearings read the checkpoint's config: properties, not class constants.
    for cls in (HFMultimodalPolicy, OmniPolicy):
        assert isinstance(cls.__dict__["image_tokens"], property)
    assert isinstance(OmniPolicy.__dict__["hearings"], property)


def test_a_reward_model_is_anything_that_scores_a_batch():
    class Lengths:
        def score_batch(self, items, batch_size=8):
            return [float(len(answer)) for _, _, answer in items]

    assert isinstance(Lengths(), RewardModel) and not isinstance(object(), RewardModel)
