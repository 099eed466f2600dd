"""Surviving failing search backends: retrying one HTTP call, and failing over across backends.

Two pieces, both about what to do when the world misbehaves:

- ``get_json`` is the one place the HTTP backends (SearXNG, Brave) make a request. It retries
  the transient failures (connect errors, 5xx, 429) a small, configurable number of times
  (``RetryPolicy``), and turns every failure into a ``BackendError`` that names the backend
  and the cause.
- ``FailoverSearch`` asks a list of backends in order and keeps the first non-empty answer,
  counting failures per backend so a run can report which engines were flaky.

    search = FailoverSearch([DirectNavigation(), SearxngSearch("http://127.0.0.1:8888")])
    results = await search.search("why is the sky blue")
    search.last_backend  # "searxng"
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..types import BackendError, SearchBackend, SearchResult, WorldError

# Statuses worth a second try: the server may recover in a moment. Other 4xx are our fault or
# the user's configuration, and asking again would only repeat them.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# Errors that happen before the server saw the request, so retrying is safe and may help.
# A read timeout is not here: a server that is slow now will likely be slow again, and
# retrying would double the time the agent waits.
_TRANSIENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 2  # total tries, so 2 means one retry
    backoff: float = 0.5  # seconds before the second try; doubled before each later one
    max_retry_after: float = 5.0  # a 429 asking us to wait longer than this is not retried

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be >= 1, got {self.attempts}")


NO_RETRY = RetryPolicy(attempts=1)


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # absent, or an HTTP date: fall back to our own backoff


async def get_json(
    client: httpx.AsyncClient,
    backend: str,
    url: str,
    *,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    retry: RetryPolicy = RetryPolicy(),
    explain: Callable[[httpx.Response], str | None] | None = None,
) -> Any:
    """GET ``url`` and decode its JSON body, or raise ``BackendError`` naming ``backend``.

    ``explain`` may turn an error response into a friendlier cause (an API's error JSON, a
    known misconfiguration); it returns None to fall back to the status and a body excerpt.
    """
    delay = retry.backoff
    for attempt in range(1, retry.attempts + 1):
        last = attempt == retry.attempts
        try:
            response = await client.get(url, params=params, headers=headers, timeout=timeout)
        except _TRANSIENT_ERRORS as e:
            if not last:
                await asyncio.sleep(delay)
                delay *= 2
                continue
            raise BackendError(
                f"{backend}: could not reach {url} ({type(e).__name__}: {e or 'no detail'}); "
                f"gave up after {attempt} attempt(s)"
            ) from e
        except httpx.TimeoutException as e:
            raise BackendError(f"{backend}: timed out after {timeout:g}s waiting for {url}") from e
        except httpx.HTTPError as e:
            raise BackendError(f"{backend}: request to {url} failed ({type(e).__name__}: {e})") from e

        if response.status_code in TRANSIENT_STATUSES and not last:
            wait = _retry_after(response) if response.status_code == 429 else None
            if wait is None or wait <= retry.max_retry_after:
                await asyncio.sleep(delay if wait is None else max(wait, delay))
                delay *= 2
                continue
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as e:
            cause = (explain(response) if explain else None) or _excerpt(response.text) or "empty body"
            what = "rate limited (HTTP 429)" if response.status_code == 429 else f"HTTP {response.status_code}"
            raise BackendError(f"{backend}: {what} from {url}: {cause}") from e
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BackendError(
                f"{backend}: answer from {url} is not JSON: {_excerpt(response.text) or 'empty body'!r}"
            ) from e
    raise AssertionError("unreachable: the loop returns or raises on its last attempt")


class FailoverSearch:
    """Ask each backend in turn; the first non-empty answer wins.

    A backend that answers with no results is not a failure, but the next one may do better,
    so it is asked too; if every backend that worked was empty, the answer is []. Only when
    every backend raised does this raise, with each one's error listed.
    """

    def __init__(self, backends: list[SearchBackend]):
        if not backends:
            raise ValueError("FailoverSearch needs at least one backend")
        self.backends = list(backends)
        # Two SearXNG instances both call themselves "searxng"; number repeats so counts stay apart.
        seen: Counter[str] = Counter()
        self.labels: list[str] = []
        for backend in self.backends:
            seen[backend.name] += 1
            self.labels.append(backend.name if seen[backend.name] == 1 else f"{backend.name}#{seen[backend.name]}")
        self.name = "failover(" + ",".join(self.labels) + ")"
        self.last_backend: str | None = None
        self.failures: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self.last_errors: dict[str, str] = {}

    async def search(self, query: str, k: int = 10) -> list[SearchResult]:
        errors: list[tuple[str, WorldError]] = []
        any_worked = False
        for label, backend in zip(self.labels, self.backends):
            try:
                results = await backend.search(query, k)
            except WorldError as e:  # a bug in a backend is not the world's fault: let it raise
                self.failures[label] += 1
                self.last_errors[label] = str(e)
                errors.append((label, e))
                continue
            any_worked = True
            if results:
                self.last_backend = label
                self.served[label] += 1
                return [r if r.backend else dataclasses.replace(r, backend=backend.name) for r in results[:k]]
        self.last_backend = None
        if any_worked:
            return []
        detail = "; ".join(f"[{label}] {e}" for label, e in errors)
        raise BackendError(f"all {len(errors)} search backends failed: {detail}") from errors[-1][1]

    def report(self) -> dict[str, dict[str, int]]:
        """Per-backend counts of answers served and failures, for run summaries."""
        return {label: {"served": self.served[label], "failures": self.failures[label]} for label in self.labels}
