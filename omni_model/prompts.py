"""Every prompt format omni_model uses, for training and inference alike.

One module owns the text the policy and the reward model read, so a training target can never
drift from what the model sees when it runs:

- browsing: ``browsing_prompt(obs)`` -> the model writes one command, ``browsing_completion``
  is the training target, ``BROWSING_STOP`` stops generation right after the command;
- answering: ``answer_prompt(question, quotes)`` / ``answer_completion`` / ``ANSWER_STOP``,
  with quotes laid out as in WebGPT (``[n] <title> (<domain>)``, a blank line, the extract);
- the reward model's input: ``reward_text(question, quotes, answer)``;
- the closed-book baseline: ``closed_book_prompt(question)``.

When a tokenizer with a chat template is given, the instructions become the system message and
the task the user message (SmolLM2 uses ChatML); otherwise the prompt is plain text. Length
limits are in tokens of that tokenizer: browsing prompts lose page text from the end (and say
so in the observation), answer prompts and reward texts lose the tails of quote extracts. The
question, past actions and the answer are never cut; when even that does not fit,
``PromptTooLongError`` is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from browser_env.text.grammar import help_text
from browser_env.text.observation import Observation, Quote, render_observation
from omni_model.errors import PromptTooLongError

# The command is one line: the newline after it ends it. Generation stops there, and the
# constrained decoder allows exactly this marker (or EOS) once a command is complete.
BROWSING_END = "\n"
BROWSING_STOP: list[str] = [BROWSING_END]

# Answers are several paragraphs, so a newline cannot end them; a marker that never occurs in
# prose does. EOS (``<|im_end|>`` for ChatML) also ends generation.
ANSWER_END = "♦End of answer"
ANSWER_STOP: list[str] = [ANSWER_END]

PAGE_TRUNCATED_NOTE = "[page text truncated to fit the model's context]"
EXTRACT_CUT = " …"

BROWSING_INSTRUCTIONS = (
    "You answer questions by browsing the web with a text-based browser. Each turn shows the "
    "question, the quotes collected so far, your past actions and the current page (links look "
    "like 【id†text†domain】). Reply with exactly one command on one line. Collect quotes that "
    "help answer the question, then end with `End: Answer`.\n\nCommands:\n"
)
ANSWER_INSTRUCTIONS = (
    "Write a long-form answer to the question using the quotes below. Cite the quotes inline "
    "by number, like [1] or [2], right after the statements they support. Use only what the "
    f"quotes support. Finish with the line `{ANSWER_END}`."
)
CLOSED_BOOK_INSTRUCTIONS = (
    "Write a long-form answer to the question, explained simply and accurately. "
    f"Finish with the line `{ANSWER_END}`."
)


@dataclass(frozen=True)
class BrowsingPrompt:
    """A browsing prompt and the observation it shows (page text possibly truncated)."""

    text: str
    observation: Observation
    tokens: int | None  # prompt length in tokens, when a tokenizer was given
    truncated: bool


def count_tokens(tokenizer: Any, text: str) -> int:
    """Tokens in ``text`` as the model reads it (special tokens spelled in the text included)."""
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _has_chat_template(tokenizer: Any) -> bool:
    return tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))


def _wrap(system: str, user: str, tokenizer: Any) -> str:
    """The instructions and the task, in the tokenizer's chat template when it has one."""
    if _has_chat_template(tokenizer):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    # Plain: the task text ends with its own cue line (``♦Next action`` / ``♦Answer``), so
    # the completion follows it directly.
    return f"{system}\n\n{user}"


def _need_tokenizer(tokenizer: Any, max_tokens: int | None) -> None:
    if max_tokens is not None:
        if tokenizer is None:
            raise ValueError("max_tokens needs the tokenizer that counts the tokens")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")


# --- browsing -------------------------------------------------------------------------------

PICTURE_LINE = "♦Picture from the asker\n<image>\n"
SCREENSHOT_LINE = "♦Screenshot of the page\n<image>\n"


def media_header(*, picture: bool = False, screenshot: bool = False) -> str:
    """The lines that put the asker's picture and the page's screenshot before the observation.

    Their ``<image>`` markers are where the omni model writes its image features; a text-only
    policy is never given them."""
    return (PICTURE_LINE if picture else "") + (SCREENSHOT_LINE if screenshot else "")


def _browsing_text(obs: Observation, tokenizer: Any, header: str = "") -> str:
    return _wrap(BROWSING_INSTRUCTIONS + help_text(), header + render_observation(obs), tokenizer)


def build_browsing_prompt(obs: Observation, *, tokenizer: Any = None, max_tokens: int | None = None,
                          header: str = "") -> BrowsingPrompt:
    """The browsing prompt for ``obs``, fitted to ``max_tokens`` by cutting page text from the end.

    Whole lines are dropped first; the last kept line may be cut at a word boundary so a page
    that is one long line still shows something. The returned observation carries the note
    that says the text was cut, so traces record exactly what the model saw.
    """
    _need_tokenizer(tokenizer, max_tokens)
    text = _browsing_text(obs, tokenizer, header)
    if max_tokens is None:
        return BrowsingPrompt(text, obs, count_tokens(tokenizer, text) if tokenizer is not None else None, False)
    n = count_tokens(tokenizer, text)
    if n <= max_tokens:
        return BrowsingPrompt(text, obs, n, False)

    def attempt(page: str) -> tuple[str, int, Observation]:
        shown = obs.with_text(page, PAGE_TRUNCATED_NOTE)
        t = _browsing_text(shown, tokenizer, header)
        return t, count_tokens(tokenizer, t), shown

    empty = attempt("")
    if empty[1] > max_tokens:
        raise PromptTooLongError(empty[1], 0, max_tokens)
    lines = obs.text.split("\n")
    # Largest number of whole lines that fits; `fits(0)` is known true.
    lo, hi = 0, len(lines) - 1  # all lines did not fit (the note only adds tokens)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if attempt("\n".join(lines[:mid]))[1] <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    kept = lines[:lo]
    best = attempt("\n".join(kept)) if lo else empty
    # Then as many words of the next line as fit.
    words = lines[lo].split(" ") if lo < len(lines) else []
    wlo, whi = 0, len(words)
    while wlo < whi:
        mid = (wlo + whi + 1) // 2
        if attempt("\n".join([*kept, " ".join(words[:mid])]))[1] <= max_tokens:
            wlo = mid
        else:
            whi = mid - 1
    if wlo:
        best = attempt("\n".join([*kept, " ".join(words[:wlo])]))
    text, n, shown = best
    return BrowsingPrompt(text, shown, n, True)


PAGE_OVERFLOW_TOKENS = 64  # page text shown past a cap that the rest of the prompt alone overflows


def fit_browsing_prompt(obs: Observation, *, tokenizer: Any, cap: int | None, budget: int | None,
                        header: str = "") -> BrowsingPrompt:
    """The browsing prompt the agent shows, and BC trains on: page text cut to ``cap`` tokens.

    When the question, quotes and past actions alone pass ``cap`` (two long quotes late in an
    episode), the page still gets ``PAGE_OVERFLOW_TOKENS`` past them rather than nothing, and the
    prompt is as long as that needs, within ``budget`` (the context left). Raises
    ``PromptTooLongError`` only when even an empty page passes ``budget``."""
    try:
        return build_browsing_prompt(obs, tokenizer=tokenizer, max_tokens=cap, header=header)
    except PromptTooLongError:
        if cap == budget:
            raise
    bare = build_browsing_prompt(obs.with_text("", None), tokenizer=tokenizer, max_tokens=budget, header=header)
    limit = max(bare.tokens or 0, cap or 0) + PAGE_OVERFLOW_TOKENS
    return build_browsing_prompt(obs, tokenizer=tokenizer, header=header,
                                 max_tokens=limit if budget is None else min(limit, budget))


def browsing_prompt(obs: Observation, *, tokenizer: Any = None, max_tokens: int | None = None) -> str:
    """The model input for one browsing step; see ``build_browsing_prompt`` for truncation."""
    return build_browsing_prompt(obs, tokenizer=tokenizer, max_tokens=max_tokens).text


def browsing_prompt_from_text(observation_text: str, *, tokenizer: Any = None, max_tokens: int | None = None) -> str:
    """The browsing prompt around an observation already rendered (e.g. one recorded in a demo).

    Unlike ``build_browsing_prompt`` it cannot shorten the page text, so a prompt over
    ``max_tokens`` raises ``PromptTooLongError``."""
    _need_tokenizer(tokenizer, max_tokens)
    text = _wrap(BROWSING_INSTRUCTIONS + help_text(), observation_text, tokenizer)
    if max_tokens is not None and (n := count_tokens(tokenizer, text)) > max_tokens:
        raise PromptTooLongError(n, 0, max_tokens)
    return text


def browsing_completion(command: str) -> str:
    """The training target for one browsing step: the command and the end marker."""
    command = command.strip()
    if not command or "\n" in command or "\r" in command:
        raise ValueError(f"a browsing command is one non-empty line, got {command!r}")
    return command + BROWSING_END


# --- answering and the reward model ------------------------------------------------------

def format_quotes(quotes: list[Quote]) -> str:
    """WebGPT's answer-time layout: ``[n] <title> (<domain>)``, a blank line, the extract."""
    return "\n\n".join(f"[{i}] {q.title} ({q.domain})\n\n{q.extract.strip()}" for i, q in enumerate(quotes, 1))


def _question_and_quotes(question: str, quotes: list[Quote]) -> str:
    body = format_quotes(quotes) if quotes else "(no quotes)"
    return f"♦Question\n{question.strip()}\n\n♦Quotes\n{body}\n\n♦Answer\n"


def _cut_extract(extract: str, cap: int) -> str:
    extract = extract.strip()
    if len(extract) <= cap:
        return extract
    head = extract[:cap]
    space = head.rfind(" ")
    if space > cap // 2:  # cut at a word boundary unless that loses too much
        head = head[:space]
    return head.rstrip() + EXTRACT_CUT


def fit_quotes(quotes: list[Quote], build: Callable[[list[Quote]], str], tokenizer: Any,
               max_tokens: int) -> tuple[str, list[Quote]]:
    """``build(quotes)`` within ``max_tokens``, cutting every extract to one common length.

    The common cap is the largest that fits (binary search), so short extracts stay whole and
    long ones lose their tails. Raises ``PromptTooLongError`` when even empty extracts do not fit.
    """
    text = build(quotes)
    n = count_tokens(tokenizer, text)
    if n <= max_tokens:
        return text, quotes

    def capped(cap: int) -> list[Quote]:
        return [Quote(q.title, q.domain, q.url, _cut_extract(q.extract, cap)) for q in quotes]

    bare = build(capped(0))
    n0 = count_tokens(tokenizer, bare)
    if n0 > max_tokens:
        raise PromptTooLongError(n0, 0, max_tokens)
    lo, hi = 0, max((len(q.extract.strip()) for q in quotes), default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(tokenizer, build(capped(mid))) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    kept = capped(lo)
    return build(kept), kept


def answer_prompt(question: str, quotes: list[Quote], *, tokenizer: Any = None, max_tokens: int | None = None,
                  header: str = "") -> str:
    """The answering-phase prompt: the question and the numbered quotes; cuts extracts to fit.
    ``header`` (``media_header(picture=True)``) shows the asker's picture first."""
    _need_tokenizer(tokenizer, max_tokens)

    def build(qs: list[Quote]) -> str:
        return _wrap(ANSWER_INSTRUCTIONS, header + _question_and_quotes(question, qs), tokenizer)

    if max_tokens is None:
        return build(quotes)
    return fit_quotes(quotes, build, tokenizer, max_tokens)[0]


def answer_completion(answer: str) -> str:
    """The training target for the answering phase: the answer and the end marker."""
    answer = answer.strip()
    if not answer:
        raise ValueError("an answer must not be empty")
    return f"{answer}\n{ANSWER_END}"


def reward_text(question: str, quotes: list[Quote], answer: str, *, tokenizer: Any = None,
                max_tokens: int | None = None) -> str:
    """The one string the reward model scores, for training and scoring alike.

    No instructions and no chat template: the RM reads the question, the quotes and the answer
    and pools the last token. Too long: quote extracts are cut, never the question or answer.
    """
    _need_tokenizer(tokenizer, max_tokens)
    answer = answer.strip()

    def build(qs: list[Quote]) -> str:
        return _question_and_quotes(question, qs) + answer

    if max_tokens is None:
        return build(quotes)
    return fit_quotes(quotes, build, tokenizer, max_tokens)[0]


def closed_book_prompt(question: str, *, tokenizer: Any = None) -> str:
    """The same model answering from memory, with no browsing: the closed-book baseline."""
    return _wrap(CLOSED_BOOK_INSTRUCTIONS, f"♦Question\n{question.strip()}\n\n♦Answer\n", tokenizer)
