"""The agent's episode loop with a scripted fake policy over memory-backed environments (no model, no Chromium).

Checks batching (one generate call per round for all live episodes), invalid output, the
no-quotes, Nonsense and failure paths, citations and best-of-n, and the streamed events.
"""

import asyncio

import pytest

from agent.agent import Agent, episodes_per_question
from agent.types import AgentConfig
from browser_env.backends.memory import MemoryFetcher, MemorySearch
from browser_env.text.env import BrowserEnv
from browser_env.types import SearchResult
from omni_model.prompts import BROWSING_STOP
from tests.helpers.agents import SCRIPTS, SKY, SKY_HTML, ScriptedPolicy, env_factory

class LengthRM:
    def __init__(self):
        self.calls = []

    def score_batch(self, items, batch_size=8):
        self.calls.append(len(items))
        return [float(len(a)) for _, _, a in items]


def run(coro):
    return asyncio.run(coro)


def test_answers_with_verified_citations_and_events():
    config = AgentConfig(max_actions=10, max_command_tokens=64)
    policy = ScriptedPolicy(config.max_actions)
    events = []
    result = run(Agent(policy, None, env_factory(), config).ask("Why is the sky blue?", on_event=events.append))
    assert result.status == "answered", result.reason
    assert "[1]" in result.answer and "[7]" not in result.answer
    assert [r.n for r in result.references] == [1]
    assert result.references[0].url == SKY and "Blue light" in result.references[0].extract
    assert result.candidates[0].removed_citations == 1
    s = result.stats
    assert s["actions"] == 4 and s["invalid_actions"] == 0 and s["quotes"] == 1
    assert s["citations"] == 1 and s["removed_citations"] == 1 and s["cited_quotes_verified"] == 1.0
    steps = result.trajectory[0]["steps"]
    assert [st["command"] for st in steps] == SCRIPTS["Why is the sky blue?"]
    assert all(set(st) >= {"command", "valid", "error", "observation", "url", "actions_left"} for st in steps)
    assert steps[0]["observation"].startswith("♦Question\nWhy is the sky blue?")
    assert steps[-1]["actions_left"] == 6 and result.trajectory[0]["end"] == "Answer"
    kinds = {e.kind for e in events}
    assert kinds == {"step_started", "command", "observation", "quote_added", "candidate_scored", "final_answer"}
    assert [e.data["command"] for e in events if e.kind == "command"] == SCRIPTS["Why is the sky blue?"]
    assert events[-1].kind == "final_answer" and events[-1].data["status"] == "answered"
    assert set(result.timings) == {"browse_s", "answer_s", "score_s", "total_s"}
    assert result.to_json()["references"][0]["n"] == 1


def test_batching_across_questions_and_candidates():
    config = AgentConfig(n=4, answers_per_browse=2, max_actions=10, max_command_tokens=64)
    policy = ScriptedPolicy(config.max_actions)
    rm = LengthRM()
    items = [("Why is the sky blue?", None), ("Sky colour again?", None), ("Is the moon cheese?", None)]
    results = run(Agent(policy, rm, env_factory(), config).ask_many(items))
    # 3 questions x 2 episodes: the first round has all 6; then episodes drop out as they end.
    assert policy.browse_calls == [6, 4, 4, 4, 2]
    assert results[0].stats["batch_sizes"] == policy.browse_calls
    assert policy.answer_calls == [(4, 2)]  # every answering episode in one call, 2 answers each
    assert rm.calls == [8]  # every candidate of every question in one score_batch
    sky, again, moon = results
    assert sky.status == again.status == "answered"
    assert len(sky.candidates) == 4 and all(c.reward is not None for c in sky.candidates)
    assert sky.answer == max(sky.candidates, key=lambda c: c.reward).answer
    assert again.stats["invalid_actions"] == 2  # one per episode: the model's fault, counted, not fatal
    assert again.trajectory[0]["steps"][0]["valid"] is False
    assert "not a command" in again.trajectory[0]["steps"][1]["observation"]
    assert moon.status == "nonsense" and moon.candidates == [] and moon.references == []
    assert "Nonsense" in moon.answer and "End: Nonsense" in moon.reason


def test_unbatched_generates_one_prompt_per_call():
    config = AgentConfig(n=2, max_actions=10, max_command_tokens=64, batch_across_episodes=False)
    policy = ScriptedPolicy(config.max_actions)
    result = run(Agent(policy, None, env_factory(), config).ask("Why is the sky blue?"))
    assert result.status == "answered"
    assert set(policy.browse_calls) == {1} and len(policy.browse_calls) == 8


def test_no_quotes_means_no_answer():
    config = AgentConfig(max_actions=10, max_command_tokens=64)
    policy = ScriptedPolicy(config.max_actions)
    result = run(Agent(policy, LengthRM(), env_factory(), config).ask("Where is nothing?"))
    assert result.status == "no_sources" and result.candidates == [] and result.references == []
    assert "could not find any sources" in result.answer
    assert policy.answer_calls == []  # nothing invented


def test_search_down_is_no_sources_with_reason():
    config = AgentConfig(max_actions=10, max_command_tokens=64)
    result = run(Agent(ScriptedPolicy(10), None, env_factory(search_down=True), config).ask("Where is nothing?"))
    assert result.status == "no_sources"
    assert "down" in result.reason and result.stats["world_errors"] == 1


def test_failing_question_does_not_stop_the_others():
    config = AgentConfig(max_actions=10, max_command_tokens=64)
    policy = ScriptedPolicy(config.max_actions)
    failed, ok = run(Agent(policy, None, env_factory(), config).ask_many(
        [("FAILME please", None), ("Why is the sky blue?", None)]))
    assert failed.status == "failed" and "fake server refuses" in failed.reason
    assert failed.trajectory[0]["failed"]
    assert ok.status == "answered"


def test_config_and_input_errors():
    with pytest.raises(ValueError, match="multiple"):
        episodes_per_question(AgentConfig(n=3, answers_per_browse=2))
    agent = Agent(ScriptedPolicy(10), None, env_factory(), AgentConfig(max_actions=10, max_command_tokens=64))
    with pytest.raises(ValueError, match="empty"):
        run(agent.ask("   "))


def test_answer_text_streams_as_events_when_the_policy_can():
    class Streaming(ScriptedPolicy):
        streams = True

        def generate(self, prompts, *, on_text=None, **kw):
            if kw.get("stop") != BROWSING_STOP and on_text is not None:
                for i in range(len(prompts)):
                    on_text(i, 0, "Blue")
                    on_text(i, 0, "Blue light")
            return super().generate(prompts, **kw)

    events = []
    agent = Agent(Streaming(10), None, env_factory(), AgentConfig(max_actions=10))
    result = asyncio.run(agent.ask("Why is the sky blue?", on_event=events.append))
    assert result.status == "answered"
    texts = [e.data["text"] for e in events if e.kind == "answer_text"]
    assert texts == ["Blue", "Blue light"]
    kinds = [e.kind for e in events]
    assert kinds.index("answer_text") < kinds.index("final_answer")


def test_a_cpu_policy_gets_equal_length_batches():
    from agent.episodes import length_groups

    class ByLength(ScriptedPolicy):
        batch_by_length = True

        def count_tokens(self, text):
            return len(text)

    assert length_groups(ByLength(3), ["aa", "b", "cc", "d"]) == [[0, 2], [1, 3]]
    assert length_groups(ScriptedPolicy(3), ["aa", "b", "cc"]) == [[0, 1, 2]]  # one call when padding is cheap
    policy = ByLength(8)
    qs = ["Why is the sky blue?", "Sky colour again?"]
    results = asyncio.run(Agent(policy, None, env_factory(), AgentConfig(max_actions=8)).ask_many([(q, None) for q in qs]))
    assert [r.status for r in results] == ["answered", "answered"]
    assert max(policy.browse_calls) <= 2 and sum(policy.browse_calls) == sum(r.stats["actions"] for r in results)


def test_end_answer_is_offered_once_min_quotes_are_taken():
    from agent.episodes import Episode, _Browser

    browser = _Browser.__new__(_Browser)  # only the config is read
    browser.config = AgentConfig()
    ep = Episode(question="q", env=None)
    ep.commands = frozenset({"search", "end_answer", "end_nonsense"})
    assert browser._commands(ep) == {"search", "end_nonsense"}
    ep.quotes = [{"title": "t", "url": "u", "extract": "x"}]
    assert browser._commands(ep) == {"search"}  # min_quotes is 2, and a quote is no nonsense
    ep.quotes = ep.quotes * 2
    assert browser._commands(ep) == ep.commands
    browser.config = AgentConfig(min_quotes=1)
    one = Episode(question="q", env=None, commands=ep.commands, quotes=ep.quotes[:1])
    assert browser._commands(one) == ep.commands


def test_no_link_back_to_a_page_already_opened():
    from agent.episodes import Episode, _Browser

    async def go():
        env = env_factory()(None)
        await env.reset("Why is the sky blue?")
        ep = Episode(question="Why is the sky blue?", env=env)
        for command in ("Search sky", "Clicked on link 0", "Back"):
            r = await env.step(command)
            ep.steps.append({"command": command, "url": r.url})
        ep.links = frozenset(r.links)
        return ep

    ep = asyncio.run(go())
    browser = _Browser.__new__(_Browser)
    browser.config = AgentConfig()
    assert ep.links == {0} and browser._links(ep) == frozenset()
    browser.config = AgentConfig(no_revisits=False)
    assert browser._links(ep) == {0}


class BoundedProvider:
    """Lends at most ``slots`` fetchers at once, like a BrowserPool's max_concurrency."""

    def __init__(self, slots):
        self.fetcher = MemoryFetcher({SKY: SKY_HTML})
        self.slots = slots
        self.lent = self.peak = 0
        self.sem = None

    async def acquire(self):
        if self.sem is None:
            self.sem = asyncio.Semaphore(self.slots)
        await self.sem.acquire()
        self.lent += 1
        self.peak = max(self.peak, self.lent)
        return self.fetcher

    async def release(self, fetcher):
        self.lent -= 1
        self.sem.release()


def test_more_episodes_than_browser_contexts_wait_their_turn():
    # Before: every episode's start was gathered before the first step, so the third start
    # waited for a context that only an ended episode gives back: a deadlock.
    config = AgentConfig(n=2, answers_per_browse=1, max_actions=10, max_command_tokens=64)
    policy = ScriptedPolicy(config.max_actions)
    provider = BoundedProvider(slots=2)
    search = MemorySearch([SearchResult("Why the sky is blue", SKY, "Blue light is scattered more")])
    agent = Agent(policy, LengthRM(), lambda cfg: BrowserEnv(search, provider, cfg), config)
    items = [("Why is the sky blue?", None), ("Sky colour again?", None)]
    results = run(asyncio.wait_for(agent.ask_many(items), timeout=60))
    assert [r.status for r in results] == ["answered", "answered"]
    assert provider.peak == 2 and provider.lent == 0  # never more than the pool lends; all given back
    assert len(results[0].candidates) == 2


def test_quote_options_are_passages_starting_in_view_and_not_overlapping_a_quote_taken():
    from agent.episodes import Episode, passages_in_view
    from browser_env.text.observation import Observation

    page = ("Blue is one of the three primary colours of light. It lies between violet and cyan on the spectrum. "
            "The clear sky appears blue because of Rayleigh scattering. Short waves scatter more than long waves.\n\n"
            "Blue pigments were first made from minerals such as lapis lazuli.")
    window = "Blue is one of the three primary colours of light. It lies between violet and cyan on the spectrum."
    ep = Episode(question="Why is the sky blue?", env=None, page_text=page,
                 observation=Observation(question="q", title="Blue", text=window))
    assert passages_in_view(ep, 2) == (
        "Blue is one of the three primary colours of light. It lies between violet and cyan on the spectrum.",
        "It lies between violet and cyan on the spectrum. The clear sky appears blue because of Rayleigh scattering.")
    assert passages_in_view(ep, 1) == ("Blue is one of the three primary colours of light.",
                                       "It lies between violet and cyan on the spectrum.")
    ep.quotes = [{"title": "Blue", "url": "u", "extract": "It lies between violet and cyan on the spectrum."}]
    # Both passages in view hold the sentence quoted already: the window offers nothing new, so the
    # page's other passages are not offered either (the policy scrolls or goes back).
    assert passages_in_view(ep, 2) == ()


def test_quote_options_keep_the_passages_holding_most_question_words_in_page_order():
    from agent.episodes import Episode, passages_in_view
    from browser_env.text.observation import Observation

    page = ("Blue is one of the three primary colours of light. It lies between violet and cyan on the spectrum. "
            "The clear sky appears blue because of Rayleigh scattering. Blue pigments were made from lapis lazuli.")
    ep = Episode(question="Why is the sky blue?", env=None, page_text=page,
                 observation=Observation(question="q", title="Blue", text=page))
    every = passages_in_view(ep, 1)
    assert len(every) == 4 and passages_in_view(ep, 1, keep=0) == every == passages_in_view(ep, 1, keep=9)
    # "sky" and "blue": the Rayleigh sentence holds both; of the three holding "blue", the earliest
    # wins the tie, and the kept ones stay in the page's order.
    assert passages_in_view(ep, 1, keep=1) == ("The clear sky appears blue because of Rayleigh scattering.",)
    assert passages_in_view(ep, 1, keep=2) == ("Blue is one of the three primary colours of light.",
                                               "The clear sky appears blue because of Rayleigh scattering.")
