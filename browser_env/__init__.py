"""browser_env: WebGPT's text browser over Playwright + Chromium, an offline mini-web, and search backends.

Three layers: I/O backends (``backends/``, ``fetch``), a pure renderer (``render``), and a stateful
browser (``browser``) wrapped as an RL-style environment (``env``). This package never imports torch.
"""
