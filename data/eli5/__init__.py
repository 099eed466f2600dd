"""webqa: data eli5 package."""
