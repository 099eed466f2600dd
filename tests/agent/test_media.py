"""Pictures and speech through the agent: a policy that sees gets the picture in every prompt, a spoken
question is written down first (by the policy when it hears, else by the embedded Whisper), and a
policy that reads text only refuses pictures clearly."""

import asyncio
import re
import shutil
from dataclasses import dataclass

import pytest

from agent.agent import Agent
from agent.types import AgentConfig
from omni_model.media import Image
from tests.helpers.agents import ScriptedPolicy, env_factory
from tests.helpers.models import write_png


@dataclass
class _Config:
    image_tokens: int = 4
    image_size: int = 32


class SeeingPolicy(ScriptedPolicy):
    accepts_media = True
    config = _Config()
    image_tokens = _Config.image_tokens
    hearings = ("lm",)

    def __init__(self, max_actions):
        super().__init__(max_actions)
        self.media_calls: list[tuple[list[str], list]] = []
        self.heard_from: list = []

    def generate(self, prompts, *, media=None, **kw):
        self.media_calls.append((list(prompts), media))
        return super().generate(prompts, **kw)  # the scripts read text only

    def prepare_image(self, item):
        from omni_model.omni import prepare_media

        return prepare_media([item], self.config, ["image"])[0]

    def transcribe(self, audio, *, hearing=None, max_new_tokens=64):
        self.heard_from.append(audio)
        return "Why is the sky blue?"


def test_the_picture_reaches_every_prompt(tmp_path):
    policy = SeeingPolicy(6)
    agent = Agent(policy, None, env_factory(), AgentConfig(max_actions=6))
    result = asyncio.run(agent.ask("Why is the sky blue?", image=write_png(tmp_path / "p.png")))
    assert result.status == "answered"
    for prompts, media in policy.media_calls:
        assert media is not None and all(len(m) == 1 and isinstance(m[0], Image) for m in media)
        assert all("♦Picture from the asker\n<image>" in p for p in prompts)
    assert len(policy.media_calls) == 5  # four browsing rounds and the answer


def test_a_spoken_question_is_written_down_then_answered(tmp_path):
    policy = SeeingPolicy(6)
    events = []
    result = asyncio.run(Agent(policy, None, env_factory(), AgentConfig(max_actions=6))
                         .ask(audio="question.wav", on_event=events.append))
    assert policy.heard_from == ["question.wav"]
    assert result.question == "Why is the sky blue?" and result.stats["heard"] == "Why is the sky blue?"
    assert events[0].kind == "heard" and result.status == "answered"
    assert all(m is None for _, m in policy.media_calls)  # no picture: plain text prompts


def test_a_text_only_policy_cannot_see(tmp_path):
    agent = Agent(ScriptedPolicy(6), None, env_factory(), AgentConfig(max_actions=6))
    with pytest.raises(ValueError, match="reads text only and cannot take pictures"):
        asyncio.run(agent.ask("Why is the sky blue?", image=write_png(tmp_path / "p.png")))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
def test_a_text_only_policy_hears_through_the_embedded_whisper(tmp_path):
    from omni_model.media import synthesize_speech

    class AnyQuestion(ScriptedPolicy):  # browses the sky script whatever it was told it heard
        def _command(self, prompt):
            return super()._command(re.sub(r"♦Question\n.*\n", "♦Question\nWhy is the sky blue?\n", prompt))

    policy = AnyQuestion(6)
    assert not policy.hearings
    wav = synthesize_speech("Why is the sky blue?", tmp_path / "q.wav", words_per_minute=130)
    result = asyncio.run(Agent(policy, None, env_factory(), AgentConfig(max_actions=6)).ask(audio=wav))
    heard = result.stats["heard"].lower()
    assert "sky" in heard and "blue" in heard and result.question == result.stats["heard"]
    assert result.status == "answered"


def test_nothing_heard_is_a_clear_error():
    class Deaf(SeeingPolicy):
        def transcribe(self, audio, **_):
            return "  "

    with pytest.raises(ValueError, match="nothing was heard"):
        asyncio.run(Agent(Deaf(6), None, env_factory(), AgentConfig(max_actions=6)).ask(audio="q.wav"))
