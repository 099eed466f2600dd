"""The RL-style environment over the text browser: ``reset(question)`` and ``step(command)``.

``BrowserEnv`` is async; ``SyncBrowserEnv`` wraps it for scripts and notebooks. Each episode
gets a fresh page fetcher (a fresh Chromium context) from a ``FetcherProvider``; many
environments share one provider (one Chromium) — see ``browser_env.runtime.WebRuntime``.

    env = runtime.make_env()                  # async
    text = await env.reset("Why is the sky blue?")
    result = await env.step("Search sky blue scattering")
    result.text, result.done, result.valid, result.quotes, result.observation

``step`` returns a frozen ``StepResult`` read by attribute. RL code that wants gym's
``(observation, reward, done, info)`` calls ``result.as_gym()``; the reward there is always 0.0:
WebGPT's reward comes from the reward model after answering.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from .browser import ActionError, BrowserConfig, TextBrowser
from .grammar import END_COMMANDS, ParseError, parse
from .observation import Observation, Quote, render_observation
from ..types import PageFetcher, PageKind, SearchBackend

MIN_QUOTE_ROOM = 20  # below this many characters of quote budget, browsing ends ("quotes full")


class FetcherProvider(Protocol):
    """Hands out one page fetcher per episode (a fresh browser context) and takes it back."""

    async def acquire(self) -> PageFetcher: ...

    async def release(self, fetcher: PageFetcher) -> None: ...


class StaticFetcherProvider:
    """A provider that hands out the same fetcher every time (for fakes and tests)."""

    def __init__(self, fetcher: PageFetcher):
        self.fetcher = fetcher

    async def acquire(self) -> PageFetcher:
        return self.fetcher

    async def release(self, fetcher: PageFetcher) -> None:
        return None


@dataclass
class EnvConfig:
    max_actions: int = 100  # WebGPT's limit at evaluation
    browser: BrowserConfig = field(default_factory=BrowserConfig)
    block_domains: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] | None = None
    censor_leaks: bool = False  # WebGPT's 10-gram rule, on in ELI5 evaluation
    show_past_actions: bool = True  # WebGPT's human demonstrators did not see them
    screenshots: bool = False  # observations carry a JPEG of the page's viewport (for the omni model)

    @classmethod
    def eli5(cls, **kw: Any) -> "EnvConfig":
        """ELI5-evaluation mode: reddit.com and quora.com blocked, 10-gram censoring on."""
        from .domains import ELI5_BLOCKLIST

        kw.setdefault("block_domains", tuple(ELI5_BLOCKLIST))
        kw.setdefault("censor_leaks", True)
        return cls(**kw)


@dataclass(frozen=True)
class StepResult:
    """What one ``BrowserEnv.step`` did and what the browser shows now.

    ``observation`` holds the parts the model sees and ``text`` their rendering; the rest is the
    browser's state after the command, for the agent's decoding constraints and its record.
    """

    observation: Observation
    text: str  # render_observation(observation): exactly what a policy is shown
    done: bool
    end: str | None  # Answer | Nonsense | Controversial | quotes_full | actions_exhausted; None while browsing
    valid: bool  # False: the command was the model's fault (``error`` says why); it still used an action
    error: str | None
    error_kind: Literal["parse", "action"] | None
    action: str | None  # the grammar's command name, when the command parsed
    url: str  # the current page's, "" before any page
    page_kind: PageKind | None  # None before any page
    page_text: str  # the whole current page (links rendered), not only the window
    links: tuple[int, ...]  # the current page's link ids, sorted
    commands: tuple[str, ...]  # the command names the browser can carry out now, sorted
    actions_left: int
    invalid_actions: int  # so far in the episode
    world_errors: int  # so far in the episode (failed searches and fetches)
    quotes: tuple[Quote, ...]  # every quote taken so far, in order

    def info(self) -> dict[str, Any]:
        """The gym ``info`` dict: the same facts with plain JSON-ready values (quotes as dicts)."""
        return {
            "valid": self.valid, "error": self.error, "error_kind": self.error_kind, "action": self.action,
            "end": self.end, "quotes": [asdict(q) for q in self.quotes], "actions_left": self.actions_left,
            "observation": self.observation, "links": list(self.links), "commands": list(self.commands),
            "page_text": self.page_text, "url": self.url, "page_kind": self.page_kind,
            "invalid_actions": self.invalid_actions, "world_errors": self.world_errors,
        }

    def as_gym(self) -> tuple[str, float, bool, dict[str, Any]]:
        """gym's ``(observation, reward, done, info)``; the reward is 0.0 (the reward model scores answers)."""
        return self.text, 0.0, self.done, self.info()


class BrowserEnv:
    def __init__(self, search: SearchBackend, fetchers: FetcherProvider, config: EnvConfig | None = None):
        self.search = search
        self.fetchers = fetchers
        self.config = config or EnvConfig()
        self.browser: TextBrowser | None = None
        self._fetcher: PageFetcher | None = None
        self.question = ""
        self.done = True
        self.actions_left = 0
        self.past_actions: list[str] = []
        self.invalid_actions = 0
        self.end: str | None = None
        self.last_error: str | None = None
        self.observation: Observation | None = None

    async def reset(self, question: str, reference: str | None = None) -> str:
        question = (question or "").strip()
        if not question:
            raise ValueError("the question is empty")
        await self._release()
        self._fetcher = await self.fetchers.acquire()
        if hasattr(self._fetcher, "screenshots"):
            self._fetcher.screenshots = self.config.screenshots
        domain_filter = censor = None
        if self.config.block_domains or self.config.allow_domains is not None:
            from .domains import DomainFilter

            domain_filter = DomainFilter(block=self.config.block_domains, allow=self.config.allow_domains)
        if self.config.censor_leaks:
            from .censor import LeakCensor

            censor = LeakCensor(question, reference)
        self.browser = TextBrowser(self.search, self._fetcher, self.config.browser,
                                   domain_filter=domain_filter, censor=censor)
        self.question = question
        self.done = False
        self.actions_left = self.config.max_actions
        self.past_actions, self.invalid_actions, self.end, self.last_error = [], 0, None, None
        return self._observe()

    async def step(self, command: str) -> StepResult:
        if self.browser is None or self.done:
            raise RuntimeError("step() called on a finished episode: call reset() first")  # caller's bug
        self.actions_left -= 1
        error, error_kind, action = None, None, None
        try:
            action = parse(command)
            line = await self.browser.execute(action)
            self.past_actions.append(line)
        except ParseError as e:
            error, error_kind = str(e), "parse"
        except ActionError as e:
            error, error_kind = str(e), "action"
        if error is not None:
            self.invalid_actions += 1
            shown = command.strip().splitlines()[0][:60] if command.strip() else "(empty)"
            self.past_actions.append(f"Invalid action: {shown}")
        self.last_error = error
        if action is not None and error is None and action.name in END_COMMANDS:
            self.done, self.end = True, action.text.removeprefix("End: ")
        elif self.browser.quote_budget_left < MIN_QUOTE_ROOM:
            self.done, self.end = True, "quotes_full"
        elif self.actions_left <= 0:
            self.done, self.end = True, "actions_exhausted"
        text = self._observe()
        return self._result(text, action.name if action else None, error, error_kind)

    def _observe(self) -> str:
        assert self.browser is not None
        window, scrollbar = self.browser.window()
        self.observation = Observation(
            question=self.question,
            quotes=list(self.browser.quotes),
            past_actions=list(self.past_actions) if self.config.show_past_actions else [],
            title=self.browser.title(),
            scrollbar=scrollbar,
            text=window,
            actions_left=self.actions_left,
            error=self.last_error,
            screenshot=self.browser.view.page.screenshot if self.config.screenshots and self.browser.view else None,
        )
        return render_observation(self.observation)

    def _result(self, text: str, action: str | None, error: str | None,
                error_kind: Literal["parse", "action"] | None) -> StepResult:
        b = self.browser
        assert b is not None and self.observation is not None
        view = b.view
        return StepResult(
            observation=self.observation, text=text, done=self.done, end=self.end,
            valid=error is None, error=error, error_kind=error_kind, action=action,
            url=view.page.url if view else "", page_kind=view.page.kind if view else None,
            page_text=view.plain if view else "", links=tuple(sorted(view.page.links)) if view else (),
            commands=tuple(sorted(b.available_commands())), actions_left=self.actions_left,
            invalid_actions=self.invalid_actions, world_errors=b.world_errors, quotes=tuple(b.quotes),
        )

    async def _release(self) -> None:
        if self._fetcher is not None:
            fetcher, self._fetcher = self._fetcher, None
            await self.fetchers.release(fetcher)

    async def close(self) -> None:
        await self._release()
        self.done = True


class LoopThread:
    """An asyncio loop running in a daemon thread, so synchronous code can drive async envs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="webqa-env-loop", daemon=True)
        self._thread.start()

    def run(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


class SyncBrowserEnv:
    """A blocking wrapper: the same API as ``BrowserEnv`` without ``await``."""

    def __init__(self, env: BrowserEnv, loop: LoopThread):
        self.env, self._loop = env, loop

    def reset(self, question: str, reference: str | None = None) -> str:
        return self._loop.run(self.env.reset(question, reference))

    def step(self, command: str) -> StepResult:
        return self._loop.run(self.env.step(command))

    def close(self) -> None:
        self._loop.run(self.env.close())

    def __getattr__(self, name: str):
        return getattr(self.env, name)
