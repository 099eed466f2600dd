"""The agent without a model or Chromium: a scripted policy, memory-backed environments, a fake runtime.

    policy = ScriptedPolicy(max_actions=10)          # commands from SCRIPTS, by question and step
    result = asyncio.run(Agent(policy, None, env_factory(), config).ask("Why is the sky blue?"))

``FakeRuntime`` stands in for ``browser_env.runtime.WebRuntime`` where a command builds one
(``webqa ask``, ``webqa eval``); ``parse_ask`` parses ``webqa ask`` arguments.
"""

from __future__ import annotations

import argparse
import re

from browser_env.backends.memory import MemoryFetcher, MemorySearch
from browser_env.text.env import BrowserEnv, EnvConfig, StaticFetcherProvider
from browser_env.types import SearchResult
from omni_model.errors import ServerError
from omni_model.types import Completion, TextOnly
from omni_model.prompts import BROWSING_STOP

SKY = "http://sky.example/why-blue"
SKY_HTML = """<html><head><title>Why the sky is blue</title></head><body><article>
<h1>Why the sky is blue</h1>
<p>Sunlight is scattered in all directions by the gases and particles in the air. Blue light is scattered
more than the other colors because it travels as shorter, smaller waves.</p>
<p>This is why we see a blue sky most of the time.</p></article></body></html>"""

SCRIPTS = {
    # question -> the command at each step (step = actions used so far)
    "Why is the sky blue?": ["Search why sky blue", "Clicked on link 0",
                             "Quote: Blue light is scattered more than the other colors", "End: Answer"],
    "Sky colour again?": ["this is not a command", "Search sky blue", "Clicked on link 0",
                          "Quote: we see a blue sky most of the time", "End: Answer"],
    "Is the moon cheese?": ["End: Nonsense"],
    "Where is nothing?": ["Search nothing at all", "End: Answer"],
    "FAILME please": ["Search x"],
}
ANSWER = "Blue light scatters more [1], as everyone knows [7]."


class FakeTextPolicy(TextOnly):
    """What every fake text policy shares: no tokenizer, words as tokens, a plain chat template."""

    spec = "fake-text"
    tokenizer = None
    context_length = 4096
    streams = False
    batch_by_length = False

    def count_tokens(self, text):
        return len(text.split())

    def apply_chat_template(self, messages):
        return "\n\n".join(m["content"] for m in messages)


class ScriptedPolicy(TextOnly):
    """A policy stand-in: commands come from SCRIPTS by question and step; records call sizes.
    A text policy with no tokenizer (so no constraints), no streaming, one batch for all lengths."""

    spec = "fake-scripted"
    tokenizer = None
    context_length = 4096
    streams = False
    batch_by_length = False

    def __init__(self, max_actions):
        self.max_actions = max_actions
        self.browse_calls: list[int] = []
        self.answer_calls: list[tuple[int, int]] = []

    def _command(self, prompt):
        question = re.search(r"♦Question\n(.*)\n", prompt).group(1)
        if "FAILME" in question:
            raise ServerError("the fake server refuses this prompt")
        left = int(re.search(r"♦Actions left: (\d+)", prompt).group(1))
        script = SCRIPTS[question]
        step = self.max_actions - left
        return script[step] if step < len(script) else "End: Answer"

    def count_tokens(self, text):
        return len(text.split())

    def apply_chat_template(self, messages):
        return "\n\n".join(m["content"] for m in messages)

    def generate(self, prompts, *, n=1, temperature=0.8, top_p=1.0, max_new_tokens=128, stop=None, seed=None,
                 logits_processor=None, on_text=None, media=None):
        assert logits_processor is None  # no tokenizer: no constraint
        self._no_media(media)
        if stop == BROWSING_STOP:
            self.browse_calls.append(len(prompts))
            texts = [[self._command(p)] * n for p in prompts]
        else:
            self.answer_calls.append((len(prompts), n))
            texts = [[f"{ANSWER} (answer {j})" for j in range(n)] for _ in prompts]
        return [[Completion(t, [], "stop", 1) for t in row] for row in texts]


def env_factory(*, search_down=False):
    """A callable making a fresh memory-backed ``BrowserEnv``: one search result, the SKY page."""
    def make(config):
        search = MemorySearch([SearchResult("Why the sky is blue", SKY, "Blue light is scattered more")],
                              down=search_down)
        return BrowserEnv(search, StaticFetcherProvider(MemoryFetcher({SKY: SKY_HTML})), config)
    return make


class FakeRuntime:
    """Stands in for WebRuntime: memory-backed envs, no Chromium."""

    def __init__(self, index_dir=None, *, search=("local",), config=None, **kw):
        self.config = config or EnvConfig()
        self._make = env_factory()

    async def start(self):
        return self

    async def close(self):
        return None

    def make_env(self, config=None):
        return self._make(config or self.config)


def parse_ask(argv: list[str]) -> argparse.Namespace:
    """``webqa ask`` arguments, parsed as the console script parses them."""
    from agent import ask_cmd

    parser = argparse.ArgumentParser(prog="webqa")
    ask_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["ask", *argv])
