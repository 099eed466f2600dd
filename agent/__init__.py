"""agent: WebGPT's loop — browse with the policy, answer from quotes, verify citations, best-of-n.

    from agent import Agent, AgentConfig
    result = await Agent(policy, reward_model, runtime, AgentConfig(n=4)).ask("Why is the sky blue?")

Names are exported lazily, so ``import agent`` (and ``webqa --help``) loads neither torch nor
Playwright; ``webqa ask`` lives in ``agent.ask_cmd``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Agent": "agent.agent",
    "episodes_per_question": "agent.agent",
    "AgentConfig": "agent.types",
    "Candidate": "agent.types",
    "Event": "agent.types",
    "Reference": "agent.types",
    "Result": "agent.types",
    "Episode": "agent.episodes",
    "run_browsing": "agent.episodes",
    "write_answers": "agent.answering",
    "verify_citations": "agent.citations",
    "best_of_n_estimate": "agent.bestofn",
    "pick_best": "agent.bestofn",
    "score_candidates": "agent.bestofn",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
