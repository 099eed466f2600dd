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


# Ten fixed questions that are not in the evaluation's first 50 nor in the BC demonstrations (a
# different wording of everyday ELI5 topics the mini-web covers).
TEN_QUESTIONS = [
    "Why is the sky blue?",
    "How do vaccines work?",
    "Why do volcanoes erupt?",
    "What causes inflation?",
    "How do plants make food?",
    "Why do cats purr?",
    "How does the heart pump blood?",
    "What causes earthquakes?",
    "How do airplanes fly?",
    "Why does the moon have phases?",
]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(1500)  # ten episodes of 12 actions on two cores: about 3 minutes alone
def test_the_shipped_agent_answers_ten_questions_with_relevant_supported_citations():
    """The default policy (BC adapter, choices, extractive answers) answers; it no longer ignores the question."""
    import asyncio

    from agent.agent import Agent
    from agent.metrics import first_query_f1, question_metrics
    from agent.types import AgentConfig
    from browser_env.miniweb.index import default_index_dir
    from browser_env.runtime import WebRuntime
    from browser_env.text.sentences import stems
    from omni_model import load_policy

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the default wiki-vital index is not built")
    policy = load_policy(default_policy_spec())

    async def run():
        async with WebRuntime() as rt:
            agent = Agent(policy, None, rt, AgentConfig(n=1, max_actions=12, max_answer_tokens=160))
            # Five at a time: ask_many opens every episode's browser context before the first step,
            # so more episodes than the pool's concurrency would wait on each other.
            return [r for k in range(0, 10, 5)
                    for r in await agent.ask_many([(q, None) for q in TEN_QUESTIONS[k:k + 5]])]

    results = asyncio.run(run())
    answered = relevant = 0
    for question, result in zip(TEN_QUESTIONS, results, strict=True):
        res = result.to_json()
        m = question_metrics(res)
        assert first_query_f1(res, question) >= 0.5, (question, res["trajectory"][0]["steps"][0]["command"])
        if m["answered"]:
            answered += 1
            assert m["support"] == 1.0, result.answer
            # Relevant: what it cites shares the question's words, it is not "Subtraction" for the sky.
            cited = " ".join(r.extract + " " + r.title for r in result.references)
            relevant += bool(stems(question) & stems(cited))
    report = [(r.question, r.status, r.answer[:80]) for r in results]
    assert answered >= 8 and relevant >= 7, report


@pytest.mark.slow
def test_reward_adapter_has_a_trained_head():
    from browser_env.text.observation import Quote
    from omni_model import load_reward_model

    trained = load_reward_model(default_reward_model_spec(), max_length=512)
    untrained = load_reward_model("smollm2-135m", max_length=512)
    quote = Quote("Volcano", "wiki-vital.miniweb", "", "Magma rises because it is less dense than rock.")
    items = [("Why do volcanoes erupt?", [quote], "Magma is less dense than rock, so it rises [1]."),
             ("Why do volcanoes erupt?", [quote], "Magma is less dense than rock, so it rises.")]
    got, base = trained.score_batch(items), untrained.score_batch(items)
    assert all(math.isfinite(s) for s in got) and got != pytest.approx(base)
