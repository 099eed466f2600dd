"""ELI5-style question data: ``loaders`` reads evaluation question sets (ELI5 JSON / JSONL, TruthfulQA CSV)."""
