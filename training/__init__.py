"""webqa training: demonstrations and what is trained on them.

- ``training.demos``: the demonstration JSONL schema (``Demo``, ``read_demos``, ``write_demos``);
- ``training.imports``: answer-phase demos imported from ``eli5_webgpt_samples``;
- ``training.rows``: demos -> trl ``{"prompt", "completion"}`` rows via ``omni_model.prompts``.
- ``training.store``: the labelling database the recorder and the labeller write (demonstrations,
  comparison pairs, ratings), exported in the formats above.

Nothing is imported here, so ``import training`` stays cheap; import the submodules.
"""
