"""``load_policy(spec)``: the policy class a spec names, loaded.

Apart from the classes it picks, so that no policy module imports this one and each can be
imported alone (``omni_model.policy`` no longer reaches back into ``scripted``, ``omni_policy``
and the rest). Every class is imported only when its spec is loaded.

    policy = load_policy("scripted")        # or "smollm2-135m", "openai:http://host/v1#model", a folder
"""

from __future__ import annotations

from omni_model.spec import DEFAULT_POLICY, parse_spec
from omni_model.types import Policy


def load_policy(spec: str = DEFAULT_POLICY, *, device: str | None = None, dtype: str | None = None) -> Policy:
    """Load the policy `spec` names (see `omni_model.spec`); raises ModelLoadError on bad input."""
    info = parse_spec(spec)
    if info.kind == "scripted":
        from omni_model.scripted import ScriptedPolicy

        return ScriptedPolicy()
    if info.kind == "openai":
        from omni_model.openai_policy import OpenAIPolicy

        assert info.base_url is not None and info.model is not None
        return OpenAIPolicy(info.base_url, info.model)
    if info.kind == "omni_dir":
        from omni_model.omni_policy import OmniPolicy

        return OmniPolicy.from_dir(info.path, device=device, dtype=dtype)
    if info.kind == "hf_dir":
        from omni_model.hf_multimodal import HFMultimodalPolicy, is_multimodal_dir
        from omni_model.hf_omni import HFOmniPolicy, is_omni_dir

        if is_omni_dir(info.path):
            return HFOmniPolicy.from_dir(info.path, device=device, dtype=dtype)
        if is_multimodal_dir(info.path):
            return HFMultimodalPolicy.from_dir(info.path, device=device, dtype=dtype)
    from omni_model.policy import TransformersPolicy

    return TransformersPolicy.from_spec(spec, device=device, dtype=dtype)
