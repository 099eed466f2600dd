"""DAgger: the student browses, the scripted demonstrator labels the states the student reaches.

    demos, stats = await dagger_demos(student, questions, runtime.make_env, DaggerConfig())
    write_demos("dagger.jsonl", demos)          # browsing-only demos, trained on with the others

Behaviour cloning trains on the states the demonstrator visits. The student drifts into states
the demonstrator never shows (a results page for an off-topic query, an unrelated article, few
actions left and nothing quoted) and its errors compound there. DAgger (Ross, Gordon and Bagnell,
2011) rolls the student out with its own commands and asks the expert what it would have done in
every state reached; those (state, expert command) pairs are demos in the ordinary format
(``answer`` empty, ``metadata.source == "dagger"``), so ``webqa train bc`` reads them as it
reads any demonstration.

The student browses exactly as the agent does at inference (``agent.episodes.run_browsing`` with
the same ``AgentConfig``: choices, floors, greedy decoding), and each label is the expert's reply
to the very prompt the student was shown (``omni_model.scripted.ScriptedPolicy``), with the
observation's parts kept so training rebuilds the prompt exactly. The action budget is drawn per
question from ``max_actions``, as ``training.synth`` draws the demonstrations'.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from browser_env.text.env import BrowserEnv, EnvConfig
from browser_env.text.observation import Observation, render_observation
from omni_model.types import Policy

from .demos import DAGGER_SOURCE, Demo, DemoFormatError, Metadata, Step, check_command
from .synth import action_budget



@dataclass(frozen=True)
class DaggerConfig:
    max_actions: tuple[int, int] = (8, 30)  # drawn per question, as the demonstrations' budgets are
    batch: int = 8  # questions browsed together (one batched generation per round)
    corpus: str | None = None


@dataclass
class DaggerStats:
    questions: int = 0
    demos: int = 0
    states: int = 0
    disagreements: int = 0  # states where the expert would not have done what the student did
    failed: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> float | None:
        return None if not self.states else 1 - self.disagreements / self.states

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "agreement": self.agreement}


def _expert_commands(expert: Policy, shown: list[Observation]) -> list[str]:
    from omni_model.prompts import BROWSING_STOP, browsing_prompt

    prompts = [browsing_prompt(obs) for obs in shown]
    out = expert.generate(prompts, n=1, temperature=0.0, stop=BROWSING_STOP)
    return [row[0].text.strip() for row in out]


async def dagger_demos(student: Policy, questions: Sequence[str], make_env: Callable[[EnvConfig], BrowserEnv],
                       config: DaggerConfig = DaggerConfig(), *, agent_config: Any = None, expert: Policy | None = None,
                       id_prefix: str = "dagger", progress: Callable[[int], None] | None = None
                       ) -> tuple[list[Demo], DaggerStats]:
    """One browsing-only demo per question the student browsed: its states, the expert's labels."""
    from agent.episodes import Episode, run_browsing
    from agent.types import AgentConfig
    from omni_model.scripted import ScriptedPolicy


    agent_config = agent_config or AgentConfig()
    expert = expert or ScriptedPolicy()
    stats = DaggerStats(questions=len(questions))
    demos: list[Demo] = []
    for start in range(0, len(questions), config.batch):
        chunk = list(enumerate(questions[start:start + config.batch], start))
        episodes = []
        for i, question in chunk:
            budget = action_budget(f"{id_prefix}:{i}", *config.max_actions)
            env = make_env(EnvConfig(max_actions=budget))
            episodes.append(Episode(question=question, env=env, qid=i))
        shown: dict[int, list[tuple[Observation, str]]] = {id(ep): [] for ep in episodes}
        by_qid = {ep.qid: ep for ep in episodes}

        def record(event: Any) -> None:
            # "command" is emitted just before the student's command runs; ep.shown is what it saw.
            if event.kind == "command":
                ep = by_qid[event.data["question"]]
                assert ep.shown is not None
                shown[id(ep)].append((ep.shown, event.data["command"]))

        await run_browsing(student, episodes, agent_config, on_event=record)
        for ep in episodes:
            if ep.failed is not None:
                stats.failed.append(f"{ep.question[:80]}: {ep.failed}")
            states = shown[id(ep)]
            if not states:
                continue
            labels = await asyncio.to_thread(_expert_commands, expert, [obs for obs, _ in states])
            steps = []
            for (obs, taken), label in zip(states, labels, strict=True):
                try:
                    check_command(label)
                except DemoFormatError:  # the expert has no reply for this state (a bug there): skip it
                    continue
                steps.append(Step(observation=render_observation(obs), command=label, observation_parts=obs))
                stats.disagreements += label != taken
            stats.states += len(steps)
            if steps:
                demos.append(Demo(id=f"{id_prefix}:{ep.qid}", question=ep.question, quotes=[], answer="",
                                  steps=steps, metadata=Metadata(who="scripted", source=DAGGER_SOURCE,
                                                                 corpus=config.corpus)))
        if progress is not None:
            progress(len(chunk))
    stats.demos = len(demos)
    return demos, stats


def relabel(demos: Sequence[Demo], expert: Any = None) -> tuple[list[Demo], int]:
    """The same states labelled again by ``expert`` (after its rules change), without browsing
    again: each step keeps its observation's parts, so the prompt is rebuilt exactly. Returns the
    demos and how many labels changed."""
    from omni_model.scripted import ScriptedPolicy

    expert = expert or ScriptedPolicy()
    out, changed = [], 0
    for demo in demos:
        if any(s.observation_parts is None for s in demo.steps):
            raise DemoFormatError(f"demo {demo.id}: a step without observation_parts cannot be relabelled")
        labels = _expert_commands(expert, [s.observation_parts for s in demo.steps])  # type: ignore[misc]
        steps = []
        for step, label in zip(demo.steps, labels, strict=True):
            try:
                check_command(label)
            except DemoFormatError:
                continue
            changed += label != step.command
            steps.append(dataclasses.replace(step, command=label))
        out.append(dataclasses.replace(demo, steps=steps))
    return out, changed
