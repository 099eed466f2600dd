"""Launching Debian's Chromium through Playwright (never Playwright's own browser download).

``find_chromium()`` locates the binary (``WEBQA_CHROMIUM`` overrides); ``launch(playwright)``
starts it headless with the flags that suit a closed network and a small machine.
``SEALED_ARGS`` cut Chromium off from the network itself, for a browser whose every request is
answered by a route handler (``browser_env.web.fetch``): anything that escapes routing fails.
"""

from __future__ import annotations

import os
import shutil

from ..types import WorldError

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    # Chromium's own lookups (safe browsing, field trials) would go to the closed network.
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
)

# Measured here: a redirect that Chromium follows after a fulfilled 3xx, and WebSocket connections,
# never reach a context.route handler. With these flags Chromium's own network stack can reach
# nothing: names do not resolve, and every connection (loopback included, which Chromium would
# otherwise exempt) goes to a proxy on the discard port that is not there.
SEALED_ARGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)


def find_chromium() -> str:
    """The Chromium executable: ``$WEBQA_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    env = os.environ.get("WEBQA_CHROMIUM")
    if env:
        if not os.path.exists(env):
            raise WorldError(f"WEBQA_CHROMIUM={env!r} does not exist")
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise WorldError(
        "Chromium was not found. Install Debian's package (`apt-get install -y chromium`) "
        "or set WEBQA_CHROMIUM to a Chromium binary. webqa never downloads a browser itself."
    )


async def launch(playwright, *, headless: bool = True, extra_args: tuple[str, ...] = ()):
    """Launch a Chromium ``Browser`` from an async Playwright instance."""
    return await playwright.chromium.launch(
        executable_path=find_chromium(),
        headless=headless,
        args=[*CHROMIUM_ARGS, *extra_args],
    )
