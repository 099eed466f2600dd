"""omni_model: the only door through which the agent, training and UI reach models.

`load_policy(spec)` gives a `Policy` (local transformers model or OpenAI-compatible server)
with one batched `generate`; `load_reward_model(spec)` gives the reward model. Both are
imported lazily so `import omni_model` stays cheap (no torch until a model is loaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omni_model.spec import DEFAULT_POLICY

if TYPE_CHECKING:
    from omni_model.policy import Policy

__all__ = ["DEFAULT_POLICY", "load_policy", "load_reward_model"]


def load_policy(spec: str = DEFAULT_POLICY, *, device: str | None = None, dtype: str | None = None) -> Policy:
    """Load the policy a spec names; see `omni_model.spec` for the accepted forms."""
    from omni_model.policy import load_policy as _load

    return _load(spec, device=device, dtype=dtype)


def load_reward_model(*args: Any, **kwargs: Any) -> Any:
    """Load a reward model; implemented in `omni_model.reward`."""
    from omni_model.reward import load_reward_model as _load

    return _load(*args, **kwargs)
