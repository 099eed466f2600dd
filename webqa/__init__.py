"""webqa: a WebGPT-style browse-and-cite question-answering agent. The console script lives in ``webqa.cli``."""

__version__ = "0.1.0"
