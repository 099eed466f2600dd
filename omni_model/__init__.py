"""webqa: omni_model package."""
