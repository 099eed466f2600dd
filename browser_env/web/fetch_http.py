"""The httpx side of ``PlaywrightFetcher``: vetting, alias mapping, redirects and size limits.

Chromium never reaches the network; the fetcher's route handler answers every request with what
``HttpResolving._resolve`` fetched. That is the part here: each URL is vetted by the
``EgressPolicy`` (or mapped through ``host_aliases``), the connection goes to the vetted address
(so DNS cannot change between the check and the connect), and redirects are followed one hop at a
time with each ``Location`` vetted before it is requested. Bodies are read as a stream and cut off
past ``max_bytes``. ``FetchLimits`` holds the defaults shared by the fetcher and ``BrowserPool``.

Nothing here imports Playwright; the route handling and the page live in ``browser_env.web.fetch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin, urlsplit

import httpx

from .netpolicy import EgressPolicy
from ..types import FetchError

if TYPE_CHECKING:
    from playwright.async_api import Request

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"})


@dataclass(frozen=True)
class FetchLimits:
    """How long, how big and how many hops one fetch may take; one place for the defaults."""

    timeout_s: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    settle_s: float = 0.25  # after DOMContentLoaded, how long to wait for "load" before the snapshot


@dataclass
class HttpResponse:
    """A response fetched with httpx, after every redirect hop was vetted and followed."""

    url: str  # the virtual URL that finally answered
    status: int
    headers: dict[str, str]
    body: bytes
    hops: list[str]  # URLs that answered with a redirect, in order

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        if "attachment" in self.headers.get("content-disposition", "").lower():
            return False
        if self.content_type:
            return self.content_type in HTML_TYPES
        return self.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))


class HttpTarget(NamedTuple):
    """Where and how to connect for one URL: after alias lookup or DNS pinning."""

    url: str  # where to connect: the alias target or a vetted address
    headers: dict[str, str]
    extensions: dict


class HttpResolving:
    """Fetching a routed request with httpx; mixed into ``PlaywrightFetcher``.

    Reads the fetcher's ``client``, ``policy``, ``host_aliases`` (shared by reference with the
    pool), ``max_bytes`` and ``max_redirects`` attributes.
    """

    client: httpx.AsyncClient
    policy: EgressPolicy
    host_aliases: dict[str, str]
    max_bytes: int
    max_redirects: int

    async def _resolve(self, req: Request) -> HttpResponse:
        """Fetch ``req`` ourselves, vetting and following each redirect hop."""
        url, method, body = req.url, req.method, req.post_data_buffer
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP and not k.startswith(":")}
        # httpx decodes gzip and deflate; Chromium would also offer br and zstd.
        headers["accept-encoding"] = "gzip, deflate"
        hops: list[str] = []
        for _ in range(self.max_redirects + 1):
            target = await self._target(url)
            status, resp_headers, content = await self._http(method, target, {**headers, **target.headers}, body, url)
            location = resp_headers.get("location")
            if status not in REDIRECT_STATUSES or not location:
                return HttpResponse(url, status, resp_headers, content, hops)
            hops.append(url)
            url = self._unalias(urljoin(url, location.strip()))
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
        raise FetchError(f"too many redirects (more than {self.max_redirects}) from {req.url}")

    async def _target(self, url: str) -> HttpTarget:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        base = self.host_aliases.get(host)
        if base is not None and parts.scheme in ("http", "https"):
            real = base.rstrip("/") + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            return HttpTarget(real, {"host": parts.netloc.rsplit("@", 1)[-1]}, {})
        vetted = await self.policy.check_url_async(url)
        if vetted.is_ip_literal or not vetted.addresses:
            return HttpTarget(url, {}, {})
        # Connect to an address the policy vetted, not to whatever DNS says a moment later.
        addr = sorted(vetted.addresses, key=lambda a: ":" in a)[0]
        netloc = f"[{addr}]" if ":" in addr else addr
        if parts.port is not None:
            netloc += f":{parts.port}"
        pinned = parts._replace(netloc=netloc, fragment="").geturl()
        ext = {"sni_hostname": vetted.host} if vetted.scheme == "https" else {}
        return HttpTarget(pinned, {"host": parts.netloc.rsplit("@", 1)[-1]}, ext)

    def _unalias(self, url: str) -> str:
        """Map a redirect into an alias target back onto its virtual host."""
        for host, base in self.host_aliases.items():
            prefix = base.rstrip("/")
            if url == prefix or url.startswith(prefix + "/"):
                return f"{urlsplit(url).scheme}://{host}{url[len(prefix):] or '/'}"
        return url

    async def _http(self, method: str, target: HttpTarget, headers: dict[str, str], body: bytes | None, shown: str):
        request = self.client.build_request(method, target.url, headers=headers, content=body, extensions=target.extensions)
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as e:
            raise FetchError(f"timed out fetching {shown}") from e
        except httpx.HTTPError as e:
            raise FetchError(f"could not fetch {shown}: {e}") from e
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"page too large: {shown} declares {int(declared):,} bytes (limit {self.max_bytes:,})")
            chunks, size = [], 0
            if not (response.status_code in REDIRECT_STATUSES and "location" in response.headers):
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"page too large: {shown} is over {self.max_bytes:,} bytes")
                    chunks.append(chunk)
        except httpx.TimeoutException as e:
            raise FetchError(f"timed out reading {shown}") from e
        except httpx.HTTPError as e:
            raise FetchError(f"could not read {shown}: {e}") from e
        finally:
            await response.aclose()
        merged: dict[str, str] = {}
        for key, value in response.headers.multi_items():
            key = key.lower()
            # Playwright takes one string per header; it splits set-cookie on newlines.
            merged[key] = f"{merged[key]}{chr(10) if key == 'set-cookie' else ', '}{value}" if key in merged else value
        return response.status_code, merged, b"".join(chunks)
