"""Chromium and egress: how pages of the real web (and the mini-web) are fetched.

- ``chromium``: finding and launching Debian's Chromium, sealed off from the network;
- ``netpolicy``: the egress policy (which URLs and addresses may be fetched);
- ``fetch_http``: the httpx side of fetching (vetting, host aliases, redirects hop by hop, size limits);
- ``fetch``: ``PlaywrightFetcher``, Chromium with webqa answering every request through a route handler;
- ``pool``: ``BrowserPool``, one Chromium shared by many environments, a fresh context per episode;
- ``visibility`` (and ``visibility.js``): the hidden-text pass run in Chromium before extraction,
  on fetched pages and on a corpus's own HTML alike.

It hands ``FetchedPage`` objects to the text browser's renderer, and takes from ``browser_env.text``
only the env's ``LoopThread`` (for ``OfflineVisibility``); it imports nothing from the mini-web.
"""
