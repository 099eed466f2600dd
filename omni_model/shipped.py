"""webqa's own trained adapters, committed under ``omni_model/adapters/``, and the default specs.

``webqa train defaults`` writes them: ``adapters/policy`` (the behaviour-cloned LoRA on the
embedded SmolLM2-135M) and ``adapters/reward`` (the reward-model LoRA and its scalar head). Each
adapter names its base by spec (``smollm2-135m``), so it loads on any machine after the set-up.
A checkout without them (say, mid-retraining) falls back to the embedded base model.

The omni checkpoint (its encoders alone are 5 MB, so it is not in the repository) is looked for
in ``$WEBQA_HOME/omni``, where the README's ``webqa train omni --out`` puts it.
"""

from __future__ import annotations

from pathlib import Path

from omni_model.spec import DEFAULT_POLICY

ADAPTERS = Path(__file__).resolve().parent / "adapters"
POLICY_ADAPTER = ADAPTERS / "policy"
REWARD_ADAPTER = ADAPTERS / "reward"
def omni_checkpoint() -> Path:
    """Where the default omni checkpoint lives: ``$WEBQA_HOME/omni`` (``~/.cache/webqa/omni``)."""
    from browser_env.paths import webqa_home

    return webqa_home() / "omni"


def _present(folder: Path) -> bool:
    return (folder / "adapter_config.json").is_file()


def default_policy_spec() -> str:
    """The shipped BC adapter when present, else the embedded base model."""
    return str(POLICY_ADAPTER) if _present(POLICY_ADAPTER) else DEFAULT_POLICY


def default_reward_model_spec() -> str:
    """The shipped reward-model adapter when present, else the base model with an untrained head."""
    return str(REWARD_ADAPTER) if _present(REWARD_ADAPTER) else DEFAULT_POLICY


def default_omni_spec() -> str:
    """The omni checkpoint (hears and sees) when one was built, else the shipped text policy."""
    folder = omni_checkpoint()
    return str(folder) if (folder / "omni_config.json").is_file() else default_policy_spec()
