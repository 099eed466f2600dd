"""webqa: agent package."""
