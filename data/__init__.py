"""webqa data: readers of question sets and training data (``data.eli5``), feeding evaluation and training."""
