"""omni_model.scripted: the demonstrator as a policy (`--policy scripted`), through the real agent loop."""

from __future__ import annotations

import asyncio

import pytest

from agent.agent import Agent
from agent.metrics import question_metrics
from agent.types import AgentConfig
from omni_model import load_policy
from omni_model.errors import UnsupportedError
from omni_model.prompts import closed_book_prompt
from omni_model.scripted import ScriptedPolicy
from tests.helpers.agents import env_factory


def test_the_spec_loads_it():
    assert isinstance(load_policy("scripted"), ScriptedPolicy)


def test_it_answers_with_cited_supported_sentences():
    agent = Agent(ScriptedPolicy(), None, env_factory(), AgentConfig(n=1, max_actions=12))
    result = asyncio.run(agent.ask("Why is the sky blue?"))
    commands = [s["command"] for s in result.trajectory[0]["steps"]]
    assert commands[0] == "Search sky blue" and commands[1] == "Clicked on link 0"
    assert commands[2].startswith("Quote: ") and "blue" in commands[2].lower() and commands[-1] == "End: Answer"
    assert result.status == "answered" and result.answer.endswith("[1].")
    m = question_metrics(result.to_json())
    assert m["answered"] and m["support"] == 1.0 and m["query_f1"] == 1.0


def test_no_closed_book_and_no_processor():
    policy = ScriptedPolicy()
    assert policy.generate([closed_book_prompt("Why?")])[0][0].text == ""
    with pytest.raises(UnsupportedError):
        policy.generate(["x"], logits_processor=object())


def _state(**kw):
    from browser_env.text.observation import Observation, Quote
    from omni_model.prompts import browsing_prompt

    results = ("【0†Why the sky is blue†a.example】\nBlue light scatters more.\n\n"
               "【1†Sky colour†b.example】\nThe sky's colour.\n\n【2†Blue whale†c.example】\nA whale.")
    base = dict(question="Why is the sky blue?", title="Search results for: sky blue", text=results,
                actions_left=10, scrollbar=(0, 5))
    base.update(kw)
    base["quotes"] = [Quote(t, "a.example", "http://a.example", "Blue light scatters.") for t in base.get("quotes", [])]
    return browsing_prompt(Observation(**base))


def test_as_daggers_expert_it_ends_on_what_was_quoted_not_on_pages_opened():
    policy = ScriptedPolicy()
    opened_two = ["Search sky blue", "Click Why the sky is blue", "Back", "Click Sky colour", "Back"]
    # Two results opened, nothing quoted: before, the expert said End: Answer here (an empty answer).
    assert policy.command(_state(past_actions=opened_two)) == "Clicked on link 2"
    assert policy.command(_state(past_actions=opened_two, quotes=["A"])) == "Clicked on link 2"
    assert policy.command(_state(past_actions=opened_two, quotes=["A", "B"])) == "End: Answer"
    # One quote and the last action: end with it rather than lose it.
    assert policy.command(_state(past_actions=opened_two, quotes=["A"], actions_left=1)) == "End: Answer"
    # No fresh result shares a word with the question and nothing is quoted: nothing better to do.
    every = opened_two + ["Click Blue whale", "Back"]
    assert policy.command(_state(past_actions=every)) == "End: Answer"


def test_it_quotes_a_passage_from_the_best_sentence_and_cites_every_sentence():
    page = ("Blue is a colour. It lies between violet and cyan on the spectrum of visible light. The clear daytime "
            "sky appears blue because of an optical effect known as Rayleigh scattering. Distant hills under a "
            "clear sky look bluish too.")
    state = _state(title="Blue", text=page, past_actions=["Search sky blue", "Click Why the sky is blue"])
    quote = ScriptedPolicy(quote_span=2).command(state)
    assert quote == ("Quote: The clear daytime sky appears blue because of an optical effect known as Rayleigh "
                     "scattering. Distant hills under a clear sky look bluish too.")
    assert ScriptedPolicy(quote_span=1).command(state).endswith("Rayleigh scattering.")
    # A passage sharing a sentence with a quote already taken is not offered again.
    from browser_env.text.observation import Observation, Quote
    from omni_model.prompts import browsing_prompt

    rayleigh = "The clear daytime sky appears blue because of an optical effect known as Rayleigh scattering."
    taken = browsing_prompt(Observation(question="Why is the sky blue?", title="Blue", text=page, actions_left=9,
                                        scrollbar=(0, 5), past_actions=["Search sky blue", "Click Blue"],
                                        quotes=[Quote("Blue", "a.example", "http://a.example", rayleigh)]))
    again = ScriptedPolicy().command(taken)
    assert again == "Quote: Distant hills under a clear sky look bluish too."
