"""webqa: data package."""
