"""webqa: training package."""
