"""webqa: webqa package."""
