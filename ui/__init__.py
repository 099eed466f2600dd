"""webqa: ui package."""
