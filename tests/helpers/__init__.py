"""What several test files build alike, in one place: import from here, never from another test file.

- ``tests.helpers.models``: a tiny byte-level tokenizer, tiny random Llamas, WAV and PNG files;
- ``tests.helpers.web``: a dict-backed DNS resolver and a minimal PDF;
- ``tests.helpers.agents``: the scripted fake policy, memory-backed environments and a
  ``WebRuntime`` stand-in, for the agent and the commands that drive it.

pytest fixtures built on these live in the ``conftest.py`` beside the tests that use them.
"""
