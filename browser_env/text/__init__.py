"""The text browser: what the model reads and does, as pure text (no Playwright, no sockets, no torch).

- ``grammar``: the one definition of the browsing commands (parser, help text, constrained decoding);
- ``extract``, ``render``, ``render_walk``: the pure renderer, a ``FetchedPage`` in, a ``PageContents``
  with numbered ``【id†text†domain】`` links out;
- ``browser``: the stateful browser (page stack, scroll window, Find cursor, quotes) over a
  ``SearchBackend`` and a ``PageFetcher`` it is given;
- ``env``: the RL-style environment (``reset``, ``step`` returning a ``StepResult``) and
  ``observation``, what the model sees at each step;
- ``domains`` and ``censor``: what the agent may see (ELI5's blocked domains, WebGPT's leak rule);
- ``link_marks``, ``quote_match``, ``citation_marks``, ``sentences``: the one definition of each
  text format, shared with omni_model, the agent and training.

It imports nothing from ``browser_env.web`` or ``browser_env.miniweb``: the I/O is handed in.
"""
