"""omni_model: the only door through which the agent, training and UI reach models.

`load_policy(spec)` (``omni_model.load``) gives a `Policy` (local transformers model, omni or
image-text-to-text checkpoint, OpenAI-compatible server, the scripted demonstrator) with one batched
`generate`; `load_reward_model(spec)` gives a `RewardModel`. The two protocols, with what each
capability means, are in `omni_model.types`. Both loaders are imported lazily so `import
omni_model` stays cheap (no torch until a model is loaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omni_model.spec import DEFAULT_POLICY

if TYPE_CHECKING:
    from omni_model.types import Policy, RewardModel

__all__ = ["DEFAULT_POLICY", "load_policy", "load_reward_model"]


def load_policy(spec: str = DEFAULT_POLICY, *, device: str | None = None, dtype: str | None = None) -> Policy:
    """Load the policy a spec names; see `omni_model.spec` for the accepted forms."""
    from omni_model.load import load_policy as _load

    return _load(spec, device=device, dtype=dtype)


def load_reward_model(*args: Any, **kwargs: Any) -> RewardModel:
    """Load a reward model; implemented in `omni_model.reward`."""
    from omni_model.reward import load_reward_model as _load

    return _load(*args, **kwargs)
