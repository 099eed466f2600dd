"""The stateful text browser: page stack, scroll window, find cursor and quotes.

It executes parsed ``grammar.Action``s against a ``SearchBackend`` and a ``PageFetcher`` it is
given, and owns nothing else. Scroll, Find and Quote are pure text operations on the current
page (no browser round trip). Faults are sorted by whose they are:

- the model's (a link id not on the page, a quote not on the page, Back with no history):
  ``ActionError``, whose text goes into the next observation;
- the world's (a dead page, a search backend that is down): an error *page* the model can read
  and go Back from; the browser keeps working;
- anything else is a bug and raises.
"""

from __future__ import annotations

import bisect
import re
import textwrap
from dataclasses import dataclass, field

from .grammar import COMMANDS, END_COMMANDS, QUOTE_RANGE_SEP, Action
from .link_marks import LINK
from .observation import Quote
from .quote_match import loose_pattern
from .render import domain_of, error_page, render_fetched, render_search_results, strip_links
from ..types import PageContents, PageFetcher, SearchBackend, WorldError

_NBSP_IN_LINK = "\u00a0"


class ActionError(Exception):
    """The model's fault: the command parsed but cannot be carried out here. Shown to the model."""


@dataclass
class BrowserConfig:
    window_lines: int = 30  # lines per scroll window
    line_width: int = 100  # page text is wrapped to this many characters
    max_quote_chars: int = 3000  # WebGPT ends an episode when the quotes reach a total length
    max_quote_len: int = 1500  # one quote's extract
    search_results: int = 10


@dataclass
class PageView:
    """A page as the browser shows it: wrapped lines, the window's top line and the find cursor."""

    page: PageContents
    lines: list[str]
    top: int = 0
    find_pos: int = 0  # offset in ``plain`` after the last Find match
    _plain: str | None = None
    _line_starts: list[int] | None = None

    @property
    def plain(self) -> str:
        """The page text with links reduced to their text, one display line per line."""
        if self._plain is None:
            plain_lines = [strip_links(line) for line in self.lines]
            starts, pos = [], 0
            for line in plain_lines:
                starts.append(pos)
                pos += len(line) + 1
            self._plain, self._line_starts = "\n".join(plain_lines), starts
        return self._plain

    def line_of(self, offset: int) -> int:
        self.plain  # noqa: B018 - builds the line index
        return max(0, bisect.bisect_right(self._line_starts, offset) - 1)


def wrap_text(text: str, width: int) -> list[str]:
    """Wrap page text to display lines, never splitting a 【link】 across two lines."""
    protected = LINK.sub(lambda m: m.group(0).replace(" ", _NBSP_IN_LINK), text)
    lines: list[str] = []
    for para in protected.split("\n"):
        if not para.strip():
            lines.append("")
            continue
        wrapped = textwrap.wrap(para, width, break_long_words=False, break_on_hyphens=False,
                                replace_whitespace=False, drop_whitespace=True) or [""]
        lines.extend(wrapped)
    while lines and not lines[-1]:
        lines.pop()
    # Restore the spaces inside links; an NBSP the page itself had inside a link text becomes a space.
    return [LINK.sub(lambda m: m.group(0).replace(_NBSP_IN_LINK, " "), line) for line in lines]


@dataclass
class TextBrowser:
    search: SearchBackend
    fetcher: PageFetcher
    config: BrowserConfig = field(default_factory=BrowserConfig)
    domain_filter: object | None = None  # browser_env.text.domains.DomainFilter
    censor: object | None = None  # browser_env.text.censor.LeakCensor

    def __post_init__(self) -> None:
        self.stack: list[PageView] = []
        self.quotes: list[Quote] = []
        self._cache: dict[str, PageContents] = {}
        self.world_errors = 0

    # -- state -------------------------------------------------------------------------------
    @property
    def view(self) -> PageView | None:
        return self.stack[-1] if self.stack else None

    @property
    def quote_chars(self) -> int:
        return sum(len(q.extract) for q in self.quotes)

    @property
    def quote_budget_left(self) -> int:
        return max(0, self.config.max_quote_chars - self.quote_chars)

    def available_commands(self) -> frozenset[str]:
        """Names of the commands that can succeed now (a constrained decoder offers only these)."""
        if self.view is None:
            return frozenset({"search", *END_COMMANDS})
        names = {c.name for c in COMMANDS}
        if len(self.stack) < 2:
            names.discard("back")
        if not self.view.page.links:
            names.discard("click")
        if self.quote_budget_left == 0 or self.view.page.kind != "page":
            names.discard("quote")  # quotes come from content pages only, never results or errors
        return frozenset(names)

    def window(self) -> tuple[str, tuple[int, int]]:
        """The visible lines and the scrollbar (first and last line shown, inclusive)."""
        v = self.view
        if v is None:
            return "", (0, 0)
        end = min(len(v.lines), v.top + self.config.window_lines)
        return "\n".join(v.lines[v.top:end]), (v.top, max(v.top, end - 1))

    def title(self) -> str:
        v = self.view
        if v is None:
            return "(no page open yet: start with a Search)"
        if v.page.kind == "search":
            return v.page.title
        return f"{v.page.title} ({v.page.domain})" if v.page.domain else v.page.title

    # -- commands ----------------------------------------------------------------------------
    async def execute(self, action: Action) -> str:
        """Carry out one parsed action; returns its Past-actions line. Raises ``ActionError``."""
        handler = getattr(self, f"_do_{action.name}", None)
        if handler is None:
            raise AssertionError(f"no executor for command {action.name}")  # grammar/executor drift: a bug
        return await handler(action.arg)

    async def _do_search(self, query: str) -> str:
        try:
            results = await self.search.search(query, k=self.config.search_results)
        except WorldError as e:
            self.world_errors += 1
            page = error_page(f"search:{query}", f"Search failed: {e}. Try again or rephrase the query.")
            page.title = f"Search results for: {query}"
        else:
            if self.domain_filter is not None:
                results = self.domain_filter.filter_results(results)
            page = render_search_results(query, results)
        self._push(page)
        return f"Search {query}"

    async def _do_click(self, link_id: int) -> str:
        v = self._need_page("Clicked on link")
        url = v.page.links.get(link_id)
        if url is None:
            raise ActionError(self._bad_link_message(link_id, v.page))
        text = v.page.link_texts.get(link_id, "")
        page = await self.open_url(url)
        self._push(page)
        return f"Click {text} {domain_of(url)}".strip()

    async def _do_find(self, text: str) -> str:
        v = self._need_page("Find in page")
        pattern = loose_pattern(text)
        hit = pattern.search(v.plain, v.find_pos)
        if hit is None and v.find_pos > 0:
            hit = pattern.search(v.plain)  # wrap around to the top, like a browser's find bar
        if hit is None:
            raise ActionError(f"`{text}` was not found on this page.")
        v.find_pos = hit.end()
        v.top = v.line_of(hit.start())
        return f"Find in page: {text}"

    async def _do_quote(self, text: str) -> str:
        v = self._need_page("Quote")
        if v.page.kind != "page":
            what = "a search results page" if v.page.kind == "search" else "an error page"
            raise ActionError(f"Quote refused: this is {what}, not a source. Open a result with "
                              "`Clicked on link <id>` and quote from the page itself.")
        extract = self._locate_quote(v, text)
        if len(extract) > self.config.max_quote_len:
            raise ActionError(f"That quote is {len(extract)} characters; one quote may have at most "
                              f"{self.config.max_quote_len}. Quote a shorter passage.")
        if len(extract) > self.quote_budget_left:
            raise ActionError(f"The quotes are full: {self.quote_budget_left} characters left, and this quote has "
                              f"{len(extract)}. Quote less, or use End: Answer.")
        self.quotes.append(Quote(title=v.page.title, domain=v.page.domain, url=v.page.url, extract=extract))
        return "Quote"

    async def _do_scroll_down(self, n: int) -> str:
        v = self._need_page("Scrolled down")
        last_top = max(0, len(v.lines) - self.config.window_lines)
        v.top = min(last_top, v.top + n * self.config.window_lines)
        return f"Scrolled down {n}"

    async def _do_scroll_up(self, n: int) -> str:
        v = self._need_page("Scrolled up")
        v.top = max(0, v.top - n * self.config.window_lines)
        return f"Scrolled up {n}"

    async def _do_top(self, _: None) -> str:
        v = self._need_page("Top")
        v.top = 0
        v.find_pos = 0
        return "Top"

    async def _do_back(self, _: None) -> str:
        if len(self.stack) < 2:
            raise ActionError("There is no previous page to go back to.")
        self.stack.pop()
        return "Back"

    async def _do_end_answer(self, _: None) -> str:
        return "End: Answer"

    async def _do_end_nonsense(self, _: None) -> str:
        return "End: Nonsense"

    async def _do_end_controversial(self, _: None) -> str:
        return "End: Controversial"

    # -- helpers -----------------------------------------------------------------------------
    async def open_url(self, url: str) -> PageContents:
        """Fetch and render a URL (cached for the episode); world faults become an error page."""
        if url in self._cache:
            return self._cache[url]
        if self.domain_filter is not None and not self.domain_filter.allows(url):
            return error_page(url, f"{domain_of(url)} is blocked in this run.")
        try:
            fetched = await self.fetcher.fetch(url)
            page = render_fetched(fetched)
            page.screenshot = fetched.screenshot
        except WorldError as e:
            self.world_errors += 1
            return error_page(url, f"Could not load {url}: {e}")  # not cached: a retry may work
        if page.kind == "page":
            page = self._filter_links(page)
            if self.censor is not None and self.censor.leaks(strip_links(page.text)):
                page = error_page(url, self.censor.message)
        self._cache[url] = page
        return page

    def _filter_links(self, page: PageContents) -> PageContents:
        if self.domain_filter is None:
            return page
        blocked = {i for i, u in page.links.items() if not self.domain_filter.allows(u)}
        if not blocked:
            return page

        def unlink(m: re.Match) -> str:
            return m.group(2) if int(m.group(1)) in blocked else m.group(0)

        page.text = LINK.sub(unlink, page.text)
        for i in blocked:
            page.links.pop(i, None)
            page.link_texts.pop(i, None)
        return page

    def _push(self, page: PageContents) -> None:
        self.stack.append(PageView(page=page, lines=wrap_text(page.text, self.config.line_width)))

    def _need_page(self, what: str) -> PageView:
        if self.view is None:
            raise ActionError(f"`{what}` needs an open page; start with `Search <query>`.")
        return self.view

    @staticmethod
    def _bad_link_message(link_id: int, page: PageContents) -> str:
        if not page.links:
            return f"Link {link_id} does not exist: this page has no links."
        ids = sorted(page.links)
        return f"Link {link_id} does not exist on this page. Valid link ids: {ids[0]} - {ids[-1]}."

    def _locate_quote(self, v: PageView, text: str) -> str:
        if QUOTE_RANGE_SEP in text:
            start_text, _, end_text = text.partition(QUOTE_RANGE_SEP)
            first = loose_pattern(start_text).search(v.plain)
            last = loose_pattern(end_text).search(v.plain, first.end()) if first else None
            if first is None or last is None:
                missing = start_text if first is None else end_text
                raise ActionError(f"Quote refused: `{missing.strip()}` is not on this page"
                                  + ("" if first is None else " after the start text") + ".")
            span = (first.start(), last.end())
        else:
            hit = loose_pattern(text).search(v.plain)
            if hit is None:
                raise ActionError("Quote refused: that text is not on this page. Quote text exactly as shown.")
            span = hit.span()
        return " ".join(v.plain[span[0]:span[1]].split())
