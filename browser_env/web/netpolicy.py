"""The egress policy: which URLs the browser may fetch. Owns scheme, host and address vetting.

``EgressPolicy.check_url(url)`` refuses (``PolicyError``) non-web schemes, ``localhost`` names and
any host that is, or resolves to, an address that is not on the public internet: loopback,
private, link-local (the cloud metadata address included), CGNAT, multicast, reserved,
unspecified, and those same addresses smuggled inside IPv6 (IPv4-mapped, 6to4, NAT64, Teredo) or
written in the legacy ``inet_aton`` spellings browsers still accept (``2130706433``, ``0x7f.1``,
``0177.0.0.1``, ``127.1``). Every address a name resolves to is checked, and the vetted addresses
are returned so the caller can connect to exactly those (a DNS-rebinding guard).

Loopback is opt-in: ``allowed_hosts`` admits exact ``host`` or ``host:port`` entries whatever they
resolve to, and ``allow_loopback=True`` admits loopback. Whatever is admitted is open to every page
the browser loads, so ``WebRuntime`` admits nothing: the mini-web is reached through a host alias,
and a self-hosted SearXNG through its backend's own client.

This module has no Playwright import; it is plain Python and unit-tested offline with a fake
resolver (``tests/browser_env/web/test_netpolicy.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..types import FetchError, PolicyError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

DEFAULT_PORTS = {"http": 80, "https": 443}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True)
class VettedURL:
    """A URL the policy admitted, with what it checked.

    ``addresses`` are the addresses to connect to: the literal IP, or every address the name
    resolved to (allowed hosts are resolved too, so they can be pinned, but not judged).
    """

    url: str
    scheme: str
    host: str  # lower-case, no brackets, no trailing dot
    port: int
    addresses: tuple[str, ...]
    is_ip_literal: bool


def system_resolver(host: str) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host`` (blocking; run it in a thread)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    # Scoped IPv6 link-local answers come back as "fe80::1%eth0"; the scope is not part of the address.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def parse_legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the ``inet_aton`` forms (1-4 parts, each decimal, ``0x`` hex or ``0`` octal).

    Returns None when ``host`` is not written as a number at all (a DNS name). Raises ValueError
    when it looks numeric but is not a valid address, because a browser would refuse it too and
    letting it through as a "name" would hide what it means.
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if not parts or not _looks_numeric(parts[-1]):
        # WHATWG's rule: a host is an IPv4 address exactly when its last label is numeric.
        return None
    if len(parts) > 4:
        raise ValueError(f"too many parts in numeric host {host!r}")
    values = [_parse_ipv4_part(p, host) for p in parts]
    head, last = values[:-1], values[-1]
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise ValueError(f"numeric host {host!r} is out of range")
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _looks_numeric(part: str) -> bool:
    p = part.lower()
    if p.startswith("0x"):
        return all(c in "0123456789abcdef" for c in p[2:])
    return p != "" and p.isdigit()


def _parse_ipv4_part(part: str, host: str) -> int:
    p = part.lower()
    try:
        if p.startswith("0x"):
            return int(p[2:] or "0", 16)
        if len(p) > 1 and p.startswith("0"):
            return int(p, 8)
        return int(p, 10)
    except ValueError as e:
        raise ValueError(f"malformed numeric host {host!r}") from e


def parse_ip_host(host: str) -> IPAddress | None:
    """The address a URL host denotes, if it is written as an IP in any accepted spelling."""
    if ":" in host:
        # Zone ids ("fe80::1%25eth0") name an interface, never a public host.
        return ipaddress.IPv6Address(host.split("%", 1)[0])
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        return parse_legacy_ipv4(host)


def forbidden_reason(addr: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why ``addr`` must not be contacted, or None if it is a public address."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            inner = forbidden_reason(embedded, allow_loopback=allow_loopback)
            return f"{inner} (embedded in IPv6 {addr})" if inner else None
    if addr.is_loopback:
        return None if allow_loopback else "a loopback address"
    if addr.is_unspecified:
        return "an unspecified address"
    if addr.is_link_local:
        return "a link-local address (includes the cloud metadata service)"
    if addr.is_multicast:
        return "a multicast address"
    if isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT:
        return "a carrier-grade NAT (100.64/10) address"
    if addr.is_private:
        return "a private address"
    if addr.is_reserved:
        return "a reserved address"
    if not addr.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]  # the client; the server half is a public relay
    if addr in _NAT64 or addr in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


class EgressPolicy:
    """Vets every URL before the browser or its helpers contact it."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        allowed_hosts: Iterable[str] = (),
        schemes: Iterable[str] = ("http", "https"),
        resolver: Resolver | None = None,
        cache_ttl_s: float = 30.0,
    ):
        self.allow_loopback = allow_loopback
        self.allowed_hosts: set[str] = set()
        for entry in allowed_hosts:
            self.allow_host(entry)
        self.schemes = frozenset(s.lower() for s in schemes)
        self.resolver: Resolver = resolver or system_resolver
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}

    def allow_host(self, entry: str) -> None:
        """Admit ``host`` (any port) or ``host:port`` whatever it resolves to."""
        self.allowed_hosts.add(entry.strip().lower().rstrip("."))

    # -- the checks ------------------------------------------------------------------------

    def check_url(self, url: str) -> VettedURL:
        """Vet ``url``, resolving a DNS name in this thread. Raises PolicyError or FetchError."""
        scheme, host, port, ip = self._parse(url)
        if ip is not None:
            return self._vet_ip(url, scheme, host, port, ip)
        return self._vet_name(url, scheme, host, port, self._resolve(host))

    async def check_url_async(self, url: str) -> VettedURL:
        """Like ``check_url``; a DNS lookup, when one is needed, runs in a worker thread."""
        scheme, host, port, ip = self._parse(url)
        if ip is not None:
            return self._vet_ip(url, scheme, host, port, ip)
        addresses = self._cached(host)
        if addresses is None:
            addresses = await asyncio.to_thread(self._resolve, host)
        return self._vet_name(url, scheme, host, port, addresses)

    def _parse(self, url: str) -> tuple[str, str, int, IPAddress | None]:
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as e:
            raise PolicyError(f"refused {url!r}: malformed URL ({e})") from e
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            shown = f"'{scheme}:'" if scheme else "a missing scheme"
            raise PolicyError(f"refused {_short(url)}: {shown} is not allowed (only {', '.join(sorted(self.schemes))})")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise PolicyError(f"refused {_short(url)}: the URL has no host")
        if port is None:
            port = DEFAULT_PORTS.get(scheme, 0)
        try:
            ip = parse_ip_host(host)
        except ValueError as e:
            raise PolicyError(f"refused {_short(url)}: {e}") from e
        return scheme, host, port, ip

    def _is_allowed(self, host: str, port: int) -> bool:
        shown = f"[{host}]" if ":" in host else host
        return shown in self.allowed_hosts or f"{shown}:{port}" in self.allowed_hosts

    def _vet_ip(self, url: str, scheme: str, host: str, port: int, ip: IPAddress) -> VettedURL:
        if not (self._is_allowed(str(ip), port) or self._is_allowed(host, port)):
            reason = forbidden_reason(ip, allow_loopback=self.allow_loopback)
            if reason:
                raise PolicyError(f"refused {_short(url)}: {ip} is {reason}")
        return VettedURL(url, scheme, host, port, (str(ip),), True)

    def _vet_name(self, url: str, scheme: str, host: str, port: int, addresses: tuple[str, ...]) -> VettedURL:
        if not addresses:
            raise FetchError(f"could not resolve {host!r}: no addresses")
        if self._is_allowed(host, port):
            return VettedURL(url, scheme, host, port, addresses, False)
        if host == "localhost" or host.endswith(".localhost"):
            if not self.allow_loopback:
                raise PolicyError(f"refused {_short(url)}: '{host}' always means this machine")
        for text in addresses:
            reason = forbidden_reason(ipaddress.ip_address(text), allow_loopback=self.allow_loopback)
            if reason:
                raise PolicyError(f"refused {_short(url)}: {host} resolves to {text}, {reason}")
        return VettedURL(url, scheme, host, port, addresses, False)

    def _cached(self, host: str) -> tuple[str, ...] | None:
        hit = self._cache.get(host)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def _resolve(self, host: str) -> tuple[str, ...]:
        cached = self._cached(host)
        if cached is not None:
            return cached
        if host == "localhost" or host.endswith(".localhost"):
            # Refused (or admitted as loopback) by name; never ask DNS, which may not know it.
            return ("127.0.0.1",)
        try:
            found = tuple(dict.fromkeys(str(a) for a in self.resolver(host)))
        except (OSError, UnicodeError) as e:
            raise FetchError(f"could not resolve {host!r}: {e}") from e
        for text in found:
            try:
                ipaddress.ip_address(text)
            except ValueError as e:
                raise FetchError(f"resolver gave a non-address {text!r} for {host!r}") from e
        if self.cache_ttl_s > 0 and found:
            self._cache[host] = (time.monotonic() + self.cache_ttl_s, found)
        return found


def _short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"
