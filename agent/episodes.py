"""The browsing phase of WebGPT episodes, batched across episodes (and questions).

    episodes = [Episode(question=q, env=make_env(), qid=0, index=i) for i in range(4)]
    stats = await run_browsing(policy, episodes, config, on_event=print)

Each round builds the prompt of every live episode (``omni_model.prompts.build_browsing_prompt``),
makes ONE ``policy.generate`` call for all of them (decoding constrained to the command grammar,
one ``RowConstraint`` per row, when the policy supports logits processors), then steps every
environment concurrently. ``generate`` blocks, so it runs in a worker thread and Chromium keeps
serving pages meanwhile. With ``config.batch_across_episodes=False`` each episode gets its own
``generate`` call (the throughput benchmark's baseline).

Whose fault: malformed model output is an invalid action, counted by the environment. A world
error that escapes the environment (``WorldError``, an ``OmniModelError`` from the model
backend, a prompt that cannot fit) ends that episode as failed, with its reason; the other
episodes go on. Anything else is a bug and raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from browser_env.text.env import BrowserEnv
from browser_env.text.grammar import END_COMMANDS
from browser_env.text.observation import Observation, render_observation
from browser_env.types import WorldError
from omni_model.errors import OmniModelError, UnsupportedError
from omni_model.types import Policy

from .types import AgentConfig, Event

EventSink = Callable[[Event], None] | None


@dataclass
class Episode:
    """One browsing episode's state and record. ``qid`` is the question's index in a batch."""

    question: str
    env: BrowserEnv
    qid: int = 0
    index: int = 0  # episode number within its question (what events call "episode")
    reference: str | None = None
    steps: list[dict] = field(default_factory=list)
    quotes: list[dict] = field(default_factory=list)
    end: str | None = None  # env's end: Answer | Nonsense | Controversial | quotes_full | actions_exhausted
    failed: str | None = None  # why the episode could not go on (world or model backend)
    invalid_actions: int = 0
    world_errors: int = 0
    world_error_messages: list[str] = field(default_factory=list)
    links: frozenset[int] = frozenset()
    page_text: str = ""
    commands: frozenset[str] | None = None  # what the browser can do now; None: not known yet
    observation: Observation | None = None
    image: Any = None  # the asker's picture (an omni_model Image), shown to a policy that sees
    shown: Observation | None = None  # the observation in the last prompt (page text maybe cut)

    @property
    def live(self) -> bool:
        return self.failed is None and self.end is None

    @property
    def actions(self) -> int:
        return len(self.steps)

    def to_json(self) -> dict:
        return {"episode": self.index, "question": self.qid, "steps": self.steps, "end": self.end,
                "failed": self.failed, "quotes": self.quotes}


@dataclass
class BrowseStats:
    generate_calls: int = 0
    batch_sizes: list[int] = field(default_factory=list)  # rows per generate call
    rounds: int = 0
    constrained: bool = False


def length_groups(policy: Policy, prompts: list[str], media: list[list[Any]] | None = None) -> list[list[int]]:
    """Prompt indices grouped for batched generation: one group, unless the policy says it prefers
    equal-length batches (``batch_by_length``), then one group per (token count, media count)."""
    if not policy.batch_by_length or len(prompts) < 2:
        return [list(range(len(prompts)))]
    media = media or [[] for _ in prompts]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (prompt, items) in enumerate(zip(prompts, media, strict=True)):
        groups.setdefault((policy.count_tokens(prompt), len(items)), []).append(i)
    return list(groups.values())


def emit(on_event: EventSink, kind: str, ep: Episode, **data: Any) -> None:
    if on_event is not None:
        on_event(Event(kind, ep.index, {"question": ep.qid, **data}))  # type: ignore[arg-type]


def _command_budget(max_arg_chars: int) -> int:
    from omni_model.constrained import command_token_budget  # imports torch: only when needed

    return command_token_budget(max_arg_chars)


def passages_in_view(ep: Episode, span: int = 1, keep: int = 0) -> tuple[str, ...]:
    """What the policy may quote: the page's passages (``browser_env.text.sentences.passages``)
    whose first sentence the episode's window shows whole, none sharing a sentence with a quote
    already taken; with ``keep``, only the ``keep`` holding most of the question's words (in page
    order, ties to the earlier).

    Falls back to every passage of the page when the window shows no sentence whole (a long
    sentence across the window's edge), so the policy is never left with nothing to quote on a page."""
    from browser_env.text.render import strip_links
    from browser_env.text.sentences import overlap, passage_starts, shares_sentence, stems

    every = passage_starts(ep.page_text, span)
    seen = ep.shown or ep.observation
    window = " ".join(strip_links(seen.text if seen else "").split())
    taken = " ".join(" ".join(q["extract"].split()) for q in ep.quotes)
    shown = [p for s, p in every if s in window] or [p for _, p in every]
    free = [p for p in shown if not shares_sentence(p, taken)]
    if 0 < keep < len(free):
        q = stems(ep.question)
        best = sorted(range(len(free)), key=lambda i: (-overlap(free[i], q), i))[:keep]
        free = [free[i] for i in sorted(best)]
    return tuple(free)


START_GRACE_S = 2.0  # a Chromium context starts in well under this; a pool-bound start waits longer


class _Browser:
    """One run of the browsing loop; holds what every round shares."""

    def __init__(self, policy: Policy, config: AgentConfig, on_event: EventSink) -> None:
        self.policy = policy
        self.config = config
        self.on_event = on_event
        self.stats = BrowseStats()
        self.tokenizer = policy.tokenizer
        # Logits processors work on local tokens: a policy without a tokenizer decodes freely.
        self.constrained = config.constrained and self.tokenizer is not None
        from browser_env.text.sentences import MAX_SENTENCE_CHARS

        # A whole sentence can be longer than a free argument's cap.
        self.max_arg_chars = MAX_SENTENCE_CHARS if config.choose_quotes else 200
        self.max_new = config.max_command_tokens or _command_budget(self.max_arg_chars)
        self.max_prompt = policy.context_length - self.max_new if self.tokenizer is not None else None
        self.sees = policy.accepts_media
        self._calls = 0

    # --- one episode's bookkeeping --------------------------------------------------------

    def fail(self, ep: Episode, reason: str) -> None:
        ep.failed = reason
        emit(self.on_event, "observation", ep, text=None, valid=False, error=reason, url=None, done=True,
             failed=True)

    async def reset(self, ep: Episode) -> None:
        try:
            await ep.env.reset(ep.question, ep.reference)
        except (WorldError, OSError) as e:
            self.fail(ep, f"could not start the browser: {type(e).__name__}: {e}")
            return
        ep.observation = ep.env.observation

    async def step(self, ep: Episode, command: str, shown: Observation) -> None:
        emit(self.on_event, "command", ep, command=command, step=len(ep.steps))
        try:
            result = await ep.env.step(command)
        except (WorldError, OSError) as e:  # the browser itself died (Chromium gone, context lost)
            self.fail(ep, f"the browser failed: {type(e).__name__}: {e}")
            return
        if result.world_errors > ep.world_errors and result.page_kind == "error":
            ep.world_error_messages.append(result.page_text.strip()[:300])
        ep.world_errors = result.world_errors
        ep.invalid_actions = result.invalid_actions
        # The episode's record is JSON: each quote as a dict, verified because the browser found it on its page.
        quotes = [{**asdict(q), "verified": True} for q in result.quotes]
        new_quotes = quotes[len(ep.quotes):]
        ep.quotes = quotes
        ep.links = frozenset(result.links)
        ep.page_text = result.page_text
        ep.commands = frozenset(result.commands)
        ep.observation = result.observation
        ep.steps.append({
            "command": command, "valid": result.valid, "error": result.error,
            "observation": render_observation(shown),  # what the model saw when it chose this command
            "url": result.url, "actions_left": result.actions_left,
        })
        emit(self.on_event, "observation", ep, text=result.text, page=result.observation.text, valid=result.valid,
             error=result.error, url=result.url, actions_left=result.actions_left, done=result.done)
        for q in new_quotes:
            emit(self.on_event, "quote_added", ep, quote=dict(q), n=len(ep.quotes))
        if result.done:
            ep.end = result.end
            await self.release(ep)

    async def release(self, ep: Episode) -> None:
        # Give the Chromium context back as soon as the episode ends, not at the very end.
        try:
            await ep.env.close()
        except (WorldError, OSError) as e:
            ep.world_error_messages.append(f"closing the browser context failed: {e}")

    # --- generation ---------------------------------------------------------------------

    def _media(self, ep: Episode) -> tuple[str, list[Any]]:
        """The media header and items for ``ep``'s next prompt: none unless the policy sees."""
        if not self.sees:
            return "", []
        from omni_model.prompts import media_header

        shot = ep.observation.screenshot if ep.observation is not None else None
        items = [x for x in (ep.image, shot) if x is not None]
        return media_header(picture=ep.image is not None, screenshot=shot is not None), items

    def _prompt(self, ep: Episode) -> tuple[str, Observation, list[Any]] | None:
        from omni_model.prompts import fit_browsing_prompt

        assert ep.observation is not None
        header, media = self._media(ep)
        budget = self.max_prompt
        if media and budget is not None:  # each picture fills more positions than its marker's tokens
            budget -= len(media) * self.policy.image_tokens
        cap = budget
        if budget is not None and self.config.max_prompt_tokens is not None:
            cap = min(budget, self.config.max_prompt_tokens)
        try:
            built = fit_browsing_prompt(ep.observation, tokenizer=self.tokenizer, cap=cap, budget=budget, header=header)
        except OmniModelError as e:  # the question and past actions alone overflow the context
            self.fail(ep, f"the browsing prompt does not fit the model: {e}")
            return None
        ep.shown = built.observation
        return built.text, built.observation, media

    def _processor(self, eps: list[Episode]) -> Any:
        if not self.constrained:
            return None
        from browser_env.text.sentences import query_words
        from omni_model.constrained import RowConstraint, make_command_processor

        cfg = self.config
        rows = [RowConstraint(self._links(ep), page_text=ep.page_text, constrain_quote=cfg.constrain_quotes,
                              constrain_find=cfg.constrain_quotes, commands=self._commands(ep),
                              quote_sentences=passages_in_view(ep, cfg.quote_span, cfg.quote_options)
                              if cfg.choose_quotes else None,
                              query_words=tuple(query_words(ep.question)) if cfg.query_from_question else None,
                              min_query_words=cfg.min_query_words)
                for ep in eps]
        return make_command_processor(self.tokenizer, rows, n=1, max_new_tokens=self.max_new,
                                      max_arg_chars=self.max_arg_chars)

    def _links(self, ep: Episode) -> frozenset[int]:
        """The link ids the decoder offers ``ep``: with ``no_revisits``, none to a page it already opened
        (going Back and opening the same page again is the loop a small policy falls into)."""
        if not self.config.no_revisits or ep.env.browser is None or ep.env.browser.view is None:
            return ep.links
        visited = {s["url"] for s in ep.steps if s.get("url")}
        page = ep.env.browser.view.page
        return frozenset(i for i in ep.links if page.links.get(i) not in visited)

    def _commands(self, ep: Episode) -> frozenset[str]:
        """What the decoder offers ``ep``: what its browser can do now, less `End: Answer` before
        ``min_quotes`` quotes (the action or quote budget still ends the episode with fewer)."""
        names = ep.commands if ep.commands is not None else ep.env.browser.available_commands()
        if not ep.quotes:
            names = names - {"end_answer"}
        elif len(ep.quotes) < self.config.min_quotes:
            # With a quote in hand the question is neither nonsense nor too controversial.
            names = names - END_COMMANDS
        return names

    def _generate_sync(self, prompts: list[str], eps: list[Episode], media: list[list[Any]] | None = None) -> list[str]:
        from omni_model.prompts import BROWSING_STOP

        seed = None if self.config.seed is None else self.config.seed + self._calls
        self._calls += 1
        kwargs: dict[str, Any] = dict(n=1, temperature=self.config.temperature, top_p=self.config.top_p,
                                      max_new_tokens=self.max_new, stop=BROWSING_STOP, seed=seed)
        if media is not None and any(media):
            kwargs["media"] = media
        try:
            out = self.policy.generate(prompts, logits_processor=self._processor(eps), **kwargs)
        except UnsupportedError:
            self.constrained = False  # e.g. a remote server: decode freely, the env judges the output
            out = self.policy.generate(prompts, **kwargs)
        self.stats.generate_calls += 1
        self.stats.batch_sizes.append(len(prompts))
        if len(out) != len(prompts):
            raise ValueError(f"policy returned {len(out)} rows for {len(prompts)} prompts")  # a bug there
        return [row[0].text if row else "" for row in out]

    async def generate(self, eps: list[Episode], prompts: list[str],
                       media: list[list[Any]] | None = None) -> list[str | None]:
        """Commands for ``eps``; ``None`` for an episode whose generation failed (it is marked failed)."""
        media = media or [[] for _ in eps]
        try:
            return list(await asyncio.to_thread(self._generate_sync, prompts, eps, media))
        except OmniModelError as e:
            if len(eps) == 1:
                self.fail(eps[0], f"the policy failed: {type(e).__name__}: {e}")
                return [None]
        # One bad row should not sink the batch: retry one by one to find it.
        out: list[str | None] = []
        for ep, prompt, items in zip(eps, prompts, media, strict=True):
            out.extend(await self.generate([ep], [prompt], [items]))
        return out

    # --- the loop -------------------------------------------------------------------------

    async def _started(self, resets: dict[int, asyncio.Task[None]], episodes: list[Episode]) -> list[Episode] | None:
        """The started episodes still live; waits for a start when none is. None: all are over.

        Starts are tasks, not one gather: a browser pool lends at most ``max_concurrency``
        contexts, so with more episodes than that, later starts wait until an earlier episode
        ends and gives its context back (``release``); gathering them first would deadlock."""
        while True:
            live = [ep for ep in episodes if resets[id(ep)].done() and ep.live]
            if live:
                return live
            waiting = [t for t in resets.values() if not t.done()]
            if not waiting:
                return None
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for task in resets.values():
                if task.done():
                    task.result()  # a bug in a start raises here, not silently later

    async def run(self, episodes: list[Episode]) -> BrowseStats:
        self.stats.constrained = self.constrained
        resets = {id(ep): asyncio.create_task(self.reset(ep)) for ep in episodes}
        # Let every start that can get a context finish, so the first round batches them all; a
        # start still waiting after START_GRACE_S waits for a context, and joins a later round.
        await asyncio.wait(resets.values(), timeout=START_GRACE_S)
        try:
            while (live := await self._started(resets, episodes)) is not None:
                await self._round(live)
        finally:
            for task in resets.values():
                task.cancel()  # only starts still waiting when a bug ended the loop
        for ep in episodes:
            if ep.failed is not None:
                await self.release(ep)
        self.stats.constrained = self.constrained
        return self.stats

    async def _round(self, live: list[Episode]) -> None:
        """One command for every live episode: prompts, one batched generation, the steps."""
        self.stats.rounds += 1
        batch: list[tuple[Episode, str, Observation, list[Any]]] = []
        for ep in live:
            emit(self.on_event, "step_started", ep, step=len(ep.steps), actions_left=ep.env.actions_left)
            built = self._prompt(ep)
            if built is not None:
                batch.append((ep, *built))
        if not batch:
            return
        eps = [b[0] for b in batch]
        if self.config.batch_across_episodes:
            commands: list[str | None] = [None] * len(batch)
            for idx in length_groups(self.policy, [b[1] for b in batch], [b[3] for b in batch]):
                got = await self.generate([eps[i] for i in idx], [batch[i][1] for i in idx],
                                          [batch[i][3] for i in idx])
                for i, command in zip(idx, got, strict=True):
                    commands[i] = command
        else:
            commands = []
            for ep, prompt, _, items in batch:
                commands.extend(await self.generate([ep], [prompt], [items]))
        await asyncio.gather(*(self.step(ep, cmd.strip(), shown)
                               for (ep, _, shown, _), cmd in zip(batch, commands, strict=True) if cmd is not None))


async def run_browsing(policy: Policy, episodes: list[Episode], config: AgentConfig,
                       *, on_event: EventSink = None) -> BrowseStats:
    """Browse every episode to its end (mutates them); returns generation statistics."""
    return await _Browser(policy, config, on_event).run(episodes)
