"""webqa's shipped adapters: small, loadable on the embedded base model, and actually trained."""

import math

import pytest

from omni_model.shipped import (POLICY_ADAPTER, REWARD_ADAPTER, default_policy_spec,
                                default_reward_model_spec)

pytestmark = pytest.mark.skipif(not (POLICY_ADAPTER / "adapter_config.json").is_file(),
                                reason="no shipped adapters in this checkout (run `webqa train defaults`)")


def test_adapters_are_small_and_name_their_base_by_spec():
    import json

    total = sum(p.stat().st_size for folder in (POLICY_ADAPTER, REWARD_ADAPTER) for p in folder.rglob("*")
                if p.is_file())
    assert total < 20 * 2**20  # the omni checkpoint beside them has its own test
    for folder in (POLICY_ADAPTER, REWARD_ADAPTER):
        assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == "smollm2-135m"
    assert default_policy_spec() == str(POLICY_ADAPTER)
    assert default_reward_model_spec() == str(REWARD_ADAPTER)
    assert not (REWARD_ADAPTER / "heldout").exists()  # held-out data stays out of the repo


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="measured weakness of the shipped BC adapter (0.37 epoch of training): "
                   "decoding freely, it often opens with `Clicked on link 0`; the agent's grammar constraint "
                   "allows only Search or End before a page is open. See omni_model/adapters/README.md.")
def test_bc_policy_opens_an_episode_with_a_search():
    from browser_env.grammar import parse
    from browser_env.observation import Observation
    from omni_model import load_policy
    from omni_model.prompts import BROWSING_STOP, build_browsing_prompt

    policy = load_policy(default_policy_spec())
    obs = Observation(question="Why do volcanoes erupt?", actions_left=20)
    prompt = build_browsing_prompt(obs, tokenizer=policy.tokenizer).text
    text = policy.generate([prompt], temperature=0.0, max_new_tokens=24, stop=BROWSING_STOP)[0][0].text.strip()
    # Unconstrained greedy decoding: the base model writes prose here (bench/invalid_action_rate.py).
    assert parse(text).name == "search", text


@pytest.mark.slow
def test_reward_adapter_has_a_trained_head():
    from browser_env.observation import Quote
    from omni_model import load_reward_model

    trained = load_reward_model(default_reward_model_spec(), max_length=512)
    untrained = load_reward_model("smollm2-135m", max_length=512)
    quote = Quote("Volcano", "wiki-vital.miniweb", "", "Magma rises because it is less dense than rock.")
    items = [("Why do volcanoes erupt?", [quote], "Magma is less dense than rock, so it rises [1]."),
             ("Why do volcanoes erupt?", [quote], "Magma is less dense than rock, so it rises.")]
    got, base = trained.score_batch(items), untrained.score_batch(items)
    assert all(math.isfinite(s) for s in got) and got != pytest.approx(base)
