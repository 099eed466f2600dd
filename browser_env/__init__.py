"""browser_env: WebGPT's text browser over Playwright + Chromium, an offline mini-web, and search backends.

Three concerns, one subpackage each, importing one way (``text`` <- ``web`` <- ``miniweb``):

- ``text/``: the text browser, pure text with no I/O: the command grammar, the renderer from HTML
  to a page with ``【id†text†domain】`` links, the stateful browser and the RL-style env
  (``step`` returns a frozen ``StepResult``), and the text formats the other packages share.
- ``web/``: Chromium and egress: launching Chromium sealed off from the network, the Playwright
  fetcher that answers every request after the egress policy vetted it, the pool, and the
  hidden-text pass.
- ``miniweb/``: the offline mini-web: corpus readers, the search index and page store, and the
  HTTP server that serves them; ``webqa index``.

Beside them: ``types`` (the plain data, the I/O seams and the errors everything shares),
``paths`` (``webqa_home``), ``backends/`` (search backends), ``runtime`` (``WebRuntime``, which
puts the three together) and ``browse_cmd`` (``webqa browse``). This package never imports torch.
"""
